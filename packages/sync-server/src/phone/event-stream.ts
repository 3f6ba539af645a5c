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
 *   event: closed    data: {"code":"TOO_MANY_STREAMS","message":…}
 *                                                   this device opened more streams than it may hold: the oldest ends
 *
 * A burst of changes (a sync applying 200 actions) becomes one `mailbox` event.
 * The device is checked again every few seconds, so a device revoked from the
 * command line (another process, same database) is signed out at once.
 *
 * One device holds at most `maxPerDevice` streams (issue 18.13; config
 * `phone.maxEventStreamsPerDevice`, default 5). A new one beyond that closes
 * the device's *oldest* stream rather than being refused: the newest is the
 * screen the user is looking at, and the oldest is most likely a connection
 * that died without a word (the phone changed networks) and would otherwise
 * hold its place until TCP gives up. The closed stream hears `closed` and a
 * long `retry`, so a browser that still shows it does not take a place back at
 * once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerStore, StoreEventMap } from '../store/index.js';
import { PHONE_DEFAULTS } from '../config.js';
import { callerOf, type Caller } from './device-auth.js';

const COALESCE_MS = 100;
const RECHECK_MS = 2000;
const KEEPALIVE_MS = 15_000;
/** How long a browser waits before it opens a stream that was closed for a newer one. */
const CLOSED_RETRY_MS = 60_000;

interface OpenStream {
  deviceId: number;
  /** End the stream, telling the browser why. */
  close(code: 'TOO_MANY_STREAMS', message: string): void;
}

export class EventStreams {
  /** Every open stream, oldest first (a Map keeps insertion order). */
  private readonly open = new Map<ServerResponse, OpenStream>();
  /** Streams whose device is being checked again now: a slow store never piles up checks of one stream. */
  private readonly checking = new Set<ServerResponse>();
  private readonly maxPerDevice: number;

  constructor(
    private readonly store: ServerStore,
    limits: { maxPerDevice?: number } = {},
  ) {
    this.maxPerDevice = limits.maxPerDevice ?? PHONE_DEFAULTS.maxEventStreamsPerDevice;
  }

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
    this.open.set(res, {
      deviceId: caller.device.id,
      close: (code, message) => {
        this.open.delete(res); // at once: it no longer counts against the device
        res.write(`retry: ${CLOSED_RETRY_MS}\n\n`);
        write('closed', { code, message });
        res.end();
      },
    });
    this.keepWithinLimit(caller.device.id);

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
    const recheck = setInterval(() => void this.recheck(req, res, caller, signOut), RECHECK_MS);
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

  /** Is the stream's device still signed in? If not, sign the stream out. */
  private async recheck(req: IncomingMessage, res: ServerResponse, caller: Caller, signOut: () => void): Promise<void> {
    if (this.checking.has(res)) return;
    this.checking.add(res);
    try {
      const now = await callerOf(this.store, req);
      // The stream may have ended while the store answered.
      if (!res.writableEnded && !res.destroyed && now?.device.id !== caller.device.id) signOut();
    } catch {
      // The store failed for a moment: that is no sign-out; the next check asks again.
    } finally {
      this.checking.delete(res);
    }
  }

  /** Close the device's oldest streams until it holds no more than it may. */
  private keepWithinLimit(deviceId: number): void {
    const mine = [...this.open.values()].filter((s) => s.deviceId === deviceId);
    for (const stream of mine.slice(0, Math.max(0, mine.length - this.maxPerDevice))) {
      stream.close('TOO_MANY_STREAMS', `this device has more than ${this.maxPerDevice} live streams open; the oldest was closed`);
    }
  }

  /** Streams open now. */
  get size(): number {
    return this.open.size;
  }

  closeAll(): void {
    for (const res of this.open.keys()) res.end();
  }
}
