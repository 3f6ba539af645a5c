/**
 * The phone's view of one account's mailbox, and the only way phone-side
 * changes are made (by the phone HTTP API, inbound SMTP, and tests).
 * Each change and the action that tells the desktop about it are written in
 * one transaction (docs/spec.md §5): the desktop can never miss a phone change.
 */
import { contentDigestOfRaw, fingerprintOfRaw, imapSafe, toCrlf, type Envelope } from '@twinbox/protocol';
import type { Mailer } from '../mailer.js';
import type { FlagName, PhoneMessage, ServerStore } from '../store/index.js';
import type { ServerActionRowKind } from '../store/server-actions.js';
import { PhoneError } from './errors.js';

/** The phone side's one error class lives in errors.ts (with its code map); re-exported for the mailbox's callers. */
export { PhoneError };

export interface Delivery {
  raw: Buffer;
  /** Arrival time on the phone, ms; defaults to now. */
  date?: number;
  seen?: boolean;
  flagged?: boolean;
}

export interface Outgoing {
  /** The message as the phone composed it (RFC 5322). */
  raw: Buffer;
  envelope: Envelope;
  /** true: the desktop sends it at the next sync, through its own SMTP server; false: the server's relay sends it now. */
  viaSync: boolean;
}

export class PhoneMailbox {
  constructor(
    private readonly store: ServerStore,
    readonly accountId: string,
    /** The relay for direct sends; without it only sending via sync is possible. */
    private readonly mailer?: Mailer,
  ) {
    if (!store.accounts.get(accountId)) throw new PhoneError('NOT_FOUND', `no account ${accountId}`);
  }

  /**
   * New mail arrives at the phone address: lands in the Inbox and becomes an
   * `insert` for the desktop. The same message arriving again (the phone's
   * Inbox or Trash holds it already: identity.ts) is that message, not a
   * second one (issue 18.6): nothing is stored; its phone ID is returned.
   */
  deliver(delivery: Delivery): number {
    const raw = imapSafe(toCrlf(delivery.raw));
    const identity = { fingerprint: fingerprintOfRaw(raw), digest: contentDigestOfRaw(raw) };
    const stored = this.store.transaction(() => {
      const same = this.store.messages.findSame(this.accountId, identity, ['inbox', 'trash']);
      if (same) return { id: same.id, added: false };
      const id = this.store.messages.insert(this.accountId, {
        folder: 'inbox',
        raw,
        date: delivery.date ?? Date.now(),
        seen: delivery.seen ?? false,
        flagged: delivery.flagged ?? false,
      });
      this.store.actions.append(this.accountId, 'insert', id);
      return { id, added: true };
    });
    // New mail: the push notifier hears of it (push/new-mail.ts).
    if (stored.added && !delivery.seen) this.store.events.emit('newMail', this.accountId, stored.id);
    return stored.id;
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

  /**
   * Gone for good, wherever it is. The action keeps what the message was, so
   * that even an agent that has started over (initial sync) destroys its
   * desktop copy, and only that (docs/identity.md).
   */
  destroy(id: number): void {
    this.store.transaction(() => {
      const message = this.store.messages.get(this.accountId, id);
      if (!message || (message.folder !== 'inbox' && message.folder !== 'trash')) throw new PhoneError('NOT_FOUND', `no message ${id} in the Inbox or Trash`);
      this.store.messages.delete(this.accountId, id);
      this.store.actions.append(this.accountId, 'destroy', id, { folder: message.folder, fingerprint: message.fingerprint, digest: message.digest });
    });
  }

  /**
   * Send a message (docs/spec.md §7). Via sync: it waits in the Outbox and a `deliver`
   * action asks the desktop to send it. Direct: the relay sends it now; it is
   * filed in Sent and a `sent` action copies it to the desktop Sent folder. A
   * direct send that fails stays in the Outbox, marked failed with the SMTP
   * error, and can be retried. Returns the phone ID.
   */
  async send(outgoing: Outgoing): Promise<number> {
    if (!outgoing.viaSync && !this.mailer) throw new PhoneError('NO_RELAY', 'this server has no relay configured for direct sending; send via sync');
    const id = this.store.transaction(() => {
      const messageId = this.store.messages.insert(this.accountId, {
        folder: 'outbox',
        raw: outgoing.raw,
        date: Date.now(),
        seen: true,
        flagged: false,
        outgoing: { envelope: outgoing.envelope, sendVia: outgoing.viaSync ? 'sync' : 'direct' },
      });
      if (outgoing.viaSync) this.store.actions.append(this.accountId, 'deliver', messageId);
      return messageId;
    });
    if (!outgoing.viaSync) await this.sendDirect(id);
    return id;
  }

  /** Send a failed Outbox message again, the way it was first sent. */
  async retry(id: number): Promise<void> {
    // Claim the retry in one transaction (failed → queued): of two retries at once only one sends (issue 9.8).
    const message = this.store.transaction(() => {
      const found = this.store.messages.get(this.accountId, id);
      if (!found || found.folder !== 'outbox') throw new PhoneError('NOT_FOUND', `no message ${id} in the Outbox`);
      if (found.sendStatus !== 'failed') throw new PhoneError('WRONG_FOLDER', `message ${id} is not a failed send (it is ${found.sendStatus ?? 'sent'})`);
      this.store.messages.setSendStatus(this.accountId, id, 'queued');
      if (found.sendVia !== 'direct') this.store.actions.append(this.accountId, 'deliver', id);
      return found;
    });
    if (message.sendVia === 'direct') await this.sendDirect(id);
  }

  private async sendDirect(id: number): Promise<void> {
    const message = this.store.messages.get(this.accountId, id)!;
    const raw = this.store.messages.raw(this.accountId, id)!;
    try {
      await this.mailer!.send(message.envelope!, raw);
    } catch (err) {
      const reason = (err as Error).message;
      this.store.transaction(() => this.store.messages.setSendStatus(this.accountId, id, 'failed', reason));
      throw new PhoneError('SEND_FAILED', `the relay refused the message: ${reason}`);
    }
    this.store.transaction(() => {
      this.store.messages.move(this.accountId, id, 'sent');
      this.store.messages.setSendStatus(this.accountId, id, null);
      this.store.actions.append(this.accountId, 'sent', id);
    });
  }

  /**
   * Try again a change the desktop kept refusing (docs/quarantine.md): it
   * leaves the quarantine and is queued for the desktop once more, as it was.
   * One about a message the phone no longer holds (other than a destroy or an
   * expire, which are about such messages) has nothing left to do.
   */
  retryQuarantined(id: number): void {
    this.store.transaction(() => {
      const change = this.store.quarantine.take(this.accountId, id);
      if (!change) throw new PhoneError('NOT_FOUND', `nothing set aside with id ${id}`);
      const gone = change.kind !== 'destroy' && change.kind !== 'expire' && !this.store.messages.get(this.accountId, change.phoneId);
      if (gone) return;
      this.store.actions.append(this.accountId, change.kind, change.phoneId, change.identity ?? undefined);
    });
  }

  outbox(): PhoneMessage[] {
    return this.store.messages.list(this.accountId, 'outbox');
  }

  sentFolder(): PhoneMessage[] {
    return this.store.messages.list(this.accountId, 'sent');
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
