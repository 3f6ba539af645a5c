import type { Logger } from '@twinbox/protocol';
import { Accounts } from './accounts.js';
import { AgentPresence } from './agent-presence.js';
import { openDatabase, type Db } from './db.js';
import { Devices } from './devices.js';
import { StoreEvents } from './events.js';
import { ApiRequests } from './api-requests.js';
import { PhoneMessages } from './messages.js';
import { PushSubscriptions } from './push-subscriptions.js';
import { Quarantine } from './quarantine.js';
import { ReachCache } from './reach-cache.js';
import { ServerActions } from './server-actions.js';
import { SyncStates } from './sync-state.js';
import { TriggerMails } from './trigger-mails.js';

/** The server's store: one database, its tables behind small classes. */
export class ServerStore {
  readonly accounts: Accounts;
  readonly messages: PhoneMessages;
  readonly actions: ServerActions;
  readonly syncStates: SyncStates;
  readonly devices: Devices;
  readonly apiRequests: ApiRequests;
  readonly quarantine: Quarantine;
  readonly triggerMails: TriggerMails;
  readonly push: PushSubscriptions;
  readonly presence: AgentPresence;
  readonly reachCache: ReachCache;
  /** Changes, for watchers in this process (the web app's live stream). */
  readonly events = new StoreEvents();

  /** `log` hears what the store wants an operator to know (a message stored with plain list fields). */
  constructor(
    readonly db: Db,
    log?: Logger,
  ) {
    this.accounts = new Accounts(db);
    this.messages = new PhoneMessages(db, this.events, log);
    this.actions = new ServerActions(db);
    this.syncStates = new SyncStates(db, this.events);
    this.devices = new Devices(db, this.events);
    this.apiRequests = new ApiRequests(db);
    this.quarantine = new Quarantine(db);
    this.triggerMails = new TriggerMails(db);
    this.push = new PushSubscriptions(db);
    this.presence = new AgentPresence(db);
    this.reachCache = new ReachCache(db);
  }

  static open(path: string, log?: Logger): ServerStore {
    return new ServerStore(openDatabase(path, log), log);
  }

  /** Run `fn` in one IMMEDIATE transaction (the write lock is taken up front, so concurrent writers queue instead of failing). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    this.db.close();
  }
}

export type { Account, NewAccount } from './accounts.js';
export type { Folder, PhoneMessage, FlagName } from './messages.js';
export type { ServerActionRow } from './server-actions.js';
export type { SyncState } from './sync-state.js';
export type { Device, DeviceListing } from './devices.js';
export type { StoreEventMap } from './events.js';
export type { QuarantinedChange } from './quarantine.js';
export { PUSH_SHOW, type PushShow, type PushSubscriptionRow, type PushHolder } from './push-subscriptions.js';
export type { Presence } from './agent-presence.js';
export type { PartWriter } from './reach-cache.js';
