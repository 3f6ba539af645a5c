/**
 * Fuzzing what the server derives from a stored message (issue 18): real
 * messages (testkit corpus.ts: CPython's, enmime's and SpamAssassin's, 2,529
 * of them) cut, spliced, with bytes flipped, runs of hostile text inserted
 * (`<`, `<a`, `<div>`, entities, encoded words, boundaries, NUL) or header
 * values replaced, then
 *
 *   - stored through the phone mailbox, as inbound SMTP stores (a real,
 *     in-memory store): stored whole — the bytes, the list fields and the
 *     desktop's `insert` together — or, when the transaction fails at its
 *     last step, not at all: never half a message;
 *   - the list fields derived without a fallback (no parser threw), on one
 *     line, bounded, valid UTF-16;
 *   - the message view rendered (mailparser, the clipped HTML, the
 *     sanitizer) without an error;
 *   - each step in bounded time: the time per KB is measured and printed,
 *     and only a generous bound asserted.
 *
 * Budget: TWINBOX_FUZZ_RUNS / 20 messages (100 in `npm test`, 10,000 under
 * `npm run fuzz`). The property is asynchronous and gives the event loop a
 * turn before each run (finding 13: a loop that never yields starves
 * vitest's worker RPC).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { imapSafe, toCrlf } from '@twinbox/protocol';
import { corpusAvailable, loadCorpus } from '@twinbox/testkit';
import { PhoneMailbox } from '../phone/phone-mailbox.js';
import { viewDocument } from '../phone/message-view.js';
import { renderMessage } from '../phone/render.js';
import { ServerStore } from '../store/index.js';
import { MAIL_LIMITS } from './limits.js';
import { deriveListFields } from './list-fields.js';

const RUNS = Math.max(1, Math.floor(Number(process.env.TWINBOX_FUZZ_RUNS ?? 2000) / 20));
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Generous: a step that takes this long on any mutated message is a stall, not noise. */
const DERIVE_BOUND_MS = 1000;
const RENDER_BOUND_MS = 3000;
const LARGEST = 2 * 1024 * 1024;

const BUILT_IN = [
  'From: a@x\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>html &amp; more</p>\r\n--b--\r\n',
  'From: b@x\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<div>K=F6ln</div>\r\n',
].map((text, i) => ({ name: `built-in ${i}`, raw: Buffer.from(text, 'latin1') }));
const SEEDS = corpusAvailable() ? loadCorpus() : BUILT_IN;

const HOSTILE = ['<', '<a', '<div>', '<p>x', '&#99999999;', '&#x110000;', '&', '=?utf-8?b?', '=?x?q?=ZZ?=', '\r\n--b\r\n', '\r\n\r\n', '\0', '\r', '=', '"', '(', '<<', '>', 'url(', ' ', 'é', '\u{1F600}', '\r\n ', '\r\r\n', '\n', ':', '\t', 'x@y, ', '; a*0*=%41'];
const FIELDS = ['Subject', 'From', 'To', 'Cc', 'Date', 'References', 'Content-Type', 'Content-Transfer-Encoding', 'Content-Disposition', 'Message-ID'];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...HOSTILE), times: fc.integer({ min: 1, max: 60_000 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }), times: fc.integer({ min: 2, max: 5000 }) }),
  fc.record({ kind: fc.constant('splice' as const), other: fc.nat(), at: fc.nat() }),
  fc.record({ kind: fc.constant('header' as const), field: fc.constantFrom(...FIELDS), text: fc.constantFrom(...HOSTILE), times: fc.integer({ min: 1, max: 20_000 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(raw: Buffer, m: Mutation): Buffer {
  const at = raw.length === 0 ? 0 : m.kind === 'header' || m.kind === 'splice' ? 0 : m.at % (raw.length + 1);
  switch (m.kind) {
    case 'flip': {
      const copy = Buffer.from(raw);
      if (copy.length > 0) copy[at % copy.length] = m.value;
      return copy;
    }
    case 'cut':
      return raw.subarray(0, at);
    case 'insert':
      return Buffer.concat([raw.subarray(0, at), Buffer.from(m.text.repeat(m.times), 'utf8'), raw.subarray(at)]);
    case 'repeat':
      return Buffer.concat([raw.subarray(0, at), ...Array<Buffer>(m.times).fill(raw.subarray(at, at + m.length)), raw.subarray(at)]);
    case 'splice': {
      const other = SEEDS[m.other % SEEDS.length]!.raw;
      return Buffer.concat([raw.subarray(0, m.at % (raw.length + 1)), other.subarray(m.at % (other.length + 1))]);
    }
    case 'header':
      return Buffer.concat([Buffer.from(`${m.field}: ${m.text.repeat(m.times)}\r\n`, 'utf8'), raw]);
  }
}

/** One line of text a phone can show: no control characters, no half surrogate pair (it survives UTF-8 unchanged). */
function wellFormed(text: string, max: number): boolean {
  // eslint-disable-next-line no-control-regex
  return text.length <= max && !/[\u0000-\u001f\u007f-\u009f]/.test(text) && Buffer.from(text, 'utf8').toString('utf8') === text;
}

const measured = { messages: 0, kb: 0, deriveMs: 0, worstDeriveMsPerKb: 0, worstDeriveMs: 0, renderMs: 0, worstRenderMs: 0 };

describe('derived fields of mutated real-world mail', () => {
  afterAll(() => {
    const m = measured;
    console.log(
      `mail derivation fuzz: ${m.messages} messages from ${SEEDS.length} seeds, ${Math.round(m.kb)} KB; ` +
        `list fields ${((m.deriveMs * 1000) / Math.max(1, m.kb)).toFixed(1)} µs/KB on average, worst ${m.worstDeriveMs.toFixed(1)} ms (${(m.worstDeriveMsPerKb * 1000).toFixed(0)} µs/KB); ` +
        `view ${((m.renderMs * 1000) / Math.max(1, m.kb)).toFixed(1)} µs/KB on average, worst ${m.worstRenderMs.toFixed(0)} ms`,
    );
  });

  it('are stored whole or not at all, derived without a fallback, and rendered, in bounded time', async () => {
    const input = fc.record({ seed: fc.nat(), mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }), failAtLastStep: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(input, async ({ seed, mutations, failAtLastStep }) => {
        await breathe();
        let raw = SEEDS[seed % SEEDS.length]!.raw;
        for (const m of mutations) raw = mutate(raw, m).subarray(0, LARGEST);
        const kb = Math.max(1, raw.length / 1024);

        // Derived from the message as the store keeps it (CRLF, IMAP-safe: docs/identity.md).
        const kept = imapSafe(toCrlf(raw));
        let started = performance.now();
        const derived = deriveListFields(kept);
        const deriveMs = performance.now() - started;
        expect(derived.problems).toEqual([]);
        expect(wellFormed(derived.subject, MAIL_LIMITS.subjectChars)).toBe(true);
        expect(wellFormed(derived.from, MAIL_LIMITS.fromChars)).toBe(true);
        expect(wellFormed(derived.preview, MAIL_LIMITS.previewChars)).toBe(true);
        expect(deriveMs).toBeLessThan(DERIVE_BOUND_MS);

        // Stored the way inbound SMTP stores it; the transaction's last step (the desktop's insert) fails on some runs.
        const store = await ServerStore.open(':memory:');
        try {
          await store.accounts.add({ id: 'a', desktopAddress: 'a@x', window: 3 });
          if (failAtLastStep) {
            store.actions.append = async () => {
              throw new Error('the disk is full');
            };
          }
          let id: number | undefined;
          try {
            id = await new PhoneMailbox(store, 'a').deliver({ raw });
          } catch (err) {
            expect(failAtLastStep, String(err)).toBe(true);
          }
          const rows = await store.engine.all<{ id: number; raw: Buffer; subject: string; from: string; preview: string }>('SELECT id, raw, subject, from_addr AS "from", preview FROM messages');
          if (failAtLastStep) {
            expect(rows).toEqual([]);
          } else {
            expect(rows.map((r) => ({ ...r, raw: r.raw.equals(kept) }))).toEqual([{ id, raw: true, subject: derived.subject, from: derived.from, preview: derived.preview }]);
            expect((await store.actions.pending('a')).map((a) => [a.kind, a.phoneId])).toEqual([['insert', id]]);
          }
        } finally {
          await store.close();
        }

        started = performance.now();
        const rendered = await renderMessage(toCrlf(raw), { inlineImages: true });
        viewDocument(rendered, false);
        const renderMs = performance.now() - started;
        expect(renderMs).toBeLessThan(RENDER_BOUND_MS);

        measured.messages++;
        measured.kb += kb;
        measured.deriveMs += deriveMs;
        measured.worstDeriveMs = Math.max(measured.worstDeriveMs, deriveMs);
        measured.worstDeriveMsPerKb = Math.max(measured.worstDeriveMsPerKb, deriveMs / kb);
        measured.renderMs += renderMs;
        measured.worstRenderMs = Math.max(measured.worstRenderMs, renderMs);
      }),
      { numRuns: RUNS },
    );
  });
});
