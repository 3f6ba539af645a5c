/**
 * HAProxy (Debian's package) in TCP mode in front of several sync server
 * nodes, for tests and benchmarks (issue 22). TLS passes through untouched:
 * the agent checks the node's key pin end to end, as it would with no
 * balancer. A generated config in a temp dir, `haproxy -W -db -f CONF` in the
 * foreground as our child (master-worker: SIGUSR2 reloads the config), on
 * its own port on 127.0.0.1, run unprivileged (as root: nobody), stopped by
 * its pid.
 *
 * Each node is health-checked with `GET /readyz` over TLS every
 * `checkIntervalMs`: a node that stops answering (killed) or answers 503
 * (its database gone) is taken out after `fall` failed checks, and at once
 * when a new connection to it fails (`observe layer4`); a connection that
 * cannot reach its node is sent to another (`option redispatch`). New
 * connections go round the nodes (`roundrobin`, or `random`), so each sync
 * of a one-off agent may land on another node. Client and server timeouts
 * are long: a sync or a watch connection lives for minutes (the server pings
 * every 15 s).
 *
 * deploy/haproxy-twinbox.cfg is the same configuration for production.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './dovecot.js';
import { isExecutable } from './executable.js';
import { chownTreeTo, spawnIdentity, unprivilegedIdentity } from './unprivileged.js';


export function haproxyBinary(): string | undefined {
  return ['/usr/sbin', ...(process.env.PATH ?? '').split(delimiter)].map((d) => join(d, 'haproxy')).find(isExecutable);
}

export function haproxyAvailable(): boolean {
  return haproxyBinary() !== undefined;
}

export interface HaproxyOptions {
  /** Port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** How new connections pick a node (default roundrobin). */
  balance?: 'roundrobin' | 'random' | 'leastconn';
  /** Health check interval (default 500 ms). */
  checkIntervalMs?: number;
  /** Failed checks before a node is taken out (default 2), passed ones before it is back (default 2). */
  fall?: number;
  rise?: number;
  /** Client and server inactivity timeout (default 10 minutes). */
  idleTimeoutMs?: number;
  /** Connections HAProxy takes at once (default 4000; it needs two file descriptors each). */
  maxConnections?: number;
}

export interface NodeState {
  port: number;
  /** UP, DOWN, MAINT, or a transition ("UP 1/2", "DOWN 1/2") as HAProxy reports it. */
  status: string;
  up: boolean;
  /** Connections it has been given since the last (re)load. */
  connections: number;
  /** Connections open to it now. */
  current: number;
  /** The last health check's outcome (L7OK: /readyz answered 200; L4CON: refused; L7STS: another status). */
  check: string;
}

export interface Haproxy {
  host: '127.0.0.1';
  port: number;
  /** wss://127.0.0.1:PORT/sync: where agents reach the nodes through it. */
  syncUrl: string;
  dir: string;
  /** The master process's pid. */
  pid: number;
  nodes: number[];
  /** Point it at other nodes (a reload: open connections stay with the old nodes until they end). */
  setNodes(ports: number[]): Promise<void>;
  /** Each node's state as its health checks see it. */
  nodeStates(): Promise<NodeState[]>;
  /** Wait until the node on `port` is up (or down), as HAProxy sees it. */
  waitForNode(port: number, up: boolean, timeoutMs?: number): Promise<void>;
  /** One command on HAProxy's runtime API (stats socket), its answer. */
  command(line: string): Promise<string>;
  log(): string;
  stop(): Promise<void>;
}

const nodeName = (port: number) => `node_${port}`;

/** The configuration, for the nodes on these loopback ports. */
export function haproxyConfig(options: { port: number; nodes: number[]; dir: string } & HaproxyOptions): string {
  const inter = options.checkIntervalMs ?? 500;
  const idle = options.idleTimeoutMs ?? 600_000;
  return `# Twinbox testkit (packages/testkit/src/haproxy.ts); production: deploy/haproxy-twinbox.cfg
global
  maxconn ${options.maxConnections ?? 4000}
  stats socket ${join(options.dir, 'admin.sock')} mode 600 level admin
  log stderr format raw local0 info

defaults
  mode tcp
  log global
  option tcplog
  option dontlognull
  timeout connect 2s
  timeout client ${idle}ms
  timeout server ${idle}ms
  timeout client-fin 10s
  timeout server-fin 10s
  timeout check 2s
  retries 2
  option redispatch 1

frontend twinbox
  bind 127.0.0.1:${options.port}
  default_backend nodes

backend nodes
  balance ${options.balance ?? 'roundrobin'}
  option httpchk
  http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost
  http-check expect status 200
  default-server check check-ssl verify none inter ${inter}ms fastinter ${Math.max(100, Math.floor(inter / 2))}ms downinter ${inter}ms fall ${options.fall ?? 2} rise ${options.rise ?? 2} observe layer4 error-limit 1 on-error mark-down
${options.nodes.map((port) => `  server ${nodeName(port)} 127.0.0.1:${port}`).join('\n')}
`;
}

function askSocket(path: string, line: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let answer = '';
    const timer = setTimeout(() => socket.destroy(new Error(`no answer from HAProxy to ${line}`)), timeoutMs);
    socket.on('connect', () => socket.write(`${line}\n`));
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** `show stat` (CSV) → the backend's servers. */
function parseStat(csv: string, backend: string): NodeState[] {
  const lines = csv.split('\n').filter(Boolean);
  const header = (lines[0] ?? '').replace(/^# /, '').split(',');
  const col = (name: string) => header.indexOf(name);
  return lines
    .slice(1)
    .map((l) => l.split(','))
    .filter((f) => f[col('pxname')] === backend && /^node_\d+$/.test(f[col('svname')] ?? ''))
    .map((f) => {
      const status = f[col('status')] ?? '';
      return {
        port: Number(f[col('svname')]!.slice('node_'.length)),
        status,
        up: status === 'UP' || status.startsWith('UP ') || status === 'no check',
        connections: Number(f[col('stot')] ?? 0),
        current: Number(f[col('scur')] ?? 0),
        check: f[col('check_status')] ?? '',
      };
    });
}

export async function startHaproxy(nodes: number[], options: HaproxyOptions = {}): Promise<Haproxy> {
  const binary = haproxyBinary();
  if (!binary) throw new Error("no haproxy in /usr/sbin or on the PATH: run scripts/install-system-deps.sh (Debian's haproxy package)");
  const who = unprivilegedIdentity();
  const dir = mkdtempSync(join(tmpdir(), 'twinbox-haproxy-'));
  const conf = join(dir, 'haproxy.cfg');
  const logFile = join(dir, 'haproxy.log');
  const port = options.port ?? (await freePort());
  const socketPath = join(dir, 'admin.sock');
  let current = [...nodes];
  const write = () => writeFileSync(conf, haproxyConfig({ ...options, port, nodes: current, dir }));
  write();
  writeFileSync(logFile, '');
  chownTreeTo(dir, who);

  const logFd = openSync(logFile, 'a');
  const child: ChildProcess = spawn(binary, ['-W', '-db', '-f', conf], { stdio: ['ignore', logFd, logFd], ...spawnIdentity(who) });
  closeSync(logFd);
  // A spawn that fails (EACCES, ENOENT) emits 'error' and no 'exit': either ends it.
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      spawnError = err;
      resolve();
    });
  });
  const readLog = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const command = (line: string) => askSocket(socketPath, line);
  const nodeStates = async () => parseStat(await command('show stat'), 'nodes');

  /** Until the running worker serves exactly these nodes (after a start or a reload). */
  const serving = async (ports: number[], timeoutMs: number) => {
    const want = [...ports].sort((a, b) => a - b).join(',');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (spawnError) throw new Error(`haproxy did not start: ${spawnError.message}`);
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`haproxy exited (${child.exitCode ?? child.signalCode}): ${readLog().slice(-2000)}`);
      const states = await nodeStates().catch(() => undefined);
      if (states && states.map((s) => s.port).sort((a, b) => a - b).join(',') === want) return;
      if (Date.now() > deadline) throw new Error(`haproxy did not serve nodes ${want} within ${timeoutMs} ms: ${readLog().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  try {
    await serving(current, 15_000);
  } catch (err) {
    if (!spawnError && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const waitForNode = async (nodePort: number, up: boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = (await nodeStates()).find((s) => s.port === nodePort);
      if (state && state.up === up && !/\d\/\d/.test(state.status)) return;
      if (Date.now() > deadline) throw new Error(`HAProxy did not see node ${nodePort} ${up ? 'up' : 'down'} within ${timeoutMs} ms (${state?.status ?? 'not a node'})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  return {
    host: '127.0.0.1',
    port,
    syncUrl: `wss://127.0.0.1:${port}/sync`,
    dir,
    get pid() {
      return child.pid!;
    },
    get nodes() {
      return [...current];
    },
    setNodes: async (ports) => {
      current = [...ports];
      write();
      chownTreeTo(conf, who);
      // Seen once in a full run under load: 15 s after the signal the stats still showed other nodes (a reload
      // asked for while the master was busy with the one before, it seems). Ask again, up to three times in all;
      // a reload more is harmless.
      for (let attempt = 1; ; attempt++) {
        process.kill(child.pid!, 'SIGUSR2');
        try {
          await serving(current, 5_000);
          return;
        } catch (err) {
          if (attempt === 3) throw err;
        }
      }
    },
    nodeStates,
    waitForNode,
    command,
    log: readLog,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.kill('SIGTERM');
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
