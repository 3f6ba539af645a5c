/**
 * The initial sync's pairing, as a pure plan (docs/spec.md §3, §6; issue 9.1, 9.6):
 * which phone message is which desktop message, and what each pair needs
 * to agree.
 *
 * Identity: a phone message pairs with a desktop message only when it is the
 * same message — same fingerprint and same content digest (identity.ts) —
 * first in its own folder, then in the other; each desktop message pairs
 * once. A phone message with a desktop Message-ID but other content is not
 * that message: it is "missing" and goes to the desktop as its own message.
 *
 * Disagreements (folder, \Seen, \Flagged): what the user changed on the phone
 * since the last agreed state (`changed`, from the server) wins; otherwise
 * the account's conflict policy decides (`desktop` by default).
 */
import { flagActionFor, standInMatches, type AgentAction, type PhoneChange, type PhoneListEntry } from '@twinbox/protocol';
import type { DesktopSummary } from '../imap/desktop-imap.js';
import type { FolderRole } from '../store/agent-store.js';

export interface DesktopLists {
  inbox: DesktopSummary[];
  trash: DesktopSummary[];
}

export interface Pair {
  phone: PhoneListEntry;
  folder: FolderRole;
  desktop: DesktopSummary;
}

/** Digest of a desktop message (c1:…), where it was fetched. */
export type DigestOf = (role: FolderRole, uid: number) => string | undefined;

/** Desktop messages whose content digest the pairing needs: those sharing a fingerprint with a phone message. */
export function digestsNeeded(phoneList: PhoneListEntry[], lists: DesktopLists): { role: FolderRole; uid: number; size: number }[] {
  const fingerprints = new Set(phoneList.filter((p) => !p.digest.startsWith('standin:')).map((p) => p.fingerprint));
  return (['inbox', 'trash'] as const).flatMap((role) => lists[role].filter((s) => fingerprints.has(s.fingerprint)).map((s) => ({ role, uid: s.uid, size: s.size })));
}

/** Is this desktop message the same message as the phone one? */
export function isSameMessage(phone: Pick<PhoneListEntry, 'fingerprint' | 'digest'>, role: FolderRole, desktop: DesktopSummary, digestOf: DigestOf): boolean {
  if (phone.fingerprint !== desktop.fingerprint) return false;
  return standInMatches(phone.digest, desktop.size) ?? digestOf(role, desktop.uid) === phone.digest;
}

export function planPairing(phoneList: PhoneListEntry[], lists: DesktopLists, digestOf: DigestOf): { pairs: Pair[]; missing: PhoneListEntry[] } {
  const byFingerprint = { inbox: groupByFingerprint(lists.inbox), trash: groupByFingerprint(lists.trash) };
  const claimed = { inbox: new Set<number>(), trash: new Set<number>() };
  const pairs: Pair[] = [];
  const missing: PhoneListEntry[] = [];
  // Phone Inbox first, each in phone ID order: deterministic, and the Inbox gets first pick.
  const ordered = [...phoneList].sort((a, b) => (a.folder === b.folder ? a.phoneId - b.phoneId : a.folder === 'inbox' ? -1 : 1));
  for (const phone of ordered) {
    const roles: FolderRole[] = phone.folder === 'inbox' ? ['inbox', 'trash'] : ['trash', 'inbox'];
    let pair: Pair | undefined;
    for (const role of roles) {
      const desktop = (byFingerprint[role].get(phone.fingerprint) ?? []).find((s) => !claimed[role].has(s.uid) && isSameMessage(phone, role, s, digestOf));
      if (desktop) {
        pair = { phone, folder: role, desktop };
        claimed[role].add(desktop.uid);
        break;
      }
    }
    if (pair) pairs.push(pair);
    else missing.push(phone);
  }
  return { pairs, missing };
}

function groupByFingerprint(list: DesktopSummary[]): Map<string, DesktopSummary[]> {
  const groups = new Map<string, DesktopSummary[]>();
  for (const s of [...list].sort((a, b) => a.uid - b.uid)) groups.set(s.fingerprint, [...(groups.get(s.fingerprint) ?? []), s]);
  return groups;
}

/** What one pair needs so both sides agree. */
export interface PairDecision {
  /** Where the message ends up on both sides. */
  folder: FolderRole;
  /** Move the desktop copy there first (the phone's folder won). */
  moveDesktop: boolean;
  /** Flags to set on the desktop (the phone's value won). */
  desktopFlags: { seen?: boolean; flagged?: boolean };
  /** Actions for the phone (the desktop's value won). */
  phoneActions: AgentAction[];
  /** The flags both sides hold afterwards. */
  agreed: { seen: boolean; flagged: boolean };
}

export function decidePair(pair: Pair, policy: 'desktop' | 'phone'): PairDecision {
  const { phone, desktop } = pair;
  const phoneWins = (change: PhoneChange) => phone.changed.includes(change) || policy === 'phone';
  const decision: PairDecision = { folder: pair.folder, moveDesktop: false, desktopFlags: {}, phoneActions: [], agreed: { seen: desktop.seen, flagged: desktop.flagged } };
  if (phone.folder !== pair.folder) {
    if (phoneWins('folder')) {
      decision.folder = phone.folder;
      decision.moveDesktop = true;
    } else decision.phoneActions.push({ kind: pair.folder === 'trash' ? 'trash' : 'recover', phoneId: phone.phoneId });
  }
  for (const flag of ['seen', 'flagged'] as const) {
    if (phone[flag] === desktop[flag]) continue;
    if (phoneWins(flag)) {
      decision.desktopFlags[flag] = phone[flag];
      decision.agreed[flag] = phone[flag];
    } else {
      decision.phoneActions.push({ kind: flagActionFor(flag, desktop[flag]), phoneId: phone.phoneId });
    }
  }
  return decision;
}
