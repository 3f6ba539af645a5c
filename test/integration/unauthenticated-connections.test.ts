/**
 * Issue 9.5: connections that never log in, peers that stall, peers that do
 * not read. All against the real server process over real TLS sockets.
 *
 * - 1,000 connections that never log in (half after the TLS handshake, half
 *   after the WebSocket upgrade) are all closed at the login deadline, the
 *   WebSocket ones with TIMEOUT; the server's memory while they sit is printed.
 * - A stranger's large frame is never buffered: past the pre-login byte cap
 *   the connection is closed.
 * - One source holds at most maxUnauthenticatedPerSource waiting connections.
 * - An authenticated sync session that stalls is ended with TIMEOUT and the
 *   account's lock released: the next real sync runs.
 * - A peer that asks for 160 MiB of phone messages and does not read them
 *   costs the server a bounded amount of memory.
 */
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PROTOCOL_VERSION, closeCodeOf, decodeServerFrame, encodeFrame, type ClientMessage } from '@twinbox/protocol';
import { MiB, TwinboxSystem, processMemory } from '@twinbox/testkit';

type Limits = Record<string, number>;

async function systemWith(connections: Limits): Promise<TwinboxSystem> {
  const system = await TwinboxSystem.start({ window: 40 });
  await system.stopServer();
  system.editServerConfig((c) => ((c as unknown as { connections: Limits }).connections = connections));
  await system.startServer();
  return system;
}

function tlsOnly(port: number, from: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ socket: netConnect({ host: '127.0.0.1', port, localAddress: from }), rejectUnauthorized: false });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function upgraded(url: string, from: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { rejectUnauthorized: false, localAddress: from });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

const closedTls = (s: TLSSocket) => (s.destroyed ? Promise.resolve() : new Promise<void>((r) => s.once('close', () => r())));
const closedWs = (s: WebSocket) =>
  s.readyState === WebSocket.CLOSED ? Promise.resolve(0) : new Promise<number>((r) => s.once('close', (code) => r(code)));

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))]);
}

const hello = (system: TwinboxSystem, agentId: string): ClientMessage => ({
  type: 'hello', version: PROTOCOL_VERSION, accountId: 'user1', token: system.pairing.token, agentId, syncEpoch: null, lastSyncNo: 0, ackedThrough: 0,
});

describe('connections that never log in, stall, or do not read', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  it('login-deadline: 1,000 connections that never log in are all closed; the WebSocket ones hear TIMEOUT', async () => {
    system = await systemWith({ loginTimeoutSeconds: 10 });
    const before = processMemory(system.serverPid).rssBytes;
    const tls: TLSSocket[] = [];
    const ws: WebSocket[] = [];
    // 50 sources × 20 connections: under the per-source cap, like a botnet rather than one host.
    for (let source = 0; source < 50; source++) {
      const from = `127.0.2.${source + 1}`;
      const opened = await Promise.all([
        ...Array.from({ length: 10 }, () => tlsOnly(system!.port, from)),
        ...Array.from({ length: 10 }, () => upgraded(system!.serverUrl, from)),
      ]);
      tls.push(...(opened.slice(0, 10) as TLSSocket[]));
      ws.push(...(opened.slice(10) as WebSocket[]));
    }
    const codes = ws.map(closedWs);
    const sitting = processMemory(system.serverPid).rssBytes;
    console.log(`server RSS: ${(before / MiB).toFixed(0)} MiB idle, ${(sitting / MiB).toFixed(0)} MiB with 1,000 unauthenticated connections`);
    expect(tls.filter((s) => s.destroyed)).toHaveLength(0);
    await within(40_000, 'all closed', Promise.all([...tls.map(closedTls), ...codes]));
    expect(new Set(await Promise.all(codes))).toEqual(new Set([closeCodeOf('TIMEOUT')]));
    expect(sitting - before).toBeLessThan(200 * MiB);
    // The server is fine afterwards.
    await system.desktop.deliver({ label: 'D1' });
    await system.sync();
    expect(await system.phoneLabels()).toEqual(['D1']);
  }, 120_000);

  it('pre-login-byte-cap: a 16 MiB frame before hello closes the connection; nothing is decoded', async () => {
    system = await systemWith({ maxPreAuthBytes: 64 * 1024 });
    const before = processMemory(system.serverPid);
    const socket = await upgraded(system.serverUrl, '127.0.0.1');
    const closed = closedWs(socket);
    socket.send(Buffer.alloc(16 * MiB, 0x41));
    expect(await within(20_000, 'closed', closed)).toBe(1006);
    const after = processMemory(system.serverPid);
    // Buffering the frame alone would take 16 MiB (decoding it, twice that).
    expect(after.peakRssBytes - Math.max(before.peakRssBytes, before.rssBytes)).toBeLessThan(14 * MiB);
    expect(system.serverLog).not.toMatch(/BAD_FRAME/);
  });

  it('per-source-cap: a source holds at most maxUnauthenticatedPerSource waiting connections; others still get in', async () => {
    system = await systemWith({ maxUnauthenticatedPerSource: 8, loginTimeoutSeconds: 60 });
    const held = await Promise.all(Array.from({ length: 8 }, () => tlsOnly(system!.port, '127.0.3.1')));
    const extra = await tlsOnly(system.port, '127.0.3.1').catch(() => undefined);
    if (extra) await within(5_000, 'the ninth closed', closedTls(extra));
    expect(held.filter((s) => s.destroyed)).toHaveLength(0);
    const other = await tlsOnly(system.port, '127.0.3.2');
    expect(other.destroyed).toBe(false);
    // A logged-in agent from the crowded source is not held back either: it leaves the gate at hello.
    const agent = await upgraded(system.serverUrl, '127.0.3.2');
    agent.send(encodeFrame(hello(system, 'probe')));
    const welcome = await new Promise<string>((r) => agent.once('message', (d: Buffer) => r(String((decodeServerFrame(d) as { frame?: { message: { type: string } } }).frame?.message.type))));
    expect(welcome).toBe('welcome');
    for (const s of [...held, other]) s.destroy();
    agent.terminate();
  });

  it('stalled-session-releases-lock: an agent that goes quiet mid-session is ended with TIMEOUT and the next sync runs', async () => {
    system = await systemWith({ sessionIdleSeconds: 2 });
    const stalled = await upgraded(system.serverUrl, '127.0.0.1');
    const frames: string[] = [];
    stalled.on('message', (d: Buffer) => {
      const decoded = decodeServerFrame(d);
      if (decoded.ok) frames.push(decoded.frame.message.type === 'error' ? `error:${decoded.frame.message.code}` : decoded.frame.message.type);
    });
    stalled.send(encodeFrame(hello(system, 'stalled-agent')));
    expect(await within(20_000, 'stalled session ended', closedWs(stalled))).toBe(closeCodeOf('TIMEOUT'));
    expect(frames).toEqual(['welcome', 'error:TIMEOUT']);
    await system.desktop.deliver({ label: 'D1' });
    const run = await system.runAgent();
    expect(run.code).toBe(0);
    expect(await system.phoneLabels()).toEqual(['D1']);
  });

  it('backpressure: a peer that fetches 160 MiB of phone mail and does not read it costs the server a bounded amount', async () => {
    system = await systemWith({ sessionIdleSeconds: 10 });
    for (let i = 0; i < 32; i++) await system.phoneDeliver({ label: `P${i}`, size: 5 * MiB });
    await system.closeStore();
    const before = processMemory(system.serverPid);
    const reader = await upgraded(system.serverUrl, '127.0.0.1');
    const next = () => new Promise<{ type: string; messages?: { phoneId: number }[] }>((r) => reader.once('message', (d: Buffer) => r((decodeServerFrame(d) as { ok: true; frame: { message: { type: string } } }).frame.message)));
    reader.send(encodeFrame(hello(system, 'slow-reader')));
    expect((await next()).type).toBe('welcome');
    reader.send(encodeFrame({ type: 'beginInitial', syncEpoch: 'e1' }));
    const list = await next();
    expect(list.messages).toHaveLength(32);
    reader.pause(); // read nothing more
    reader.send(encodeFrame({ type: 'fetchPhone', phoneIds: list.messages!.map((m) => m.phoneId) }));
    await new Promise((r) => setTimeout(r, 4000));
    const stalled = processMemory(system.serverPid);
    console.log(`server peak RSS ${(before.peakRssBytes / MiB).toFixed(0)} → ${(stalled.peakRssBytes / MiB).toFixed(0)} MiB with 160 MiB asked for and not read`);
    // Without backpressure this grew by more than 200 MiB; with it, one frame and the 8 MiB send buffer (and GC slack).
    expect(stalled.peakRssBytes - Math.max(before.peakRssBytes, before.rssBytes)).toBeLessThan(100 * MiB);
    const ended = closedWs(reader);
    reader.resume();
    expect(await within(30_000, 'session ended', ended)).not.toBe(1000);
    // The account is free again and a real agent syncs all 32.
    const run = await system.runAgent();
    expect(run.code).toBe(0);
  }, 120_000);
});
