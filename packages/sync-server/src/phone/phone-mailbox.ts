/**
 * The phone's view of one account's mailbox, and the only way phone-side
 * changes are made (by the phone API of a later issue, inbound SMTP, tests).
 * Each change and the action that tells the desktop about it are written in
 * one transaction (SPEC §5): the desktop can never miss a phone change.
 */
import type { FlagName, PhoneMessage, ServerStore } from '../store/index.js';
import type { ServerActionRowKind } from '../store/server-actions.js';

export class PhoneError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'WRONG_FOLDER',
    message: string,
  ) {
    super(message);
    this.name = 'PhoneError';
  }
}

export interface Delivery {
  raw: Buffer;
  /** Arrival time on the phone, ms; defaults to now. */
  date?: number;
  seen?: boolean;
  flagged?: boolean;
}

export class PhoneMailbox {
  constructor(
    private readonly store: ServerStore,
    readonly accountId: string,
  ) {
    if (!store.accounts.get(accountId)) throw new PhoneError('NOT_FOUND', `no account ${accountId}`);
  }

  /** New mail arrives at the phone address: lands in the Inbox and becomes an `insert` for the desktop. */
  deliver(delivery: Delivery): number {
    return this.store.transaction(() => {
      const id = this.store.messages.insert(this.accountId, {
        folder: 'inbox',
        raw: delivery.raw,
        date: delivery.date ?? Date.now(),
        seen: delivery.seen ?? false,
        flagged: delivery.flagged ?? false,
      });
      this.store.actions.append(this.accountId, 'insert', id);
      return id;
    });
  }

  markRead(id: number): void {
    this.setFlag(id, 'seen', true, 'markRead');
  }

  markUnread(id: number): void {
    this.setFlag(id, 'seen', false, 'markUnread');
  }

  flag(id: number): void {
    this.setFlag(id, 'flagged', true, 'flag');
  }

  unflag(id: number): void {
    this.setFlag(id, 'flagged', false, 'unflag');
  }

  trash(id: number): void {
    this.change(id, 'trash', (message) => {
      if (message.folder !== 'inbox') throw new PhoneError('WRONG_FOLDER', `message ${id} is not in the Inbox`);
      this.store.messages.move(this.accountId, id, 'trash');
    });
  }

  recover(id: number): void {
    this.change(id, 'recover', (message) => {
      if (message.folder !== 'trash') throw new PhoneError('WRONG_FOLDER', `message ${id} is not in the Trash`);
      this.store.messages.move(this.accountId, id, 'inbox');
    });
  }

  /** Gone for good, wherever it is. */
  destroy(id: number): void {
    this.change(id, 'destroy', () => this.store.messages.delete(this.accountId, id));
  }

  get(id: number): PhoneMessage | undefined {
    return this.store.messages.get(this.accountId, id);
  }

  raw(id: number): Buffer | undefined {
    return this.store.messages.raw(this.accountId, id);
  }

  inbox(): PhoneMessage[] {
    const account = this.store.accounts.get(this.accountId)!;
    return this.store.messages.list(this.accountId, 'inbox', account.unreadFirst);
  }

  trashFolder(): PhoneMessage[] {
    return this.store.messages.list(this.accountId, 'trash');
  }

  private setFlag(id: number, flag: FlagName, value: boolean, kind: ServerActionRowKind): void {
    this.change(id, kind, (message) => {
      const current = flag === 'seen' ? message.seen : message.flagged;
      if (current !== value) this.store.messages.setFlag(this.accountId, id, flag, value, false);
    });
  }

  private change(id: number, kind: ServerActionRowKind, apply: (message: PhoneMessage) => void): void {
    this.store.transaction(() => {
      const message = this.store.messages.get(this.accountId, id);
      if (!message || (message.folder !== 'inbox' && message.folder !== 'trash')) {
        throw new PhoneError('NOT_FOUND', `no message ${id} in the Inbox or Trash`);
      }
      apply(message);
      this.store.actions.append(this.accountId, kind, id);
    });
  }
}
