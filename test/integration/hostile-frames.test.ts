/**
 * Bad input at the sync endpoint (docs/spec.md §4.1, §10): every kind gets its own
 * error code (error frame + close code) and the server's store is unchanged,
 * byte for byte, in every table that sync touches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LIMITS, PROTOCOL_VERSION, closeCodeOf, decodeServerFrame, encodeFrame, type ClientMessage, type ErrorCode } from '@twinbox/protocol';
import { expectWindowInvariant } from '../helpers/invariant.js';
import { TwinboxSystem } from '@twinbox/testkit';

interface Outcome {
  errorCode: string | undefined;
  closeCode: number;
}

/** Open a raw connection, send these payloads, and report the error frame and close code received. */
function exchange(url: string, payloads: (Buffer | string)[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { rejectUnauthorized: false });
    let errorCode: string | undefined;
    socket.on('open', () => {
      for (const p of payloads) socket.send(p, { binary: typeof p !== 'string' });
    });
    socket.on('message', (data: Buffer) => {
      const decoded = decodeServerFrame(data);
      if (decoded.ok && decoded.frame.message.type === 'error') errorCode = decoded.frame.message.code;
    });
    socket.on('close', (closeCode) => resolve({ errorCode, closeCode }));
    socket.on('error', (err) => {
      if (!/ECONNRESET|socket hang up/.test(err.message)) reject(err);
    });
  });
}

function hello(system: TwinboxSystem, overrides: Partial<Extract<ClientMessage, { type: 'hello' }>> = {}): Buffer {
  return encodeFrame({
    type: 'hello',
    version: PROTOCOL_VERSION,
    accountId: 'user1',
    token: system.pairing.token,
    agentId: 'hostile-test',
    syncEpoch: null,
    lastSyncNo: 0,
    ackedThrough: 0,
    ...overrides,
  });
}

async function snapshot(system: TwinboxSystem): Promise<string> {
  const db = system.store.engine;
  const tables = ['accounts', 'messages', 'server_actions', 'applied_agent_actions', 'sync_state', 'sync_log'];
  return JSON.stringify(await Promise.all(tables.map((t) => db.all(`SELECT * FROM ${t} ORDER BY 1`))));
}

describe('hostile frames at the sync endpoint', () => {
  let system: TwinboxSystem;
  let before: string;

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.desktop.deliver({ label: 'D1' });
    await system.phoneDeliver({ label: 'P1' });
    await system.sync();
    await system.phoneDeliver({ label: 'P2' });
    before = await snapshot(system);
  });
  afterAll(async () => system?.stop());

  const cases: { name: string; code: ErrorCode; payloads: (s: TwinboxSystem) => (Buffer | string)[] }[] = [
    { name: 'garbage bytes', code: 'BAD_FRAME', payloads: () => [Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])] },
    { name: 'a header that is not JSON', code: 'BAD_FRAME', payloads: () => [Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{{{')])] },
    { name: 'a text frame', code: 'BAD_FRAME', payloads: () => ['{"type":"hello"}'] },
    { name: 'a hello with a field of the wrong type', code: 'BAD_FRAME', payloads: (s) => [hello(s, { lastSyncNo: -1 })] },
    { name: 'an unknown message type', code: 'UNKNOWN_TYPE', payloads: () => [lengthPrefixed('{"type":"rm -rf"}')] },
    { name: 'a wrong protocol version', code: 'VERSION_MISMATCH', payloads: (s) => [hello(s, { version: PROTOCOL_VERSION + 1 })] },
    { name: 'a wrong token', code: 'AUTH_FAILED', payloads: (s) => [hello(s, { token: 'x'.repeat(43) })] },
    { name: 'an unknown account', code: 'AUTH_FAILED', payloads: (s) => [hello(s, { accountId: 'mallory' })] },
    { name: 'an action before hello', code: 'OUT_OF_ORDER', payloads: () => [encodeFrame({ type: 'action', seq: 1, action: { kind: 'destroy', phoneId: 1 } })] },
    { name: 'a swap in an initial sync', code: 'OUT_OF_ORDER', payloads: (s) => [hello(s), encodeFrame({ type: 'swap' })] },
    { name: 'an action without beginInitial', code: 'OUT_OF_ORDER', payloads: (s) => [hello(s), encodeFrame({ type: 'action', seq: 1, action: { kind: 'destroy', phoneId: 1 } })] },
    { name: 'a body on a message that carries none', code: 'BAD_FRAME', payloads: () => [Buffer.concat([lengthPrefixed('{"type":"swap"}'), Buffer.from('extra')])] },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.code}, store unchanged`, async () => {
      const outcome = await exchange(system.serverUrl, c.payloads(system));
      expect(outcome.errorCode).toBe(c.code);
      expect(outcome.closeCode).toBe(closeCodeOf(c.code));
      expect(await snapshot(system)).toBe(before);
    });
  }

  it(`a frame above ${LIMITS.maxFrameBytes} bytes → FRAME_TOO_LARGE (close 1009), store unchanged`, async () => {
    const outcome = await exchange(system.serverUrl, [Buffer.alloc(LIMITS.maxFrameBytes + 1)]);
    expect(outcome.closeCode).toBe(closeCodeOf('FRAME_TOO_LARGE'));
    expect(await snapshot(system)).toBe(before);
  });

  it('after all of that, a real sync still works', async () => {
    const summary = await system.sync();
    expect(summary.insertedOnDesktop).toBe(1);
    expect((await system.desktop.labels()).sort()).toEqual(['D1', 'P1', 'P2']);
    await expectWindowInvariant(system, 3);
  });
});

function lengthPrefixed(json: string): Buffer {
  const header = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(header.length, 0);
  return Buffer.concat([prefix, header]);
}
