/**
 * The desktop mailbox of a simulated agent (load generator, issue 22): an
 * INBOX and a Trash held in memory, with the agent's mapping to phone IDs.
 * It stands in for the IMAP server and the agent's database, so that a
 * protocol-level agent (sim-agent.ts) can take part in real sync sessions
 * without Dovecot: it answers the server's actions as a desktop would
 * (idempotently: an action it already applied is acknowledged again), and
 * says what normalization and pull must send (docs/spec.md §2, §4.5, §4.6).
 *
 * It is a model, not the agent: no identity checks beyond the fingerprint,
 * no conflict merging (the server's side of those is what a benchmark
 * measures).
 */
import type { OrderEntry, ServerAction, ServerActionResult } from '@twinbox/protocol';

export interface DesktopMessage {
  uid: number;
  /** Arrival time (INTERNALDATE), ms. */
  date: number;
  seen: boolean;
  flagged: boolean;
  folder: 'inbox' | 'trash';
  raw: Buffer;
}

export interface DesktopAnswer {
  result: ServerActionResult;
  desktopUid?: number;
}

export class SimDesktop {
  private nextUid = 1;
  private readonly messages = new Map<number, DesktopMessage>();
  private readonly uidOfPhone = new Map<number, number>();
  private readonly phoneOfUid = new Map<number, number>();
  /** The window order the server last took, phone ID → UID (only changes are sent again). */
  private sentOrder = new Map<number, number>();

  /** New mail in the desktop INBOX; its UID. */
  arrive(raw: Buffer, date: number, flags: { seen?: boolean; flagged?: boolean } = {}): number {
    const uid = this.nextUid++;
    this.messages.set(uid, { uid, date, seen: flags.seen ?? false, flagged: flags.flagged ?? false, folder: 'inbox', raw });
    return uid;
  }

  get(uid: number): DesktopMessage | undefined {
    return this.messages.get(uid);
  }

  /** The INBOX in the desktop's order: newest arrival first, ties by the higher UID (docs/spec.md §2). */
  inbox(): DesktopMessage[] {
    return [...this.messages.values()].filter((m) => m.folder === 'inbox').sort((a, b) => b.date - a.date || b.uid - a.uid);
  }

  top(window: number): DesktopMessage[] {
    return this.inbox().slice(0, window);
  }

  uidOf(phoneId: number): number | undefined {
    return this.uidOfPhone.get(phoneId);
  }

  phoneIdOf(uid: number): number | undefined {
    return this.phoneOfUid.get(uid);
  }

  map(phoneId: number, uid: number): void {
    this.unmapPhone(phoneId);
    this.uidOfPhone.set(phoneId, uid);
    this.phoneOfUid.set(uid, phoneId);
  }

  unmapPhone(phoneId: number): void {
    const uid = this.uidOfPhone.get(phoneId);
    if (uid !== undefined) this.phoneOfUid.delete(uid);
    this.uidOfPhone.delete(phoneId);
    this.sentOrder.delete(phoneId);
  }

  /** Phone IDs of mapped INBOX messages (what the phone's Inbox holds, as far as this desktop knows). */
  mappedInbox(): number[] {
    return this.inbox().flatMap((m) => (this.phoneOfUid.has(m.uid) ? [this.phoneOfUid.get(m.uid)!] : []));
  }

  /** An initial sync starts the pairing over: no mapping, no order sent. */
  forgetPairing(): void {
    this.uidOfPhone.clear();
    this.phoneOfUid.clear();
    this.sentOrder.clear();
  }

  /** Normalization: mapped INBOX messages that are no longer among the top W. */
  evictions(window: number): number[] {
    const top = new Set(this.top(window).map((m) => m.uid));
    return this.inbox().flatMap((m) => (!top.has(m.uid) && this.phoneOfUid.has(m.uid) ? [this.phoneOfUid.get(m.uid)!] : []));
  }

  /** Pull: the top-W INBOX messages the phone lacks, in order, at most `free` (and none already being inserted). */
  pullCandidates(window: number, free: number, pending: ReadonlySet<number>): DesktopMessage[] {
    return this.top(window)
      .filter((m) => !this.phoneOfUid.has(m.uid) && !pending.has(m.uid))
      .slice(0, Math.max(0, free));
  }

  /** The window order entries that changed since the server last took them. */
  orderEntries(window: number): OrderEntry[] {
    return this.top(window).flatMap((m) => {
      const phoneId = this.phoneOfUid.get(m.uid);
      return phoneId !== undefined && this.sentOrder.get(phoneId) !== m.uid ? [{ phoneId, tiebreak: m.uid, date: m.date }] : [];
    });
  }

  /** The server took the order of these entries (after `completed`). */
  orderTaken(entries: OrderEntry[]): void {
    for (const e of entries) this.sentOrder.set(e.phoneId, e.tiebreak);
  }

  /** Flip the read state of a mapped INBOX message, as the user would on the desktop: the action to send. */
  toggleSeen(phoneId: number): { kind: 'markRead' | 'markUnread'; phoneId: number } | undefined {
    const m = this.byPhone(phoneId);
    if (!m) return undefined;
    m.seen = !m.seen;
    return { kind: m.seen ? 'markRead' : 'markUnread', phoneId };
  }

  /** Apply one of the server's actions (a phone change) as the desktop would; acknowledged again if already applied. */
  apply(action: ServerAction, body: Buffer | undefined): DesktopAnswer {
    const mapped = 'phoneId' in action ? this.byPhone(action.phoneId) : undefined;
    switch (action.kind) {
      case 'insert': {
        if (mapped) return { result: 'ok', desktopUid: mapped.uid };
        const uid = this.arrive(body ?? Buffer.alloc(0), action.date, { seen: action.seen, flagged: action.flagged });
        this.map(action.phoneId, uid);
        return { result: 'ok', desktopUid: uid };
      }
      case 'markRead':
      case 'markUnread':
      case 'flag':
      case 'unflag':
        if (!mapped) return { result: 'gone' };
        if (action.kind === 'markRead' || action.kind === 'markUnread') mapped.seen = action.kind === 'markRead';
        else mapped.flagged = action.kind === 'flag';
        return { result: 'ok' };
      case 'trash':
      case 'recover':
        if (!mapped) return { result: 'gone' };
        mapped.folder = action.kind === 'trash' ? 'trash' : 'inbox';
        return { result: 'ok' };
      case 'destroy':
      case 'expire':
        if (!mapped || (action.kind === 'expire' && mapped.folder !== 'trash')) return { result: 'gone' };
        this.messages.delete(mapped.uid);
        this.unmapPhone(action.phoneId);
        return { result: 'ok' };
      case 'unmap':
        this.unmapPhone(action.phoneId);
        return { result: 'ok' };
      case 'deliver':
      case 'sent':
        // Sent through the desktop's SMTP server / filed in Sent: this desktop has no Sent folder to show.
        return { result: 'ok' };
    }
  }

  private byPhone(phoneId: number): DesktopMessage | undefined {
    const uid = this.uidOfPhone.get(phoneId);
    return uid === undefined ? undefined : this.messages.get(uid);
  }
}
