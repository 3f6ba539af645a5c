/**
 * Desktop change detection (docs/spec.md §5, patent FIG. 9 block 902): turns what
 * changed in the desktop INBOX and Trash since the last sync into durable
 * actions, in one transaction with the new inbox state.
 *
 *   CONDSTORE or QRESYNC, and STATUS shows the saved HIGHESTMODSEQ → nothing
 *     changed: no SELECT at all.
 *   QRESYNC offered and state saved → SELECT (QRESYNC …) gives VANISHED,
 *     FETCH 1:* (CHANGEDSINCE) gives new and changed: cost O(changes).
 *   CONDSTORE only (Gmail) → FETCH 1:* (CHANGEDSINCE) gives new and changed;
 *     nothing vanished when EXISTS = known + new, else UID SEARCH of the known UIDs.
 *   otherwise → UID+FLAGS of the tracked messages (inbox-tracking.ts) compared
 *     with inbox_state, and the messages from the saved UIDNEXT on.
 *
 * What the changes mean — trash, recover, destroy, flag actions, a message
 * moved out and back — is the pure plan in detection-plan.ts; this module
 * reads IMAP and writes the plan.
 *
 * A UIDVALIDITY change voids every saved UID: the agent then drops its sync
 * state and the next session is an initial sync, which matches by fingerprint
 * (no message is deleted or duplicated by it).
 */
import { standInMatches, type Logger } from '@twinbox/protocol';
import type { DesktopImap, DesktopSummary } from '../imap/desktop-imap.js';
import { digestsOf } from '../imap/same-message.js';
import { PathRefused } from '../imap/fallbacks.js';
import type { AgentStore, FolderRole, FolderState, Mapping } from '../store/agent-store.js';
import { planDetection } from './detection-plan.js';
import type { TriggerCheck } from '../triggers.js';

interface FolderChanges {
  opened: { uidValidity: string; highestModseq: string | null; uidNext: number; exists: number };
  vanished: number[];
  /** New and changed messages (all fields). */
  changed: DesktopSummary[];
  method: 'qresync' | 'condstore' | 'compare';
  fetched: number;
}

export interface DetectResult {
  actions: number;
  /** The saved state no longer applies (UIDVALIDITY changed): an initial sync is needed. */
  stateLost: boolean;
  /** `qresync`, `condstore`: only changes were fetched; `compare`: every UID and its flags were listed. */
  method: 'qresync' | 'condstore' | 'compare' | 'none';
  /** Messages the IMAP server reported (changed, or all of them on the comparison path). */
  fetched: number;
}

/**
 * What changed in one folder since `saved`. `tracked` are the UIDs the agent
 * follows there (inbox-tracking.ts; in Trash, the mapped ones): the
 * comparison path and the CONDSTORE count check only ever look at those and
 * at UIDs from the saved UIDNEXT on, never at the whole folder.
 */
async function folderChanges(
  imap: DesktopImap,
  role: FolderRole,
  saved: FolderState,
  known: () => Map<number, { seen: boolean; flagged: boolean; deleted?: boolean }>,
  wantsUntracked: (m: { seen: boolean }) => boolean = () => false,
): Promise<FolderChanges | 'uidvalidity'> {
  // Nothing changed since the saved state (same HIGHESTMODSEQ, UIDNEXT and count: a CONDSTORE-only server
  // need not raise HIGHESTMODSEQ on expunge): one STATUS answers it, no SELECT (issue 11). INBOX is asked
  // so only while it is selected (kept so between syncs): Dovecot opens a large folder for a STATUS of it
  // about as slowly as for a SELECT, while a NOOP and STATUS of the selected one cost next to nothing.
  const selected = imap.isSelected(role);
  const status = imap.paths.detection !== 'compare' && saved.highestModseq !== null && (role !== 'inbox' || selected) ? await imap.folderStatus(role) : undefined;
  if (status && status.uidValidity === saved.uidValidity && status.highestModseq === saved.highestModseq && status.uidNext === saved.uidNext && status.exists === saved.exists) {
    return { opened: status, vanished: [], changed: [], method: imap.paths.detection, fetched: 0 };
  }
  // Changed, and still selected: CHANGEDSINCE on it as it is (selecting a large folder again costs the server
  // far more); what vanished is found by the count, as below.
  const opened = status && selected && status.uidValidity === saved.uidValidity && status.highestModseq !== null ? { ...status, qresync: false, vanished: [] } : await imap.open(role, saved);
  if (opened.uidValidity !== saved.uidValidity) return 'uidvalidity';
  if (opened.qresync && saved.highestModseq !== null) {
    const changed = await changedSince(imap, role, saved, known(), wantsUntracked);
    return { opened, vanished: opened.vanished, changed, method: 'qresync', fetched: changed.length };
  }
  if (imap.paths.detection !== 'compare' && saved.highestModseq !== null && opened.highestModseq !== null) {
    // CONDSTORE without QRESYNC (Gmail), or a folder kept selected: CHANGEDSINCE gives what is new or changed;
    // what vanished is found by counting (nothing, when EXISTS = the saved count + the new ones) and only
    // otherwise by asking which tracked UIDs remain.
    const before = known();
    const changed = opened.highestModseq === saved.highestModseq ? [] : await changedSince(imap, role, saved, before, wantsUntracked);
    // A message that arrived since the saved state has a higher MODSEQ: CHANGEDSINCE lists every one that is
    // still there, so a tracked one it does not list (one the agent itself appended or moved there) is gone.
    const listed = new Set(changed.map((m) => m.uid));
    const goneNew = [...before.keys()].filter((uid) => uid >= saved.uidNext && !listed.has(uid));
    // The older ones are all there when the count is the saved one plus the arrivals still present.
    const arrived = changed.filter((m) => m.uid >= saved.uidNext).length;
    const countFits = saved.exists !== undefined && opened.exists === saved.exists + arrived;
    const older = [...before.keys()].filter((uid) => uid < saved.uidNext);
    const remaining = countFits || older.length === 0 ? undefined : await imap.existing(role, older);
    const vanished = [...goneNew, ...(remaining ? older.filter((uid) => !remaining.has(uid)) : [])];
    return { opened, vanished, changed, method: imap.paths.detection, fetched: changed.length + (remaining?.size ?? 0) };
  }
  // Comparison path: the flags of the tracked UIDs against what we knew, and the messages new since then.
  const before = known();
  const current = await imap.flagsOf(role, [...before.keys()]);
  const now = new Set(current.map((m) => m.uid));
  const vanished = [...before.keys()].filter((uid) => !now.has(uid));
  const flagChanged = current.filter((m) => {
    const was = before.get(m.uid)!;
    return was.seen !== m.seen || was.flagged !== m.flagged || (was.deleted ?? false) !== m.deleted;
  });
  const fresh = opened.uidNext > saved.uidNext ? (await imap.summaries(role, saved.uidNext)).filter((s) => !before.has(s.uid)) : [];
  const changed = [...fresh, ...flagChanged.map((m) => ({ uid: m.uid, seen: m.seen, flagged: m.flagged, deleted: m.deleted, date: 0, fingerprint: '', size: 0 }))];
  return { opened, vanished, changed, method: 'compare', fetched: current.length + fresh.length };
}

/**
 * What CHANGEDSINCE reports, cheaply: flags of every changed message, and
 * summaries (header fields) only of those the agent needs one of — new since
 * the saved UIDNEXT, or untracked ones `wantsUntracked` asks for (unread ones
 * under unreadFirst). An old untracked message's flag change is below the
 * window: nothing to do.
 */
async function changedSince(
  imap: DesktopImap,
  role: FolderRole,
  saved: FolderState,
  known: Map<number, unknown>,
  wantsUntracked: (m: { seen: boolean }) => boolean,
): Promise<DesktopSummary[]> {
  const flags = await imap.flagsChangedSince(role, saved.highestModseq!);
  const needSummary = flags.filter((m) => !known.has(m.uid) && (m.uid >= saved.uidNext || wantsUntracked(m))).map((m) => m.uid);
  const summaries: DesktopSummary[] = [];
  if (needSummary.length > 0) await imap.summariesOf(role, needSummary, (page) => summaries.push(...page));
  const flagOnly = flags.filter((m) => known.has(m.uid)).map((m) => ({ uid: m.uid, seen: m.seen, flagged: m.flagged, deleted: m.deleted, date: 0, fingerprint: '', size: 0 }));
  return [...summaries, ...flagOnly];
}

/**
 * Where a mapped message left its folder and a message with its fingerprint
 * is new in INBOX or Trash, the content digests of those candidates (fetched
 * in batches): the plan pairs a mapping only with the very message it maps
 * (identity.ts), never with a stranger's copy of its Message-ID (issue 18.5).
 * Only moves cost a fetch, and only of the moved messages.
 */
async function sameMessageCheck(
  imap: DesktopImap,
  mappings: Mapping[],
  inbox: FolderChanges,
  trash: FolderChanges,
  trashUidNext: number,
  tracked: ReadonlySet<number>,
): Promise<(m: Mapping, role: FolderRole, s: DesktopSummary) => boolean> {
  const vanished = { inbox: new Set(inbox.vanished), trash: new Set(trash.vanished) };
  const left = mappings.filter((m) => vanished[m.folder].has(m.uid) && m.digest !== null && !m.digest.startsWith('standin:'));
  const wanted = new Set(left.map((m) => m.fingerprint));
  const candidates = {
    inbox: inbox.changed.filter((s) => !tracked.has(s.uid) && wanted.has(s.fingerprint)),
    trash: trash.changed.filter((s) => s.uid >= trashUidNext && wanted.has(s.fingerprint)),
  };
  const digests = {
    inbox: wanted.size === 0 ? new Map<number, string>() : await digestsOf(imap, 'inbox', candidates.inbox),
    trash: wanted.size === 0 ? new Map<number, string>() : await digestsOf(imap, 'trash', candidates.trash),
  };
  return (m, role, s) => {
    if (m.digest === null) return true;
    return standInMatches(m.digest, s.size) ?? digests[role].get(s.uid) === m.digest;
  };
}

/**
 * Detect desktop changes. A server that advertised QRESYNC or CONDSTORE and
 * refuses a command of it half-way (imap/fallbacks.ts) has that path
 * dropped, remembered, and detection runs again from the start on the next
 * plainer path: nothing is written before the end, so a second run is safe.
 */
export async function detectDesktopChanges(store: AgentStore, imap: DesktopImap, log: Logger, triggers: TriggerCheck): Promise<DetectResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await detectOnce(store, imap, log, triggers);
    } catch (err) {
      // At most twice: QRESYNC, then CONDSTORE.
      if (!(err instanceof PathRefused) || attempt >= 2) throw err;
      log.warn('change detection: the IMAP server refused a command it advertised; detecting again on the plain path', { path: err.path, now: imap.paths.detection });
    }
  }
}

async function detectOnce(store: AgentStore, imap: DesktopImap, log: Logger, triggers: TriggerCheck): Promise<DetectResult> {
  const inboxSaved = store.folderState('inbox');
  const trashSaved = store.folderState('trash');
  if (!inboxSaved || !trashSaved) return { actions: 0, stateLost: true, method: 'none', fetched: 0 };

  // Under unreadFirst every unread message is tracked (inbox-tracking.ts): one that became unread is wanted.
  const unreadFirst = (JSON.parse(store.getMeta('options') ?? '{}') as { unreadFirst?: boolean }).unreadFirst === true;
  const inbox = await folderChanges(imap, 'inbox', inboxSaved, () => new Map(store.inboxEntries().map((e) => [e.uid, e])), (m) => unreadFirst && !m.seen);
  const trash = await folderChanges(imap, 'trash', trashSaved, () => new Map(store.mappings('trash').map((m) => [m.uid, m])));
  if (inbox === 'uidvalidity' || trash === 'uidvalidity') {
    log.warn('UIDVALIDITY of a desktop folder changed: saved UIDs are void, running an initial sync (messages are matched by fingerprint)');
    store.transaction(() => store.resetForInitialSync());
    return { actions: 0, stateLost: true, method: 'none', fetched: 0 };
  }

  const mappings = store.mappings();
  const tracked = new Set(store.inboxUids());
  const isSame = await sameMessageCheck(imap, mappings, inbox, trash, trashSaved.uidNext, tracked);
  const plan = planDetection({
    inbox,
    trash,
    trashUidNext: trashSaved.uidNext,
    mappings,
    tracked,
    isLiveTrigger: (s) => triggers.isLive(s),
    isSame,
  });
  // The plan, the new folder state and the actions: one transaction (docs/spec.md §10: an action is on disk before it is sent).
  store.transaction(() => {
    for (const uid of plan.inboxDeletes) store.deleteInboxEntry(uid);
    for (const entry of plan.inboxPuts) store.putInboxEntry(entry);
    for (const { uid, seen, flagged, deleted } of plan.inboxFlags) {
      store.setInboxFlags(uid, seen, flagged);
      store.setInboxDeleted(uid, deleted);
    }
    for (const phoneId of plan.mappingDeletes) store.deleteMapping(phoneId);
    for (const m of plan.mappingPuts) store.putMapping(m);
    for (const action of plan.actions) store.appendAction(action);
    for (const [role, { opened }] of [['inbox', inbox], ['trash', trash]] as const) {
      store.setFolderState(role, { uidValidity: opened.uidValidity, highestModseq: opened.highestModseq, uidNext: opened.uidNext, exists: opened.exists });
    }
  });
  const actions = plan.actions.length;
  return { actions, stateLost: false, method: inbox.method, fetched: inbox.fetched + trash.fetched };
}
