/**
 * One `twinbox-server start` process, a node of a deployment (issue 22):
 * several nodes share one server folder (its keys, so every node presents
 * the key agents pin, and its store) and each listens on its own port,
 * from its own copy of the config (`config.node-<name>.json` beside the
 * original: the paths in it stay relative to the folder).
 *
 * Nodes of a real deployment share a PostgreSQL database (`edit` sets
 * `store` and `cluster.nodeName`: docs/scaling.md); nodes left on the
 * folder's SQLite file are enough for the load balancer's tests (routing,
 * health checks).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { freePort } from './dovecot.js';
import { SERVER_CLI } from './system.js';

export interface ServerNodeOptions {
  /** The server folder's config.json (made by `twinbox-server init`). */
  config: string;
  /** A name for its config copy and its log (default: its port). */
  name?: string;
  /** Port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** Changes to its copy of the config (e.g. `store`, `connections`). */
  edit?: (config: Record<string, any>) => void;
  env?: NodeJS.ProcessEnv;
}

export class ServerNode {
  /** Its stderr (the log), from every start. */
  log = '';
  private child: ChildProcess | undefined;

  private constructor(
    readonly config: string,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static async start(options: ServerNodeOptions): Promise<ServerNode> {
    const port = options.port ?? (await freePort());
    const base = JSON.parse(readFileSync(options.config, 'utf8')) as Record<string, any>;
    base.listen = { ...base.listen, port };
    options.edit?.(base);
    const config = join(dirname(options.config), `config.node-${options.name ?? port}.json`);
    writeFileSync(config, JSON.stringify(base, null, 2), { mode: 0o600 });
    const node = new ServerNode(config, port, options.env ?? {});
    await node.start();
    return node;
  }

  get pid(): number {
    if (!this.child?.pid || !this.running) throw new Error(`server node ${this.port} is not running`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Start it (again): resolves once it says it listens. */
  async start(): Promise<void> {
    if (this.running) return;
    const child = spawn(process.execPath, [SERVER_CLI, 'start', '--config', this.config], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TWINBOX_LOG: process.env.TWINBOX_LOG ?? 'warn', ...this.env },
    });
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/listening on /.test(out)) resolve();
      });
      child.once('exit', (code, signal) => reject(new Error(`server node ${this.port} exited (${code ?? signal}): ${this.log.slice(-2000)}`)));
    });
  }

  /** Resolves when it has exited. */
  exited(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return Promise.resolve();
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** Stop it with a signal (SIGTERM: a clean stop; SIGKILL: a node lost) and wait for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.child || !this.running) return;
    const exited = this.exited();
    this.child.kill(signal);
    await exited;
  }

  kill(): Promise<void> {
    return this.stop('SIGKILL');
  }
}
