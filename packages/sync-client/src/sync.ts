/**
 * One sync session, agent-initiated (SPEC §4, patent FIG. 3A):
 *
 *   detect desktop changes ─► connect (TLS, pinned) ─► hello/welcome
 *     ├─ initial: initialSync                       (FIG. 4/5)
 *     └─ update:  push actions ─► swap ─► apply server actions   (FIG. 9/10)
 *   ─► normalize (FIG. 6) ─► pull (FIG. 7/8) ─► window order ─► complete, recorded on both sides
 *
 * Desktop changes are detected before connecting, so they are durable
 * actions before anything is sent.
 */
import { LIMITS, PROTOCOL_VERSION, type Logger, type SyncStats } from '@twinbox/protocol';
import type { AgentConfig } from './config.js';
import { DesktopImap, type ImapCodePaths } from './imap/desktop-imap.js';
import type { SyncContext, SyncCounters } from './phases/context.js';
import { detectDesktopChanges } from './phases/detect.js';
import { applyServerActions } from './phases/apply-server-actions.js';
import { coverWindow } from './phases/inbox-tracking.js';
import { initialSync } from './phases/initial.js';
import { normalize } from './phases/normalize.js';
import { pull } from './phases/pull.js';
import { pushActions } from './phases/push-actions.js';
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
  wire: ConnectionStats;
  /** Messages in the desktop INBOX (EXISTS at the last detection). */
  desktopInbox: number;
  /** INBOX messages the agent tracks (inbox-tracking.ts): O(window), whatever the INBOX holds. */
  tracked: number;
  phoneWindow: number;
}

export async function runSync(config: AgentConfig, store: AgentStore, log: Logger): Promise<SyncSummary> {
  const started = Date.now();
  const imap = await DesktopImap.connect(config.imap, (message) => log.warn(message));
  try {
    const triggers = triggerCheck(store, config.triggerSecret, config.account);
    const detection = await detectDesktopChanges(store, imap, log, triggers);
    const conn = await SyncConnection.open(config.server.url, config.server.fingerprint);
    try {
      conn.send({
        type: 'hello',
        version: PROTOCOL_VERSION,
        accountId: config.account,
        token: config.token,
        agentId: store.agentId(),
        syncEpoch: store.getMeta('syncEpoch') ?? null,
        lastSyncNo: Number(store.getMeta('lastSyncNo') ?? 0),
        ackedThrough: store.ackedThrough(),
      });
      const welcome = (await conn.expect('welcome')).message;
      const counters: SyncCounters = { agentActions: 0, serverActions: 0, unmapped: 0, pulled: 0, insertedOnDesktop: 0 };
      const smtp = config.smtp ? desktopSmtp(config.smtp) : undefined;
      const ctx: SyncContext = { store, imap, conn, options: welcome.options, log, counters, gone: new Set(), smtp, triggers };
      log.info('sync started', { mode: welcome.mode, window: welcome.options.window });

      if (welcome.mode === 'initial') await initialSync(ctx);
      else {
        await pushActions(ctx);
        await applyServerActions(ctx);
      }
      // What the phone no longer has, and no destroy came for, is no longer mapped.
      store.transaction(() => {
        for (const phoneId of ctx.gone) store.deleteMapping(phoneId);
      });
      // The tracked INBOX covers the window again (mail moved out of it, new mail piled up): inbox-tracking.ts.
      await coverWindow(ctx);
      await normalize(ctx);
      await pull(ctx);

      // The phone breaks same-second ties by desktop UID, like the desktop (SPEC §2).
      const order = store.mappings('inbox').map((m) => ({ phoneId: m.phoneId, tiebreak: m.uid }));
      for (let i = 0; i < order.length; i += LIMITS.orderPageEntries) conn.send({ type: 'order', entries: order.slice(i, i + LIMITS.orderPageEntries) });
      // An initial sync starts a new epoch on both sides, numbered from 1.
      const syncNo = welcome.mode === 'initial' ? 1 : welcome.lastSyncNo + 1;
      const stats: SyncStats = { mode: welcome.mode, ...counters };
      conn.send({ type: 'complete', syncNo, stats });
      await conn.expect('completed');
      store.transaction(() => {
        store.setMeta('lastSyncNo', String(syncNo));
        store.setMeta('lastSyncAt', String(Date.now()));
        store.setMeta('lastStats', JSON.stringify(stats));
      });
      conn.close();
      return {
        ...stats,
        syncNo,
        detection: { method: detection.method, fetched: detection.fetched },
        imap: imap.paths,
        durationMs: Date.now() - started,
        wire: { ...conn.stats },
        desktopInbox: store.folderState('inbox')?.exists ?? 0,
        tracked: store.inboxCount(),
        phoneWindow: store.mappings('inbox').length,
      };
    } finally {
      conn.close();
    }
  } finally {
    await imap.close();
  }
}
