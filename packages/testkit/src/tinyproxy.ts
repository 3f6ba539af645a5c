/**
 * A real HTTP proxy for the agent's proxy tests (issue 13): Debian's
 * tinyproxy, on loopback, with Basic authentication, started in the
 * foreground and ended by its process id. Its log tells which CONNECTs it
 * tunnelled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './dovecot.js';

export interface Tinyproxy {
  port: number;
  /** http://user:password@127.0.0.1:port */
  url: string;
  /** The CONNECT targets it tunnelled so far ("127.0.0.1:8443"). */
  connects(): string[];
  stop(): Promise<void>;
}

async function listening(port: number, deadline: number): Promise<void> {
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`tinyproxy did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startTinyproxy(auth: { user: string; password: string }): Promise<Tinyproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'twinbox-tinyproxy-'));
  const port = await freePort();
  const log = join(dir, 'tinyproxy.log');
  writeFileSync(log, '');
  // tinyproxy started as root writes its log as nobody.
  chmodSync(dir, 0o755);
  chmodSync(log, 0o666);
  const conf = join(dir, 'tinyproxy.conf');
  writeFileSync(
    conf,
    [
      `Port ${port}`,
      'Listen 127.0.0.1',
      'Timeout 60',
      'MaxClients 20',
      'Allow 127.0.0.1',
      `BasicAuth ${auth.user} ${auth.password}`,
      `LogFile "${log}"`,
      'LogLevel Info',
      ...(process.getuid?.() === 0 ? ['User nobody', 'Group nogroup'] : []),
      // No ConnectPort line: CONNECT to any port (the test server's is not 443).
    ].join('\n') + '\n',
  );
  const child: ChildProcess = spawn('tinyproxy', ['-d', '-c', conf], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await listening(port, Date.now() + 10_000);
  return {
    port,
    url: `http://${auth.user}:${auth.password}@127.0.0.1:${port}`,
    connects: () => [...readFileSync(log, 'utf8').matchAll(/CONNECT (\S+) HTTP/g)].map((m) => m[1]!),
    stop: async () => {
      if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
