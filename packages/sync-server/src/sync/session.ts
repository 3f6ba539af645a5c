/**
 * The server side of one sync session (patent FIG. 5, 8, 10), as a state
 * machine fed with decoded frames. It does no I/O of its own: frames go out
 * through a `Peer`.
 *
 *   awaitHello ──hello──► open ──swap──► swapping ──(all acked)──► open ──complete──► watching
 *        │ │                │  beginInitial, listPhone, fetchPhone, action, freeSlots, order      │
 *        │ └──watch──► watching (presence; the server may push syncRequest) ◄──────────────────┘
 *        │                 └──hello──► open …       (the next sync on the same connection)
 *        │   hello{quiet}, nothing to do on either side ──► welcome{completed} ──► watching
 *        └─ error ──────────────────────────────────────────────────────────────► closed
 *
 * A connection outlives its syncs (issue 11): after `completed` it is a watch
 * connection and takes the next `hello`, so the background agent syncs over
 * one open link, and a sync with nothing to do costs one round trip.
 *
 * Every message is checked against the state; anything else is OUT_OF_ORDER
 * and ends the session without changing the store.
 */
import {
  FLAG_ACTIONS,
  LIMITS,
  PROTOCOL_VERSION,
  REQUESTS_MIN_VERSION,
  TwinboxError,
  type ClientMessage,
  type Frame,
  type PhoneChange,
  type ServerMessage,
} from '@twinbox/protocol';
import type { Logger } from '../log.js';
import type { SessionObserver } from '../metrics.js';
import { sourceKey, type LoginLimiter } from '../rate-limit.js';
import type { Account, ServerStore } from '../store/index.js';
import type { LeaseHolder } from '../store/sync-leases.js';
import type { AccountLocks } from './account-locks.js';
import { isStoreFailure } from '../store/quarantine.js';
import { applyAgentAction, type ApplyResult } from './apply-agent-action.js';
import { buildOutgoing, type OutgoingAction } from './outgoing.js';
import { phoneChangesSinceAgreed } from './phone-changes.js';
import { phoneListPage } from './phone-list.js';
import { isNewDesktopMail, newMailSince } from '../push/new-mail.js';
import { AgentRequests } from '../reach/agent-requests.js';

export interface Peer {
  send(message: ServerMessage, body?: Buffer): void;
  /** Send an error frame and close the connection with the code's close code. */
  fail(error: TwinboxError): void;
  /** Is enough queued for the peer already that no more should be produced now (it is not reading)? */
  congested(): boolean;
  /** Run `resume` once the queue has drained enough to go on (in turn with the frames: it is session work too). */
  whenDrained(resume: () => Promise<void>): void;
}

interface Open {
  name: 'open';
  account: Account;
  agentId: string;
  mode: 'initial' | 'update';
  initialBegun: boolean;
  swapped: boolean;
  /** Desktop inserts that arrived since this are new mail (push/new-mail.ts); undefined in an initial sync. */
  newMailSince: number | undefined;
}

interface Swapping extends Omit<Open, 'name'> {
  name: 'swapping';
  queue: OutgoingAction[];
  /** Sent and not yet acknowledged, with the message bytes each carried. */
  inFlight: Map<number, OutgoingAction & { bytes: number }>;
  bytesInFlight: number;
  total: number;
  /** actionsEnd went out: every action is on the wire (the acknowledgements may still be coming). */
  endSent: boolean;
}

type State =
  | { name: 'awaitHello' }
  | Open
  | Swapping
  /** A presence connection: no sync runs on it; the server pushes sync requests over it. */
  | { name: 'watching'; account: Account }
  | { name: 'closed' };

type Handlers = { [K in ClientMessage['type']]: (message: Extract<ClientMessage, { type: K }>, body: Buffer | undefined) => void | Promise<void> };

/** Frames of the request lane (docs/reach.md): answers to the server's requests, handled as they arrive, outside any sync work. */
export const LANE_FRAMES: ReadonlySet<ClientMessage['type']> = new Set(['response', 'chunk']);

/**
 * Phone actions an initial sync's phone list stands for (the rest — outgoing mail, destroys, retention's
 * expiries — are sent after it). An `unmap` is in the list by its absence: the message is no longer on it.
 */
const LISTED_KINDS = ['insert', 'markRead', 'markUnread', 'flag', 'unflag', 'trash', 'recover', 'unmap'] as const;

export class ServerSession {
  private state: State = { name: 'awaitHello' };
  /** At an initial sync: what the user changed on the phone since the last agreed state (phone-changes.ts). */
  private phoneChanges = new Map<number, PhoneChange[]>();
  /** Phone messages asked for by fetchPhone and not yet sent (sent as the peer reads, see sendFetched). */
  private readonly fetchQueue: number[] = [];
  private waitingForDrain = false;
  /** The account this session holds the sync lock of, and as which holder (from hello to completed, or to the end of the connection). */
  private lock: { accountId: string; holder: LeaseHolder } | undefined;
  /** The agent opened this connection to stay (`watch`): it hears sync requests, also between its syncs. */
  private presence = false;
  /**
   * The request lane (docs/reach.md), on a watch connection whose agent speaks it; `outdated` when the agent
   * watches without it (an older agent: the phone hears it must be updated, not a hang).
   */
  private lane: AgentRequests | 'outdated' | undefined;
  /** A sync request that came while this connection was running a sync: sent when it is done. */
  private requestAfterSync: 'phoneChange' | 'syncNow' | undefined;
  /**
   * The highest sequence number that may have a record of an applied agent action (asked at hello; the
   * account's records change only in its one session, this one). Unknown until then: every action is looked up.
   */
  private appliedAbove = Number.POSITIVE_INFINITY;
  /**
   * The phone changes a quiet hello found waiting (so it was no quiet sync),
   * built once: the swap that follows sends them as they are while nothing
   * could have changed them — no phone change recorded since (`generation`)
   * and no agent action (the desktop's changes can make phone ones moot).
   * Otherwise the swap builds the list again (outgoing.ts). 1,000 phone
   * changes cost a build each time.
   */
  private outgoingAtHello: { queue: OutgoingAction[]; generation: string } | undefined;

  constructor(
    private readonly store: ServerStore,
    private readonly locks: AccountLocks,
    private readonly peer: Peer,
    private readonly log: Logger,
    /** Failed logins per source address and per account (optional: tests of the state machine run without). */
    private readonly guard?: { limiter: LoginLimiter; remote: string },
    /** Hears how syncs end, errors and applied actions (the server's metrics). */
    private readonly observer?: SessionObserver,
    /** Told to the agent in `welcome` (AccountOptions.previewAboveBytes): window messages above it go as previews (docs/reach.md). */
    private readonly previewAboveBytes = 0,
  ) {}

  /** When the sync under way said hello (its duration is measured from there). */
  private openedAt = 0;

  get accountId(): string | undefined {
    return 'account' in this.state ? this.state.account.id : undefined;
  }

  /**
   * Handle one frame. The caller runs frames one at a time, in order (each
   * awaited: sync-endpoint.ts), except the request lane's (LANE_FRAMES),
   * which touch no sync state and are handled at once as they arrive.
   */
  async handle(frame: Frame<ClientMessage>): Promise<void> {
    if (this.state.name === 'closed') return;
    try {
      const handler = this.handlers[frame.message.type] as (m: ClientMessage, b: Buffer | undefined) => void | Promise<void>;
      await handler(frame.message, frame.body);
    } catch (err) {
      const error = err instanceof TwinboxError ? err : new TwinboxError('INTERNAL', 'internal error', { cause: err });
      if (error.code === 'INTERNAL') this.log.error('session failed', { account: this.accountId, error: String(err) });
      this.fail(error);
    }
  }

  /** This connection's request lane to the account's agent, when it is one (see `lane`). */
  requestsFor(accountId: string): AgentRequests | 'outdated' | undefined {
    if (!this.presence || this.accountId !== accountId || this.state.name === 'closed') return undefined;
    return this.lane;
  }

  get watching(): boolean {
    return this.state.name === 'watching';
  }

  /**
   * Ask the agent on this connection for a sync (push). One that is running
   * a sync hears it when the sync is done (the change may have come after its
   * swap). False when this connection is not the account's agent link (a
   * one-off `twinbox-agent sync` does not listen for requests).
   */
  requestSync(accountId: string, reason: 'phoneChange' | 'syncNow'): boolean {
    if (!this.presence || this.accountId !== accountId || this.state.name === 'closed') return false;
    if (this.state.name === 'watching') this.peer.send({ type: 'syncRequest', reason });
    else this.requestAfterSync ??= reason;
    return true;
  }

  /** Back to a presence connection after a sync: the account is free, and a request that came meanwhile goes out. */
  private backToWatching(account: Account): void {
    this.unlock();
    this.state = { name: 'watching', account };
    const reason = this.requestAfterSync;
    this.requestAfterSync = undefined;
    if (reason) this.peer.send({ type: 'syncRequest', reason });
  }

  /** The connection ended (either way): release the account. */
  closed(): void {
    this.unlock();
    this.state = { name: 'closed' };
    if (this.lane instanceof AgentRequests) this.lane.closed();
  }

  private unlock(): void {
    if (this.lock) this.locks.unlock(this.lock.accountId, this.lock.holder);
    this.lock = undefined;
  }

  /** Is this the session that holds `holder`'s lock? */
  holds(holder: LeaseHolder): boolean {
    return this.lock?.holder === holder;
  }

  /**
   * Before the frames of a sync are applied (inside their transaction): the sync's lock must still be
   * this session's (AccountLocks.fence). One lost (another node took the account) ends the session: BUSY.
   */
  async fence(): Promise<void> {
    if (this.lock && !(await this.locks.fence(this.lock.accountId, this.lock.holder))) {
      throw new TwinboxError('BUSY', 'this sync lost its lease to another server node; sync again');
    }
  }

  /** The connection ended while a frame's work awaited the store: that work stops where it is. */
  private get ended(): boolean {
    return this.state.name === 'closed';
  }

  fail(error: TwinboxError): void {
    if (this.state.name === 'closed') return;
    this.log.warn('session refused', { account: this.accountId, code: error.code, message: error.message });
    this.observer?.error(error.code);
    if (this.state.name === 'open' || this.state.name === 'swapping') this.observer?.syncEnded('failed');
    this.peer.fail(error);
    this.closed();
  }

  private expect<N extends State['name']>(...names: N[]): Extract<State, { name: N }> {
    if (!(names as string[]).includes(this.state.name)) {
      throw new TwinboxError('OUT_OF_ORDER', `not allowed in state ${this.state.name}`);
    }
    return this.state as Extract<State, { name: N }>;
  }

  private async authenticate(m: { version: number; accountId: string; token: string }): Promise<Account> {
    if (m.version !== PROTOCOL_VERSION) {
      throw new TwinboxError('VERSION_MISMATCH', `server speaks protocol ${PROTOCOL_VERSION}, agent sent ${m.version}`);
    }
    // The holder of the right token is never held back (issue 9.4): tokens are 256-bit, so failures only ever
    // slow the source that fails, and no one can lock an account out by failing for it.
    const account = await this.store.accounts.authenticate(m.accountId, m.token);
    if (account) return account;
    if (this.guard) {
      const keys = [sourceKey(this.guard.remote)];
      if (!(await this.guard.limiter.allowed(keys, Date.now()))) throw new TwinboxError('RATE_LIMITED', 'too many failed logins from your address; try again in a minute');
      await this.guard.limiter.failed(keys, Date.now());
    }
    throw new TwinboxError('AUTH_FAILED', 'unknown account or wrong token');
  }

  private readonly handlers: Handlers = {
    watch: async (m) => {
      this.expect('awaitHello');
      const account = await this.authenticate(m);
      if (this.ended) return;
      this.state = { name: 'watching', account };
      this.presence = true;
      this.lane = m.requests !== undefined && m.requests >= REQUESTS_MIN_VERSION ? new AgentRequests((message) => this.peer.send(message), m.requests) : 'outdated';
      this.log.info('agent watching', { account: account.id, requests: m.requests ?? null });
      this.peer.send({ type: 'watching' });
    },

    // Answers on the request lane, wherever they come between the frames of a sync (docs/reach.md).
    response: (m, body) => {
      if (!(this.lane instanceof AgentRequests)) throw new TwinboxError('OUT_OF_ORDER', 'no request was made on this connection');
      this.lane.response(m.id, m.error, body);
    },
    chunk: (m, body) => {
      if (!(this.lane instanceof AgentRequests)) throw new TwinboxError('OUT_OF_ORDER', 'no request was made on this connection');
      this.lane.chunk(m.id, m.seq, m.last, body ?? Buffer.alloc(0));
    },

    hello: async (m) => {
      const before = this.expect('awaitHello', 'watching');
      const account = await this.authenticate(m);
      if (this.ended) return;
      if (before.name === 'watching' && before.account.id !== account.id) throw new TwinboxError('OUT_OF_ORDER', 'a connection serves one account');
      const holder = await this.locks.tryLock(account.id);
      if (!holder) throw new TwinboxError('BUSY', `a sync of account ${account.id} is already running`);
      this.lock = { accountId: account.id, holder };
      // The connection ended while the lock was being taken: give it back.
      if (this.ended) return this.unlock();
      const sync = await this.store.syncStates.get(account.id);
      const sameEpoch = m.syncEpoch !== null && m.syncEpoch === sync.syncEpoch && m.agentId === sync.agentId;
      // The agent may have missed the `completed` of the last sync (killed after the server recorded it): one behind is fine.
      const inStep = sync.lastSyncNo >= 1 && (m.lastSyncNo === sync.lastSyncNo || m.lastSyncNo === sync.lastSyncNo - 1);
      const mode = sameEpoch && inStep ? 'update' : 'initial';
      if (mode === 'update') {
        const [, highest] = await Promise.all([this.store.syncStates.prune(account.id, m.ackedThrough), this.store.syncStates.highestApplied(account.id)]);
        this.appliedAbove = highest;
      }
      const { window, unreadFirst, conflictPolicy } = account;
      const options = { window, unreadFirst, conflictPolicy, ...(this.previewAboveBytes > 0 ? { previewAboveBytes: this.previewAboveBytes } : {}) };
      // A quiet sync: the agent has nothing, the server has nothing, the options it settled for still hold.
      const quiet = mode === 'update' && m.quiet && m.quiet.window === window && m.quiet.unreadFirst === unreadFirst;
      this.outgoingAtHello = quiet ? { generation: await this.store.actions.generation(), queue: await buildOutgoing(this.store, account.id, 'update') } : undefined;
      if (this.ended) return;
      if (this.outgoingAtHello?.queue.length === 0) {
        this.outgoingAtHello = undefined;
        const syncNo = sync.lastSyncNo + 1;
        // Nothing changed on the desktop either: its INBOX count stands.
        const desktopInbox = sync.lastStats?.desktopInbox;
        const stats = { mode, agentActions: 0, serverActions: 0, unmapped: 0, pulled: 0, insertedOnDesktop: 0, ...(desktopInbox === undefined ? {} : { desktopInbox }) } as const;
        await this.store.syncStates.complete(account.id, syncNo, stats);
        if (this.ended) return;
        this.log.debug('quiet sync complete', { account: account.id, syncNo });
        this.peer.send({ type: 'welcome', version: PROTOCOL_VERSION, mode, options, lastSyncNo: sync.lastSyncNo, completed: syncNo });
        this.observer?.syncEnded('quiet', 'update', 0);
        this.backToWatching(account);
        return;
      }
      this.openedAt = Date.now();
      this.state = { name: 'open', account, agentId: m.agentId, mode, initialBegun: false, swapped: false, newMailSince: newMailSince(mode, sync.lastSyncAt) };
      this.log.info('session open', { account: account.id, mode });
      this.store.syncStates.started(account.id);
      // An update whose agent has nothing to push: the swap starts with the welcome (one round trip fewer).
      const swapping = mode === 'update' && m.swap === true;
      this.peer.send({ type: 'welcome', version: PROTOCOL_VERSION, mode, options, lastSyncNo: sync.lastSyncNo, ...(swapping ? { swapping } : {}) });
      if (swapping) await this.startSwap(this.state);
    },

    beginInitial: async (m) => {
      const state = this.expect('open');
      if (state.mode !== 'initial' || state.initialBegun) throw new TwinboxError('OUT_OF_ORDER', 'beginInitial outside an initial sync');
      const { account } = state;
      await this.store.transaction(async () => {
        await this.store.syncStates.beginEpoch(account.id, state.agentId, m.syncEpoch);
        this.appliedAbove = 0;
        // The phone list replaces the phone's pending inserts, flag changes and moves (patent [0041]); they are
        // deleted when this initial sync completes, not now, so that one interrupted here loses nothing.
        await this.store.syncStates.setInitialThrough(account.id, await this.store.actions.lastSeq(account.id));
      });
      state.initialBegun = true;
      this.phoneChanges = await phoneChangesSinceAgreed(this.store, account.id);
      this.peer.send({ type: 'phoneList', ...(await phoneListPage(this.store, account.id, 0, this.phoneChanges)) });
    },

    listPhone: async (m) => {
      const state = this.expect('open');
      if (!state.initialBegun) throw new TwinboxError('OUT_OF_ORDER', 'listPhone outside an initial sync');
      this.peer.send({ type: 'phoneList', ...(await phoneListPage(this.store, state.account.id, m.after, this.phoneChanges)) });
    },

    fetchPhone: async (m) => {
      const state = this.expect('open');
      if (!state.initialBegun) throw new TwinboxError('OUT_OF_ORDER', 'fetchPhone outside an initial sync');
      if (m.phoneIds.length > LIMITS.maxInFlight) throw new TwinboxError('BAD_FRAME', `at most ${LIMITS.maxInFlight} messages per fetch`);
      // The agent asks for the next batch once it has the last: more outstanding means a peer that does not read.
      if (this.fetchQueue.length + m.phoneIds.length > LIMITS.maxInFlight) throw new TwinboxError('OUT_OF_ORDER', 'a fetch while the last one is still being sent');
      this.fetchQueue.push(...m.phoneIds);
      await this.sendFetched();
    },

    action: async (m, body) => {
      const state = this.expect('open');
      if (state.mode === 'initial' && !state.initialBegun) throw new TwinboxError('OUT_OF_ORDER', 'actions before beginInitial');
      const { account } = state;
      this.outgoingAtHello = undefined;
      const outcome = await this.applyAction(account, m.seq, m.action, body);
      // New mail in the phone Inbox: the push notifier hears of it (push/new-mail.ts), once the frames' batch has committed.
      if (outcome.fresh && m.action.kind === 'insert' && outcome.result === 'ok' && outcome.phoneId && isNewDesktopMail(m.action, state.newMailSince)) {
        const phoneId = outcome.phoneId;
        this.store.engine.afterCommit(() => this.store.events.emit('newMail', account.id, phoneId));
      }
      this.peer.send({ type: 'ack', seq: m.seq, result: outcome.result, ...(outcome.phoneId ? { phoneId: outcome.phoneId } : {}), ...(outcome.error ? { error: outcome.error } : {}) });
    },

    swap: async () => {
      const state = this.expect('open');
      // In an initial sync, after the lists are paired: what the phone list cannot carry (outgoing mail, destroys).
      const allowed = state.mode === 'update' || state.initialBegun;
      if (!allowed || state.swapped) throw new TwinboxError('OUT_OF_ORDER', 'swap outside a sync, or twice');
      await this.startSwap(state);
    },

    serverAck: async (m) => {
      const state = this.expect('swapping');
      const sent = state.inFlight.get(m.seq);
      if (!sent) throw new TwinboxError('OUT_OF_ORDER', `ack for action ${m.seq}, which is not in flight`);
      state.inFlight.delete(m.seq);
      state.bytesInFlight -= sent.bytes;
      const accountId = state.account.id;
      if (m.result === 'deferred') {
        // The desktop could not take it now (quarantine, docs/quarantine.md): it stays listed for the next sync.
        this.log.warn('the desktop deferred a phone change', { account: accountId, kind: sent.action.kind, error: m.error });
        await this.pump();
        return;
      }
      await this.store.transaction(async () => {
        const row = m.result === 'quarantined' ? await this.store.actions.get(accountId, m.seq) : undefined;
        await this.store.actions.delete(accountId, m.seq);
        if (m.result === 'quarantined') {
          const identity = 'identity' in sent.action && sent.action.identity ? sent.action.identity : (row?.identity ?? null);
          await this.store.quarantine.add(accountId, { phoneId: sent.action.phoneId, kind: sent.action.kind, identity }, m.error ?? 'the desktop kept refusing it');
        } else if (sent.action.kind === 'deliver') await this.recordDelivery(accountId, sent.action.phoneId, m.result, m.error);
        else if (m.result === 'ok') await this.recordAgreed(accountId, sent, m.desktopUid);
      });
      if (this.ended) return;
      if (m.result === 'quarantined') {
        this.log.warn('quarantined: the desktop keeps refusing a phone change', { account: accountId, kind: sent.action.kind, phoneId: sent.action.phoneId, error: m.error });
        this.observer?.quarantined('phone_to_desktop');
      }
      this.observer?.action(sent.action.kind, 'phone_to_desktop');
      await this.pump();
    },

    freeSlots: async () => {
      const state = this.expect('open');
      const used = await this.store.messages.count(state.account.id, 'inbox');
      this.peer.send({ type: 'freeSlotsResult', free: Math.max(0, state.account.window - used) });
    },

    order: async (m) => {
      const state = this.expect('open');
      const accountId = state.account.id;
      await this.store.transaction(async () => {
        // Sent together: one round trip for the page on PostgreSQL (its statements are pipelined), in order on SQLite.
        await Promise.all(m.entries.map((entry) => this.store.messages.setOrder(accountId, entry.phoneId, entry.date, entry.tiebreak)));
      });
    },

    complete: async (m) => {
      const state = this.expect('open');
      if (state.mode === 'initial' ? !state.initialBegun : !state.swapped) throw new TwinboxError('OUT_OF_ORDER', 'complete before the sync ran');
      const { account } = state;
      const expected = (await this.store.syncStates.get(account.id)).lastSyncNo + 1;
      if (m.syncNo !== expected) throw new TwinboxError('OUT_OF_ORDER', `complete for sync ${m.syncNo}, expected ${expected}`);
      await this.store.transaction(async () => {
        if (state.mode === 'initial') await this.finishInitial(account.id);
        await this.store.syncStates.complete(account.id, m.syncNo, m.stats);
      });
      if (this.ended) return;
      this.log.info('sync complete', { account: account.id, syncNo: m.syncNo, ...m.stats });
      this.observer?.syncEnded('completed', state.mode, (Date.now() - this.openedAt) / 1000);
      this.peer.send({ type: 'completed', syncNo: m.syncNo });
      this.backToWatching(account);
    },
  };

  /**
   * Apply one agent action, once (a resent one gets the recorded answer).
   * One the store cannot take for reasons of its message (anything but a
   * failure of the store itself) changes nothing and is answered `failed`
   * with the error: the agent tries it again later, then sets it aside
   * (docs/quarantine.md); the rest of the sync goes on.
   */
  private async applyAction(
    account: Account,
    seq: number,
    action: ClientMessage & { type: 'action' } extends { action: infer A } ? A : never,
    body: Buffer | undefined,
  ): Promise<ApplyResult & { error?: string; fresh?: boolean }> {
    try {
      const answer: ApplyResult & { fresh?: boolean } = await this.store.transaction(async () => {
        // Above `appliedAbove` no action has a record: a new one (the usual case) needs no look.
        const applied = seq <= this.appliedAbove ? await this.store.syncStates.applied(account.id, seq) : undefined;
        if (applied) return { result: applied.result, phoneId: applied.phoneId ?? undefined };
        const result = await applyAgentAction(this.store, account, action, body);
        await this.store.syncStates.recordApplied(account.id, seq, result.result, result.phoneId ?? null);
        this.store.engine.afterCommit(() => this.observer?.action(action.kind, 'desktop_to_phone'));
        return { ...result, fresh: true };
      });
      if (answer.fresh) this.appliedAbove = Math.max(this.appliedAbove, seq);
      return answer;
    } catch (err) {
      if (err instanceof TwinboxError || isStoreFailure(err)) throw err;
      const error = `the server could not store this ${action.kind}: ${err instanceof Error ? err.message : String(err)}`;
      this.log.error('an agent action failed for reasons of its message', { account: account.id, kind: action.kind, seq, error });
      this.observer?.error('MESSAGE_FAILED');
      return { result: 'failed', error: error.slice(0, 2000) };
    }
  }

  /**
   * An initial sync completed: the phone's inserts, flag changes and moves it
   * listed are now on both sides (deleted); both sides agree on every
   * message's flags, but where the user changed one on the phone since the
   * list was made (still pending, sent at the next sync).
   */
  private async finishInitial(accountId: string): Promise<void> {
    const through = await this.store.syncStates.initialThrough(accountId);
    await this.store.actions.deleteKindsThrough(accountId, LISTED_KINDS, through);
    await this.store.messages.agreeOnAllFlags(accountId, await this.store.actions.flagChangesAfter(accountId, through));
  }

  /** The desktop acknowledged a phone change: both sides now agree on what it carried. */
  private async recordAgreed(accountId: string, sent: OutgoingAction, desktopUid: number | undefined): Promise<void> {
    const { action } = sent;
    const messages = this.store.messages;
    switch (action.kind) {
      case 'insert':
        await messages.setAgreed(accountId, action.phoneId, 'seen', action.seen);
        await messages.setAgreed(accountId, action.phoneId, 'flagged', action.flagged);
        if (desktopUid) await messages.setTiebreak(accountId, action.phoneId, desktopUid);
        break;
      case 'markRead':
      case 'markUnread':
      case 'flag':
      case 'unflag': {
        const { flag, value } = FLAG_ACTIONS[action.kind];
        await messages.setAgreed(accountId, action.phoneId, flag, value);
        break;
      }
      default:
        break;
    }
  }

  /**
   * The desktop sent an Outbox message (it moves to Sent), or its SMTP server
   * refused it (it stays in the Outbox, failed, with the error, for a retry).
   */
  private async recordDelivery(accountId: string, phoneId: number, result: string, error: string | undefined): Promise<void> {
    const messages = this.store.messages;
    if (result === 'ok') {
      await messages.move(accountId, phoneId, 'sent');
      await messages.setSendStatus(accountId, phoneId, null);
    } else {
      await messages.setSendStatus(accountId, phoneId, 'failed', error ?? (result === 'gone' ? 'the desktop could not find the message' : 'the desktop could not send it'));
    }
  }

  /** Go on with `work` once the peer has read enough of what is queued for it (backpressure, issue 9.5). */
  private afterDrain(work: () => Promise<void>): void {
    if (this.waitingForDrain) return;
    this.waitingForDrain = true;
    this.peer.whenDrained(async () => {
      this.waitingForDrain = false;
      if (this.ended) return;
      try {
        await work();
      } catch (err) {
        const error = err instanceof TwinboxError ? err : new TwinboxError('INTERNAL', 'internal error', { cause: err });
        if (error.code === 'INTERNAL') this.log.error('session failed', { account: this.accountId, error: String(err) });
        this.fail(error);
      }
    });
  }

  /** Send fetched phone messages while the peer keeps reading them. */
  private async sendFetched(): Promise<void> {
    const state = this.expect('open');
    while (this.fetchQueue.length > 0 && !this.ended) {
      if (this.peer.congested()) return this.afterDrain(() => this.sendFetched());
      const phoneId = this.fetchQueue.shift()!;
      const message = await this.store.messages.get(state.account.id, phoneId);
      // A preview is not the message (docs/reach.md): appending it would put a cut copy on the desktop. Its
      // desktop original is gone if the pairing did not find it; the phone keeps what it has, unmapped.
      const raw = message && message.heldParts === null && (message.folder === 'inbox' || message.folder === 'trash') ? await this.store.messages.raw(state.account.id, phoneId) : undefined;
      if (!message || !raw) this.peer.send({ type: 'phoneGone', phoneId });
      else this.peer.send({ type: 'phoneMessage', phoneId, date: message.date, seen: message.seen, flagged: message.flagged }, raw);
    }
  }

  /**
   * The swap (docs/spec.md §4.5): the phone's changes the agent has not
   * applied, in order — the queue built for a quiet hello where nothing was
   * added since, else built now — then pumped.
   */
  private async startSwap(state: Open): Promise<void> {
    const built = this.outgoingAtHello;
    this.outgoingAtHello = undefined;
    const queue = state.mode === 'update' && built && built.generation === (await this.store.actions.generation()) ? built.queue : await buildOutgoing(this.store, state.account.id, state.mode);
    if (this.ended) return;
    this.state = { ...state, name: 'swapping', queue, inFlight: new Map(), bytesInFlight: 0, total: queue.length, endSent: false };
    await this.pump();
  }

  /**
   * Keep up to maxInFlight phone changes (and maxInFlightBytes of messages) on
   * the wire. actionsEnd follows the last one at once, not its
   * acknowledgement: the agent acknowledges everything before its next
   * request and frames are handled in order (handle()), so the swap is over
   * before anything else is read — and a sync with phone changes saves a
   * round trip. Back to `open` when the last acknowledgement is in.
   */
  private async pump(): Promise<void> {
    const state = this.expect('swapping');
    const roomFor = () => state.inFlight.size === 0 || (state.inFlight.size < LIMITS.maxInFlight && state.bytesInFlight < LIMITS.maxInFlightBytes);
    while (roomFor() && state.queue.length > 0) {
      if (this.ended) return;
      if (this.peer.congested()) return this.afterDrain(() => this.pump());
      const next = state.queue.shift()!;
      let body: Buffer | undefined;
      if (next.action.kind === 'insert' || next.action.kind === 'deliver' || next.action.kind === 'sent') {
        body = await this.store.messages.raw(state.account.id, next.action.phoneId);
        if (!body) {
          // Destroyed since the list was built: nothing to insert any more.
          await this.store.actions.delete(state.account.id, next.seq);
          continue;
        }
      }
      state.inFlight.set(next.seq, { ...next, bytes: body?.length ?? 0 });
      state.bytesInFlight += body?.length ?? 0;
      this.peer.send({ type: 'serverAction', seq: next.seq, action: next.action }, body);
    }
    if (this.ended || state.queue.length > 0) return;
    if (!state.endSent) {
      state.endSent = true;
      this.peer.send({ type: 'actionsEnd', count: state.total });
    }
    if (state.inFlight.size === 0) {
      const { queue: _q, inFlight: _f, bytesInFlight: _b, total: _t, endSent: _e, ...open } = state;
      this.state = { ...open, name: 'open', swapped: true };
    }
  }
}
