/**
 * `twinbox-agent run`: the agent as a background program (docs/spec.md §9). Syncs
 * run, one at a time with at most one queued, when:
 *
 *   - the schedule fires (node-cron; default every 5 minutes; "off" disables);
 *   - a valid trigger e-mail arrives, or the desktop mailbox changes (DesktopWatcher: IMAP IDLE and NOTIFY; desktop-push.ts);
 *   - the server pushes a request over the watch connection (phone change, sync now);
 *   - someone runs `twinbox-agent sync`: it asks over the control socket
 *     (control-socket.ts) and hears the outcome of the sync that answers it;
 *   - the agent starts.
 *
 * It holds the database's lock (lock.ts) while it runs; a stale lock is
 * taken over. No signal asks for a sync (SIGUSR1 is handled and ignored by
 * the program shell, so Node never opens its inspector on it).
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
import { migrateToKeyPin } from '../transport/trust.js';
import { triggerCheck } from '../triggers.js';
import { ControlSocket, controlSocketPathOf } from './control-socket.js';
import { lockPathOf, tryAcquireLock } from './lock.js';
import { PersistentLinks } from './persistent-links.js';
import { progressQuietMs, throttled, type ProgressSink } from '../progress.js';
import { SyncScheduler, type SyncReason } from './scheduler.js';
import { DesktopPush } from './desktop-push.js';
import { DesktopWatcher } from './desktop-watcher.js';
import { WatchConnection } from './watch-connection.js';
import { OwnLane, type ImapLane } from '../reach/lane.js';
import { RequestServer } from '../reach/request-server.js';

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
  /** Sync when the desktop mailbox changes (default: on). */
  desktopPush?: boolean;
}


/** `options.schedule` must have been checked (schedule.ts). */
export async function runDaemon(loaded: AgentConfig, options: DaemonOptions, log: Logger): Promise<void> {
  const socketPath = controlSocketPathOf(loaded);
  const lock = tryAcquireLock(lockPathOf(loaded), 'run', socketPath);
  if (!lock.acquired) {
    const what = lock.holder.role === 'run' ? 'another background agent' : 'a one-off sync';
    throw new TwinboxError('BUSY', `${what} (pid ${lock.holder.pid}) is using this database (${loaded.database})`);
  }
  const release = lock.release;
  const config = await migrateToKeyPin(loaded, log);
  const store = AgentStore.open(config.database);
  const emit = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

  const desktop = options.desktopPush !== false ? new DesktopPush(store, () => request('desktop'), log) : undefined;
  const triggers = options.triggers && config.triggerSecret ? { check: triggerCheck(store, config.triggerSecret, config.account), onTrigger: () => request('trigger') } : undefined;
  const watcher = triggers || desktop ? new DesktopWatcher(config.imap, store, { triggers, changes: desktop }, log) : undefined;
  // The interactive lane (docs/reach.md): the watcher's connection, or one of its own; never the sync's.
  const lane: ImapLane = watcher ?? new OwnLane(config.imap, store, log);
  const requests = new RequestServer(lane, log, store);
  const watch = options.push ? new WatchConnection(config, store.agentId(), () => request('push'), log, requests) : undefined;
  // Syncs run over links kept open between them: the IMAP connection and the watch connection (issue 11).
  const links = new PersistentLinks(config, watch, log, store);
  const scheduler = new SyncScheduler<SyncSummary>((reason) => {
    log.info('sync requested', { reason });
    desktop?.syncStarting();
    watcher?.hold();
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
  scheduler.on('synced', ({ result }) => watcher?.useTrash(result.imap.folders.trash.path));
  scheduler.on('synced', () => desktop?.syncEnded());
  scheduler.on('failed', () => desktop?.syncEnded());
  // After the sync's own changes: the watcher looks at what changed during it, then listens again.
  scheduler.on('synced', () => watcher?.release());
  scheduler.on('failed', () => watcher?.release());

  const task = options.schedule === 'off' ? undefined : cron.schedule(options.schedule, () => request('schedule'));
  watcher?.start();
  watch?.start();
  const control = await ControlSocket.listen(socketPath, () => scheduler.requestAndWait('manual'));
  emit({ event: 'started', pid: process.pid, schedule: options.schedule, push: options.push, triggers: Boolean(triggers), desktopPush: Boolean(desktop) });
  if (options.startupSync) request('startup');

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  log.info('stopping');
  await control.close();
  await task?.stop();
  watch?.stop();
  desktop?.stop();
  await watcher?.stop();
  await lane.close();
  await scheduler.stop();
  await links.close();
  store.close();
  release();
  emit({ event: 'stopped' });
}
