import { afterEach, describe, expect, it } from 'vitest';
import { SIGNIN_CODE_TTL_MS } from './devices.js';
import { ServerStore } from './index.js';

describe('devices: sign-in codes and sessions', () => {
  let store: ServerStore | undefined;
  afterEach(() => store?.close());

  const setUp = () => {
    store = ServerStore.open(':memory:');
    store.accounts.add({ id: 'alice', desktopAddress: 'alice@example.test' });
    return { store, device: store.devices.add('alice', 'phone').device };
  };

  it('a code works once, only before it expires, and is stored only as a hash', () => {
    const { store, device } = setUp();
    const now = Date.now();
    const code = store.devices.signInCode(device.id, now);
    expect(code).toMatch(/^tbc_[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(store.db.prepare('SELECT * FROM signin_codes').all())).not.toContain(code.slice(4));
    const late = store.devices.signInCode(device.id, now);
    expect(store.devices.redeem(late, now + SIGNIN_CODE_TTL_MS)).toBeUndefined();
    const first = store.devices.redeem(code, now + 1000);
    expect(first?.device).toEqual(device);
    expect(store.devices.redeem(code, now + 2000)).toBeUndefined();
    expect(store.devices.authenticateSession(first!.session)).toEqual(device);
    expect(JSON.stringify(store.db.prepare('SELECT * FROM device_sessions').all())).not.toContain(first!.session.slice(4));
  });

  it('signing out ends one session; revoking a device ends its token, sessions and codes, and says so', () => {
    const { store, device } = setUp();
    const revoked: number[] = [];
    store.events.on('revoked', (_account, id) => revoked.push(id));
    const a = store.devices.redeem(store.devices.signInCode(device.id))!.session;
    const b = store.devices.redeem(store.devices.signInCode(device.id))!.session;
    const pending = store.devices.signInCode(device.id);
    expect(store.devices.list('alice')).toMatchObject([{ id: device.id, name: 'phone', sessions: 2 }]);
    store.devices.endSession(a);
    expect(store.devices.authenticateSession(a)).toBeUndefined();
    expect(store.devices.authenticateSession(b)).toEqual(device);
    expect(store.devices.revoke('bob', device.id)).toBe(false);
    expect(store.devices.revoke('alice', device.id)).toBe(true);
    expect(store.devices.authenticateSession(b)).toBeUndefined();
    expect(store.devices.redeem(pending)).toBeUndefined();
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM device_sessions').get()).toEqual({ n: 0 });
    expect(revoked).toEqual([device.id]);
  });
});
