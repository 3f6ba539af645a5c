/**
 * Issue 18: real-world mail that no one on this project wrote (testkit
 * corpus.ts: CPython's and enmime's MIME test messages, every 12th message
 * of the SpamAssassin "easy ham" corpus — 327 messages) goes through the
 * real system both ways:
 *
 * - desktop → phone: each message APPENDed to the desktop INBOX, one sync;
 * - phone → desktop: each message sent to the phone address by real SMTP,
 *   one sync (a second system, so that the two copies of a message never
 *   meet: pairing copies is the identity tests' subject).
 *
 * Every message must arrive exactly once, byte for byte (in the canonical
 * CRLF form the store keeps, and — through SMTP — ending with a line break,
 * as DATA must: RFC 5321 §4.1.1.4), and the phone API must list it and
 * render it through `GET /api/v1/messages/{id}` and `/view`. Through SMTP,
 * a message that is the same message as one sent before it (identity.ts:
 * the same fingerprint and content digest — enmime's bad-header-start.raw
 * and empty-header.raw differ only by a space before the first field) is
 * that message arriving again: it is stored once (docs/identity.md).
 *
 * Messages that fail for reasons outside the parser are listed in
 * KNOWN_FAILURES with the reason; the test fails if one of them starts to
 * pass, so the list cannot outlive the bug.
 */
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentDigestOfRaw, fingerprintOfRaw, toCrlf } from '@twinbox/protocol';
import { TwinboxSystem, loadCorpus, type CorpusMessage } from '@twinbox/testkit';

const CORPUS = loadCorpus({ hamEvery: 12 });

/** name → why it fails today (and whose finding it is). */
const KNOWN_FAILURES: Record<string, string> = {};

type Direction = 'desktop → phone' | 'phone → desktop';

/** What the store holds of a message (CRLF); through SMTP also with the final line break DATA requires. */
function expectedBytes(m: CorpusMessage, direction: Direction): Buffer {
  const crlf = toCrlf(m.raw);
  if (direction === 'desktop → phone' || crlf.length === 0 || crlf.subarray(-2).equals(Buffer.from('\r\n'))) return crlf;
  return Buffer.concat([crlf, Buffer.from('\r\n')]);
}

const count = (haystack: Buffer[], needle: Buffer) => haystack.filter((b) => b.equals(needle)).length;

const failures = new Map<string, string[]>();
const timings: string[] = [];
async function timed<T>(step: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    timings.push(`${step} ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}
function fail(m: CorpusMessage, direction: Direction, problem: string): void {
  failures.set(m.name, [...(failures.get(m.name) ?? []), `${direction}: ${problem}`]);
}

async function phoneRaws(system: TwinboxSystem): Promise<{ id: number; raw: Buffer }[]> {
  const raws: { id: number; raw: Buffer }[] = [];
  for (const m of (await system.store.messages.list('user1', 'inbox')).sort((a, b) => a.id - b.id)) raws.push({ id: m.id, raw: (await system.store.messages.raw('user1', m.id))! });
  return raws;
}

describe(`real-world mail (${CORPUS.length} messages) through the real system`, () => {
  afterAll(() => {
    const lines = [...failures].map(([name, problems]) => `  ${name}${KNOWN_FAILURES[name] ? ' (known)' : ''}: ${problems.join('; ')}`);
    console.log(`corpus: ${CORPUS.length} messages, ${failures.size} failed${lines.length ? `:\n${lines.join('\n')}` : ''}\n  ${timings.join(', ')}`);
  });

  describe('desktop → phone: APPEND to the desktop INBOX, one sync', () => {
    let system: TwinboxSystem;
    let token: string;
    let desktopCopies: Buffer[] = [];

    beforeAll(async () => {
      system = await TwinboxSystem.start({ window: CORPUS.length + 10 });
      await system.sync();
      const start = Date.UTC(2024, 0, 1);
      await timed('APPEND', async () => {
        for (const [i, m] of CORPUS.entries()) await system.desktop.appendRaw(m.raw, new Date(start + i * 60_000));
      });
      desktopCopies = await system.desktop.sources('INBOX');
      await timed('sync desktop → phone', () => system.sync());
      token = await system.addDevice();
    }, 600_000);
    afterAll(async () => system?.stop());

    it('every message is on the phone exactly once, byte for byte', async () => {
      expect(desktopCopies).toHaveLength(CORPUS.length);
      const onPhone = (await phoneRaws(system)).map((m) => m.raw);
      for (const [i, m] of CORPUS.entries()) {
        const expected = expectedBytes(m, 'desktop → phone');
        if (!desktopCopies[i]!.equals(expected)) fail(m, 'desktop → phone', 'the desktop IMAP server holds other bytes than APPENDed');
        const copies = count(onPhone, desktopCopies[i]!);
        if (copies !== 1) fail(m, 'desktop → phone', `on the phone ${copies} times`);
      }
      expect(onPhone.length).toBeLessThanOrEqual(CORPUS.length);
    });

    it('the phone lists every one and renders it (message and view)', () =>
    timed('list and render', async () => {
      const listed = await system.api('GET', '/api/v1/folders/inbox', token);
      expect(listed.status).toBe(200);
      const ids = new Set((listed.json.messages as { id: number }[]).map((m) => m.id));
      for (const { id, raw } of await phoneRaws(system)) {
        const m = CORPUS.find((c) => expectedBytes(c, 'desktop → phone').equals(raw));
        const name = m ?? { name: `phone message ${id}`, raw };
        if (!ids.has(id)) fail(name, 'desktop → phone', 'not in the Inbox list');
        const message = await system.api('GET', `/api/v1/messages/${id}`, token);
        if (message.status !== 200 || typeof message.json?.subject !== 'string') fail(name, 'desktop → phone', `GET message answered ${message.status}`);
        const view = await system.api('GET', `/api/v1/messages/${id}/view`, token);
        if (view.status !== 200 || !view.raw.toString('utf8').startsWith('<!doctype html>')) fail(name, 'desktop → phone', `GET view answered ${view.status}`);
      }
    }));
  });

  describe('phone → desktop: SMTP to the phone address, one sync', () => {
    let system: TwinboxSystem;
    let phoneCopies: Buffer[] = [];

    beforeAll(async () => {
      system = await TwinboxSystem.start({ window: CORPUS.length + 10 });
      await system.sync();
      // One SMTP connection for all of them, as a mail server would deliver a batch.
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: system.smtpPort, secure: false, ignoreTLS: true, pool: true, maxConnections: 1, maxMessages: Infinity });
      try {
        await timed('SMTP', async () => {
          for (const m of CORPUS) {
            await transport.sendMail({ envelope: { from: 'corpus@example.test', to: ['user1@phone.invalid'] }, raw: m.raw }).catch((err: Error) => fail(m, 'phone → desktop', `SMTP refused it: ${err.message}`));
          }
        });
      } finally {
        transport.close();
      }
      phoneCopies = (await phoneRaws(system)).map((m) => m.raw);
      await timed('sync phone → desktop', () => system.sync());
    }, 600_000);
    afterAll(async () => system?.stop());

    it('every message is stored on the phone once, byte for byte, and reaches the desktop once', async () => {
      const onDesktop = await system.desktop.sources('INBOX');
      // The first message of each identity is the one stored; a later one that is the same message arrives as it.
      const firstOfIdentity = new Map<string, CorpusMessage>();
      for (const m of CORPUS) {
        const raw = toCrlf(m.raw);
        const identity = `${fingerprintOfRaw(raw)} ${contentDigestOfRaw(raw)}`;
        const first = firstOfIdentity.get(identity);
        if (!first) firstOfIdentity.set(identity, m);
        const expected = expectedBytes(first ?? m, 'phone → desktop');
        const stored = count(phoneCopies, expected);
        if (stored !== 1) fail(m, 'phone → desktop', `stored on the phone ${stored} times`);
        const copies = count(onDesktop, expected);
        if (copies !== 1) fail(m, 'phone → desktop', `on the desktop ${copies} times`);
      }
      expect(onDesktop.length).toBeLessThanOrEqual(CORPUS.length);
    });
  });

  it('no message fails but the known failures, and every known failure still fails (the list cannot rot)', () => {
    const failed = Object.fromEntries([...failures].map(([name, problems]) => [name, problems.join('; ')]));
    expect(Object.keys(failed).sort()).toEqual(Object.keys(KNOWN_FAILURES).sort());
  });
});
