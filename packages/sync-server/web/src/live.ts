/**
 * The app's live link (issue 12): the server's event stream (GET /api/v1/events, event-stream.ts on the
 * server). The browser reconnects a stream that drops; one it gives up on (a stream that failed while
 * offline) is made again here, after a few seconds or when the phone is back online. Every (re)open
 * means "read the server again": what happened while the stream was away has no event of its own.
 */
import { useEffect, useRef, useState } from 'preact/hooks';

const STREAM_RETRY_MS = 3000;

export interface SyncStatsEvent {
  pulled: number;
  agentActions: number;
  serverActions: number;
}

export interface LiveHandlers {
  /** The phone mailbox changed, or the stream (re)opened: read it again. */
  changed(): void;
  /** A desktop agent connected or left. */
  presence(): void;
  syncStarted(): void;
  syncCompleted(stats: SyncStatsEvent | undefined): void;
  /** This device was revoked. */
  signedOut(): void;
  /** The stream is open (the server is reachable). */
  online(): void;
  /** The stream closed for good (signed out, or no network). */
  lost(): void;
}

export function useLiveEvents(enabled: boolean, handlers: LiveHandlers): void {
  // The handlers change with every render; the stream is made once per connection, and calls the latest.
  const latest = useRef(handlers);
  latest.current = handlers;
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (!enabled) return;
    const events = new EventSource('/api/v1/events');
    let again: number | undefined;
    events.addEventListener('mailbox', () => latest.current.changed());
    events.addEventListener('presence', () => latest.current.presence());
    events.addEventListener('sync', (e) => {
      const event = JSON.parse((e as MessageEvent<string>).data) as { state: string; stats?: SyncStatsEvent };
      if (event.state === 'started') latest.current.syncStarted();
      else latest.current.syncCompleted(event.stats);
    });
    events.addEventListener('signedout', () => {
      events.close();
      latest.current.signedOut();
    });
    events.addEventListener('open', () => {
      latest.current.online();
      latest.current.changed();
    });
    events.addEventListener('error', () => {
      if (events.readyState !== EventSource.CLOSED) return;
      latest.current.lost();
      again = window.setTimeout(() => setGeneration((g) => g + 1), STREAM_RETRY_MS);
    });
    const online = () => {
      if (events.readyState === EventSource.CLOSED) setGeneration((g) => g + 1);
    };
    addEventListener('online', online);
    return () => {
      clearTimeout(again);
      removeEventListener('online', online);
      events.close();
    };
  }, [enabled, generation]);
}
