/**
 * A small reference model of docs/spec.md for the random-use test: what each side
 * holds, message by message, and what a sync must make of it. It knows
 * nothing of UIDs, phone IDs, frames or databases; it only says where every
 * message must end up and with which flags:
 *
 *   - destroy on either side beats everything (§6): gone from both;
 *   - a message that arrived on the phone and was never synced goes to the
 *     desktop as the phone has it (Inbox → INBOX, Trash → Trash);
 *   - for a message both sides hold, its folder and each flag merge against
 *     the state agreed at the last sync: a side that changed it wins, and
 *     with two-valued state both sides that changed it agree (§6);
 *   - a message only the desktop holds keeps the desktop's state;
 *   - the phone Inbox is the top W of the desktop INBOX by arrival time,
 *     newest first, with the desktop's flags (§2); the phone Trash keeps what
 *     the phone held when it went to Trash, on either side, with the merged
 *     flags; whatever leaves the window leaves the phone, never the desktop.
 */

export type Place = 'inbox' | 'trash';

interface Flags {
  seen: boolean;
  flagged: boolean;
}

interface ModelMessage {
  label: string;
  /** Arrival time, distinct per message, so the order is never a tie. */
  date: number;
  /** Where the desktop has it: undefined = not on the desktop yet, 'gone' = destroyed there. */
  desktop: Place | 'gone' | undefined;
  desktopFlags: Flags;
  /** Where the phone has it: undefined = not on the phone, 'gone' = destroyed there. */
  phone: Place | 'gone' | undefined;
  phoneFlags: Flags;
  /** Folder and flags both sides agreed on at the last sync (when both had it). */
  agreed: (Flags & { place: Place }) | undefined;
}

export type FlagOp = 'read' | 'unread' | 'flag' | 'unflag';

/** One message as a side shows it: label, then `*` if unread, `!` if flagged. */
export function show(label: string, flags: Flags): string {
  return `${label}${flags.seen ? '' : '*'}${flags.flagged ? '!' : ''}`;
}

function applyFlag(flags: Flags, op: FlagOp): Flags {
  if (op === 'read' || op === 'unread') return { ...flags, seen: op === 'read' };
  return { ...flags, flagged: op === 'flag' };
}

export class MailboxModel {
  private readonly messages = new Map<string, ModelMessage>();

  constructor(private readonly window: number) {}

  deliverToDesktop(label: string, date: number, seen: boolean): void {
    this.messages.set(label, { label, date, desktop: 'inbox', desktopFlags: { seen, flagged: false }, phone: undefined, phoneFlags: { seen, flagged: false }, agreed: undefined });
  }

  deliverToPhone(label: string, date: number, seen: boolean): void {
    this.messages.set(label, { label, date, desktop: undefined, desktopFlags: { seen, flagged: false }, phone: 'inbox', phoneFlags: { seen, flagged: false }, agreed: undefined });
  }

  desktopFlag(label: string, op: FlagOp): void {
    const m = this.get(label);
    m.desktopFlags = applyFlag(m.desktopFlags, op);
  }

  phoneFlag(label: string, op: FlagOp): void {
    const m = this.get(label);
    m.phoneFlags = applyFlag(m.phoneFlags, op);
  }

  desktopMove(label: string, to: Place | 'gone'): void {
    this.get(label).desktop = to;
  }

  phoneMove(label: string, to: Place | 'gone'): void {
    this.get(label).phone = to;
  }

  /** What a complete sync makes of both sides. */
  sync(): void {
    for (const m of [...this.messages.values()]) {
      if (m.desktop === 'gone' || m.phone === 'gone') {
        this.messages.delete(m.label);
        continue;
      }
      if (m.desktop === undefined) {
        // Arrived on the phone since the last sync: the desktop takes it as the phone has it.
        m.desktop = m.phone;
        m.desktopFlags = { ...m.phoneFlags };
      } else if (m.phone !== undefined && m.agreed) {
        const base = m.agreed;
        m.desktop = m.desktop !== base.place ? m.desktop : m.phone;
        m.desktopFlags = {
          seen: m.desktopFlags.seen !== base.seen ? m.desktopFlags.seen : m.phoneFlags.seen,
          flagged: m.desktopFlags.flagged !== base.flagged ? m.desktopFlags.flagged : m.phoneFlags.flagged,
        };
      }
    }
    const top = new Set(this.desktopFolder('inbox').slice(0, this.window).map((m) => m.label));
    for (const m of this.messages.values()) {
      const onPhone = m.desktop === 'inbox' ? top.has(m.label) : m.phone !== undefined;
      m.phone = onPhone ? m.desktop : undefined;
      m.phoneFlags = { ...m.desktopFlags };
      m.agreed = onPhone ? { place: m.desktop as Place, ...m.desktopFlags } : undefined;
    }
  }

  /** The desktop folder, newest first (docs/spec.md §2's order; the test never makes ties). */
  private desktopFolder(place: Place): ModelMessage[] {
    return [...this.messages.values()].filter((m) => m.desktop === place).sort((a, b) => b.date - a.date);
  }

  /** Both sides as the test reads them: Inboxes in order, Trashes sorted by label. */
  expected(): { desktop: Record<Place, string[]>; phone: Record<Place, string[]> } {
    const phone = (place: Place) => this.desktopFolder(place).filter((m) => m.phone === place).map((m) => show(m.label, m.phoneFlags));
    return {
      desktop: {
        inbox: this.desktopFolder('inbox').map((m) => show(m.label, m.desktopFlags)),
        trash: this.desktopFolder('trash').map((m) => show(m.label, m.desktopFlags)).sort(),
      },
      phone: { inbox: phone('inbox'), trash: phone('trash').sort() },
    };
  }

  /** Labels a side can act on now, per folder, in a stable order. */
  labels(side: 'desktop' | 'phone', place: Place): string[] {
    return [...this.messages.values()].filter((m) => m[side] === place).map((m) => m.label).sort();
  }

  private get(label: string): ModelMessage {
    const m = this.messages.get(label);
    if (!m) throw new Error(`model: no message ${label}`);
    return m;
  }
}
