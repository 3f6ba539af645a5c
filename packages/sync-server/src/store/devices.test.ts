import { afterEach, describe, expect, it } from 'vitest';
import { SIGNIN_CODE_TTL_MS } from './devices.js';
import { ServerStore } from './index.js';

describe('devices: sign-in codes and sessions', () => {
  let store: ServerStore | undefined;
  afterEach(() => store?.close());

  const setUp = async () => {
    store = await ServerStore.open(':memory:');
    await store.accounts.add({ id: 'alice', desktopAddress: 'alice@example.test' });
    return { store, device: (await store.devices.add('alice', 'phone')).device };
  };

  it('a code works once, only before it expires, and is stored only as a hash', async () => {
    const { store, device } = await setUp();
    const now = Date.now();
    const code = await store.devices.signInCode(device.id, now);
    expect(code).toMatch(/^tbc_[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(await store.engine.all('SELECT * FROM signin_codes'))).not.toContain(code.slice(4));
    const late = await store.devices.signInCode(device.id, now);
    expect(await store.devices.redeem(late, now + SIGNIN_CODE_TTL_MS)).toBeUndefined();
    const first = await store.devices.redeem(code, now + 1000);
    expect(first?.device).toEqual(device);
    expect(await store.devices.redeem(code, now + 2000)).toBeUndefined();
    expect(await store.devices.authenticateSession(first!.session)).toEqual(device);
    expect(JSON.stringify(await store.engine.all('SELECT * FROM device_sessions'))).not.toContain(first!.session.slice(4));
  });

  it('signing out ends one session; revoking a device ends its token, sessions and codes, and says so', async () => {
    const { store, device } = await setUp();
    const revoked: number[] = [];
    store.events.on('revoked', (_account, id) => revoked.push(id));
    const a = (await store.devices.redeem(await store.devices.signInCode(device.id)))!.session;
    const b = (await store.devices.redeem(await store.devices.signInCode(device.id)))!.session;
    const pending = await store.devices.signInCode(device.id);
    expect(await store.devices.list('alice')).toMatchObject([{ id: device.id, name: 'phone', sessions: 2 }]);
    await store.devices.endSession(a);
    expect(await store.devices.authenticateSession(a)).toBeUndefined();
    expect(await store.devices.authenticateSession(b)).toEqual(device);
    expect(await store.devices.revoke('bob', device.id)).toBe(false);
    expect(await store.devices.revoke('alice', device.id)).toBe(true);
    expect(await store.devices.authenticateSession(b)).toBeUndefined();
    expect(await store.devices.redeem(pending)).toBeUndefined();
    expect(await store.engine.get('SELECT COUNT(*) AS n FROM device_sessions')).toEqual({ n: 0 });
    expect(revoked).toEqual([device.id]);
  });
});
