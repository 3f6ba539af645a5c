/**
 * The lock and the signal (README "Running it for real": `twinbox-agent
 * sync`). A one-off sync never signals a process id: it asks the agent that
 * holds the database's lock over its control socket and exits with the
 * outcome of the sync that answers it; a stale lock is taken over, and the
 * program whose id it names is left alone; no Twinbox process leaves SIGUSR1
 * to Node (whose default opens an inspector on 127.0.0.1:9229).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LatencyProxy, TwinboxSystem, type AgentRun } from '@twinbox/testkit';

const INSPECTOR_PORT = 9229;

/** Is anything listening on this TCP port (any address, IPv4 or IPv6)? From /proc/net, so no tool is needed. */
function listening(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return ['/proc/net/tcp', '/proc/net/tcp6'].some((table) =>
    readFileSync(table, 'utf8')
      .split('\n')
      .slice(1)
      .some((line) => {
        const [, local, , state] = line.trim().split(/\s+/);
        return local?.endsWith(hex) && state === '0A';
      }),
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('one sync at a time, asked for without signals', () => {
  let system: TwinboxSystem;
  let slow: LatencyProxy;
  let inspectorBefore: boolean;
  const lock = () => `${system.agentDatabase}.lock`;

  beforeAll(async () => {
    inspectorBefore = listening(INSPECTOR_PORT);
    system = await TwinboxSystem.start({ window: 5 });
    for (let i = 1; i <= 3; i++) await system.desktop.deliver({ label: `D${i}`, date: new Date(Date.UTC(2026, 0, 1, 9, i)) });
  });
  afterAll(async () => {
    await slow?.stop();
    await system?.stop();
  });

  it('two-concurrent-syncs: the second asks the first and waits for the sync that answers it; no inspector opens', async () => {
    // The first sync is slowed by 400 ms per round trip to the server, so the second arrives while it runs.
    slow = await LatencyProxy.start({ host: '127.0.0.1', port: system.port }, 400);
    system.editAgentConfig((c) => (c.server.url = `wss://127.0.0.1:${slow.port}/sync`));
    const first = system.runAgent();
    await expect.poll(() => existsSync(lock()), { timeout: 10_000, interval: 20 }).toBe(true);
    const holder = JSON.parse(readFileSync(lock(), 'utf8')) as { pid: number; role: string; socket: string };
    expect(holder).toMatchObject({ role: 'sync', socket: `${system.agentDatabase}.sock` });
    // A stray SIGUSR1 to the syncing process: handled (ignored), not Node's inspector.
    process.kill(holder.pid, 'SIGUSR1');
    const second = await system.runAgent();
    const firstRun = await first;
    expect([firstRun.code, second.code], `${firstRun.stderr}\n${second.stderr}`).toEqual([0, 0]);
    const [a, b] = [firstRun, second].map((r: AgentRun) => JSON.parse(r.stdout.trim().split('\n').at(-1)!));
    expect(a.syncNo).toBe(1);
    expect(b.ranBy).toEqual({ pid: holder.pid, role: 'sync' });
    // The second request was answered by a sync that began after it asked: the follow-up.
    expect(b.syncNo).toBe(2);
    expect(firstRun.stderr).toMatch(/SIGUSR1 ignored/);
    expect(existsSync(lock())).toBe(false);
    expect(existsSync(`${system.agentDatabase}.sock`)).toBe(false);
    if (!inspectorBefore) expect(listening(INSPECTOR_PORT)).toBe(false);
    expect(await system.phoneLabels()).toEqual(['D3', 'D2', 'D1']);
  });

  it('sync-asks-the-background-agent: delegated, it exits with that sync\'s outcome; SIGUSR1 to the agent opens nothing', async () => {
    system.editAgentConfig((c) => (c.server.url = system.serverUrl));
    const daemon = await system.startDaemon(['--schedule', 'off', '--no-startup-sync']);
    try {
      process.kill(daemon.child.pid!, 'SIGUSR1');
      await expect.poll(() => daemon.stderr, { timeout: 5000 }).toMatch(/SIGUSR1 ignored/);
      expect(alive(daemon.child.pid!)).toBe(true);
      if (!inspectorBefore) expect(listening(INSPECTOR_PORT)).toBe(false);

      await system.desktop.deliver({ label: 'D4', date: new Date(Date.UTC(2026, 0, 1, 9, 4)) });
      const ok = await system.agentCli(['sync', '--config', system.agentConfig]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(new RegExp(`^sync \\d+ \\(update\\) complete in \\d+ ms \\(run by the background agent, pid ${daemon.child.pid}\\)`));
      expect((await system.phoneLabels())[0]).toBe('D4');

      // The server is down: the background agent's sync fails, and so does the `sync` that asked for it.
      await system.stopServer();
      const down = await system.agentCli(['sync', '--config', system.agentConfig]);
      expect(down.code, down.stdout).toBe(75);
      expect(down.stderr).toMatch(/CONNECTION_LOST, retryable\]/);
      await system.startServer();
      const again = await system.agentCli(['sync', '--config', system.agentConfig, '--json']);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout.trim().split('\n').at(-1)!).ranBy).toEqual({ pid: daemon.child.pid, role: 'run' });
      const status = await system.agentCli(['status', '--config', system.agentConfig]);
      expect(status.stdout).toContain(`agent: running (pid ${daemon.child.pid})`);
    } finally {
      await daemon.stop();
    }
  });

  it('stale-lock-of-another-program: taken over, and that program is left alone', async () => {
    const sleeper: ChildProcess = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const pid = sleeper.pid!;
      // A lock left by a crashed agent whose id now belongs to another program (its start time differs), and one
      // left by an agent from before locks recorded start times (a bare id).
      for (const stale of [JSON.stringify({ pid, started: '1', role: 'run', socket: `${system.agentDatabase}.sock` }), `${pid}\n`]) {
        writeFileSync(lock(), stale);
        const status = await system.agentCli(['status', '--config', system.agentConfig]);
        expect(status.stdout).toContain('agent: not running');
        const run = await system.agentCli(['sync', '--config', system.agentConfig]);
        expect(run.code, run.stderr).toBe(0);
        expect(run.stdout).not.toContain('run by');
        expect(alive(pid)).toBe(true);
        expect(sleeper.exitCode).toBeNull();
        expect(sleeper.signalCode).toBeNull();
        expect(existsSync(lock())).toBe(false);
      }
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});
