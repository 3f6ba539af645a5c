/**
 * Desktop change detection as a pure plan (docs/spec.md §5, patent FIG. 9 block
 * 902): what IMAP reported since the last sync, against the saved state,
 * gives the actions for the phone and the changes to the mapping and the
 * inbox state table. No I/O: detect.ts reads IMAP, calls this, and writes
 * the plan in one transaction.
 *
 *   left INBOX, the same message new in Trash → trash
 *   left Trash, the same message new in INBOX → recover
 *   left a folder, the same message new in it → moved out and back: its
 *                                               mapping follows
 *   ("the same message": same fingerprint and same content digest,
 *    identity.ts — a stranger's copy with its Message-ID never takes over
 *    its mapping, in any order of moves; issue 18.5)
 *   left either, found nowhere                → destroy
 *   flags differ from the agreed state        → markRead/markUnread/flag/unflag
 *     (in INBOX and in Trash, including flags changed before a move)
 *   marked \Deleted in INBOX (not expunged)   → recorded: normalization takes
 *                                               it out of the window
 */
import { flagActionsBetween, type AgentAction } from '@twinbox/protocol';
import type { DesktopSummary } from '../imap/desktop-imap.js';
import type { FolderRole, Mapping } from '../store/agent-store.js';

/** What IMAP reported for one folder: UIDs gone, and messages new or changed (flag-only entries have no fingerprint). */
export interface ReportedChanges {
  vanished: number[];
  changed: DesktopSummary[];
}

export interface DetectionInput {
  inbox: ReportedChanges;
  trash: ReportedChanges;
  /** Trash's UIDNEXT as saved: messages from it on are new there. */
  trashUidNext: number;
  /** Every mapping row (the window and the phone's Trash: O(W)). */
  mappings: Mapping[];
  /** UIDs of the tracked INBOX messages (inbox_state). */
  tracked: ReadonlySet<number>;
  /** A live trigger e-mail is the desktop watcher's: never listed, synced or counted (docs/spec.md §8). */
  isLiveTrigger: (s: DesktopSummary) => boolean;
  /**
   * Is this desktop message, found new in `role`, the message `m` maps? Its content digest against the
   * mapping's (detect.ts fetches the digests of the candidates); a mapping from before digests were kept
   * (null) goes by its fingerprint until backfill-digests.ts fills it in.
   */
  isSame: (m: Mapping, role: FolderRole, s: DesktopSummary) => boolean;
}

export interface DetectionPlan {
  /** Actions for the phone, in order. */
  actions: AgentAction[];
  /** Mapping rows as they end up (written over the old ones). */
  mappingPuts: Mapping[];
  /** Phone IDs no longer mapped. */
  mappingDeletes: number[];
  /** Inbox state: rows to drop, new rows, and new flags of tracked rows. */
  inboxDeletes: number[];
  inboxPuts: DesktopSummary[];
  inboxFlags: { uid: number; seen: boolean; flagged: boolean; deleted: boolean }[];
}

/** The mapping table as the plan changes it (a UID belongs to one phone message, as in AgentStore.putMapping). */
class MappingTable {
  private readonly rows = new Map<number, Mapping>();
  /** "folder uid" → phone ID. */
  private readonly byPlace = new Map<string, number>();
  readonly touched = new Set<number>();
  readonly deleted = new Set<number>();

  constructor(rows: Mapping[]) {
    for (const m of rows) this.set(m);
  }

  private set(m: Mapping): void {
    this.rows.set(m.phoneId, m);
    this.byPlace.set(`${m.folder} ${m.uid}`, m.phoneId);
  }

  byUid(folder: FolderRole, uid: number): Mapping | undefined {
    const phoneId = this.byPlace.get(`${folder} ${uid}`);
    return phoneId === undefined ? undefined : this.rows.get(phoneId);
  }

  put(m: Mapping): void {
    const holder = this.byUid(m.folder, m.uid);
    if (holder && holder.phoneId !== m.phoneId) this.delete(holder.phoneId);
    const old = this.rows.get(m.phoneId);
    if (old) this.byPlace.delete(`${old.folder} ${old.uid}`);
    this.set(m);
    this.touched.add(m.phoneId);
    this.deleted.delete(m.phoneId);
  }

  delete(phoneId: number): void {
    const old = this.rows.get(phoneId);
    if (old) this.byPlace.delete(`${old.folder} ${old.uid}`);
    this.rows.delete(phoneId);
    this.touched.delete(phoneId);
    this.deleted.add(phoneId);
  }

  final(): Mapping[] {
    return [...this.touched].map((id) => this.rows.get(id)!);
  }
}

export function planDetection(input: DetectionInput): DetectionPlan {
  const mappings = new MappingTable(input.mappings);
  const actions: AgentAction[] = [];
  const plan: DetectionPlan = { actions, mappingPuts: [], mappingDeletes: [], inboxDeletes: [], inboxPuts: [], inboxFlags: [] };
  const tracked = new Set(input.tracked);

  // Messages new in Trash that no mapping claims: where INBOX messages went.
  const newInTrash = input.trash.changed.filter((s) => s.uid >= input.trashUidNext && !mappings.byUid('trash', s.uid));
  const inboxChanged = input.inbox.changed.filter((s) => tracked.has(s.uid) || !input.isLiveTrigger(s));
  const newInInbox = inboxChanged.filter((s) => !tracked.has(s.uid));
  const take = (list: DesktopSummary[], role: FolderRole, m: Mapping) => {
    const i = list.findIndex((s) => s.fingerprint === m.fingerprint && input.isSame(m, role, s));
    return i < 0 ? undefined : list.splice(i, 1)[0];
  };

  for (const uid of input.inbox.vanished) {
    if (tracked.delete(uid)) plan.inboxDeletes.push(uid);
    const m = mappings.byUid('inbox', uid);
    if (!m) continue;
    const moved = take(newInTrash, 'trash', m);
    // Moved out and back since the last sync (to Trash and recovered): the same message under a new UID.
    const back = moved ? undefined : take(newInInbox, 'inbox', m);
    if (moved) {
      mappings.put({ ...m, folder: 'trash', uid: moved.uid });
      actions.push({ kind: 'trash', phoneId: m.phoneId });
    } else if (back) {
      mappings.put({ ...m, uid: back.uid });
    } else {
      mappings.delete(m.phoneId);
      actions.push({ kind: 'destroy', phoneId: m.phoneId });
    }
  }
  for (const uid of input.trash.vanished) {
    const m = mappings.byUid('trash', uid);
    if (!m) continue;
    const back = take(newInInbox, 'inbox', m);
    // Recovered and trashed again since the last sync: the same message, still in Trash, under a new UID.
    const again = back ? undefined : take(newInTrash, 'trash', m);
    if (back) {
      // Flags of the recovered copy are compared below, once it is mapped in INBOX.
      mappings.put({ ...m, folder: 'inbox', uid: back.uid });
      actions.push({ kind: 'recover', phoneId: m.phoneId });
    } else if (again) {
      mappings.put({ ...m, uid: again.uid });
    } else {
      mappings.delete(m.phoneId);
      actions.push({ kind: 'destroy', phoneId: m.phoneId });
    }
  }
  for (const s of inboxChanged) {
    if (tracked.has(s.uid)) {
      // Marked (or unmarked) \Deleted: normalization takes it out of the window (or pull brings it back).
      plan.inboxFlags.push({ uid: s.uid, seen: s.seen, flagged: s.flagged, deleted: s.deleted ?? false });
    } else if (s.fingerprint !== '') {
      plan.inboxPuts.push(s);
      tracked.add(s.uid);
    }
    const m = mappings.byUid('inbox', s.uid);
    if (!m) continue;
    for (const kind of flagActionsBetween(m, s)) actions.push({ kind, phoneId: m.phoneId });
    mappings.put({ ...m, seen: s.seen, flagged: s.flagged });
  }
  // The same for the phone's Trash: flags changed there, or before the move that took a message there.
  for (const s of input.trash.changed) {
    const m = mappings.byUid('trash', s.uid);
    if (!m) continue;
    for (const kind of flagActionsBetween(m, s)) actions.push({ kind, phoneId: m.phoneId });
    mappings.put({ ...m, seen: s.seen, flagged: s.flagged });
  }
  plan.mappingPuts = mappings.final();
  plan.mappingDeletes = [...mappings.deleted];
  return plan;
}
