/**
 * Recognising trigger e-mails (docs/spec.md §8) on the desktop: a message whose
 * X-Twinbox-Trigger header is valid (right MAC, this account, not expired,
 * nonce unused) is a live trigger. A live trigger is never listed, synced or
 * counted by a sync — it is the desktop watcher's to consume. An invalid,
 * expired or replayed one is ordinary mail and is synced like any other.
 */
import { verifyTrigger, type TriggerVerdict } from '@twinbox/protocol';
import type { AgentStore } from './store/agent-store.js';

export interface TriggerCheck {
  verdict(headerValue: string): TriggerVerdict;
  /** A message (by its trigger header) the sync must leave alone. */
  isLive(message: { trigger?: string }): boolean;
}

export function triggerCheck(store: AgentStore, secret: string | undefined, account: string): TriggerCheck {
  const verdict = (value: string): TriggerVerdict =>
    secret ? verifyTrigger(value, secret, account, (nonce) => store.nonceUsed(nonce)) : { valid: false, reason: 'bad-mac' };
  return { verdict, isLive: (m) => m.trigger !== undefined && verdict(m.trigger).valid };
}
