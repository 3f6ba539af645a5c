/**
 * Sends the agent's pending actions (patent FIG. 9, blocks 904–922) with up
 * to LIMITS.maxInFlight (and maxInFlightBytes of messages) on the wire at
 * once, not one round trip each. Each acknowledgement is applied and its
 * action deleted in one transaction (docs/spec.md §10) — the acknowledgements that
 * arrived together share it: an insert's phone ID is mapped; an unmap drops
 * the mapping.
 *
 * An insert whose desktop message vanished before it could be read is
 * dropped unsent: the next detection reports what happened to it. One larger
 * than LIMITS.maxMessageBytes goes as a stand-in (stand-in.ts): sending it
 * whole would be refused and stop every sync from then on. One larger than
 * the server's `previewAboveBytes` (welcome options; absent or 0: off) goes as
 * a preview (preview-insert.ts): its large parts left out, its identity the
 * whole message's (docs/identity.md, docs/reach.md "Preview first").
 *
 * An action the server answers `failed` (it could not apply it for reasons of
 * its message, nothing changed) stays pending and is tried again at the next
 * sync, until the quarantine sets it aside (quarantine.ts): the rest of the
 * sync goes on.
 *
 * A message whose reading brings the IMAP connection down (Dovecot ends the
 * session on a damaged message file) fails the sync under way, as any lost
 * connection does — but the batch being read is recorded first (`reading`),
 * so the next sync reads each of those messages alone, and one that brings
 * the connection down alone counts as a failure of that message: three, and
 * it is set aside instead of stopping every sync.
 */
import { LIMITS, TwinboxError, contentDigestOfRaw, headerBlockOf, standInDigest, type ActionResult, type AgentAction, type PreviewOf, type StandInFor } from '@twinbox/protocol';
import { BATCH_BYTES } from '../imap/same-message.js';
import type { PendingAction } from '../store/agent-store.js';
import type { SyncContext } from './context.js';
import { standInMessage } from './stand-in.js';
import { previewInsert } from './preview-insert.js';
import { structurePreview } from './structure-preview.js';

type InFlight = PendingAction & { bytes: number; digest: string | null };

/** The quarantine key of an agent action: the desktop message an insert carries, else the phone message. */
const keyOf = (pending: PendingAction) => (pending.action.kind === 'insert' ? { uid: pending.uid ?? 0 } : { phoneId: 'phoneId' in pending.action ? pending.action.phoneId : 0 });

/** Apply one acknowledgement (inside the caller's transaction). */
function applyAck(ctx: SyncContext, pending: InFlight, ack: { result: ActionResult; phoneId?: number; error?: string }): void {
  const { store } = ctx;
  const { action } = pending;
  if (ack.result === 'failed') {
    const row = ctx.quarantine.failed('toPhone', action.kind, keyOf(pending), ack.error ?? 'the server could not apply it');
    ctx.log.warn(row.held ? 'quarantined: the server keeps failing to take a desktop change' : 'the server could not take a desktop change; trying again next sync', {
      kind: action.kind,
      attempts: row.attempts,
      error: row.error,
    });
    if (row.held) store.deleteAction(pending.seq);
    else ctx.quarantine.deferredSeqs.add(pending.seq);
    return;
  }
  store.deleteAction(pending.seq);
  ctx.quarantine.succeeded('toPhone', action.kind, keyOf(pending));
  if (action.kind === 'insert') {
    const entry = pending.uid !== null ? store.inboxEntry(pending.uid) : undefined;
    if (ack.result === 'ok' && ack.phoneId && entry && pending.uid !== null) {
      store.putMapping({ phoneId: ack.phoneId, folder: 'inbox', uid: pending.uid, fingerprint: entry.fingerprint, digest: pending.digest, seen: action.seen, flagged: action.flagged });
    }
    return;
  }
  const { result } = ack;
  if (action.kind === 'unmap') store.deleteMapping(action.phoneId);
  else if (result === 'gone') ctx.gone.add(action.phoneId);
}

const READING = 'reading';
const DROPS_CONNECTION = 'the desktop IMAP server drops the connection when this message is read (a damaged message on the server?)';

/**
 * What the last sync was reading when it stopped: one message alone counts a
 * failure of it (set aside at the third, its insert dropped); several are the
 * suspects this sync reads one at a time.
 */
function suspectsFromLastSync(ctx: SyncContext): Set<number> {
  const { store } = ctx;
  const marker = store.getMeta(READING);
  if (marker === undefined) return new Set();
  const uids = (JSON.parse(marker) as { uids: number[] }).uids;
  return store.transaction(() => {
    store.deleteMeta(READING);
    if (uids.length !== 1) return new Set(uids);
    const row = ctx.quarantine.failed('toPhone', 'insert', { uid: uids[0]! }, DROPS_CONNECTION);
    ctx.log.warn(row.held ? 'quarantined: reading a desktop message keeps bringing the IMAP connection down' : 'reading a desktop message brought the IMAP connection down', { uid: uids[0], attempts: row.attempts });
    if (!row.held) return new Set(uids);
    for (const p of store.pendingActions()) if (p.action.kind === 'insert' && p.uid === uids[0]) store.deleteAction(p.seq);
    return new Set<number>();
  });
}

/** Send every pending action and wait for all acknowledgements. */
export async function pushActions(ctx: SyncContext, stage: 'sending' | 'pulling' = 'sending'): Promise<number> {
  const { store, imap, conn } = ctx;
  for (const uid of suspectsFromLastSync(ctx)) ctx.quarantine.readAlone.add(uid);
  const suspects = ctx.quarantine.readAlone;
  // Deferred earlier in this sync: tried again at the next one, not by a later phase of this one.
  const queue = store.pendingActions().filter((p) => !ctx.quarantine.deferredSeqs.has(p.seq));
  const total = queue.length;
  const inFlight = new Map<number, InFlight>();
  let bytesInFlight = 0;
  let sent = 0;
  // Bodies of the next inserts, fetched in one FETCH per batch (not one round trip each), at most
  // LIMITS.maxInFlight messages and BATCH_BYTES at a time so memory stays bounded.
  let bodies = new Map<number, Buffer>();
  const sizeOf = (uid: number) => store.inboxEntry(uid)?.size ?? 0;
  const tooLarge = (size: number) => size > LIMITS.maxMessageBytes;

  const fetchBatchFrom = async (uid: number): Promise<void> => {
    const batch = [uid];
    let bytes = sizeOf(uid);
    // A suspect is read alone, and never with others.
    for (const p of suspects.has(uid) ? [] : queue) {
      if (batch.length >= LIMITS.maxInFlight) break;
      if (p.action.kind !== 'insert' || p.uid === null || tooLarge(sizeOf(p.uid)) || suspects.has(p.uid)) continue;
      if (bytes + sizeOf(p.uid) > BATCH_BYTES) break;
      batch.push(p.uid);
      bytes += sizeOf(p.uid);
    }
    store.transaction(() => store.setMeta(READING, JSON.stringify({ uids: batch })));
    bodies = await imap.sources('inbox', batch);
    store.transaction(() => store.deleteMeta(READING));
  };

  const bodyOf = async (uid: number): Promise<{ body: Buffer; standInFor?: StandInFor; previewOf?: PreviewOf } | undefined> => {
    const entry = store.inboxEntry(uid);
    if (entry && tooLarge(entry.size)) {
      // Preview first where the server asks for it (structure-preview.ts); its identity stays the stand-in's: its size.
      const preview = (ctx.options.previewAboveBytes ?? 0) > 0 ? await structurePreview(imap, 'inbox', uid) : undefined;
      if (preview) {
        return { body: preview.body, previewOf: { fingerprint: entry.fingerprint, size: entry.size, digest: standInDigest(entry.size), omitted: preview.omitted } };
      }
      const header = await imap.headerBlock('inbox', uid);
      if (!header) return undefined;
      return { body: standInMessage(header, entry.size, LIMITS.maxMessageBytes), standInFor: { fingerprint: entry.fingerprint, size: entry.size } };
    }
    if (!bodies.has(uid)) await fetchBatchFrom(uid);
    const body = bodies.get(uid);
    bodies.delete(uid);
    if (body && !tooLarge(body.length)) return previewInsert(body, ctx.options.previewAboveBytes ?? 0) ?? { body };
    if (!body || !entry) return body ? { body } : undefined;
    // Larger than the size IMAP reported: the same stand-in, from the header we hold.
    return { body: standInMessage(Buffer.from(headerBlockOf(body), 'latin1'), body.length, LIMITS.maxMessageBytes), standInFor: { fingerprint: entry.fingerprint, size: body.length } };
  };

  const sendNext = async (): Promise<boolean> => {
    const next = queue.shift();
    if (!next) return false;
    let body: Buffer | undefined;
    let action: AgentAction = next.action;
    let digest: string | null = null;
    if (action.kind === 'insert') {
      const found = next.uid !== null ? await bodyOf(next.uid) : undefined;
      if (!found) {
        store.transaction(() => store.deleteAction(next.seq));
        return true;
      }
      body = found.body;
      if (found.standInFor) action = { ...action, standInFor: found.standInFor };
      if (found.previewOf) action = { ...action, previewOf: found.previewOf };
      // What the mapping will hold: the identity of the message on the phone (identity.ts) — for a preview, the whole message's.
      digest = found.standInFor ? standInDigest(found.standInFor.size) : (found.previewOf?.digest ?? contentDigestOfRaw(found.body));
    }
    inFlight.set(next.seq, { ...next, bytes: body?.length ?? 0, digest });
    bytesInFlight += body?.length ?? 0;
    conn.send({ type: 'action', seq: next.seq, action }, body);
    sent++;
    return true;
  };

  const roomFor = () => inFlight.size === 0 || (inFlight.size < LIMITS.maxInFlight && bytesInFlight < LIMITS.maxInFlightBytes);
  while (queue.length > 0 || inFlight.size > 0) {
    while (roomFor() && queue.length > 0) await sendNext();
    if (inFlight.size === 0) continue;
    // Every acknowledgement that has arrived is applied in one transaction (one commit, not one each).
    const acks = await conn.nextBurst();
    store.transaction(() => {
      for (const frame of acks) {
        const { message } = frame;
        if (message.type !== 'ack') throw new TwinboxError('OUT_OF_ORDER', `expected ack from the server, got ${message.type}`);
        const pending = inFlight.get(message.seq);
        if (!pending) throw new TwinboxError('OUT_OF_ORDER', `ack for action ${message.seq}, which was not sent`);
        inFlight.delete(message.seq);
        bytesInFlight -= pending.bytes;
        applyAck(ctx, pending, message);
      }
    });
    ctx.progress({ stage, done: total - queue.length - inFlight.size, total });
  }
  ctx.counters.agentActions += sent;
  return sent;
}
