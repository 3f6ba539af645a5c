/**
 * `twinbox-agent run`: the agent as a background program (SPEC §9). Syncs
 * run, one at a time with at most one queued, when:
 *
 *   - the schedule fires (node-cron; default every 5 minutes; "off" disables);
 *   - a valid trigger e-mail arrives (TriggerWatcher, IMAP IDLE);
 *   - the server pushes a request over the watch connection (phone change, sync now);
 *   - someone runs `twinbox-agent sync` (it signals the running agent: SIGUSR1);
 *   - the agent starts.
 *
 * Every finished sync is one JSON line on stdout ({"event":"sync",…} or
 * {"event":"syncFailed",…}); logs go to stderr. SIGTERM/SIGINT let the sync
 * under way finish, then stop.
 */
import cron from 'node-cron';
import { TwinboxError, type Logger } from '@twinbox/protocol';
import type { AgentConfig } from '../config.js';
import { AgentStore } from '../store/agent-store.js';
import { runSync, type SyncSummary } from '../sync.js';
import { triggerCheck } from '../triggers.js';
import { acquireLock, lockPathOf } from './lock.js';
import { PersistentLinks } from './persistent-links.js';
import { progressQuietMs, throttled, type ProgressSink } from '../progress.js';
import { SyncScheduler, type SyncReason } from './scheduler.js';
import { TriggerWatcher } from './trigger-watcher.js';
import { WatchConnection } from './watch-connection.js';

export const DEFAULT_SCHEDULE = '*/5 * * * *';

/** Where `twinbox-agent status` finds how far the background sync under way has come (once a second at most). */
function recordProgress(store: AgentStore): ProgressSink {
  return throttled((p) => store.transaction(() => store.setMeta('progress', JSON.stringify({ ...p, at: Date.now() }))), { quietMs: progressQuietMs(), everyMs: 1000 });
}

export interface DaemonOptions {
  /** Cron expression, or 'off'. */
  schedule: string;
  push: boolean;
  triggers: boolean;
  /** Sync once at start (default). */
  startupSync: boolean;
}


export async function runDaemon(config: AgentConfig, options: DaemonOptions, log: Logger): Promise<void> {
  if (options.schedule !== 'off' && !cron.validate(options.schedule)) {
    throw new TwinboxError('CONFIG', `schedule ${JSON.stringify(options.schedule)} is not a cron expression (or "off")`);
  }
  const release = acquireLock(lockPathOf(config));
  const store = AgentStore.open(config.database);
  const emit = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

  const watch = options.push ? new WatchConnection(config, store.agentId(), () => request('push'), log) : undefined;
  // Syncs run over links kept open between them: the IMAP connection and the watch connection (issue 11).
  const links = new PersistentLinks(config, watch, log, store);
  const scheduler = new SyncScheduler<SyncSummary>((reason) => {
    log.info('sync requested', { reason });
    return runSync(config, store, log, { links, onProgress: recordProgress(store) });
  });
  // A finished sync has no progress to show.
  const clearProgress = () => store.transaction(() => store.deleteMeta('progress'));
  scheduler.on('synced', clearProgress);
  scheduler.on('failed', clearProgress);
  scheduler.on('synced', ({ reason, reasons, result, coalesced }) => emit({ event: 'sync', reason, reasons, coalesced, at: new Date().toISOString(), summary: result }));
  scheduler.on('failed', ({ reason, reasons, error, coalesced }) => {
    const e = error instanceof TwinboxError ? { code: error.code, retryable: error.retryable } : { code: 'INTERNAL', retryable: true };
    log.warn('sync failed', { reason, ...e, error: (error as Error).message });
    emit({ event: 'syncFailed', reason, reasons, coalesced, at: new Date().toISOString(), ...e, error: (error as Error).message });
  });
  const request = (reason: SyncReason) => scheduler.request(reason);

  const task = options.schedule === 'off' ? undefined : cron.schedule(options.schedule, () => request('schedule'));
  const watcher =
    options.triggers && config.triggerSecret
      ? new TriggerWatcher(config.imap, store, triggerCheck(store, config.triggerSecret, config.account), () => request('trigger'), log)
      : undefined;
  watcher?.start();
  watch?.start();
  process.on('SIGUSR1', () => request('manual'));
  emit({ event: 'started', pid: process.pid, schedule: options.schedule, push: options.push, triggers: Boolean(watcher) });
  if (options.startupSync) request('startup');

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  log.info('stopping');
  await task?.stop();
  watch?.stop();
  await watcher?.stop();
  await scheduler.stop();
  await links.close();
  store.close();
  release();
  emit({ event: 'stopped' });
}
