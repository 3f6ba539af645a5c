/**
 * The web app's live stream (issue 12): `GET /api/v1/events`, server-sent
 * events (text/event-stream), so the list updates by itself when a sync, a
 * delivery or another device changes the phone mailbox.
 *
 *   event: mailbox   data: {}                       read the folders again
 *   event: presence  data: {}                       the desktop agent connected or left: read the status again
 *   event: sync      data: {"state":"started"}      a sync began
 *                    data: {"state":"completed","stats":{…}}
 *   event: signedout data: {}                       the device was revoked: the stream ends
 *
 * A burst of changes (a sync applying 200 actions) becomes one `mailbox` event.
 * The device is checked again every few seconds, so a device revoked from the
 * command line (another process, same database) is signed out at once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerStore, StoreEventMap } from '../store/index.js';
import { callerOf, type Caller } from './device-auth.js';

const COALESCE_MS = 100;
const RECHECK_MS = 2000;
const KEEPALIVE_MS = 15_000;

export class EventStreams {
  private readonly open = new Set<ServerResponse>();

  constructor(private readonly store: ServerStore) {}

  /** Take over the response as an event stream for the caller's account. */
  serve(req: IncomingMessage, res: ServerResponse, caller: Caller): void {
    const accountId = caller.account.id;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // A reverse proxy must pass events on as they come (nginx buffers otherwise).
      'x-accel-buffering': 'no',
    });
    const write = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    res.write('retry: 3000\n\n');
    write('hello', {});
    this.open.add(res);

    let coalesce: NodeJS.Timeout | undefined;
    const onMailbox = (id: string) => {
      if (id !== accountId || coalesce) return;
      coalesce = setTimeout(() => {
        coalesce = undefined;
        write('mailbox', {});
      }, COALESCE_MS);
    };
    const onPresence = (id: string) => {
      if (id === accountId) write('presence', {});
    };
    const onSync = (...[id, event]: StoreEventMap['sync']) => {
      if (id === accountId) write('sync', event);
    };
    const signOut = () => {
      write('signedout', {});
      res.end();
    };
    const onRevoked = (id: string, deviceId: number) => {
      if (id === accountId && deviceId === caller.device.id) signOut();
    };
    const recheck = setInterval(() => {
      if (callerOf(this.store, req)?.device.id !== caller.device.id) signOut();
    }, RECHECK_MS);
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    this.store.events.on('mailbox', onMailbox);
    this.store.events.on('sync', onSync);
    this.store.events.on('presence', onPresence);
    this.store.events.on('revoked', onRevoked);
    res.on('close', () => {
      clearTimeout(coalesce);
      clearInterval(recheck);
      clearInterval(keepalive);
      this.store.events.off('mailbox', onMailbox);
      this.store.events.off('sync', onSync);
      this.store.events.off('presence', onPresence);
      this.store.events.off('revoked', onRevoked);
      this.open.delete(res);
    });
  }

  /** Streams open now. */
  get size(): number {
    return this.open.size;
  }

  closeAll(): void {
    for (const res of this.open) res.end();
  }
}
