import { afterEach, describe, expect, it } from 'vitest';
import { ServerStore } from './index.js';

describe('accounts', () => {
  let store: ServerStore | undefined;
  afterEach(() => store?.close());

  it('secrets never start with "-", which a command line would read as an option (regression)', async () => {
    store = await ServerStore.open(':memory:');
    for (let i = 0; i < 200; i++) {
      const { account, token } = await store.accounts.add({ id: `user${i}`, desktopAddress: `user${i}@example.test` });
      expect(token).toMatch(/^tbx_[A-Za-z0-9_-]{43}$/);
      expect(account.triggerSecret).toMatch(/^tbt_[A-Za-z0-9_-]{43}$/);
    }
  });

  it('stores only a hash of the agent token and authenticates with it', async () => {
    store = await ServerStore.open(':memory:');
    const { token } = await store.accounts.add({ id: 'alice', desktopAddress: 'alice@example.test' });
    const row = await store.engine.get<Record<string, unknown>>('SELECT * FROM accounts');
    expect(JSON.stringify(row)).not.toContain(token);
    expect((await store.accounts.authenticate('alice', token))?.id).toBe('alice');
    expect(await store.accounts.authenticate('alice', `${token}x`)).toBeUndefined();
    expect(await store.accounts.authenticate('bob', token)).toBeUndefined();
  });

  it('a reissued token works and the old one no longer does; the trigger secret changes only when asked', async () => {
    store = await ServerStore.open(':memory:');
    const { account, token } = await store.accounts.add({ id: 'alice', desktopAddress: 'alice@example.test' });
    const next = (await store.accounts.reissueToken('alice'))!;
    expect(next.token).not.toBe(token);
    expect(next.triggerSecret).toBe(account.triggerSecret);
    expect(await store.accounts.authenticate('alice', token)).toBeUndefined();
    expect((await store.accounts.authenticate('alice', next.token))?.id).toBe('alice');
    const again = (await store.accounts.reissueToken('alice', { triggerSecret: true }))!;
    expect(again.triggerSecret).not.toBe(account.triggerSecret);
    expect((await store.accounts.get('alice'))?.triggerSecret).toBe(again.triggerSecret);
    expect(await store.accounts.reissueToken('bob')).toBeUndefined();
  });

  it('agent presence: connected while the server vouches for it, unknown once it stopped, not connected after it left', async () => {
    store = await ServerStore.open(':memory:');
    await store.accounts.add({ id: 'alice', desktopAddress: 'alice@example.test' });
    expect(await store.presence.get('alice')).toEqual({ state: 'not connected', since: null });
    await store.presence.record('alice', true, 1_000);
    await store.presence.record('alice', true, 2_000);
    expect(await store.presence.get('alice', 3_000)).toEqual({ state: 'connected', since: 1_000, node: '' });
    expect(await store.presence.get('alice', 1_000 + 3_600_000)).toEqual({ state: 'unknown', lastSeen: 2_000 });
    await store.presence.heartbeat(3_600_000);
    expect(await store.presence.get('alice', 3_600_001)).toEqual({ state: 'connected', since: 1_000, node: '' });
    await store.presence.allGone(3_700_000);
    expect(await store.presence.get('alice', 3_700_001)).toEqual({ state: 'not connected', since: 3_700_000 });
  });
});
