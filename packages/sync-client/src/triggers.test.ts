import { describe, expect, it } from 'vitest';
import { makeTriggerHeader } from '@twinbox/protocol';
import { AgentStore } from './store/agent-store.js';
import { triggerCheck } from './triggers.js';

describe('trigger e-mails on the desktop (docs/spec.md §8)', () => {
  it('a trigger the watcher took stays out of the sync until its expunge is done; then a copy of it is a replay, ordinary mail', () => {
    const store = AgentStore.open(':memory:');
    const check = triggerCheck(store, 'secret', 'user1');
    const { value, claims } = makeTriggerHeader('secret', 'user1');
    expect(check.verdict(value).valid).toBe(true);
    expect(check.isLive({ trigger: value })).toBe(true);

    // Taken: starts no second sync, and the sync still leaves it alone while its expunge waits.
    store.recordNonce(claims.nonce, claims.expires);
    expect(check.verdict(value)).toEqual({ valid: false, reason: 'replayed' });
    expect(check.ours(value).valid).toBe(true);
    expect(check.isLive({ trigger: value })).toBe(true);

    // Removed: the same header again is a replay, synced like any other message.
    store.nonceRemoved(claims.nonce);
    expect(check.ours(value)).toEqual({ valid: false, reason: 'replayed' });
    expect(check.isLive({ trigger: value })).toBe(false);
    expect(check.isLive({ trigger: makeTriggerHeader('other secret', 'user1').value })).toBe(false);
  });
});
