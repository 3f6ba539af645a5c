/**
 * `twinbox-agent run` as a child process in tests: its JSON event lines
 * (stdout) are collected so a test can wait for "a sync completed", and a
 * sync is asked for the way `twinbox-agent sync` asks: over the agent's
 * control socket, answered when that sync is done.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { askForSync, controlSocketPathOf, loadAgentConfig, type ControlAnswer, type SyncSummary } from '@twinbox/sync-client';
import { WITHOUT_PROXY_ENV } from './env.js';

export interface DaemonEvent {
  event: 'started' | 'sync' | 'syncFailed' | 'stopped';
  reason?: string;
  /** Every request the sync answered (folded ones too). */
  reasons?: string[];
  coalesced?: number;
  summary?: { mode: string; syncNo: number; durationMs: number; serverActions: number; agentActions: number; insertedOnDesktop: number };
  [key: string]: unknown;
}

export class AgentDaemon {
  readonly events: DaemonEvent[] = [];
  stderr = '';
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly child: ChildProcess,
    /** The agent's config file. */
    readonly config: string,
  ) {
    let buffer = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          this.events.push(JSON.parse(line) as DaemonEvent);
        } catch {
          continue;
        }
        for (const w of this.waiters) w();
      }
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  static async start(cli: string, config: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<AgentDaemon> {
    const child = spawn(process.execPath, [cli, 'run', '--config', config, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...WITHOUT_PROXY_ENV, TWINBOX_LOG: 'info', ...env },
    });
    const daemon = new AgentDaemon(child, config);
    await daemon.waitFor((e) => e.event === 'started', 10_000);
    return daemon;
  }

  /** Ask the running agent for a sync over its control socket (as `twinbox-agent sync` does); its answer once that sync is done. */
  requestSync(): Promise<ControlAnswer<SyncSummary>> {
    return askForSync<SyncSummary>(controlSocketPathOf(loadAgentConfig(this.config)));
  }

  /** Syncs completed so far (successfully). */
  get syncs(): DaemonEvent[] {
    return this.events.filter((e) => e.event === 'sync');
  }

  /** Resolves with the first event (from `from` on) that matches. */
  waitFor(match: (e: DaemonEvent) => boolean, timeoutMs: number, from = 0): Promise<DaemonEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.slice(from).find(match);
        if (!found) return false;
        clearTimeout(timer);
        this.waiters.delete(onEvent);
        resolve(found);
        return true;
      };
      const onEvent = () => void check();
      const timer = setTimeout(() => {
        this.waiters.delete(onEvent);
        reject(new Error(`no matching agent event within ${timeoutMs} ms; events: ${JSON.stringify(this.events.map((e) => [e.event, e.reason]))}\n${this.stderr.slice(-3000)}`));
      }, timeoutMs);
      if (!check()) this.waiters.add(onEvent);
    });
  }

  /** The next completed sync after the events seen so far. */
  nextSync(timeoutMs: number): Promise<DaemonEvent> {
    return this.waitFor((e) => e.event === 'sync' || e.event === 'syncFailed', timeoutMs, this.events.length);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
