/**
 * Twinbox on the phone (issue 12): the phone mailbox — the Inbox window in
 * the desktop's order, Trash, Sent, Outbox — read and handled in a browser.
 * Live: the server's event stream says when a sync changed something.
 * Offline: the service worker keeps the app and the last lists and messages;
 * actions wait in a queue (queue.ts) and go out once, when back online.
 * One account per browser at a time (issue 18): session.tsx.
 * Notifications for new mail, when the user turns them on (issue 20): notifications.tsx.
 * The desktop mailbox beyond the window — search, its folders, any message — while the desktop is online (issue 21): reach.tsx.
 */
import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, Offline, SignedOut, WrongAccount } from './api.js';
import { enqueue, flush, queued, unqueue, withQueued, type Flushed, type MessageOp } from './queue.js';
import { SignIn, signInCode, startAfresh, SwitchAccount, useSession } from './session.js';
import { emptyDraft, forwardDraft, forwardDraftOf, replyDraft, splitAddresses, type Draft } from './format.js';
import type { Folder, Message, SendRequest, Status, Summary } from './types.js';
import { useLiveEvents } from './live.js';
import { NotificationSettings, useNotifications } from './notifications.js';
import { isDesktopRoute, routeOf, type Route } from './route.js';
import { desktopTitle, Reach } from './reach.js';
import { desktopPartUrl } from './desktop-api.js';
import type { ReplyKind } from './desktop-message.js';
import type { DesktopEmail } from './desktop-types.js';
import { Banner, Compose, FOLDER_NAMES, MessageList, MessageView, Toast, type MessageAction } from './views.js';

const FOLDERS: Folder[] = ['inbox', 'trash', 'sent', 'outbox'];
const UNDO_MS = 5000;
const RETRY_MS = 5000;

async function base64Of(blob: Blob): Promise<string> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function App() {
  const [route, setRoute] = useState<Route>(routeOf(location.hash));
  const [status, setStatus] = useState<Status>();
  const [lists, setLists] = useState<Partial<Record<Folder, { messages: Summary[]; at: number }>>>({});
  const [message, setMessage] = useState<{ id: number; data?: Message; error?: string }>();
  const [offline, setOffline] = useState(!navigator.onLine);
  const [toast, setToast] = useState<{ text: string; undo?: () => void }>();
  const [syncing, setSyncing] = useState<string>();
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const [hidden, setHidden] = useState<number[]>([]);
  const folder = route.name === 'folder' ? route.folder : (message?.data?.folder ?? 'inbox');
  const toastTimer = useRef<number | undefined>(undefined);

  const say = useCallback((text: string, undo?: () => void) => {
    setToast(undo ? { text, undo } : { text });
    clearTimeout(toastTimer.current);
    toastTimer.current = window.setTimeout(() => setToast(undefined), UNDO_MS);
  }, []);

  const session = useSession(say);
  const { phase, signedOut } = session;
  const signedIn = phase.name === 'signedIn';
  /** The account and device this page works as: its queue is theirs (queue.ts). */
  const me = phase.name === 'signedIn' ? phase.me : undefined;
  const [queue, setQueue] = useState(queued(me));
  const notifications = useNotifications(signedIn && me !== undefined);
  useEffect(() => setQueue(queued(me)), [me]);
  useEffect(() => setStatus(session.status), [session.status]);

  const failed = useCallback((err: unknown) => {
    if (err instanceof SignedOut) return signedOut();
    // The browser's session is another account's now (another tab switched): start afresh as that one.
    if (err instanceof WrongAccount) return startAfresh();
    if (err instanceof Offline) return setOffline(true);
    say(err instanceof ApiError ? err.message : String(err));
  }, [say, signedOut]);

  const loadFolder = useCallback(async (f: Folder) => {
    try {
      const messages = await api.folder(f);
      setLists((l) => ({ ...l, [f]: { messages, at: performance.now() } }));
    } catch (err) {
      failed(err);
    }
  }, [failed]);

  const loadStatus = useCallback(async () => {
    try {
      setStatus(await api.status());
    } catch (err) {
      failed(err);
    }
  }, [failed]);

  const refresh = useCallback(async () => {
    setQueue(queued(me));
    await Promise.all([loadStatus(), loadFolder(folder)]);
  }, [loadStatus, loadFolder, folder, me]);

  /** Send what waits (only this account's, only while signed in: never while the account question is open); then read the server again. */
  const sendQueued = useCallback(async (): Promise<Flushed> => {
    let result: Flushed = { sent: 0, refused: [] };
    if (!signedIn || !me) return result;
    try {
      result = await flush(me);
      setQueue(queued(me));
      if (result.refused.length > 0) say(`Not done: ${result.refused.map((r) => r.message).join('; ')}`);
      if (result.sent > 0) setOffline(false);
    } catch (err) {
      failed(err);
    }
    await refresh();
    return result;
  }, [failed, refresh, say, signedIn, me]);

  // Who the browser is, and a sign-in link's code (at load, or opened while the app runs): session.tsx.
  useEffect(() => {
    const code = signInCode(location.hash);
    if (code) setRoute({ name: 'folder', folder: 'inbox' });
    void session.start(code);
  }, []);

  useEffect(() => {
    const onHash = () => {
      const code = signInCode(location.hash);
      if (code) void session.start(code);
      setRoute(routeOf(code ? '#/inbox' : location.hash));
    };
    const online = () => {
      setOffline(false);
      void sendQueued();
    };
    const gone = () => setOffline(true);
    addEventListener('hashchange', onHash);
    addEventListener('online', online);
    addEventListener('offline', gone);
    return () => {
      removeEventListener('hashchange', onHash);
      removeEventListener('online', online);
      removeEventListener('offline', gone);
    };
  }, [sendQueued]);

  useEffect(() => {
    if (signedIn && 'serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => undefined);
  }, [signedIn]);

  // A notification was clicked while the app is open: the service worker says where to go (sw.ts).
  useEffect(() => {
    if (!('serviceWorker' in navigator)) return;
    const open = (e: MessageEvent) => {
      const hash = (e.data as { type?: string; hash?: unknown } | null)?.hash;
      if ((e.data as { type?: string } | null)?.type === 'open' && typeof hash === 'string' && /^#\/(inbox|message\/\d+)$/.test(hash)) location.hash = hash;
    };
    navigator.serviceWorker.addEventListener('message', open);
    return () => navigator.serviceWorker.removeEventListener('message', open);
  }, []);

  // Live: the server says when the phone mailbox changed, a sync ran or the desktop came or went (live.ts).
  useLiveEvents(signedIn === true, {
    changed: () => void refresh(),
    presence: () => void loadStatus(),
    syncStarted: () => setSyncing('Syncing with the desktop…'),
    syncCompleted: (s) => {
      setSyncing(undefined);
      if (s) say(`Sync complete: ${s.pulled} new, ${s.agentActions} desktop change${s.agentActions === 1 ? '' : 's'}, ${s.serverActions} sent to the desktop`);
      void refresh();
    },
    signedOut: () => signedOut(),
    online: () => setOffline(false),
    // Closed for good: signed out (the status says so), or the network failed (the hook tries again).
    lost: () => void loadStatus(),
  });

  useEffect(() => {
    if (!signedIn) return;
    if (route.name === 'folder') void loadFolder(route.folder);
    if (route.name === 'message') {
      setMessage({ id: route.id });
      api.message(route.id).then(
        (data) => {
          setMessage({ id: route.id, data });
          if (!data.seen) act(route.id, 'read', true);
        },
        (err: unknown) => {
          failed(err);
          setMessage({ id: route.id, error: err instanceof Offline ? 'This message was not saved for offline reading.' : (err as Error).message });
        },
      );
    }
  }, [signedIn, route]);

  // What waits is tried again every few seconds too: a network that comes back without an "online" event
  // (or whose first request fails while it settles) does not leave it stranded.
  const sendRef = useRef(sendQueued);
  sendRef.current = sendQueued;
  useEffect(() => {
    if (!signedIn) return;
    if (queued(me).length > 0) void sendRef.current();
    const retry = setInterval(() => {
      if (queued(me).length > 0 && navigator.onLine) void sendRef.current();
    }, RETRY_MS);
    return () => clearInterval(retry);
  }, [signedIn, me]);

  /** Back to the folder the message is in (not history.back(): a message opened from a link has no page before it). */
  function back() {
    location.hash = `#/${folder}`;
  }

  function act(id: number, op: MessageOp, quiet = false): string {
    if (!me) return '';
    const item = enqueue(me, { kind: 'op', id, op });
    setQueue(queued(me));
    setMessage((m) => {
      if (!m?.data || m.id !== id) return m;
      const patch = op === 'read' ? { seen: true } : op === 'unread' ? { seen: false } : op === 'flag' ? { flagged: true } : op === 'unflag' ? { flagged: false } : {};
      return { ...m, data: { ...m.data, ...patch } };
    });
    void sendQueued().then(() => {
      if (!quiet && queued(me).some((q) => q.key === item.key)) say('Offline: it will be done when the phone is back online');
    });
    return item.key;
  }

  function onAction(action: MessageAction) {
    const m = message?.data;
    if (!m || !status) return;
    if (action === 'reply' || action === 'replyAll' || action === 'forward') {
      setDraft(action === 'forward' ? forwardDraft(m) : replyDraft(m, action === 'replyAll', status.phoneAddress));
      composeReturn.current = undefined;
      location.hash = '#/compose';
      return;
    }
    if (action === 'trash') {
      const key = act(m.id, 'trash', true);
      back();
      say('Moved to Trash', () => {
        if (!me || !unqueue(me, key)) act(m.id, 'recover', true);
        setQueue(queued(me));
        void refresh();
      });
      return;
    }
    if (action === 'destroy') {
      // Deleting forever cannot be taken back once done: it waits out the undo window first.
      setHidden((h) => [...h, m.id]);
      const timer = window.setTimeout(() => act(m.id, 'destroy', true), UNDO_MS);
      back();
      say('Deleted forever', () => {
        clearTimeout(timer);
        setHidden((h) => h.filter((id) => id !== m.id));
      });
      return;
    }
    if (action === 'recover') back();
    act(m.id, action);
  }

  async function onSend(d: Draft, files: File[], viaSync: boolean) {
    let forwarded: SendRequest['attachments'] = [];
    try {
      forwarded = await Promise.all(
        (d.forwardAttachments ?? []).map(async (a) => {
          const res = await fetch(a.url, { credentials: 'same-origin' });
          if (!res.ok) throw new Error(`could not fetch ${a.filename} to forward it`);
          return { filename: a.filename, contentType: a.contentType, contentBase64: await base64Of(await res.blob()) };
        }),
      );
    } catch (err) {
      return say(err instanceof TypeError ? 'Offline: a forward with attachments needs the connection' : (err as Error).message);
    }
    const picked = await Promise.all(files.map(async (f) => ({ filename: f.name, contentType: f.type || 'application/octet-stream', contentBase64: await base64Of(f) })));
    const attachments = [...forwarded, ...picked];
    const request: SendRequest = {
      to: splitAddresses(d.to),
      ...(d.cc.trim() ? { cc: splitAddresses(d.cc) } : {}),
      ...(d.bcc.trim() ? { bcc: splitAddresses(d.bcc) } : {}),
      subject: d.subject,
      text: d.text,
      ...(d.inReplyTo ? { inReplyTo: d.inReplyTo } : {}),
      ...(d.references ? { references: d.references } : {}),
      ...(attachments.length > 0 ? { attachments } : {}),
      viaSync,
    };
    if (!me) return;
    const item = enqueue(me, { kind: 'send', request });
    setQueue(queued(me));
    setDraft(emptyDraft);
    location.hash = '#/outbox';
    const { refused } = await sendQueued();
    // A refusal has said so already ("Not done: …").
    if (refused.some((r) => r.key === item.key)) return;
    const waiting = queued(me).some((q) => q.key === item.key);
    say(waiting ? 'Offline: the message will be sent when the phone is back online' : viaSync ? 'In the Outbox: the desktop sends it at the next sync' : 'Sent');
  }

  const composeReturn = useRef<string | undefined>(undefined);
  /** A failure of a desktop read that is the app's to handle (signed out, another account); the views say the rest. */
  const desktopFatal = useCallback(
    (err: unknown): boolean => {
      if (err instanceof Offline) setOffline(true);
      if (!(err instanceof SignedOut || err instanceof WrongAccount)) return false;
      failed(err);
      return true;
    },
    [failed],
  );

  /** Reply to, or forward, a desktop message with the same compose as a window message. */
  function replyToDesktop(kind: ReplyKind, m: DesktopEmail) {
    if (!status) return;
    const attachments = m.attachments.map((a, i) => ({ url: desktopPartUrl(m.id, a.partId), filename: a.name ?? `attachment-${i + 1}`, contentType: a.type }));
    setDraft(kind === 'forward' ? forwardDraftOf(m, attachments) : replyDraft(m, kind === 'replyAll', status.phoneAddress));
    // Discard goes back to the desktop message (it is in no window folder to go back to).
    composeReturn.current = location.hash;
    location.hash = '#/compose';
  }

  async function syncNow() {
    setSyncing('Asking the desktop to sync…');
    try {
      const { path } = await api.syncNow();
      setSyncing(path === 'live' ? 'Asked the desktop: waiting for it…' : 'Sent a sync request by e-mail: the desktop syncs when it reads it');
    } catch (err) {
      setSyncing(undefined);
      failed(err);
    }
  }

  async function signOut() {
    await api.signOut().catch(() => undefined);
    signedOut();
  }

  if (phase.name === 'loading') return <p class="empty">Loading…</p>;
  if (phase.name === 'signedOut') return <SignIn error={phase.error} />;
  if (phase.name === 'asking') return <SwitchAccount phase={phase} onSwitch={() => void session.switchAccount()} onStay={session.stay} />;
  const current = lists[folder];
  const shown = current ? withQueued(folder, current.messages, queue).filter((m) => !hidden.includes(m.id)) : undefined;
  return (
    <>
      <header class="top">
        <h1>{route.name === 'compose' ? 'New message' : isDesktopRoute(route) ? desktopTitle(route) : FOLDER_NAMES[folder]}</h1>
        <div class="top-actions">
          <button type="button" onClick={() => void syncNow()} disabled={syncing !== undefined}>
            Sync now
          </button>
          <a class="button primary" href="#/compose" onClick={() => (setDraft(emptyDraft), (composeReturn.current = undefined))}>
            Compose
          </a>
        </div>
      </header>
      <nav class="folders" aria-label="Folders">
        {FOLDERS.map((f) => (
          <a key={f} href={`#/${f}`} aria-current={route.name === 'folder' && route.folder === f ? 'page' : undefined}>
            {FOLDER_NAMES[f]}
          </a>
        ))}
        {/* The desktop beyond the window: on a narrow phone these wrap to a second line rather than scroll out of sight. */}
        <a href="#/search" class="reach-link reach-first" aria-current={route.name === 'search' ? 'page' : undefined}>
          Search
        </a>
        <a href="#/desktop" class="reach-link" aria-current={route.name === 'desktopFolders' || route.name === 'desktopFolder' ? 'page' : undefined}>
          Folders
        </a>
      </nav>
      <Banner
        status={status}
        folder={folder}
        count={shown?.length ?? 0}
        offline={offline}
        queued={queue.length}
        syncing={syncing}
        onRetryQuarantined={(id) =>
          void api.retryQuarantined(id).then(
            () => (say('It will be tried again at the next sync'), loadStatus()),
            (err: unknown) => say(err instanceof ApiError ? err.message : String(err)),
          )
        }
      />
      <main id="main">
        {route.name === 'folder' && (
          <MessageList
            folder={folder}
            messages={shown}
            dataAt={current?.at ?? 0}
            onOpen={(id) => (location.hash = `#/message/${id}`)}
            onRetry={(id) => act(id, 'retry')}
          />
        )}
        {route.name === 'message' && (
          <MessageView
            message={message?.data}
            error={message?.error}
            desktopOnline={status?.agentConnected ?? false}
            onAction={onAction}
            onBack={back}
            onFatal={desktopFatal}
            say={say}
          />
        )}
        {isDesktopRoute(route) && (
          <Reach route={route} desktopOnline={status?.agentConnected ?? false} onFatal={desktopFatal} say={say} onReply={replyToDesktop} />
        )}
        {route.name === 'compose' && (
          <Compose
            draft={draft}
            directSend={status?.directSend ?? false}
            onSend={(d, f, v) => ((composeReturn.current = undefined), void onSend(d, f, v))}
            onCancel={() => {
              const to = composeReturn.current;
              composeReturn.current = undefined;
              if (to) location.hash = to;
              else back();
            }}
          />
        )}
      </main>
      <footer class="foot">
        {route.name === 'folder' && <NotificationSettings notifications={notifications} />}
        {status && (
          <span>
            {status.phoneAddress} · this device: {status.device.name}
          </span>
        )}
        <button type="button" class="link" onClick={() => void signOut()}>
          Sign out
        </button>
      </footer>
      {toast && <Toast text={toast.text} {...(toast.undo ? { undo: toast.undo } : {})} />}
    </>
  );
}

render(<App />, document.getElementById('app')!);
