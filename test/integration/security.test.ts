/**
 * Security bar of SPEC §10 / issue 5 that needs real processes: failed logins
 * are rate-limited per source and per account on the sync endpoint and the
 * phone API, and no secret (agent token, device token, trigger secret, IMAP
 * or SMTP password) ever appears in either program's log, even at debug level.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PROTOCOL_VERSION, closeCodeOf, decodeServerFrame, encodeFrame } from '@twinbox/protocol';
import { TwinboxSystem } from '@twinbox/testkit';

function hello(system: TwinboxSystem, token: string): Promise<{ code: string | undefined; close: number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(system.serverUrl, { rejectUnauthorized: false });
    let code: string | undefined;
    socket.on('open', () =>
      socket.send(encodeFrame({ type: 'hello', version: PROTOCOL_VERSION, accountId: 'user1', token, agentId: 'x', syncEpoch: null, lastSyncNo: 0, ackedThrough: 0 })),
    );
    socket.on('message', (data: Buffer) => {
      const d = decodeServerFrame(data);
      if (d.ok && d.frame.message.type === 'error') code = d.frame.message.code;
      else if (d.ok) socket.close();
    });
    socket.on('close', (close) => resolve({ code, close }));
  });
}

describe('security', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  it('failed logins are rate-limited: after 10 in a minute even the right token waits', async () => {
    system = await TwinboxSystem.start({ window: 3, env: { TWINBOX_LOG: 'debug' } });
    for (let i = 0; i < 10; i++) expect((await hello(system, `tbx_wrong${i}`)).code).toBe('AUTH_FAILED');
    const limited = await hello(system, system.pairing.token);
    expect(limited).toEqual({ code: 'RATE_LIMITED', close: closeCodeOf('RATE_LIMITED') });
    const run = await system.runAgent();
    expect(run.code).toBe(75);
    expect(run.stderr).toMatch(/RATE_LIMITED/);

    for (let i = 0; i < 10; i++) expect((await system.api('GET', '/api/v1/status', `tbd_wrong${i}`)).status).toBe(401);
    const api = await system.api('GET', '/api/v1/status', await system.addDevice());
    expect([api.status, api.json.error.code]).toEqual([429, 'RATE_LIMITED']);
  });

  it('no secret appears in any log, even at debug level', async () => {
    system = await TwinboxSystem.start({ window: 3, env: { TWINBOX_LOG: 'debug' } });
    await system.desktop.deliver({ label: 'D1' });
    await hello(system, 'tbx_wrong');
    const token = await system.addDevice();
    await system.api('POST', '/api/v1/send', token, { to: 'x@example.test', text: 'hi', viaSync: true });
    await system.api('POST', '/api/v1/sync-now', token, { via: 'email' });
    const runs = [await system.runAgent([], { TWINBOX_LOG: 'debug' }), await system.runAgent([], { TWINBOX_LOG: 'debug' })];
    const logs = [system.serverLog, ...runs.map((r) => r.stderr)].join('\n');
    expect(logs.length).toBeGreaterThan(200);
    for (const secret of [system.pairing.token, system.pairing.triggerSecret, token, 'secret1']) expect(logs).not.toContain(secret);
  });
});
