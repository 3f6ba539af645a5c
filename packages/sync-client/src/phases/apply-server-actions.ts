/**
 * After the swap request, applies the phone's changes to the desktop (patent
 * FIG. 9, blocks 926–932), one handler per action kind, and acknowledges each.
 * Handlers are idempotent: a server action already applied (its seq is
 * recorded in the same transaction as its effect) is only acknowledged again.
 *
 * The one side effect that is not idempotent, APPEND, is guarded by an intent
 * row written before it: after a crash, the retry looks for the copy above
 * the recorded UIDNEXT before appending again (Mailspring's "ran" marker).
 *
 * An action the desktop IMAP server refuses for its message is answered
 * `deferred` (tried again next sync; later actions about that message wait
 * with it), then `quarantined` (quarantine.ts): the rest goes on.
 */
import {
  FLAG_ACTIONS,
  TwinboxError,
  contentDigestOfRaw,
  fingerprintOfRaw,
  isFlagAction,
  toCrlf,
  type FlagActionKind,
  type MessageIdentity,
  type ServerAction,
  type ServerActionKind,
  type ServerActionResult,
} from '@twinbox/protocol';
import type { DesktopSummary } from '../imap/desktop-imap.js';
import type { FolderRole, Mapping } from '../store/agent-store.js';
import { candidatesFor, findSame, sameMessage } from '../imap/same-message.js';
import { resolveFlagConflict } from './resolve-flags.js';
import type { SyncContext } from './context.js';
import { deliver, fileSent } from './outgoing-mail.js';
import { failureText, isMessageFailure } from './quarantine.js';

interface Outcome {
  result: ServerActionResult;
  desktopUid?: number;
  error?: string;
}

type Handler = (ctx: SyncContext, seq: number, action: ServerAction, body: Buffer | undefined) => Promise<Outcome>;

/**
 * Desktop INBOX messages with this fingerprint: the tracked ones, and where
 * the agent does not track the whole INBOX, those a server-side SEARCH HEADER
 * Message-ID finds below the window (inbox-tracking.ts). A message without a
 * Message-ID is looked for among the tracked ones only (mail delivered to
 * both addresses arrives on both at about the same time: it is tracked).
 */
async function inboxCandidates({ store, imap }: SyncContext, fingerprint: string): Promise<DesktopSummary[]> {
  const tracked = store.inboxByFingerprint(fingerprint);
  if (store.inboxFloor() === 0 || !fingerprint.startsWith('mid:')) return tracked;
  const seen = new Set(tracked.map((e) => e.uid));
  return [...tracked, ...(await candidatesFor(imap, 'inbox', fingerprint)).filter((s) => !seen.has(s.uid) && !s.trigger)];
}

async function insert(ctx: SyncContext, seq: number, action: Extract<ServerAction, { kind: 'insert' }>, body: Buffer | undefined): Promise<Outcome> {
  const { store, imap } = ctx;
  const mapped = store.mappingByPhoneId(action.phoneId);
  if (mapped) {
    store.transaction(() => store.recordServerAction(seq));
    return { result: 'ok', desktopUid: mapped.uid };
  }
  const raw = toCrlf(body!);
  const fingerprint = fingerprintOfRaw(raw);
  const identity = { fingerprint, digest: contentDigestOfRaw(raw) };
  // The same message already on the desktop (delivered to both addresses, or appended before a crash): map it,
  // never store it twice. Only the same message (identity.ts): a stranger's mail that merely reuses a desktop
  // Message-ID is stored as its own message and never takes over, hides or deletes the desktop one (issue 9.1).
  const unmapped = (await inboxCandidates(ctx, fingerprint)).filter((e) => !store.mappingByUid('inbox', e.uid));
  const twinUid = unmapped.length > 0 ? await sameMessage(imap, 'inbox', identity, unmapped) : undefined;
  const twin = unmapped.find((e) => e.uid === twinUid);
  const intent = store.intent(seq);
  let uid = twin?.uid ?? (intent ? await findSame(imap, 'inbox', identity, intent.minUid) : undefined);
  // Mapping and order: a desktop twin keeps its own arrival time, which the window order sends to the phone
  // at the end of the sync (sync.ts): the paired message takes the desktop's place (issue 18.7).
  let entry = twin;
  if (uid === undefined) {
    const minUid = await imap.statusUidNext('inbox');
    store.transaction(() => store.recordIntent(seq, fingerprint, minUid));
    uid = await imap.append('inbox', raw, action, new Date(action.date), fingerprint);
    ctx.counters.insertedOnDesktop++;
  }
  entry ??= { uid, date: Math.floor(action.date / 1000) * 1000, seen: action.seen, flagged: action.flagged, fingerprint, size: raw.length };
  const agreed = twin ? { seen: twin.seen, flagged: twin.flagged } : { seen: action.seen, flagged: action.flagged };
  store.transaction(() => {
    store.putInboxEntry(entry);
    store.putMapping({ phoneId: action.phoneId, folder: 'inbox', uid, fingerprint, digest: identity.digest, ...agreed });
    store.recordServerAction(seq);
    store.deleteIntent(seq);
  });
  // A desktop twin may carry other flags than the phone copy: the account's conflict policy decides.
  if (twin) await resolveFlagConflict(ctx, action.phoneId, 'inbox', uid, twin, action);
  return { result: 'ok', desktopUid: uid };
}

/**
 * A phone destroy reaching an agent that has no mapping for it (it started
 * over: the initial sync's swap). The action names what was destroyed; the
 * desktop copy that is that same message, and not mapped to another phone
 * message, is destroyed. None: it is already gone.
 */
async function destroyByIdentity({ store, imap }: SyncContext, seq: number, identity: MessageIdentity): Promise<Outcome> {
  for (const folder of identity.folder === 'inbox' ? (['inbox', 'trash'] as const) : (['trash', 'inbox'] as const)) {
    const candidates = (await candidatesFor(imap, folder, identity.fingerprint)).filter((c) => !store.mappingByUid(folder, c.uid));
    const uid = candidates.length > 0 ? await sameMessage(imap, folder, identity, candidates) : undefined;
    if (uid === undefined) continue;
    await imap.destroy(folder, uid);
    store.transaction(() => {
      if (folder === 'inbox') store.deleteInboxEntry(uid);
      store.recordServerAction(seq);
    });
    return { result: 'ok' };
  }
  store.transaction(() => store.recordServerAction(seq));
  return { result: 'gone' };
}

function move(to: 'inbox' | 'trash'): Handler {
  const from = to === 'inbox' ? 'trash' : 'inbox';
  return async ({ store, imap }, seq, action) => {
    const m = store.mappingByPhoneId(action.phoneId);
    if (!m) return { result: 'gone' };
    if (m.folder === to) {
      store.transaction(() => store.recordServerAction(seq));
      return { result: 'ok' };
    }
    const target = store.folderState(to);
    const stillThere = (await imap.existing(from, [m.uid])).has(m.uid);
    // Not where the mapping says: moved before a crash (look in the target for this very message) or gone.
    const newUid = stillThere ? await imap.move(from, m.uid, to, identityOf(m)) : await findMoved(imap, to, m, target?.uidNext ?? 1);
    const summary = newUid !== undefined && to === 'inbox' ? (await imap.summaries('inbox', newUid)).find((s) => s.uid === newUid) : undefined;
    store.transaction(() => {
      store.recordServerAction(seq);
      if (from === 'inbox') store.deleteInboxEntry(m.uid);
      if (newUid === undefined) {
        store.deleteMapping(m.phoneId);
        return;
      }
      store.putMapping({ ...m, folder: to, uid: newUid });
      if (summary) store.putInboxEntry(summary);
    });
    return newUid === undefined ? { result: 'gone' } : { result: 'ok' };
  };
}

/** What a mapping knows of its message's identity (the digest: null in rows from before it was kept). */
function identityOf(m: Mapping): { fingerprint: string; digest: string | null } {
  return { fingerprint: m.fingerprint, digest: m.digest };
}

/** The mapped message in `to` at or above `minUid`: the same message where its digest is known (identity.ts). */
async function findMoved(imap: SyncContext['imap'], to: FolderRole, m: Mapping, minUid: number): Promise<number | undefined> {
  return m.digest === null ? imap.findByFingerprint(to, m.fingerprint, minUid) : findSame(imap, to, { fingerprint: m.fingerprint, digest: m.digest }, minUid);
}

/**
 * Retention asked for the desktop Trash copy to go (docs/retention.md): only
 * if the message is in the desktop Trash at this moment and is the message
 * the phone dropped — checked now, against the desktop, by its content
 * digest. A message the user recovered on the desktop (it is in INBOX), or
 * any other message, is left alone: `gone`.
 */
async function expire(ctx: SyncContext, seq: number, action: Extract<ServerAction, { kind: 'expire' }>): Promise<Outcome> {
  const { store, imap } = ctx;
  const m = store.mappingByPhoneId(action.phoneId);
  const done = (result: Outcome['result']) => {
    store.transaction(() => {
      store.deleteMapping(action.phoneId);
      store.recordServerAction(seq);
    });
    return { result };
  };
  if (!m) {
    // No mapping (the agent started over): the unmapped copy in Trash that is this very message.
    const candidates = (await candidatesFor(imap, 'trash', action.identity.fingerprint)).filter((c) => !store.mappingByUid('trash', c.uid));
    const uid = candidates.length > 0 ? await sameMessage(imap, 'trash', action.identity, candidates) : undefined;
    if (uid === undefined) return done('gone');
    await imap.destroy('trash', uid);
    return done('ok');
  }
  if (m.folder !== 'trash') return done('gone');
  const found: DesktopSummary[] = [];
  await imap.summariesOf('trash', [m.uid], (page) => found.push(...page));
  const same = found.length > 0 ? await sameMessage(imap, 'trash', action.identity, found) : undefined;
  if (same !== m.uid) return done('gone');
  await imap.destroy('trash', m.uid);
  return done('ok');
}

const HANDLERS: Record<ServerActionKind, Handler> = {
  insert: (ctx, seq, action, body) => (action.kind === 'insert' ? insert(ctx, seq, action, body) : Promise.reject(new Error('not an insert'))),
  deliver: (ctx, seq, action, body) => (action.kind === 'deliver' ? deliver(ctx, seq, action.phoneId, action.envelope, body!) : Promise.reject(new Error('not a deliver'))),
  sent: (ctx, seq, action, body) => (action.kind === 'sent' ? fileSent(ctx, seq, action.phoneId, action.date, body!) : Promise.reject(new Error('not a sent'))),
  markRead: (ctx, seq, action) => applyFlagRun(ctx, [{ seq, action, body: undefined }]).then(([done]) => done!.outcome),
  markUnread: (ctx, seq, action) => applyFlagRun(ctx, [{ seq, action, body: undefined }]).then(([done]) => done!.outcome),
  flag: (ctx, seq, action) => applyFlagRun(ctx, [{ seq, action, body: undefined }]).then(([done]) => done!.outcome),
  unflag: (ctx, seq, action) => applyFlagRun(ctx, [{ seq, action, body: undefined }]).then(([done]) => done!.outcome),
  trash: move('trash'),
  recover: move('inbox'),
  // The phone let go of its copy (retention, size cap): the desktop keeps the message; only the mapping goes.
  unmap: async ({ store }, seq, action) => {
    const m = 'phoneId' in action ? store.mappingByPhoneId(action.phoneId) : undefined;
    store.transaction(() => {
      if (m) store.deleteMapping(m.phoneId);
      store.recordServerAction(seq);
    });
    return { result: m ? 'ok' : 'gone' };
  },
  expire: (ctx, seq, action) => (action.kind === 'expire' ? expire(ctx, seq, action) : Promise.reject(new Error('not an expire'))),
  destroy: async (ctx, seq, action) => {
    const { store, imap } = ctx;
    const m = store.mappingByPhoneId(action.phoneId);
    if (!m) return action.kind === 'destroy' && action.identity ? destroyByIdentity(ctx, seq, action.identity) : { result: 'gone' };
    if ((await imap.existing(m.folder, [m.uid])).has(m.uid)) await imap.destroy(m.folder, m.uid);
    store.transaction(() => {
      store.deleteMapping(m.phoneId);
      if (m.folder === 'inbox') store.deleteInboxEntry(m.uid);
      store.recordServerAction(seq);
    });
    return { result: 'ok' };
  },
};

type ServerActionFrame = { seq: number; action: ServerAction; body: Buffer | undefined };

/**
 * A run of flag changes applied together: one UID STORE per folder, flag and
 * value (not one IMAP round trip each), one transaction for their records,
 * then their acknowledgements (issue 11: 1,000 phone changes take a few round
 * trips). Applying them one after the other would leave each message with the
 * last value of each flag: that is what is stored.
 */
async function applyFlagRun(ctx: SyncContext, run: ServerActionFrame[]): Promise<{ seq: number; outcome: Outcome }[]> {
  const { store, imap } = ctx;
  const targets = run.map(({ seq, action }) => ({ seq, change: FLAG_ACTIONS[action.kind as FlagActionKind], phoneId: 'phoneId' in action ? action.phoneId : 0 }));
  // The mapping of each message, with every change of the run applied in order.
  const after = new Map<number, Mapping>();
  for (const { phoneId, change } of targets) {
    const m = after.get(phoneId) ?? store.mappingByPhoneId(phoneId);
    if (m) after.set(phoneId, { ...m, [change.flag]: change.value });
  }
  // One STORE per folder, flag and final value, over the messages whose flag the run touched.
  const touched = new Set(targets.map((t) => `${t.phoneId} ${t.change.flag}`));
  const groups = new Map<string, { folder: FolderRole; flag: 'seen' | 'flagged'; value: boolean; uids: number[] }>();
  for (const [phoneId, m] of after) {
    for (const flag of ['seen', 'flagged'] as const) {
      if (!touched.has(`${phoneId} ${flag}`)) continue;
      const key = `${m.folder} ${flag} ${m[flag]}`;
      const group = groups.get(key) ?? { folder: m.folder, flag, value: m[flag], uids: [] };
      group.uids.push(m.uid);
      groups.set(key, group);
    }
  }
  for (const { folder, flag, value, uids } of groups.values()) await imap.setFlags(folder, uids, { [flag]: value });
  store.transaction(() => {
    for (const m of after.values()) {
      store.putMapping(m);
      if (m.folder === 'inbox' && store.inboxEntry(m.uid)) store.setInboxFlags(m.uid, m.seen, m.flagged);
    }
    for (const { seq, phoneId } of targets) if (after.has(phoneId)) store.recordServerAction(seq);
  });
  return targets.map(({ seq, phoneId }) => ({ seq, outcome: after.has(phoneId) ? { result: 'ok' } : { result: 'gone' } }));
}

/** One server action by its handler (or acknowledged again, when applied before). */
async function applyOne(ctx: SyncContext, { seq, action, body }: ServerActionFrame): Promise<Outcome> {
  const { store } = ctx;
  if (store.serverActionApplied(seq)) {
    const m = 'phoneId' in action ? store.mappingByPhoneId(action.phoneId) : undefined;
    return { result: 'ok', ...(m ? { desktopUid: m.uid } : {}) };
  }
  return HANDLERS[action.kind](ctx, seq, action, body);
}

/**
 * Apply with the quarantine's rule (quarantine.ts): a refusal of this
 * message by the desktop is answered `deferred`, or `quarantined` once it has
 * failed QUARANTINE_AFTER times; later actions about a message deferred in
 * this sync wait with it, in order. Any other failure ends the sync as before.
 */
async function guarded(ctx: SyncContext, frames: ServerActionFrame[], apply: () => Promise<{ seq: number; outcome: Outcome }[]>): Promise<{ seq: number; outcome: Outcome }[]> {
  const waiting = frames.filter((f) => 'phoneId' in f.action && ctx.quarantine.deferredPhoneIds.has(f.action.phoneId));
  if (waiting.length > 0) {
    const rest = frames.filter((f) => !waiting.includes(f));
    const done = rest.length > 0 ? await guarded(ctx, rest, () => applyEach(ctx, rest)) : [];
    return [...waiting.map((f) => ({ seq: f.seq, outcome: { result: 'deferred' as const, error: 'waits for an earlier change to this message' } })), ...done];
  }
  try {
    const done = await apply();
    ctx.store.transaction(() => {
      for (const f of frames) if ('phoneId' in f.action) ctx.quarantine.succeeded('toDesktop', f.action.kind, { phoneId: f.action.phoneId });
    });
    return done;
  } catch (err) {
    if (!isMessageFailure(err)) throw err;
    // A run of several: find which message it was, one at a time.
    if (frames.length > 1) return applyEach(ctx, frames);
    const [frame] = frames as [ServerActionFrame];
    const phoneId = 'phoneId' in frame.action ? frame.action.phoneId : 0;
    const row = ctx.store.transaction(() => ctx.quarantine.failed('toDesktop', frame.action.kind, { phoneId }, failureText(err)));
    ctx.quarantine.deferredPhoneIds.add(phoneId);
    ctx.log.warn(row.held ? 'quarantined: the desktop keeps refusing a phone change' : 'the desktop refused a phone change; trying again next sync', {
      kind: frame.action.kind,
      phoneId,
      attempts: row.attempts,
      error: row.error,
    });
    return [{ seq: frame.seq, outcome: { result: row.held ? 'quarantined' : 'deferred', error: row.error } }];
  }
}

async function applyEach(ctx: SyncContext, frames: ServerActionFrame[]): Promise<{ seq: number; outcome: Outcome }[]> {
  const done: { seq: number; outcome: Outcome }[] = [];
  for (const frame of frames) {
    const apply = isFlagAction(frame.action.kind) ? () => applyFlagRun(ctx, [frame]) : async () => [{ seq: frame.seq, outcome: await applyOne(ctx, frame) }];
    done.push(...(await guarded(ctx, [frame], apply)));
  }
  return done;
}

/**
 * Send the swap request (unless the server began the swap with its welcome:
 * `swapping`) and apply the server's actions until it says they are all
 * sent. The actions that have arrived are taken together, so runs of flag
 * changes are applied as one (applyFlagRun); each acknowledgement is sent
 * once its effect is recorded.
 */
export async function applyServerActions(ctx: SyncContext, swapping = false): Promise<number> {
  const { conn, store } = ctx;
  if (!swapping) conn.send({ type: 'swap' });
  let applied = 0;
  const ack = (seq: number, outcome: Outcome) => {
    conn.send({
      type: 'serverAck',
      seq,
      result: outcome.result,
      ...(outcome.desktopUid ? { desktopUid: outcome.desktopUid } : {}),
      ...(outcome.error ? { error: outcome.error.slice(0, 2000) } : {}),
    });
    applied++;
    ctx.progress({ stage: 'applying', done: applied, total: null });
  };
  for (let ended = false; !ended; ) {
    const frames = await conn.nextBurst();
    const actions: ServerActionFrame[] = [];
    for (const frame of frames) {
      if (ended) throw new TwinboxError('OUT_OF_ORDER', `${frame.message.type} after actionsEnd`);
      if (frame.message.type === 'actionsEnd') ended = true;
      else if (frame.message.type === 'serverAction') actions.push({ seq: frame.message.seq, action: frame.message.action, body: frame.body });
      else throw new TwinboxError('OUT_OF_ORDER', `expected serverAction or actionsEnd from the server, got ${frame.message.type}`);
    }
    for (let i = 0; i < actions.length; ) {
      // A run: consecutive flag changes not applied before.
      const run: ServerActionFrame[] = [];
      while (i < actions.length && isFlagAction(actions[i]!.action.kind) && !store.serverActionApplied(actions[i]!.seq)) run.push(actions[i++]!);
      if (run.length > 0) for (const { seq, outcome } of await guarded(ctx, run, () => applyFlagRun(ctx, run))) ack(seq, outcome);
      else for (const { seq, outcome } of await applyEach(ctx, [actions[i++]!])) ack(seq, outcome);
    }
  }
  ctx.counters.serverActions += applied;
  return applied;
}
