/**
 * The browser's session: signing in with a link, one account at a time
 * (issue 18), signing out.
 *
 *   loading ──(status)──────────────► signedIn
 *      │  └──(401)──────────────────► signedOut ──(link)──► signedIn
 *      └──(link, already signed in)─► asking ──(stay)─────► signedIn, same account
 *                                       └──(switch)───────► a fresh start as the link's account
 *
 * A sign-in link (`#signin=tbc_…`, at load or while the app runs) opened in a
 * browser that is signed in asks first, naming the account it is signed in to;
 * "Stay" keeps that session, and the link leaves the address bar either way.
 * A switch keeps the first account's queued actions aside (queue.ts: sent as
 * that account when it signs in here again), deletes its offline copy
 * (identity.ts), and starts the page afresh, so nothing of it stays on screen.
 * While the question is open nothing is sent. Another tab that switches, or
 * signs out, makes this one start afresh too (the `storage` event), and a
 * request the server finds is for another account (WRONG_ACCOUNT) does the same.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { actAs, api, Offline, sameIdentity, SignedOut, WrongAccount, type Identity } from './api.js';
import { IDENTITY_KEY, keepOfflineCopyOf, parseIdentity, remember, rememberedIdentity } from './identity.js';
import { adoptUnownedQueue, clearQueue, waiting } from './queue.js';
import type { Status } from './types.js';

export type Phase =
  | { name: 'loading' }
  | { name: 'signedOut'; error?: string }
  | { name: 'asking'; code: string; current: Status; me: Identity; busy?: boolean }
  | { name: 'signedIn'; me: Identity | undefined };

const identityOf = (status: Status): Identity => ({ account: status.account, device: status.device.id });

/** The code of a sign-in link in the address bar's fragment, if any. */
export function signInCode(hash: string): string | undefined {
  return /^#signin=([\w-]+)$/.exec(hash)?.[1];
}

/** Start afresh (as whoever the browser is signed in to now): nothing of the page's account stays in memory. */
export function startAfresh(): void {
  history.replaceState(null, '', '#/inbox');
  location.reload();
}

/** Who the browser's session is: asked as the remembered identity, then — when the session is another's — as nobody. */
async function whoAmI(): Promise<Status> {
  actAs(rememberedIdentity());
  try {
    return await api.status();
  } catch (err) {
    if (!(err instanceof WrongAccount)) throw err;
    actAs(undefined);
    return api.status();
  }
}

export interface Session {
  phase: Phase;
  /** The last status read at the start. */
  status: Status | undefined;
  /** Read who the browser is, and take a sign-in link's code if there is one. */
  start(code?: string): Promise<void>;
  switchAccount(): Promise<void>;
  stay(): void;
  /** This account was signed out (by the user, or its device was revoked): its queue and offline copy go. */
  signedOut(error?: string): void;
}

export function useSession(say: (text: string) => void): Session {
  const [phase, setPhase] = useState<Phase>({ name: 'loading' });
  const [status, setStatus] = useState<Status>();
  const me = phase.name === 'signedIn' || phase.name === 'asking' ? phase.me : undefined;
  const meRef = useRef(me);
  meRef.current = me;

  const confirm = useCallback((s: Status): Identity => {
    const identity = identityOf(s);
    actAs(identity);
    remember(identity);
    adoptUnownedQueue(identity);
    void keepOfflineCopyOf(identity.account);
    setStatus(s);
    return identity;
  }, []);

  const redeem = useCallback(
    async (code: string, previous: Identity | undefined) => {
      try {
        const signedIn = await api.signIn(code);
        const next = { account: signedIn.account, device: signedIn.device.id };
        remember(next);
        actAs(next);
        if (previous) {
          // A switch: start afresh as the new account (its own queue, its own offline copy).
          if (previous.account !== next.account) await keepOfflineCopyOf(next.account);
          return startAfresh();
        }
        confirm(await api.status());
        setPhase({ name: 'signedIn', me: next });
      } catch (err) {
        const text = err instanceof Offline ? 'No connection to the server: open the sign-in link again when the phone is online.' : (err as Error).message;
        if (!previous) return setPhase({ name: 'signedOut', error: text });
        // The link did not work: the browser is still signed in as before.
        actAs(previous);
        setPhase({ name: 'signedIn', me: previous });
        say(`Still signed in as ${previous.account}. ${text}`);
      }
    },
    [confirm, say],
  );

  const signedOut = useCallback((error?: string) => {
    const owner = meRef.current ?? rememberedIdentity();
    // Another tab switched the browser to another account: that is not this account signing out.
    if (meRef.current && rememberedIdentity() && !sameIdentity(rememberedIdentity(), meRef.current)) return startAfresh();
    if (owner) clearQueue(owner);
    remember(undefined);
    actAs(undefined);
    navigator.serviceWorker?.controller?.postMessage('signout');
    void keepOfflineCopyOf(undefined);
    setStatus(undefined);
    setPhase(error ? { name: 'signedOut', error } : { name: 'signedOut' });
  }, []);

  const start = useCallback(
    async (code?: string) => {
      // The code leaves the address bar at once (a link works once; it must not stay in the history).
      if (code) history.replaceState(null, '', '#/inbox');
      let current: Status;
      try {
        current = await whoAmI();
      } catch (err) {
        if (err instanceof SignedOut) {
          if (rememberedIdentity()) signedOut();
          return code ? redeem(code, undefined) : setPhase({ name: 'signedOut' });
        }
        if (err instanceof Offline) {
          // Offline with nothing saved: the account the browser was last signed in to, if any.
          const last = rememberedIdentity();
          if (code && !last) return setPhase({ name: 'signedOut', error: 'No connection to the server: open the sign-in link again when the phone is online.' });
          actAs(last);
          return setPhase(last ? { name: 'signedIn', me: last } : { name: 'signedOut' });
        }
        throw err;
      }
      const identity = confirm(current);
      setPhase(code ? { name: 'asking', code, current, me: identity } : { name: 'signedIn', me: identity });
    },
    [confirm, redeem, signedOut],
  );

  const switchAccount = useCallback(async () => {
    if (phase.name !== 'asking') return;
    setPhase({ ...phase, busy: true });
    await redeem(phase.code, phase.me);
  }, [phase, redeem]);

  const stay = useCallback(() => {
    if (phase.name === 'asking') setPhase({ name: 'signedIn', me: phase.me });
  }, [phase]);

  // Another tab signed in to another account, or signed out: start afresh as whoever the browser is now.
  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (e.key === IDENTITY_KEY && meRef.current && !sameIdentity(parseIdentity(e.newValue), meRef.current)) startAfresh();
    };
    addEventListener('storage', onStorage);
    return () => removeEventListener('storage', onStorage);
  }, []);

  return { phase, status, start, switchAccount, stay, signedOut };
}

export function SignIn(props: { error: string | undefined }) {
  return (
    <main class="signin">
      <h1>Twinbox</h1>
      <p>This phone is not signed in.</p>
      {props.error && (
        <p class="error" role="alert">
          {props.error}
        </p>
      )}
      <p>
        On the server, run <code>twinbox-server device add --config CONFIG --id ACCOUNT</code> (or <code>device link</code> for a device you have) and open the link it prints — or
        scan its QR code — on this phone. A link works once, for 15 minutes.
      </p>
    </main>
  );
}

/** The question before a sign-in link replaces the browser's session (issue 18). */
export function SwitchAccount(props: { phase: Extract<Phase, { name: 'asking' }>; onSwitch: () => void; onStay: () => void }) {
  const { current, me, busy } = props.phase;
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const queued = waiting(me);
  return (
    <main class="signin switch" aria-labelledby="switch-title">
      <h1 id="switch-title" tabIndex={-1} ref={heading}>
        Switch account?
      </h1>
      <p>
        This browser is signed in to <strong>{current.account}</strong> ({current.phoneAddress}, as “{current.device.name}”). The link you opened signs it in with that
        link instead — one account at a time. To come back to {current.account} later, you need a new sign-in link for it.
      </p>
      {queued > 0 && (
        <p class="notice">
          {queued} {queued === 1 ? 'action' : 'actions'} you took offline as {current.account} {queued === 1 ? 'has' : 'have'} not been sent yet. {queued === 1 ? 'It stays' : 'They stay'} in
          this browser and {queued === 1 ? 'is' : 'are'} sent as {current.account} when it signs in here again — never as another account.
        </p>
      )}
      <p>The mail of {current.account} saved on this phone for reading offline is removed if you switch to another account.</p>
      <div class="actions">
        <button type="button" class="primary" disabled={busy} onClick={props.onSwitch}>
          Switch account
        </button>
        <button type="button" disabled={busy} onClick={props.onStay}>
          Stay signed in as {current.account}
        </button>
      </div>
    </main>
  );
}
