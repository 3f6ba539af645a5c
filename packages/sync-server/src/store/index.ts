import type { Logger } from '@twinbox/protocol';
import { Accounts } from './accounts.js';
import { AgentPresence } from './agent-presence.js';
import type { SqlEngine, TransactionOptions } from './engine.js';
import { PostgresEngine, type PostgresEngineOptions } from './postgres-engine.js';
import { migratePostgres } from './schema-postgres.js';
import { SqliteEngine } from './sqlite-engine.js';
import { Devices } from './devices.js';
import { StoreEvents, type StoreEventMap } from './events.js';
import { ApiRequests } from './api-requests.js';
import { PhoneMessages } from './messages.js';
import { PushSubscriptions } from './push-subscriptions.js';
import { Quarantine } from './quarantine.js';
import { ReachCache } from './reach-cache.js';
import { ServerActions } from './server-actions.js';
import { SyncLeases } from './sync-leases.js';
import { SyncStates } from './sync-state.js';
import { TriggerMails } from './trigger-mails.js';

/** Where the store lives: a SQLite file (one machine), or a PostgreSQL database (several nodes: docs/scaling.md). */
export type StoreTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; poolSize?: number; listenUrl?: string; preparedStatements?: boolean };

/** The PostgreSQL engine's options from a store target (what the configuration leaves out keeps its default). */
function postgresOptions(where: Extract<StoreTarget, { kind: 'postgres' }>): PostgresEngineOptions {
  const { url, poolSize, listenUrl, preparedStatements } = where;
  return { url, ...(poolSize ? { poolSize } : {}), ...(listenUrl ? { listenUrl } : {}), ...(preparedStatements === undefined ? {} : { preparedStatements }) };
}

/** A string names a SQLite file, or, as a postgres:// URL, a PostgreSQL database. */
export function storeTargetOf(target: string | StoreTarget): StoreTarget {
  if (typeof target !== 'string') return target;
  return /^postgres(ql)?:\/\//.test(target) ? { kind: 'postgres', url: target } : { kind: 'sqlite', path: target };
}

/** The server's store: one database, its tables behind small classes, on either engine (engine.ts). */
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
  readonly leases: SyncLeases;
  /** Deployment-wide work one node at a time (cluster_jobs). */
  readonly jobs: SyncLeases;
  /** Changes, for watchers in this process (the web app's live stream), told once committed. */
  readonly events = new StoreEvents();

  /** `log` hears what the store wants an operator to know (a message stored with plain list fields). */
  constructor(
    readonly engine: SqlEngine,
    log?: Logger,
  ) {
    this.accounts = new Accounts(engine);
    this.messages = new PhoneMessages(engine, log);
    this.actions = new ServerActions(engine);
    this.syncStates = new SyncStates(engine);
    this.devices = new Devices(engine);
    this.apiRequests = new ApiRequests(engine);
    this.quarantine = new Quarantine(engine);
    this.triggerMails = new TriggerMails(engine);
    this.push = new PushSubscriptions(engine);
    this.presence = new AgentPresence(engine);
    this.reachCache = new ReachCache(engine);
    this.leases = new SyncLeases(engine);
    this.jobs = new SyncLeases(engine, 'cluster_jobs');
  }

  /** Open (and bring to this release's schema) the store at `target`: a SQLite path, a postgres:// URL, or a StoreTarget. */
  static async open(target: string | StoreTarget, log?: Logger): Promise<ServerStore> {
    const where = storeTargetOf(target);
    const engine = where.kind === 'sqlite' ? SqliteEngine.open(where.path, log) : new PostgresEngine(postgresOptions(where));
    try {
      if (engine instanceof PostgresEngine) await migratePostgres(engine);
      const store = new ServerStore(engine, log);
      await engine.listen((topic, data) => store.hear(topic, data));
      return store;
    } catch (err) {
      await engine.close();
      throw err;
    }
  }

  /** What the store notifies (engine.ts `notify`), from any node, as this process's events. */
  private hear(topic: string, data: unknown): void {
    switch (topic) {
      case 'mailbox':
        return void this.events.emit('mailbox', data as string);
      case 'appended':
        return void this.actions.events.emit('appended', data as string);
      case 'sync': {
        const { accountId, event } = data as { accountId: string; event: StoreEventMap['sync'][1] };
        return void this.events.emit('sync', accountId, event);
      }
      case 'presence':
        return void this.events.emit('presence', data as string);
      case 'syncNow':
        return void this.events.emit('syncNow', data as string);
      case 'revoked': {
        const { accountId, deviceId } = data as { accountId: string; deviceId: number };
        return void this.events.emit('revoked', accountId, deviceId);
      }
    }
  }

  /** Run `fn` in one transaction: all of it or none, serialized with every other (engine.ts). */
  transaction<T>(fn: () => Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.engine.transaction(fn, options);
  }

  close(): Promise<void> {
    return this.engine.close();
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
