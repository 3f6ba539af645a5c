/**
 * The push queue (issue 20): new mail in a phone Inbox becomes one push per
 * subscription of the account, off the sync and API paths.
 *
 *   newMail (store event) ──► gathering (per account: PUSH_LIMITS.quietMs after
 *   the last arrival, at most maxGatherMs after the first)
 *     ──► flush: count what is still new (unread, in the Inbox); every
 *         subscription of the account counts it (`pending`) and is queued
 *     ──► waiting ──(a slot: at most maxConcurrent in flight)──► sending
 *     ──► delivered | gone/refused (subscription removed) | rejected (logged)
 *         | retry (after retryDelaysMs, or the push service's Retry-After)
 *
 * One job per subscription: new mail while its push is in flight sends once
 * more after it (with the count as it is then); new mail while it waits to
 * retry sends at once. The payload is made when the push goes, from the store,
 * so a burst is one notification counting all of it ("3 new messages").
 *
 * Nothing here runs inside a sync or an API request: the store event only
 * records the arrival and starts a timer. A push service that hangs or fails
 * holds a slot until PUSH_LIMITS.requestTimeoutMs, never the event loop.
 */
import type { Logger } from '../log.js';
import type { PushSubscriptionRow, ServerStore } from '../store/index.js';
import { PUSH_LIMITS } from './limits.js';
import { notificationPayload, senderAndSubject } from './payload.js';
import type { PushOutcome, PushSender } from './sender.js';

interface Gathering {
  ids: number[];
  first: number;
  timer: NodeJS.Timeout;
}

interface Job {
  state: 'waiting' | 'sending' | 'retrying';
  /** New mail came while it was being sent: send again after. */
  again: boolean;
  attempt: number;
  timer?: NodeJS.Timeout;
}

export interface PushObserver {
  /** A push went out, or failed, with this outcome (metrics). */
  pushOutcome(kind: PushOutcome['kind'] | 'error'): void;
}

export class PushNotifier {
  private readonly gathering = new Map<string, Gathering>();
  private readonly jobs = new Map<number, Job>();
  private readonly queue: number[] = [];
  private inFlight = 0;
  /** Flushes reading the store now: what they find is queued next, so the notifier is not idle yet. */
  private flushing = 0;
  private closed = false;
  private readonly listener = (accountId: string, phoneId: number) => this.newMail(accountId, phoneId);
  /** Sender and subject of recent newest messages: a burst to many browsers reads each message once. */
  private readonly headlines = new Map<string, Promise<{ from: string; subject: string } | undefined>>();
  /** Resolves when nothing is gathering, queued or in flight (tests). */
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: ServerStore,
    private readonly sender: PushSender,
    private readonly log: Logger,
    private readonly observer?: PushObserver,
  ) {
    store.events.on('newMail', this.listener);
  }

  /** New mail entered the account's phone Inbox: gather it with what comes right after. */
  newMail(accountId: string, phoneId: number): void {
    if (this.closed) return;
    const now = Date.now();
    const current = this.gathering.get(accountId);
    if (current) clearTimeout(current.timer);
    const ids = [...(current?.ids ?? []), phoneId];
    const first = current?.first ?? now;
    const wait = Math.max(0, Math.min(PUSH_LIMITS.quietMs, first + PUSH_LIMITS.maxGatherMs - now));
    this.gathering.set(accountId, { ids, first, timer: setTimeout(() => void this.flush(accountId), wait) });
  }

  /** The gathered arrivals of an account become a push for each of its subscriptions. Never rejects: a failure is logged. */
  private async flush(accountId: string): Promise<void> {
    const gathered = this.gathering.get(accountId);
    this.gathering.delete(accountId);
    if (!gathered || this.closed) return this.checkIdle();
    this.flushing++;
    try {
      // What is still new now: stored (the transaction that stored it committed), in the Inbox, unread.
      const still = await this.stillNew(accountId, gathered.ids);
      if (still.length === 0 || this.closed) return;
      const newest = Math.max(...still);
      const subscriptions = await this.store.transaction(() => this.store.push.addNewMail(accountId, still.length, newest));
      for (const id of subscriptions) this.schedule(id);
    } catch (err) {
      if (this.closed) return; // the server is stopping (its store may be closed already)
      this.log.error('push: could not queue notifications', { account: accountId, error: String(err) });
      this.observer?.pushOutcome('error');
    } finally {
      this.flushing--;
      this.checkIdle();
    }
  }

  /** The IDs of these messages that are in the Inbox, unread. */
  private async stillNew(accountId: string, ids: number[]): Promise<number[]> {
    const still: number[] = [];
    for (const id of ids) {
      const message = await this.store.messages.get(accountId, id);
      if (message && message.folder === 'inbox' && !message.seen) still.push(id);
    }
    return still;
  }

  private schedule(subscriptionId: number): void {
    const job = this.jobs.get(subscriptionId);
    if (job?.state === 'sending') return void (job.again = true);
    if (job?.state === 'waiting') return;
    if (job?.timer) clearTimeout(job.timer);
    this.jobs.set(subscriptionId, { state: 'waiting', again: false, attempt: 0 });
    this.queue.push(subscriptionId);
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.inFlight < PUSH_LIMITS.maxConcurrent && this.queue.length > 0) {
      const id = this.queue.shift()!;
      const job = this.jobs.get(id);
      if (!job || job.state !== 'waiting') continue;
      job.state = 'sending';
      this.inFlight++;
      void this.send(id, job).finally(() => {
        this.inFlight--;
        this.pump();
        this.checkIdle();
      });
    }
  }

  private async send(id: number, job: Job): Promise<void> {
    let outcome: PushOutcome | undefined;
    let row: PushSubscriptionRow | undefined;
    try {
      row = await this.store.push.get(id);
      if (!row || row.pending === 0) return; // removed meanwhile (sign-out, revoke), or looked at already
      outcome = await this.sender.send(row, await this.payloadOf(row));
      if (this.closed) return; // the server is stopping (its store may be closed already)
      this.observer?.pushOutcome(outcome.kind);
      await this.record(row, outcome);
    } catch (err) {
      if (this.closed) return;
      this.log.error('push: sending failed', { account: row?.accountId, subscription: id, error: String(err) });
      this.observer?.pushOutcome('error');
    } finally {
      this.next(id, job, outcome);
    }
  }

  private async payloadOf(row: PushSubscriptionRow): Promise<Buffer> {
    const newest = row.newest === null ? undefined : await this.store.messages.get(row.accountId, row.newest);
    const sender = newest && row.show === 'sender' ? await this.headline(row.accountId, newest.id) : undefined;
    return notificationPayload({ account: row.accountId, count: row.pending, message: row.newest ?? 0, ...(sender ? { sender } : {}) });
  }

  private headline(accountId: string, id: number): Promise<{ from: string; subject: string } | undefined> {
    const key = `${accountId}\n${id}`;
    const found = this.headlines.get(key);
    if (found) return found;
    if (this.headlines.size >= 64) this.headlines.clear();
    // Kept before the read is done: the pushes of a burst that ask meanwhile wait for this one read.
    const reading = this.readHeadline(accountId, id);
    this.headlines.set(key, reading);
    // A failed read is not remembered (the store may have failed for a moment): the next push reads again.
    reading.catch(() => {
      if (this.headlines.get(key) === reading) this.headlines.delete(key);
    });
    return reading;
  }

  private async readHeadline(accountId: string, id: number): Promise<{ from: string; subject: string } | undefined> {
    const raw = await this.store.messages.raw(accountId, id);
    return raw ? senderAndSubject(raw) : undefined;
  }

  /** What the outcome means for the subscription. */
  private async record(row: PushSubscriptionRow, outcome: PushOutcome): Promise<void> {
    const where = { account: row.accountId, device: row.deviceId, subscription: row.id, pushService: new URL(row.endpoint).host };
    switch (outcome.kind) {
      case 'delivered':
        await this.store.push.sent(row.id);
        this.log.debug('push sent', { ...where, count: row.pending });
        return;
      case 'gone':
        await this.store.push.remove(row.id);
        this.log.info('push subscription removed: the push service no longer knows it', { ...where, status: outcome.status });
        return;
      case 'refused':
        await this.store.push.remove(row.id);
        this.log.warn('push subscription removed: its endpoint is refused now, nothing was sent', { ...where, reason: outcome.reason });
        return;
      case 'rejected':
      case 'retry':
        await this.store.push.failed(row.id, outcome.reason);
        this.log.warn(outcome.kind === 'retry' ? 'push failed; trying again later' : 'push refused by the push service', { ...where, reason: outcome.reason });
    }
  }

  /** After a send: again at once (new mail came meanwhile), later (a retryable failure), or done. */
  private next(id: number, job: Job, outcome: PushOutcome | undefined): void {
    if (this.closed) return;
    if (job.again) {
      job.state = 'waiting';
      job.again = false;
      job.attempt = 0;
      this.queue.push(id);
      return;
    }
    if (outcome?.kind === 'retry' && job.attempt < PUSH_LIMITS.retryDelaysMs.length) {
      const delay = Math.max(PUSH_LIMITS.retryDelaysMs[job.attempt]!, outcome.retryAfterMs ?? 0);
      job.attempt++;
      job.state = 'retrying';
      job.timer = setTimeout(() => {
        job.state = 'waiting';
        job.timer = undefined;
        this.queue.push(id);
        this.pump();
      }, delay);
      job.timer.unref();
      return;
    }
    this.jobs.delete(id);
  }

  private checkIdle(): void {
    if (this.gathering.size > 0 || this.flushing > 0 || this.inFlight > 0 || this.queue.length > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Resolves once nothing is gathered, queued or in flight (retries waiting on a timer do not count). */
  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  close(): void {
    this.closed = true;
    this.sender.close();
    this.store.events.off('newMail', this.listener);
    for (const g of this.gathering.values()) clearTimeout(g.timer);
    for (const job of this.jobs.values()) if (job.timer) clearTimeout(job.timer);
    this.gathering.clear();
    this.jobs.clear();
    this.queue.length = 0;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
