/**
 * Certificates for real (docs/trust.md): the agent pins the server's public
 * key, so a certificate renewed with the same key — as ACME renewals with
 * `--reuse-key` are — keeps every agent syncing, with no restart of the
 * server (it reloads its TLS files when they change); a new key is refused
 * until `twinbox-agent repin` (unless it is the backup key pinned at
 * pairing); a pairing from before key pins is migrated to its key pin; a
 * reissued agent token works and the old one is refused, the mail intact.
 */
import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyPinOf } from '@twinbox/protocol';
import { AGENT_CLI, AgentDaemon, TwinboxSystem } from '@twinbox/testkit';

/** The certificate the server presents to a new connection now. */
function presented(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate()!;
      socket.end();
      resolve(cert);
    });
    socket.on('error', reject);
  });
}

/** A command run on a pseudo-terminal (util-linux `script`), with `input` typed into it. */
function onTerminal(command: string, input: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile('script', ['-qec', command, '/dev/null'], { env: { ...process.env, TWINBOX_LOG: 'warn' } }, (error, stdout) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout }),
    );
    child.stdin!.end(input);
  });
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

describe('server key pins: renewal, a new key, repin, a reissued token', () => {
  let system: TwinboxSystem;
  const file = (name: string) => join(system.serverDir, name);
  const agentConfig = () => JSON.parse(readFileSync(system.agentConfig, 'utf8'));
  /** A certificate for the server's address on the key in `keyFile`, put in place as renewals do (a new file renamed over the old). */
  const certify = (keyFile: string) => {
    openssl(['req', '-x509', '-key', keyFile, '-out', file('cert.next'), '-days', '90', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
    const cert = new X509Certificate(readFileSync(file('cert.next')));
    renameSync(file('cert.next'), file('cert.pem'));
    return cert;
  };
  const servedSoon = (cert: X509Certificate) => expect.poll(async () => (await presented(system.port)).fingerprint256, { timeout: 10_000, interval: 200 }).toBe(cert.fingerprint256);

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 5 });
    for (let i = 1; i <= 3; i++) await system.desktop.deliver({ label: `D${i}`, date: new Date(Date.UTC(2026, 0, 1, 9, i)) });
  });
  afterAll(async () => system?.stop());

  it('pairs with the key in use and the backup key', async () => {
    const certificate = await system.serverCli(['certificate', '--json']);
    const info = JSON.parse(certificate.stdout);
    expect(info.pin).toBe(keyPinOf(await presented(system.port)));
    expect(agentConfig().server.pins).toEqual([info.pin, info.backupPin]);
    expect(agentConfig().server.fingerprint).toBeUndefined();
  });

  it('migrates a pairing that pinned the whole certificate to its key pin, then syncs', async () => {
    const cert = await presented(system.port);
    system.editAgentConfig((c) => {
      delete c.server.pins;
      c.server.fingerprint = cert.fingerprint256;
    });
    await system.sync();
    expect(agentConfig().server).toEqual({ url: system.serverUrl, pins: [keyPinOf(cert)] });
    expect(await system.phoneLabels()).toEqual(['D3', 'D2', 'D1']);
    system.editAgentConfig((c) => (c.server.pins = [...system.pairing.pins]));
  });

  it('renewal-same-key: a renewed certificate is served without a restart and every agent keeps syncing', async () => {
    // A second agent (another account), running in the background across the renewal.
    const second = await system.pairAnotherAgent(await system.addAccount('user2', 5), 'second');
    const background = await AgentDaemon.start(AGENT_CLI, second, ['--schedule', 'off', '--no-startup-sync']);
    try {
      const serverPid = system.serverPid;
      const before = await presented(system.port);
      const renewed = certify(file('key.pem'));
      expect(renewed.fingerprint256).not.toBe(before.fingerprint256);
      await servedSoon(renewed);
      expect(system.serverPid).toBe(serverPid);
      await system.desktop.deliver({ label: 'D4', date: new Date(Date.UTC(2026, 0, 1, 9, 4)) });
      const run = await system.runAgent();
      expect(run.code, run.stderr).toBe(0);
      expect((await system.phoneLabels())[0]).toBe('D4');
      const answer = await background.requestSync();
      expect(answer.ok, JSON.stringify(answer)).toBe(true);
      // And a one-off sync of that agent, on a new connection to the renewed certificate.
      await background.stop();
      const again = await system.agentCli(['sync', '--config', second]);
      expect(again.code, again.stderr).toBe(0);
    } finally {
      await background.stop();
    }
  });

  it('new-key-refused-until-repin: the agent refuses the new key; repin shows it, asks, and trusts only the pin given', async () => {
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file('key.next')]);
    const old = await presented(system.port);
    // Written file by file, as some renewals do: the new key first. Until its certificate is there, the old pair stays.
    writeFileSync(file('key.pem'), readFileSync(file('key.next')));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await presented(system.port)).fingerprint256).toBe(old.fingerprint256);
    expect(system.serverLog).toMatch(/not a key and its certificate \(yet\)/);
    const fresh = certify(file('key.pem'));
    await servedSoon(fresh);
    const newPin = keyPinOf(fresh);

    const refused = await system.runAgent();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`presents the key ${newPin}`);
    expect(refused.stderr).toMatch(/twinbox-agent repin \[CERT_MISMATCH\]/);

    const noTerminal = await system.agentCli(['repin', '--config', system.agentConfig]);
    expect(noTerminal.code).toBe(64);
    expect(noTerminal.stdout).toContain(`presents the key ${newPin}`);
    expect(noTerminal.stderr).toMatch(/run it on a terminal, or give --pin PIN/);
    // On a terminal it asks (util-linux `script` gives it one); "n" trusts nothing.
    const asked = await onTerminal(`${process.execPath} ${AGENT_CLI} repin --config ${system.agentConfig}`, 'n\n');
    expect(asked.output).toContain(`presents the key ${newPin}`);
    expect(asked.output).toContain('Trust this key for this server? [y/N]');
    expect(asked.output).toContain('Not trusted; nothing changed.');
    expect(asked.code).toBe(1);
    const wrong = await system.agentCli(['repin', '--config', system.agentConfig, '--pin', system.pairing.pins[0]!]);
    expect(wrong.code).toBe(1);
    expect(agentConfig().server.pins).toEqual(system.pairing.pins);

    const repinned = await system.agentCli(['repin', '--config', system.agentConfig, '--pin', newPin, '--json']);
    expect(repinned.code, repinned.stderr).toBe(0);
    expect(JSON.parse(repinned.stdout)).toMatchObject({ trusted: true, changed: true, pins: [newPin], presented: { pin: newPin, validTo: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) } });
    expect((await system.runAgent()).code).toBe(0);
  });

  it('the backup key pinned at pairing takes over without a repin', async () => {
    system.editAgentConfig((c) => (c.server.pins = [keyPinOf(presentedSync()), system.pairing.pins[1]!]));
    writeFileSync(file('key.pem'), readFileSync(file('backup-key.pem')));
    const backup = certify(file('key.pem'));
    await servedSoon(backup);
    expect(keyPinOf(backup)).toBe(system.pairing.pins[1]);
    const run = await system.runAgent();
    expect(run.code, run.stderr).toBe(0);
  });

  it('reissued-token: the new token works, the old one is refused, the mail intact', async () => {
    const phoneBefore = await system.phoneLabels();
    const desktopBefore = await system.desktop.labels('INBOX');
    const secretsFile = join(system.dir, 'new.secrets');
    const token = await system.serverCli(['account', 'token', '--id', 'user1', '--secrets-file', secretsFile]);
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout).toContain(`twinbox-agent secrets --config agent.json --secrets-file ${secretsFile}`);
    expect(token.stdout).not.toContain('tbx_');
    const oldToken = await system.runAgent();
    expect(oldToken.code).toBe(1);
    expect(oldToken.stderr).toMatch(/AUTH_FAILED/);

    const secrets = await system.agentCli(['secrets', '--config', system.agentConfig, '--secrets-file', secretsFile]);
    expect(secrets.code, secrets.stderr).toBe(0);
    expect(secrets.stdout).toMatch(/^ok server: .*accepted the token$/m);
    expect(agentConfig().token).toBe(/^token=(\S+)$/m.exec(readFileSync(secretsFile, 'utf8'))![1]);
    const after = await system.sync();
    expect(after.mode).toBe('update');
    expect(await system.phoneLabels()).toEqual(phoneBefore);
    expect(await system.desktop.labels('INBOX')).toEqual(desktopBefore);
  });

  /** (Inside a config edit, which is synchronous: the certificate file in use now.) */
  function presentedSync(): X509Certificate {
    return new X509Certificate(readFileSync(file('cert.pem')));
  }
});
