/**
 * Notifications for new mail (issue 20): Web Push, turned on by the user.
 *
 *   checking ──► unsupported (no push in this browser) | unavailable (not on this server)
 *            ──► blocked (the browser's permission is "denied")
 *            ──► off ──(Turn on: permission, subscribe, register)──► on ──(Turn off)──► off
 *
 * The permission is asked only when the user presses "Turn on notifications",
 * never on load. The browser subscribes through the service worker with the
 * server's key and registers the subscription with this device session, with
 * what notifications show: sender and subject, or only "New mail". At each
 * start the page puts the browser and the server back in step without asking
 * anything: a subscription the server lost (or one made for an old key) is
 * registered again; one of another account of this browser is dropped; one
 * the server holds that the browser no longer has is removed. Turning off, and
 * signing out, unsubscribe the browser too. While the app is on screen it
 * tells the server the user has seen the new mail, and closes the notification.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { actingAs, api } from './api.js';
import { NEW_MAIL_TAG } from './notification-text.js';
import type { PushShow } from './types.js';

export type NotifyState =
  | { name: 'checking' }
  | { name: 'unsupported' }
  | { name: 'unavailable' }
  | { name: 'blocked' }
  | { name: 'off'; busy?: boolean; error?: string }
  | { name: 'on'; show: PushShow; busy?: boolean; error?: string };

/** Which account and device this browser's subscription was registered for (one account per browser: issue 18). */
const OWNER_KEY = 'twinbox.push';

const supported = () => 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64url.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** Was the subscription made with this server key? */
function madeWith(subscription: PushSubscription, publicKey: string): boolean {
  const key = subscription.options.applicationServerKey;
  if (!key) return false;
  const have = new Uint8Array(key);
  const want = keyBytes(publicKey);
  return have.length === want.length && have.every((b, i) => b === want[i]);
}

const owner = () => JSON.stringify(actingAs() ?? null);

async function browserSubscription(): Promise<PushSubscription | null> {
  const registration = await navigator.serviceWorker.ready;
  return registration.pushManager.getSubscription();
}

/** Signed out (or revoked): the browser's subscription goes too (the server's went with the session). */
export async function forgetPushSubscription(): Promise<void> {
  localStorage.removeItem(OWNER_KEY);
  if (!supported()) return;
  try {
    const registration = await navigator.serviceWorker.getRegistration();
    await (await registration?.pushManager.getSubscription())?.unsubscribe();
  } catch {
    // Nothing to forget.
  }
}

async function register(subscription: PushSubscription, show: PushShow): Promise<void> {
  await api.push.subscribe(subscription.toJSON(), show);
  localStorage.setItem(OWNER_KEY, owner());
}

/** Put the browser and the server in step (see the header); never asks the user anything. */
async function reconcile(): Promise<NotifyState> {
  if (!supported()) return { name: 'unsupported' };
  const info = await api.push.info();
  if (!info.available || !info.publicKey) return { name: 'unavailable' };
  if (Notification.permission === 'denied') {
    if (info.subscribed) await api.push.unsubscribe();
    return { name: 'blocked' };
  }
  let subscription = await browserSubscription();
  if (subscription && localStorage.getItem(OWNER_KEY) !== owner()) {
    // Made while another account was signed in here: not this account's to use.
    await subscription.unsubscribe();
    subscription = null;
  }
  const show = info.show ?? 'count';
  if (subscription && Notification.permission === 'granted') {
    if (!madeWith(subscription, info.publicKey)) {
      await subscription.unsubscribe();
      const registration = await navigator.serviceWorker.ready;
      subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(info.publicKey) });
      await register(subscription, show);
    } else if (!info.subscribed) await register(subscription, show);
    return { name: 'on', show };
  }
  if (info.subscribed) await api.push.unsubscribe();
  return { name: 'off' };
}

export interface Notifications {
  state: NotifyState;
  turnOn(show: PushShow): Promise<void>;
  turnOff(): Promise<void>;
  setShow(show: PushShow): Promise<void>;
}

export function useNotifications(signedIn: boolean): Notifications {
  const [state, setState] = useState<NotifyState>({ name: 'checking' });

  useEffect(() => {
    if (!signedIn) return;
    reconcile().then(setState, () => setState({ name: 'off' }));
  }, [signedIn]);

  // On screen, the user sees the mail: the notification goes, and the next one counts from zero.
  const on = state.name === 'on';
  useEffect(() => {
    if (!on) return;
    const look = () => {
      if (document.visibilityState !== 'visible') return;
      void api.push.seen().catch(() => undefined);
      void navigator.serviceWorker.ready.then((r) => r.getNotifications({ tag: NEW_MAIL_TAG })).then((shown) => shown.forEach((n) => n.close()), () => undefined);
    };
    look();
    document.addEventListener('visibilitychange', look);
    return () => document.removeEventListener('visibilitychange', look);
  }, [on]);

  const fail = useCallback((err: unknown, back: NotifyState) => {
    const error = (err as Error).message || String(err);
    setState(back.name === 'on' || back.name === 'off' ? { ...back, busy: false, error } : back);
  }, []);

  const turnOn = useCallback(
    async (show: PushShow) => {
      setState({ name: 'off', busy: true });
      let subscription: PushSubscription | undefined;
      try {
        const info = await api.push.info();
        if (!info.available || !info.publicKey) return setState({ name: 'unavailable' });
        const permission = await Notification.requestPermission();
        if (permission === 'denied') return setState({ name: 'blocked' });
        if (permission !== 'granted') return setState({ name: 'off', error: 'Notifications were not allowed.' });
        const registration = await navigator.serviceWorker.ready;
        subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(info.publicKey) });
        await register(subscription, show);
        setState({ name: 'on', show });
      } catch (err) {
        await subscription?.unsubscribe().catch(() => undefined);
        fail(err, { name: 'off' });
      }
    },
    [fail],
  );

  const turnOff = useCallback(async () => {
    const before = state;
    setState({ name: 'off', busy: true });
    try {
      await (await browserSubscription())?.unsubscribe();
      localStorage.removeItem(OWNER_KEY);
      await api.push.unsubscribe();
      setState({ name: 'off' });
    } catch (err) {
      fail(err, before);
    }
  }, [state, fail]);

  const setShow = useCallback(
    async (show: PushShow) => {
      if (state.name !== 'on') return;
      setState({ name: 'on', show, busy: true });
      try {
        await api.push.settings(show);
        setState({ name: 'on', show });
      } catch (err) {
        fail(err, state);
      }
    },
    [state, fail],
  );

  return { state, turnOn, turnOff, setShow };
}

/** The control: what notifications do here, the choice of what they show, and the switch. */
export function NotificationSettings(props: { notifications: Notifications }) {
  const { state, turnOn, turnOff, setShow } = props.notifications;
  const [choice, setChoice] = useState<PushShow>('count');
  // Nothing to offer: no control (a server without push says so in its README, not on every phone).
  if (state.name === 'checking' || state.name === 'unavailable') return null;
  const shown: PushShow = state.name === 'on' ? state.show : choice;
  const busy = (state.name === 'on' || state.name === 'off') && state.busy === true;
  const pick = (show: PushShow) => (state.name === 'on' ? void setShow(show) : setChoice(show));
  const option = (show: PushShow, label: string) => (
    <div class="check">
      <input id={`notify-${show}`} type="radio" name="notify-show" value={show} checked={shown === show} disabled={busy} onChange={() => pick(show)} />
      <label for={`notify-${show}`}>{label}</label>
    </div>
  );
  return (
    <section class="notify" aria-labelledby="notify-title">
      <h2 id="notify-title">Notifications</h2>
      {state.name === 'unsupported' && <p>This browser cannot show notifications from Twinbox. Installed to the home screen, it may.</p>}
      {state.name === 'blocked' && <p>Notifications are blocked for this site. Allow them in the browser's site settings, then come back here.</p>}
      {(state.name === 'off' || state.name === 'on') && (
        <>
          <p>{state.name === 'on' ? 'On: this phone gets a notification when new mail arrives, also while Twinbox is closed.' : 'Get a notification when new mail arrives, also while Twinbox is closed.'}</p>
          <fieldset disabled={busy}>
            <legend>A notification shows</legend>
            {option('sender', 'The sender and the subject')}
            {option('count', 'Only “New mail”')}
          </fieldset>
          {state.name === 'on' ? (
            <button type="button" disabled={busy} onClick={() => void turnOff()}>
              Turn off notifications
            </button>
          ) : (
            <button type="button" class="primary" disabled={busy} onClick={() => void turnOn(choice)}>
              Turn on notifications
            </button>
          )}
          {state.error && (
            <p class="error" role="alert">
              {state.error}
            </p>
          )}
        </>
      )}
    </section>
  );
}
