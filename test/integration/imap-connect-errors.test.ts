/**
 * Issue 10: what a new user sees when the IMAP settings are wrong. Each
 * failure is classified at the edge with its own code, the right exit status
 * (75 only where trying again later can help) and a hint what to change —
 * against the real Dovecot, and a real TLS front with an untrusted
 * certificate.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { createServer as createTlsServer, type Server } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwinboxSystem, freePort } from '@twinbox/testkit';

/** Implicit TLS in front of Dovecot's plain port, with a self-signed certificate no one trusts. */
async function tlsFront(dir: string, target: number): Promise<{ server: Server; port: number }> {
  const key = join(dir, 'imap-key.pem');
  const cert = join(dir, 'imap-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  const server = createTlsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (socket) => {
    const upstream = netConnect(target, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    for (const s of [socket, upstream]) s.on('error', () => (socket.destroy(), upstream.destroy()));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, port };
}

describe('IMAP connection errors, classified', () => {
  let system: TwinboxSystem;
  let front: { server: Server; port: number };
  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.sync();
    front = await tlsFront(system.dir, system.dovecot.imapPort);
  });
  afterAll(async () => {
    front?.server.close();
    await system?.stop();
  });

  const withImap = async (imap: Record<string, unknown>) => {
    const original = JSON.parse(readFileSync(system.agentConfig, 'utf8')).imap;
    system.editAgentConfig((c) => Object.assign(c.imap, imap));
    try {
      return await system.runAgent();
    } finally {
      system.editAgentConfig((c) => ((c as { imap: unknown }).imap = original));
    }
  };

  it('wrong-imap-password: not retryable (exit 1), says the login was refused and what to check', async () => {
    const run = await withImap({ password: 'not-the-password' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/refused the login for "user1".*check imap\.user and the password.*\[IMAP_AUTH\]/);
  });

  it('status shows the last error until a sync succeeds, and the IMAP code paths in use (issue 13)', async () => {
    await withImap({ password: 'not-the-password' });
    const status = async () => JSON.parse((await system.agentCli(['status', '--config', system.agentConfig, '--json'])).stdout);
    const failed = await status();
    expect(failed.lastAttempt.ok).toBe(false);
    expect(failed.lastError).toMatchObject({ code: 'IMAP_AUTH' });
    expect(failed.lastError.message).toContain('refused the login');
    expect(failed.agentPid).toBeNull();
    expect((await system.agentCli(['status', '--config', system.agentConfig])).stdout).toMatch(/last error: .*\[IMAP_AUTH\]/);
    await system.sync();
    const fine = await status();
    expect(fine.lastAttempt.ok).toBe(true);
    expect(fine.lastError).toBeNull();
    expect(fine.imapPaths).toMatchObject({ detection: 'qresync', move: 'move' });
    expect(fine.lastSyncStats.mode).toBe('update');
  });

  it('doctor names the failing part and the fix, and exits 1', async () => {
    system.editAgentConfig((c) => Object.assign(c.imap, { password: 'not-the-password' }));
    try {
      const run = await system.agentCli(['doctor', '--config', system.agentConfig]);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/FAIL imap\n.*refused the login.*\[IMAP_AUTH\]/);
      expect(run.stdout).toMatch(/ok {3}server/);
      expect(run.stdout).toMatch(/verdict: 1 problem to fix before syncing/);
    } finally {
      system.editAgentConfig((c) => Object.assign(c.imap, { password: 'secret1' }));
    }
  });

  it('tls-on-a-plain-port: not retryable, a TLS mismatch with a hint', async () => {
    const run = await withImap({ security: 'tls' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/TLS mismatch.*\[IMAP_TLS\]/);
  });

  it('untrusted-certificate: not retryable; allowInvalidCertificate (a test server) gets through', async () => {
    const run = await withImap({ security: 'tls', port: front.port });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/certificate this machine does not trust \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\).*\[IMAP_CERT\]/);
    expect((await withImap({ security: 'tls', port: front.port, allowInvalidCertificate: true })).code).toBe(0);
  });

  it('unreachable: retryable (exit 75)', async () => {
    const run = await withImap({ port: await freePort() });
    expect(run.code).toBe(75);
    expect(run.stderr).toMatch(/cannot be reached \(ECONNREFUSED\).*\[IMAP_UNREACHABLE, retryable\]/);
  });
});
