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
  /** An agent of the account connected or disconnected (the phone shows whether the desktop is online). */
  presence: [accountId: string];
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
