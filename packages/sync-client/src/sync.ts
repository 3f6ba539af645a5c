/**
 * One sync session, agent-initiated (docs/spec.md §4, patent FIG. 3A):
 *
 *   detect desktop changes ─► connect (TLS, pinned) ─► hello/welcome
 *     ├─ initial: initialSync                       (FIG. 4/5)
 *     └─ update:  push actions ─► swap ─► apply server actions   (FIG. 9/10)
 *   ─► normalize (FIG. 6) ─► pull (FIG. 7/8) ─► window order ─► complete, recorded on both sides
 *
 * Desktop changes are detected before connecting, so they are durable
 * actions before anything is sent.
 */
import { LIMITS, PROTOCOL_VERSION, TwinboxError, type Logger, type SyncStats } from '@twinbox/protocol';
import type { AgentConfig } from './config.js';
import { DesktopImap, type ImapCodePaths } from './imap/desktop-imap.js';
import type { RefusalMemory } from './imap/fallbacks.js';
import type { SyncContext, SyncCounters } from './phases/context.js';
import { detectDesktopChanges, type DetectResult } from './phases/detect.js';
import { applyServerActions } from './phases/apply-server-actions.js';
import { coverWindow } from './phases/inbox-tracking.js';
import { initialSync } from './phases/initial.js';
import { normalize } from './phases/normalize.js';
import { pull } from './phases/pull.js';
import { pushActions } from './phases/push-actions.js';
import { SyncQuarantine } from './phases/quarantine.js';
import { backfillDigests } from './phases/backfill-digests.js';
import type { ProgressSink } from './progress.js';
import type { AgentStore } from './store/agent-store.js';
import { desktopSmtp } from './smtp.js';
import { SyncConnection, type ConnectionStats } from './transport/connection.js';
import { triggerCheck } from './triggers.js';

export interface SyncSummary extends SyncStats {
  syncNo: number;
  /** How desktop changes were found, and how many messages IMAP reported for it. */
  detection: { method: 'qresync' | 'condstore' | 'compare' | 'none'; fetched: number };
  /** The code paths chosen for this IMAP server (issue 10). */
  imap: ImapCodePaths;
  durationMs: number;
  /** Where the time went, per phase (ms). */
  phaseMs: Record<string, number>;
  wire: ConnectionStats;
  /** Messages in the desktop INBOX (EXISTS at the last detection). */
  desktopInbox: number;
  /** INBOX messages the agent tracks (inbox-tracking.ts): O(window), whatever the INBOX holds. */
  tracked: number;
  phoneWindow: number;
}

/**
 * The two links a sync runs over. One-off (`twinbox-agent sync`): made for
 * the sync and closed after it. The background agent keeps both open
 * between syncs (daemon/persistent-links.ts): no IMAP login, TLS handshake
 * or server login per sync (issue 11).
 */
export interface SyncLinks {
  imap(): Promise<DesktopImap>;
  server(): Promise<SyncConnection>;
  /** The sync is over: keep the links (it completed) or drop them (it failed half-way). */
  release(completed: boolean): Promise<void>;
}

/** Links made for one sync and closed after it; `memory` keeps what the IMAP server refused (imap/fallbacks.ts). */
export function oneOffLinks(config: AgentConfig, log: Logger, memory?: RefusalMemory): SyncLinks {
  let imap: DesktopImap | undefined;
  let conn: SyncConnection | undefined;
  return {
    imap: async () => (imap = await DesktopImap.connect(config.imap, (message) => log.warn(message), memory)),
    server: async () => (conn = await SyncConnection.open(config.server)),
    release: async () => {
      conn?.close();
      await imap?.close();
    },
  };
}

/**
 * Whether the agent has nothing to do, for the options it last synced with:
 * no action pending, no desktop change found, and the window settled (its
 * cover is enough, every top-W message is on the phone and nothing else is,
 * and the phone has their order). Then its hello asks for a quiet sync.
 */
function quietFor(store: AgentStore, detection: DetectResult): { window: number; unreadFirst: boolean } | undefined {
  const saved = store.getMeta('options');
  if (!saved || detection.stateLost || detection.actions > 0 || store.pendingCount() > 0) return undefined;
  const options = JSON.parse(saved) as { window: number; unreadFirst: boolean };
  const floor = store.inboxFloor();
  if (floor > 0 && store.inboxCountAbove(floor, options.unreadFirst) < options.window) return undefined;
  const top = store.topOfInbox(options.window, options.unreadFirst);
  const mapped = store.mappings('inbox');
  const sentOrder = store.sentOrder();
  const onPhone = new Set(mapped.map((m) => m.uid));
  const settled = top.length === mapped.length && top.every((e) => onPhone.has(e.uid)) && mapped.every((m) => sentOrder[m.phoneId] === m.uid);
  return settled ? { window: options.window, unreadFirst: options.unreadFirst } : undefined;
}

export interface SyncOptions {
  /** The links to sync over (default: made for this sync and closed after it). */
  links?: SyncLinks;
  /** Hears how far a long sync has come. */
  onProgress?: ProgressSink;
}

export async function runSync(config: AgentConfig, store: AgentStore, log: Logger, options: SyncOptions = {}): Promise<SyncSummary> {
  const links = options.links ?? oneOffLinks(config, log, store);
  const started = Date.now();
  const phases: Record<string, number> = {};
  let mark = started;
  const lap = (phase: string) => {
    const now = Date.now();
    phases[phase] = (phases[phase] ?? 0) + now - mark;
    mark = now;
  };
  let completed = false;
  try {
    const imap = await links.imap();
    lap('imapConnect');
    // What `twinbox-agent status` shows of the IMAP server: the code paths this sync takes (issue 13).
    store.setMeta('imapPaths', JSON.stringify({ detection: imap.paths.detection, move: imap.paths.move, expunge: imap.paths.expunge, uidNext: imap.paths.uidNext, appendUid: imap.paths.appendUid }));
    const triggers = triggerCheck(store, config.triggerSecret, config.account);
    const detection = await detectDesktopChanges(store, imap, log, triggers);
    // Mappings from before the agent kept content digests get theirs (once, after the upgrade; O(window)).
    await backfillDigests({ store, imap, log });
    lap('detect');
    const conn = await links.server();
    const wireBefore = { ...conn.stats };
    const quiet = quietFor(store, detection);
    // Nothing to push: an update's swap can start with the welcome (protocol/messages.ts `hello.swap`).
    const swap = store.pendingCount() === 0;
    conn.send({
      type: 'hello',
      version: PROTOCOL_VERSION,
      accountId: config.account,
      token: config.token,
      agentId: store.agentId(),
      syncEpoch: store.getMeta('syncEpoch') ?? null,
      lastSyncNo: Number(store.getMeta('lastSyncNo') ?? 0),
      ackedThrough: store.ackedThrough(),
      ...(quiet ? { quiet } : {}),
      ...(swap ? { swap } : {}),
    });
    const welcome = (await conn.expect('welcome')).message;
    lap('serverConnect');
    store.transaction(() => store.setMeta('options', JSON.stringify(welcome.options)));
    const counters: SyncCounters = { agentActions: 0, serverActions: 0, unmapped: 0, pulled: 0, insertedOnDesktop: 0 };
    const summaryOf = (stats: SyncStats, syncNo: number): SyncSummary => ({
      ...stats,
      syncNo,
      detection: { method: detection.method, fetched: detection.fetched },
      imap: imap.paths,
      durationMs: Date.now() - started,
      phaseMs: phases,
      wire: {
        framesSent: conn.stats.framesSent - wireBefore.framesSent,
        framesReceived: conn.stats.framesReceived - wireBefore.framesReceived,
        bytesSent: conn.stats.bytesSent - wireBefore.bytesSent,
        bytesReceived: conn.stats.bytesReceived - wireBefore.bytesReceived,
      },
      desktopInbox: desktopInbox(),
      tracked: store.inboxCount(),
      phoneWindow: store.mappings('inbox').length,
    });
    // Exact where every message is tracked (live triggers are never counted); else the server's count.
    const desktopInbox = () => (store.inboxFloor() === 0 ? store.inboxCount() : (store.folderState('inbox')?.exists ?? 0));
    const record = (syncNo: number, stats: SyncStats) =>
      store.transaction(() => {
        store.setMeta('lastSyncNo', String(syncNo));
        store.setMeta('lastSyncAt', String(Date.now()));
        store.setMeta('lastStats', JSON.stringify(stats));
      });

    // Nothing to do on either side: the server completed the sync on the hello (one round trip).
    if (welcome.completed !== undefined) {
      const stats: SyncStats = { mode: 'update', ...counters };
      record(welcome.completed, stats);
      completed = true;
      store.setMeta('lastOutcome', JSON.stringify({ ok: true, at: Date.now() }));
      return summaryOf(stats, welcome.completed);
    }

    const smtp = config.smtp ? desktopSmtp(config.smtp) : undefined;
    const ctx: SyncContext = {
      store,
      imap,
      conn,
      options: welcome.options,
      log,
      counters,
      gone: new Set(),
      smtp,
      triggers,
      progress: options.onProgress ?? (() => undefined),
      quarantine: new SyncQuarantine(store),
    };
    log.info('sync started', { mode: welcome.mode, window: welcome.options.window });

    if (welcome.mode === 'initial') await initialSync(ctx);
    else {
      // A server that started the swap with the welcome has nothing to take first (nothing was pending).
      if (!welcome.swapping) await pushActions(ctx);
      lap('push');
      await applyServerActions(ctx, welcome.swapping === true);
    }
    lap(welcome.mode === 'initial' ? 'initial' : 'apply');
    // What the phone no longer has, and no destroy came for, is no longer mapped.
    store.transaction(() => {
      for (const phoneId of ctx.gone) store.deleteMapping(phoneId);
    });
    // The tracked INBOX covers the window again (mail moved out of it, new mail piled up): inbox-tracking.ts.
    await coverWindow(ctx);
    lap('cover');
    await normalize(ctx);
    lap('normalize');
    await pull(ctx);
    lap('pull');

    // The phone shows the desktop's order (docs/spec.md §2): each window message's desktop arrival time, and its UID for
    // same-second ties. Only what changed since the server last took it travels (issue 11: a quiet sync sends
    // none); a phone arrival just paired with its desktop twin takes the twin's place (issue 18.7).
    const sentOrder = welcome.mode === 'initial' ? {} : store.sentOrder();
    const window = store.mappings('inbox');
    const order = window
      .filter((m) => sentOrder[m.phoneId] !== m.uid)
      .flatMap((m) => {
        const entry = store.inboxEntry(m.uid);
        return entry ? [{ phoneId: m.phoneId, tiebreak: m.uid, date: entry.date }] : [];
      });
    for (let i = 0; i < order.length; i += LIMITS.orderPageEntries) conn.send({ type: 'order', entries: order.slice(i, i + LIMITS.orderPageEntries) });
    // An initial sync starts a new epoch on both sides, numbered from 1.
    const syncNo = welcome.mode === 'initial' ? 1 : welcome.lastSyncNo + 1;
    const held = store.heldUids().size;
    const stats: SyncStats = { mode: welcome.mode, ...counters, desktopInbox: desktopInbox(), ...(held > 0 ? { quarantined: held } : {}) };
    conn.send({ type: 'complete', syncNo, stats });
    await conn.expect('completed');
    lap('complete');
    record(syncNo, stats);
    store.transaction(() => store.setSentOrder(Object.fromEntries(window.map((m) => [m.phoneId, m.uid]))));
    completed = true;
    store.setMeta('lastOutcome', JSON.stringify({ ok: true, at: Date.now() }));
    return summaryOf(stats, syncNo);
  } catch (err) {
    // The last failure stays visible in `twinbox-agent status` until a sync succeeds (issue 13).
    const code = err instanceof TwinboxError ? err.code : 'ERROR';
    store.setMeta('lastOutcome', JSON.stringify({ ok: false, at: Date.now(), code, message: (err as Error).message }));
    throw err;
  } finally {
    await links.release(completed);
  }
}
