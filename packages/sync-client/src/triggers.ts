/**
 * Recognising trigger e-mails (docs/spec.md §8) on the desktop: a message whose
 * X-Twinbox-Trigger header is valid (right MAC, this account, not expired,
 * nonce unused) is a live trigger. A live trigger is never listed, synced or
 * counted by a sync — it is the desktop watcher's to consume. An invalid,
 * expired or replayed one is ordinary mail and is synced like any other.
 *
 * A trigger the watcher has taken (nonce recorded) stays its own until its
 * expunge is done: that expunge may wait for the sync's (imap/expunge.ts), and
 * the sync must not meanwhile see a "replay" and copy it to the phone.
 */
import { verifyTrigger, type TriggerVerdict } from '@twinbox/protocol';
import type { AgentStore } from './store/agent-store.js';

export interface TriggerCheck {
  /** Whether this trigger starts a sync: valid and its nonce never used. */
  verdict(headerValue: string): TriggerVerdict;
  /** Whether the e-mail is a trigger the watcher has to remove: valid, its nonce unused or taken but not yet removed. */
  ours(headerValue: string): TriggerVerdict;
  /** A message (by its trigger header) the sync must leave alone. */
  isLive(message: { trigger?: string }): boolean;
}

export function triggerCheck(store: AgentStore, secret: string | undefined, account: string): TriggerCheck {
  const check =
    (used: (state: ReturnType<AgentStore['nonceState']>) => boolean) =>
    (value: string): TriggerVerdict =>
      secret ? verifyTrigger(value, secret, account, (nonce) => used(store.nonceState(nonce))) : { valid: false, reason: 'bad-mac' };
  const ours = check((state) => state === 'removed');
  return { verdict: check((state) => state !== 'unused'), ours, isLive: (m) => m.trigger !== undefined && ours(m.trigger).valid };
}
