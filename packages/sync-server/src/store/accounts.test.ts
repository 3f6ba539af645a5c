import { afterEach, describe, expect, it } from 'vitest';
import { ServerStore } from './index.js';

describe('accounts', () => {
  let store: ServerStore | undefined;
  afterEach(() => store?.close());

  it('secrets never start with "-", which a command line would read as an option (regression)', () => {
    store = ServerStore.open(':memory:');
    for (let i = 0; i < 200; i++) {
      const { account, token } = store.accounts.add({ id: `user${i}`, desktopAddress: `user${i}@example.test` });
      expect(token).toMatch(/^tbx_[A-Za-z0-9_-]{43}$/);
      expect(account.triggerSecret).toMatch(/^tbt_[A-Za-z0-9_-]{43}$/);
    }
  });

  it('stores only a hash of the agent token and authenticates with it', () => {
    store = ServerStore.open(':memory:');
    const { token } = store.accounts.add({ id: 'alice', desktopAddress: 'alice@example.test' });
    const row = store.db.prepare('SELECT * FROM accounts').get() as Record<string, unknown>;
    expect(JSON.stringify(row)).not.toContain(token);
    expect(store.accounts.authenticate('alice', token)?.id).toBe('alice');
    expect(store.accounts.authenticate('alice', `${token}x`)).toBeUndefined();
    expect(store.accounts.authenticate('bob', token)).toBeUndefined();
  });

  it('a reissued token works and the old one no longer does; the trigger secret changes only when asked', () => {
    store = ServerStore.open(':memory:');
    const { account, token } = store.accounts.add({ id: 'alice', desktopAddress: 'alice@example.test' });
    const next = store.accounts.reissueToken('alice')!;
    expect(next.token).not.toBe(token);
    expect(next.triggerSecret).toBe(account.triggerSecret);
    expect(store.accounts.authenticate('alice', token)).toBeUndefined();
    expect(store.accounts.authenticate('alice', next.token)?.id).toBe('alice');
    const again = store.accounts.reissueToken('alice', { triggerSecret: true })!;
    expect(again.triggerSecret).not.toBe(account.triggerSecret);
    expect(store.accounts.get('alice')?.triggerSecret).toBe(again.triggerSecret);
    expect(store.accounts.reissueToken('bob')).toBeUndefined();
  });

  it('agent presence: connected while the server vouches for it, unknown once it stopped, not connected after it left', () => {
    store = ServerStore.open(':memory:');
    store.accounts.add({ id: 'alice', desktopAddress: 'alice@example.test' });
    expect(store.presence.get('alice')).toEqual({ state: 'not connected', since: null });
    store.presence.record('alice', true, 1_000);
    store.presence.record('alice', true, 2_000);
    expect(store.presence.get('alice', 3_000)).toEqual({ state: 'connected', since: 1_000 });
    expect(store.presence.get('alice', 1_000 + 3_600_000)).toEqual({ state: 'unknown', lastSeen: 2_000 });
    store.presence.heartbeat(3_600_000);
    expect(store.presence.get('alice', 3_600_001)).toEqual({ state: 'connected', since: 1_000 });
    store.presence.allGone(3_700_000);
    expect(store.presence.get('alice', 3_700_001)).toEqual({ state: 'not connected', since: 3_700_000 });
  });
});
