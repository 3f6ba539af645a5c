/**
 * What changed, for those who watch in this process: the phone web app's live
 * stream (issue 12). Emitted where the change is written; a listener reads the
 * store again, so an event carries only the account it concerns.
 */
import { EventEmitter } from 'node:events';
import type { SyncStats } from '@twinbox/protocol';

export interface StoreEventMap {
  /** A message of the account's phone mailbox was added, changed, moved or removed. */
  mailbox: [accountId: string];
  /** A sync of the account began, or completed with these counts. */
  sync: [accountId: string, event: { state: 'started' } | { state: 'completed'; stats: SyncStats }];
  /** An agent of the account connected or disconnected, on any node (the phone shows whether the desktop is online). */
  presence: [accountId: string];
  /** An agent of the account connected to or left this node (the server records it, then every node hears `presence`). */
  agentLink: [accountId: string];
  /** "Sync now" for an agent connected to another node: the node holding its link asks it (sync-now.ts). */
  syncNow: [accountId: string];
  /**
   * New mail entered the account's phone Inbox (push/new-mail.ts says which arrivals are new mail): emitted
   * by whoever stored it, after storing it. The push notifier listens (push/notifier.ts).
   */
  newMail: [accountId: string, phoneId: number];
  /** A device of the account was revoked. */
  revoked: [accountId: string, deviceId: number];
}

export class StoreEvents extends EventEmitter<StoreEventMap> {
  constructor() {
    super();
    // Every open web app holds a listener per account.
    this.setMaxListeners(0);
  }
}
