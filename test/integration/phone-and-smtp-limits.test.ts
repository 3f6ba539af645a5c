/**
 * Issue 18.13, limits where they were missing, against the server process:
 *
 * - inbound SMTP counts connections per source as the HTTPS gate does: an
 *   IPv4 address, an IPv6 /64 (one host usually holds a whole /64, so a
 *   sender cannot take ten slots per address of its /64);
 * - live event streams (GET /api/v1/events) are capped per device: one more
 *   than `phone.maxEventStreamsPerDevice` (5) closes the device's oldest
 *   with `closed` / TOO_MANY_STREAMS; the others and other devices go on;
 * - a config mistake is `CONFIG` and exit status 1, as in the agent.
 *
 * The IPv6 test adds two documentation-prefix (/128) addresses to `lo` for its
 * run (root only; skipped, saying so, where that is not allowed).
 */
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_CLI, SERVER_CLI, TwinboxSystem, makeMessage } from '@twinbox/testkit';

/** Connect from `localAddress` to the server's SMTP port on ::1; the greeting's code. */
function smtpFrom(port: number, localAddress: string): Promise<{ code: number; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '::1', port, localAddress });
    socket.setEncoding('latin1');
    let text = '';
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\r\n')) resolve({ code: Number(text.slice(0, 3)), socket });
    });
    socket.once('error', reject);
  });
}

function ip(args: string[]): Promise<boolean> {
  return new Promise((resolve) => execFile('ip', args, (error) => resolve(!error)));
}

/** A live event stream of the phone API: the text received so far, and when it ended. */
class EventStream {
  text = '';
  ended = false;
  private readonly waiters: (() => void)[] = [];

  static open(port: number, token: string): Promise<EventStream> {
    const stream = new EventStream();
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/api/v1/events', rejectUnauthorized: false, agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`events: HTTP ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          stream.text += chunk;
          if (stream.text.includes('event: hello')) resolve(stream);
          stream.wake();
        });
        res.on('close', () => {
          stream.ended = true;
          stream.wake();
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Wait until the stream has said `what` (or ended, when `what` is 'end'). */
  async until(what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(what === 'end' ? this.ended : this.text.includes(what))) {
      if (Date.now() > deadline) throw new Error(`the stream did not say ${JSON.stringify(what)} within ${timeoutMs} ms; it said ${JSON.stringify(this.text)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }
}

describe('limits per source and per device', () => {
  let system: TwinboxSystem;
  /** Two addresses of one /64 and one of another, on lo for this run. */
  const prefix = `2001:db8:${randomInt(0x1000, 0xffff).toString(16)}:${randomInt(0x1000, 0xfff0).toString(16)}`;
  const sameA = `${prefix}::a1`;
  const sameB = `${prefix}::b2`;
  const otherNet = `2001:db8:${randomInt(0x1000, 0xffff).toString(16)}:1::c3`;
  const added: string[] = [];

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.stopServer();
    system.editServerConfig((c) => {
      c.smtp.host = '::'; // IPv6 and IPv4 (the test kit delivers over 127.0.0.1)
      c.smtp.maxClientsPerSource = 3;
    });
    await system.startServer();
    for (const address of [sameA, sameB, otherNet]) if (await ip(['-6', 'addr', 'add', `${address}/128`, 'dev', 'lo', 'nodad'])) added.push(address);
  });
  afterAll(async () => {
    for (const address of added) await ip(['-6', 'addr', 'del', `${address}/128`, 'dev', 'lo']);
    await system?.stop();
  });

  it('smtp-counts-an-ipv6-/64-as-one-source: three connections from one address of a /64, a fourth from another of it gets 421; another /64 gets in', async (ctx) => {
    if (added.length < 3) {
      console.log('skipped: cannot add IPv6 addresses to lo here (needs root)');
      return ctx.skip();
    }
    const held = [await smtpFrom(system.smtpPort, sameA), await smtpFrom(system.smtpPort, sameA), await smtpFrom(system.smtpPort, sameA)];
    expect(held.map((h) => h.code)).toEqual([220, 220, 220]);
    const refused = await smtpFrom(system.smtpPort, sameB);
    expect(refused.code).toBe(421);
    refused.socket.destroy();
    const other = await smtpFrom(system.smtpPort, otherNet);
    expect(other.code).toBe(220);
    other.socket.destroy();
    for (const h of held) h.socket.destroy();
    // The slots come back when the connections close.
    await expect.poll(async () => {
      const again = await smtpFrom(system.smtpPort, sameB);
      again.socket.destroy();
      return again.code;
    }).toBe(220);
  });

  it('event-streams-capped-per-device: a sixth stream closes the oldest (TOO_MANY_STREAMS); the other five and another device still hear changes', async () => {
    const token = await system.addDevice();
    const otherDevice = await system.addDevice();
    const streams: EventStream[] = [];
    for (let i = 0; i < 5; i++) streams.push(await EventStream.open(system.port, token));
    await new Promise((r) => setTimeout(r, 300));
    expect(streams.map((s) => s.ended)).toEqual(Array(5).fill(false));

    streams.push(await EventStream.open(system.port, token));
    await streams[0]!.until('end');
    expect(streams[0]!.text).toContain('event: closed\ndata: {"code":"TOO_MANY_STREAMS"');
    expect(streams[0]!.text).toContain('retry: 60000');
    const theirs = await EventStream.open(system.port, otherDevice);

    await system.phoneReceive({ label: 'NEWS' }, makeMessage({ label: 'NEWS' }));
    for (const s of [...streams.slice(1), theirs]) await s.until('event: mailbox');
    expect(streams.slice(1).map((s) => s.ended)).toEqual(Array(5).fill(false));
    expect(streams[0]!.text).not.toContain('event: mailbox');
  });

  it('a-config-mistake-is-CONFIG: the server CLI says so and exits 1, as the agent does', async () => {
    const bad = join(system.dir, 'bad-config.json');
    writeFileSync(bad, JSON.stringify({ database: 'db', listen: { port: 1 }, tls: { key: 'k', cert: 'c' }, phone: { maxEventStreamsPerDevice: 0 } }));
    const run = (cli: string, args: string[]) =>
      new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(process.execPath, [cli, ...args], (error, _out, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stderr })),
      );
    const server = await run(SERVER_CLI, ['account', 'list', '--config', bad]);
    expect(server.code).toBe(1);
    expect(server.stderr).toMatch(/phone\.maxEventStreamsPerDevice must be a positive whole number, not 0 \[CONFIG\]/);
    const missing = await run(SERVER_CLI, ['start', '--config', join(system.dir, 'nowhere.json')]);
    const agentMissing = await run(AGENT_CLI, ['status', '--config', join(system.dir, 'nowhere.json')]);
    expect([missing.code, agentMissing.code]).toEqual([1, 1]);
    expect(missing.stderr).toMatch(/cannot read server config .* \[CONFIG\]/);
    expect(agentMissing.stderr).toMatch(/\[CONFIG\]/);
  });
});
