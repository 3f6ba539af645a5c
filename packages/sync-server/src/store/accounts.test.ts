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
});
