/**
 * One command-line style for both programs (README "Configuration", exit
 * statuses): a usage error is one line and where the help is, exit 64 — an
 * unknown option too; `--version`; `--json` on every command that prints,
 * with times as ISO 8601; `account list` with a header, the desktop address
 * and whether the agent is connected.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_CLI, TwinboxSystem } from '@twinbox/testkit';

function run(program: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [program, ...args], (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }));
  });
}

/** Every value under a key that names a time is an ISO 8601 string (or null): never epoch milliseconds. */
function timesAreIso(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => timesAreIso(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) => {
    const here = `${path}.${key}`;
    const timeKey = /(At|^at|since|Since|lastSeen|validFrom|validTo|lastAttempt)$/.test(key) && typeof v !== 'object';
    if (timeKey && !(v === null || (typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v)))) return [`${here} = ${JSON.stringify(v)}`];
    return timesAreIso(v, here);
  });
}

describe('one command-line style for both programs', () => {
  let system: TwinboxSystem;
  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.desktop.deliver({ label: 'D1' });
    await system.sync();
  });
  afterAll(async () => system?.stop());

  it('a usage error is one line and where the help is, exit 64 (an unknown option too)', async () => {
    const cases: [Promise<{ code: number | null; stderr: string }>, string, string][] = [
      [system.agentCli(['sync', '--config', system.agentConfig, '--jsno']), 'unknown option --jsno (did you mean --json?)', 'twinbox-agent sync --help'],
      [system.agentCli(['pair', '--config', 'x.json', '--server', 'wss://h/sync', '--account', 'a', '--pin', 'AB:CD']), 'a pin', 'twinbox-agent pair --help'],
      [system.agentCli(['snyc']), 'unknown command "snyc" (did you mean "sync"?)', 'twinbox-agent --help'],
      [system.agentCli(['status', '--config', system.agentConfig, '--retry', '1']), '--retry is not an option of status', 'twinbox-agent status --help'],
      [system.serverCli(['account', 'lst']), 'unknown command "account lst"', 'twinbox-server --help'],
      [system.serverCli(['account', 'add', '--id', 'carol', '--desktop', 'c@example.test', '--window', 'many']), '--window must be a whole number', 'twinbox-server account add --help'],
      [system.serverCli(['housekeeping', '--dry-run']), 'unknown option --dry-run', 'twinbox-server housekeeping --help'],
    ];
    for (const [pending, message, help] of cases) {
      const run = await pending;
      const program = help.split(' ')[0];
      const lines = run.stderr.trimEnd().split('\n');
      expect([run.code, lines.length], run.stderr).toEqual([64, 2]);
      expect(lines[0]).toContain(message.startsWith('a pin') ? '--pin must be a key pin' : message);
      expect(lines[0]!.startsWith(`${program}: `)).toBe(true);
      expect(lines[1]).toBe(`${program}: see ${help}`);
    }
  });

  it('--version and --help on both', async () => {
    for (const [cli, name] of [[system.agentCli.bind(system), 'twinbox-agent'], [system.serverCli.bind(system), 'twinbox-server']] as const) {
      const version = await cli(['--version']);
      expect(version.stdout.trim()).toMatch(new RegExp(`^${name} \\d+\\.\\d+\\.\\d+ \\(protocol \\d+\\)$`));
      expect(JSON.parse((await cli(['--version', '--json'])).stdout)).toMatchObject({ program: name, version: expect.any(String), protocol: expect.any(Number) });
      const help = await cli(['--help']);
      expect([help.code, help.stdout]).toEqual([0, expect.stringContaining(`usage:\n  ${name} `)]);
    }
    const sync = await system.agentCli(['sync', '--help']);
    expect(sync.stdout).toContain('twinbox-agent sync --config FILE [--json]');
    expect(sync.stdout).not.toContain('twinbox-agent pair');
  });

  it('--json on every command that prints, with ISO 8601 times', async () => {
    const device = JSON.parse((await system.serverCli(['device', 'add', '--id', 'user1', '--json'])).stdout);
    const outputs: Record<string, { code: number | null; stdout: string; stderr: string }> = {
      'agent sync': await system.agentCli(['sync', '--config', system.agentConfig, '--json']),
      'agent status': await system.agentCli(['status', '--config', system.agentConfig, '--json']),
      'agent doctor': await system.agentCli(['doctor', '--config', system.agentConfig, '--json']),
      'agent quarantine': await system.agentCli(['quarantine', '--config', system.agentConfig, '--json']),
      'agent repin': await system.agentCli(['repin', '--config', system.agentConfig, '--json']),
      'agent install-service': await system.agentCli(['install-service', '--config', system.agentConfig, '--unit-dir', join(system.dir, 'units'), '--json']),
      'server init': await run(SERVER_CLI, ['init', '--dir', join(mkdtempSync(join(tmpdir(), 'twinbox-init-')), 'server'), '--json']),
      'server certificate': await system.serverCli(['certificate', '--json']),
      'server account add': await system.serverCli(['account', 'add', '--id', 'bob', '--desktop', 'bob@example.test', '--json']),
      'server account token': await system.serverCli(['account', 'token', '--id', 'bob', '--json']),
      'server account list': await system.serverCli(['account', 'list', '--json']),
      'server device link': await system.serverCli(['device', 'link', '--id', 'user1', '--device', String(device.device), '--json']),
      'server device list': await system.serverCli(['device', 'list', '--id', 'user1', '--json']),
      'server device revoke': await system.serverCli(['device', 'revoke', '--id', 'user1', '--device', String(device.device), '--json']),
      'server housekeeping': await system.serverCli(['housekeeping', '--json']),
      'server account remove': await system.serverCli(['account', 'remove', '--id', 'bob', '--json']),
    };
    for (const [what, run] of Object.entries(outputs)) {
      expect(run.code, `${what}: ${run.stderr}`).toBe(0);
      const parsed = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as unknown);
      expect(timesAreIso(parsed), what).toEqual([]);
    }
    expect(JSON.parse(outputs['server init']!.stdout)).toMatchObject({ pin: expect.stringMatching(/^sha256\/\//), backupPin: expect.stringMatching(/^sha256\/\//) });
    expect(JSON.parse(outputs['agent status']!.stdout)).toMatchObject({ lastSyncAt: expect.any(String), lastAttempt: { ok: true } });
    const list = JSON.parse(outputs['server account list']!.stdout);
    expect(list.find((a: { id: string }) => a.id === 'user1')).toMatchObject({ desktopAddress: 'user1@example.test', lastSyncAt: expect.any(String), agent: { state: 'not connected' } });
  });

  it('account list: a header, the desktop address and whether the agent is connected', async () => {
    const offline = await system.serverCli(['account', 'list']);
    expect(offline.stdout.split('\n')[0]).toMatch(/^ACCOUNT\s+DESKTOP\s+WINDOW\s+INBOX\s+PENDING\s+LAST SYNC\s+AGENT$/);
    expect(offline.stdout).toMatch(/^user1\s+user1@example\.test\s+3\s+1\s+0\s+\d{4}-\d\d-\d\dT\S+\s+not connected since \d{4}-/m);
    const daemon = await system.startDaemon(['--schedule', 'off']);
    try {
      await daemon.waitFor((e) => e.event === 'sync', 30_000);
      await expect.poll(async () => (await system.serverCli(['account', 'list'])).stdout, { timeout: 10_000 }).toMatch(/^user1\s.*\sconnected since \d{4}-/m);
      const json = JSON.parse((await system.serverCli(['account', 'list', '--json'])).stdout);
      expect(json[0].agent).toEqual({ state: 'connected', since: expect.stringMatching(/Z$/) });
    } finally {
      await daemon.stop();
    }
    await expect.poll(async () => (await system.serverCli(['account', 'list'])).stdout, { timeout: 10_000 }).toMatch(/^user1\s.*\snot connected since/m);
  });
});
