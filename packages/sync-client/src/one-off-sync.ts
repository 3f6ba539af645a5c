/**
 * `twinbox-agent sync`: one sync now, and its outcome (README, exit statuses).
 *
 *   lock free (lock.ts) ──► take it, answer others on the control socket, sync here
 *   lock held by a live agent ──► ask it over its control socket, wait for its answer
 *   lock held, nobody answers yet ──► try again for a while (it is starting or finishing)
 *   lock stale ──► taken over (its process id is never signalled)
 *
 * Either way the caller gets the summary of a sync that started after it
 * asked, or the error it failed with — so two `sync` at once both hear a real
 * outcome, and a `sync` handed to a background agent whose server is down
 * fails as it would have here.
 */
import { TwinboxError, type Logger } from '@twinbox/protocol';
import type { AgentConfig } from './config.js';
import { ControlSocket, askForSync, controlSocketPathOf, errorOfAnswer } from './daemon/control-socket.js';
import { lockPathOf, tryAcquireLock, type LockRecord } from './daemon/lock.js';
import { SyncScheduler } from './daemon/scheduler.js';
import type { ProgressSink } from './progress.js';
import { AgentStore } from './store/agent-store.js';
import { runSync, type SyncSummary } from './sync.js';
import { migrateToKeyPin } from './transport/trust.js';

export interface SyncOutcome {
  summary: SyncSummary;
  /** The agent that ran it, when it was not this process. */
  ranBy?: Pick<LockRecord, 'pid' | 'role'>;
}

/** How long a held lock may go unanswered before `sync` gives up (BUSY, retryable). */
const UNANSWERED_MS = 15_000;

export async function syncOnce(config: AgentConfig, log: Logger, onProgress?: ProgressSink): Promise<SyncOutcome> {
  const lockPath = lockPathOf(config);
  const socket = controlSocketPathOf(config);
  const giveUpAt = Date.now() + UNANSWERED_MS;
  for (;;) {
    const attempt = tryAcquireLock(lockPath, 'sync', socket);
    if (attempt.acquired) return { summary: await syncHere(config, log, socket, attempt.release, onProgress) };
    const { holder } = attempt;
    if (holder.socket === '') throw new TwinboxError('BUSY', `an agent of an older version (pid ${holder.pid}) is using this database (${config.database}): restart it (it cannot be asked for a sync)`);
    try {
      const answer = await askForSync<SyncSummary>(holder.socket);
      if (!answer.ok) throw errorOfAnswer(answer.error);
      return { summary: answer.summary, ranBy: { pid: holder.pid, role: holder.role } };
    } catch (err) {
      if (err instanceof TwinboxError) throw err;
      // Nothing listens on its socket yet (it is starting) or any more (it is finishing): ask again shortly.
      if (Date.now() > giveUpAt) {
        throw new TwinboxError('BUSY', `the agent holding ${lockPath} (pid ${holder.pid}) does not answer on ${holder.socket}; try again later`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Sync in this process, holding the lock; requests from other `sync` runs meanwhile get a follow-up sync. */
async function syncHere(config: AgentConfig, log: Logger, socketPath: string, release: () => void, onProgress?: ProgressSink): Promise<SyncSummary> {
  let store: AgentStore | undefined;
  try {
    const pinned = await migrateToKeyPin(config, log);
    store = AgentStore.open(pinned.database);
    const opened = store;
    let runs = 0;
    const scheduler = new SyncScheduler<SyncSummary>(() => runSync(pinned, opened, log, runs++ === 0 && onProgress ? { onProgress } : {}));
    const own = scheduler.requestAndWait('manual');
    own.catch(() => undefined); // awaited below, after the socket is closed
    // Without its socket (it could not be made) this sync still runs; a second `sync` then waits and gives up (BUSY).
    const control = await ControlSocket.listen(socketPath, () => scheduler.requestAndWait('manual')).catch((err: unknown) => {
      log.warn('no control socket: other `twinbox-agent sync` runs cannot ask this one', { socket: socketPath, error: (err as Error).message });
      return undefined;
    });
    try {
      await own.catch(() => undefined);
    } finally {
      await control?.close();
      await scheduler.idle();
    }
    return await own;
  } finally {
    store?.close();
    release();
  }
}
