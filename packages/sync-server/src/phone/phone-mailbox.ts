/**
 * The phone's view of one account's mailbox, and the only way phone-side
 * changes are made (by the phone HTTP API, inbound SMTP, and tests).
 * Each change and the action that tells the desktop about it are written in
 * one transaction (docs/spec.md §5): the desktop can never miss a phone change.
 */
import { contentDigestOfRaw, fingerprintOfRaw, imapSafe, toCrlf, type Envelope } from '@twinbox/protocol';
import type { Mailer } from '../mailer.js';
import type { Account, FlagName, PhoneMessage, ServerStore } from '../store/index.js';
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
  /** The account has been found: a mailbox checks it on first use, once (a constructor cannot wait for the store). */
  private known = false;

  constructor(
    private readonly store: ServerStore,
    readonly accountId: string,
    /** The relay for direct sends; without it only sending via sync is possible. */
    private readonly mailer?: Mailer,
  ) {}

  /** The account; NOT_FOUND when there is none. */
  private async account(): Promise<Account> {
    const account = await this.store.accounts.get(this.accountId);
    if (!account) throw new PhoneError('NOT_FOUND', `no account ${this.accountId}`);
    this.known = true;
    return account;
  }

  /** Every method's first step: a mailbox of no account does nothing but say NOT_FOUND. */
  private async checkAccount(): Promise<void> {
    if (!this.known) await this.account();
  }

  /** A transaction of this account: it takes turns with the account's sync and its other changes (engine.ts, `scope`). */
  private transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.store.transaction(fn, { scope: this.accountId });
  }

  /**
   * New mail arrives at the phone address: lands in the Inbox and becomes an
   * `insert` for the desktop. The same message arriving again (the phone's
   * Inbox or Trash holds it already: identity.ts) is that message, not a
   * second one (issue 18.6): nothing is stored; its phone ID is returned.
   */
  async deliver(delivery: Delivery): Promise<number> {
    await this.checkAccount();
    const raw = imapSafe(toCrlf(delivery.raw));
    const identity = { fingerprint: fingerprintOfRaw(raw), digest: contentDigestOfRaw(raw) };
    return this.transaction(async () => {
      const same = await this.store.messages.findSame(this.accountId, identity, ['inbox', 'trash']);
      if (same) return same.id;
      const id = await this.store.messages.insert(this.accountId, {
        folder: 'inbox',
        raw,
        date: delivery.date ?? Date.now(),
        seen: delivery.seen ?? false,
        flagged: delivery.flagged ?? false,
      });
      await this.store.actions.append(this.accountId, 'insert', id);
      // New mail: the push notifier hears of it (push/new-mail.ts) once it is committed, and once however often this runs.
      if (!delivery.seen) this.store.engine.afterCommit(() => this.store.events.emit('newMail', this.accountId, id));
      return id;
    });
  }

  async markRead(id: number): Promise<void> {
    await this.setFlag(id, 'seen', true, 'markRead');
  }

  async markUnread(id: number): Promise<void> {
    await this.setFlag(id, 'seen', false, 'markUnread');
  }

  async flag(id: number): Promise<void> {
    await this.setFlag(id, 'flagged', true, 'flag');
  }

  async unflag(id: number): Promise<void> {
    await this.setFlag(id, 'flagged', false, 'unflag');
  }

  async trash(id: number): Promise<void> {
    await this.change(id, 'trash', async (message) => {
      if (message.folder !== 'inbox') throw new PhoneError('WRONG_FOLDER', `message ${id} is not in the Inbox`);
      await this.store.messages.move(this.accountId, id, 'trash');
    });
  }

  async recover(id: number): Promise<void> {
    await this.change(id, 'recover', async (message) => {
      if (message.folder !== 'trash') throw new PhoneError('WRONG_FOLDER', `message ${id} is not in the Trash`);
      await this.store.messages.move(this.accountId, id, 'inbox');
    });
  }

  /**
   * Gone for good, wherever it is. The action keeps what the message was, so
   * that even an agent that has started over (initial sync) destroys its
   * desktop copy, and only that (docs/identity.md).
   */
  async destroy(id: number): Promise<void> {
    await this.checkAccount();
    await this.transaction(async () => {
      const message = await this.store.messages.get(this.accountId, id);
      if (!message || (message.folder !== 'inbox' && message.folder !== 'trash')) throw new PhoneError('NOT_FOUND', `no message ${id} in the Inbox or Trash`);
      await this.store.messages.delete(this.accountId, id);
      await this.store.actions.append(this.accountId, 'destroy', id, { folder: message.folder, fingerprint: message.fingerprint, digest: message.digest });
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
    await this.checkAccount();
    if (!outgoing.viaSync && !this.mailer) throw new PhoneError('NO_RELAY', 'this server has no relay configured for direct sending; send via sync');
    const id = await this.transaction(async () => {
      const messageId = await this.store.messages.insert(this.accountId, {
        folder: 'outbox',
        raw: outgoing.raw,
        date: Date.now(),
        seen: true,
        flagged: false,
        outgoing: { envelope: outgoing.envelope, sendVia: outgoing.viaSync ? 'sync' : 'direct' },
      });
      if (outgoing.viaSync) await this.store.actions.append(this.accountId, 'deliver', messageId);
      return messageId;
    });
    // The relay is asked after the commit, never inside the transaction: a network wait would hold the store.
    if (!outgoing.viaSync) await this.sendDirect(id);
    return id;
  }

  /** Send a failed Outbox message again, the way it was first sent. */
  async retry(id: number): Promise<void> {
    await this.checkAccount();
    // Claim the retry in one transaction (failed → queued): of two retries at once only one sends (issue 9.8).
    const message = await this.transaction(async () => {
      const found = await this.store.messages.get(this.accountId, id);
      if (!found || found.folder !== 'outbox') throw new PhoneError('NOT_FOUND', `no message ${id} in the Outbox`);
      if (found.sendStatus !== 'failed') throw new PhoneError('WRONG_FOLDER', `message ${id} is not a failed send (it is ${found.sendStatus ?? 'sent'})`);
      await this.store.messages.setSendStatus(this.accountId, id, 'queued');
      if (found.sendVia !== 'direct') await this.store.actions.append(this.accountId, 'deliver', id);
      return found;
    });
    if (message.sendVia === 'direct') await this.sendDirect(id);
  }

  /** The queued direct send `id` through the relay (claimed by the caller: no one else sends it meanwhile). */
  private async sendDirect(id: number): Promise<void> {
    const message = (await this.store.messages.get(this.accountId, id))!;
    const raw = (await this.store.messages.raw(this.accountId, id))!;
    try {
      await this.mailer!.send(message.envelope!, raw);
    } catch (err) {
      const reason = (err as Error).message;
      await this.transaction(() => this.store.messages.setSendStatus(this.accountId, id, 'failed', reason));
      throw new PhoneError('SEND_FAILED', `the relay refused the message: ${reason}`);
    }
    await this.transaction(async () => {
      await this.store.messages.move(this.accountId, id, 'sent');
      await this.store.messages.setSendStatus(this.accountId, id, null);
      await this.store.actions.append(this.accountId, 'sent', id);
    });
  }

  /**
   * Try again a change the desktop kept refusing (docs/quarantine.md): it
   * leaves the quarantine and is queued for the desktop once more, as it was.
   * One about a message the phone no longer holds (other than a destroy or an
   * expire, which are about such messages) has nothing left to do.
   */
  async retryQuarantined(id: number): Promise<void> {
    await this.checkAccount();
    await this.transaction(async () => {
      const change = await this.store.quarantine.take(this.accountId, id);
      if (!change) throw new PhoneError('NOT_FOUND', `nothing set aside with id ${id}`);
      const gone = change.kind !== 'destroy' && change.kind !== 'expire' && !(await this.store.messages.get(this.accountId, change.phoneId));
      if (gone) return;
      await this.store.actions.append(this.accountId, change.kind, change.phoneId, change.identity ?? undefined);
    });
  }

  async outbox(): Promise<PhoneMessage[]> {
    await this.checkAccount();
    return this.store.messages.list(this.accountId, 'outbox');
  }

  async sentFolder(): Promise<PhoneMessage[]> {
    await this.checkAccount();
    return this.store.messages.list(this.accountId, 'sent');
  }

  async get(id: number): Promise<PhoneMessage | undefined> {
    await this.checkAccount();
    return this.store.messages.get(this.accountId, id);
  }

  async raw(id: number): Promise<Buffer | undefined> {
    await this.checkAccount();
    return this.store.messages.raw(this.accountId, id);
  }

  async inbox(): Promise<PhoneMessage[]> {
    const account = await this.account();
    return this.store.messages.list(this.accountId, 'inbox', account.unreadFirst);
  }

  async trashFolder(): Promise<PhoneMessage[]> {
    await this.checkAccount();
    return this.store.messages.list(this.accountId, 'trash');
  }

  private async setFlag(id: number, flag: FlagName, value: boolean, kind: ServerActionRowKind): Promise<void> {
    await this.change(id, kind, async (message) => {
      const current = flag === 'seen' ? message.seen : message.flagged;
      if (current !== value) await this.store.messages.setFlag(this.accountId, id, flag, value, false);
    });
  }

  /** Read the message, apply the change and append its action: one transaction, so nothing comes between the read and the writes. */
  private async change(id: number, kind: ServerActionRowKind, apply: (message: PhoneMessage) => Promise<void>): Promise<void> {
    await this.checkAccount();
    await this.transaction(async () => {
      const message = await this.store.messages.get(this.accountId, id);
      if (!message || (message.folder !== 'inbox' && message.folder !== 'trash')) {
        throw new PhoneError('NOT_FOUND', `no message ${id} in the Inbox or Trash`);
      }
      await apply(message);
      await this.store.actions.append(this.accountId, kind, id);
    });
  }
}
