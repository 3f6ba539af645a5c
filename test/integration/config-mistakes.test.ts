/**
 * Configuration that says what is wrong (README "Configuration"): both
 * programs check their config against a schema, and every mistake is named
 * at once, as CONFIG (exit 1): an unknown key with the nearest known one, a
 * missing key, a file that does not exist with the key that names it, a JSON
 * syntax error by line and column; `doctor` refuses what `run` would.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_CLI, SERVER_CLI } from '@twinbox/testkit';

function cli(program: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [program, ...args], { env: { ...process.env, TWINBOX_LOG: 'warn' } }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

const PIN = `sha256//${'A'.repeat(43)}=`;

describe('configuration mistakes, each named', () => {
  let dir: string;
  let serverDir: string;
  let good: Record<string, any>;
  const serverConfig = () => join(serverDir, 'config.json');
  /** The server's config with a change, written to the server folder (its paths stay valid). */
  const serverWith = (change: (c: Record<string, any>) => void) => {
    const c = structuredClone(good);
    change(c);
    writeFileSync(serverConfig(), JSON.stringify(c, null, 2));
    return serverConfig();
  };
  const agentWith = (change: (c: Record<string, any>) => void) => {
    const c: Record<string, any> = {
      server: { url: 'wss://127.0.0.1:1/sync', pins: [PIN] },
      account: 'alice',
      token: 'tbx_token',
      imap: { host: '127.0.0.1', port: 1, security: 'plain', user: 'alice', password: 'pw' },
      database: 'agent.db',
    };
    change(c);
    const path = join(dir, 'agent.json');
    writeFileSync(path, JSON.stringify(c, null, 2));
    return path;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'twinbox-config-mistakes-'));
    serverDir = join(dir, 'server');
    const init = await cli(SERVER_CLI, ['init', '--dir', serverDir, '--port', '0']);
    expect(init.code, init.stderr).toBe(0);
    good = JSON.parse(readFileSync(serverConfig(), 'utf8'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('server: a misspelt key, with the nearest known one', async () => {
    const run = await cli(SERVER_CLI, ['account', 'list', '--config', serverWith((c) => (c.retention = { trashDay: 7 }))]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`twinbox-server: server config ${serverConfig()}: retention.trashDay is not a setting (did you mean retention.trashDays?) [CONFIG]\n`);
  });

  it('server: a missing key, named', async () => {
    const run = await cli(SERVER_CLI, ['start', '--config', serverWith((c) => delete c.listen.port)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`server config ${serverConfig()}: listen.port is missing (a number) [CONFIG]`);
  });

  it('server: a file that does not exist, with the key that names it', async () => {
    const run = await cli(SERVER_CLI, ['start', '--config', serverWith((c) => (c.tls.cert = 'renewed/fullchain.pem'))]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`tls.cert names ${join(serverDir, 'renewed/fullchain.pem')}, which does not exist [CONFIG]`);
    expect(run.stderr).not.toMatch(/ENOENT/);
  });

  it('server: a JSON syntax error by line and column', async () => {
    const text = JSON.stringify(good, null, 2).replace('"listen": {', '"listen": {,');
    writeFileSync(serverConfig(), text);
    const line = text.split('\n').findIndex((l) => l.includes('"listen": {,')) + 1;
    const run = await cli(SERVER_CLI, ['account', 'list', '--config', serverConfig()]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`twinbox-server: server config ${serverConfig()}:${line}:14: a value expected [CONFIG]\n`);
  });

  it('server: several mistakes at once, a line each', async () => {
    const run = await cli(SERVER_CLI, ['account', 'list', '--config', serverWith((c) => Object.assign(c, { lisen: {}, phone: { maxEventStreamsPerDevice: 0 }, relay: { host: 'h', port: 25, security: 'ssl' } }))]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/: lisen is not a setting \(did you mean listen\?\) \[CONFIG\]$/),
        expect.stringMatching(/: phone\.maxEventStreamsPerDevice must be a positive whole number, not 0 \[CONFIG\]$/),
        expect.stringMatching(/: relay\.security must be one of "tls", "starttls", "plain", not "ssl" \[CONFIG\]$/),
      ]),
    );
    writeFileSync(serverConfig(), JSON.stringify(good, null, 2));
  });

  it('agent: a misspelt key, a missing key, a folder that does not exist, a JSON error', async () => {
    const misspelt = await cli(AGENT_CLI, ['status', '--config', agentWith((c) => (c.scheduel = '*/5 * * * *'))]);
    expect(misspelt.code).toBe(1);
    expect(misspelt.stderr).toBe(`twinbox-agent: agent config ${join(dir, 'agent.json')}: scheduel is not a setting (did you mean schedule?) [CONFIG]\n`);
    const missing = await cli(AGENT_CLI, ['sync', '--config', agentWith((c) => delete c.imap.user)]);
    expect([missing.code, missing.stderr]).toEqual([1, `twinbox-agent: agent config ${join(dir, 'agent.json')}: imap.user is missing (a string) [CONFIG]\n`]);
    const folder = await cli(AGENT_CLI, ['status', '--config', agentWith((c) => (c.database = 'nowhere/agent.db'))]);
    expect(folder.stderr).toContain(`database needs the folder ${join(dir, 'nowhere')}, which does not exist [CONFIG]`);
    writeFileSync(join(dir, 'agent.json'), '{\n  "server": { "url": "wss://h/sync" }\n  "account": "alice"\n}\n');
    const json = await cli(AGENT_CLI, ['status', '--config', join(dir, 'agent.json')]);
    expect(json.stderr).toBe(`twinbox-agent: agent config ${join(dir, 'agent.json')}:3:3: ',' expected [CONFIG]\n`);
    const pin = await cli(AGENT_CLI, ['status', '--config', agentWith((c) => (c.server.pins = ['AB:CD']))]);
    expect(pin.stderr).toContain('server.pins[0] must be a key pin sha256//… (44 base64 characters), as twinbox-server certificate prints it');
  });

  it('agent: doctor refuses the schedule run would refuse, before any check', async () => {
    mkdirSync(join(dir, 'x'), { recursive: true });
    const config = agentWith((c) => (c.schedule = 'every day'));
    const doctor = await cli(AGENT_CLI, ['doctor', '--config', config]);
    const run = await cli(AGENT_CLI, ['run', '--config', config]);
    for (const r of [doctor, run]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`schedule "every day" is not a cron expression (like "*/5 * * * *") or "off" [CONFIG]`);
    }
    expect(doctor.stdout).not.toContain('ready to sync');
    const flag = await cli(AGENT_CLI, ['run', '--config', agentWith(() => undefined), '--schedule', '99 * * * *']);
    expect(flag.stderr).toContain('--schedule: schedule "99 * * * *" is not a cron expression');
  });
});
