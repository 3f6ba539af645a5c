import { describe, expect, it } from 'vitest';
import { deriveListFields } from './list-fields.js';

const mail = (head: string, body: string) => Buffer.from(`${head}\r\n\r\n${body}`, 'latin1');
const previewOf = (raw: Buffer) => deriveListFields(raw).preview;

describe('the preview line', () => {
  it('takes the start of a plain body, on one line, without quoted lines', () => {
    expect(previewOf(mail('Subject: x', 'Hello Ann,\r\n\r\n> quoted\r\nsee you at 10.'))).toBe('Hello Ann, see you at 10.');
  });

  it('decodes quoted-printable in the part charset', () => {
    const head = 'Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable';
    expect(previewOf(mail(head, 'Gr=FC=DFe aus K=F6ln, =\r\nbis bald'))).toBe('Grüße aus Köln, bis bald');
  });

  it('prefers text/plain in a multipart/alternative and skips attachments', () => {
    const body = [
      '--b1', 'Content-Type: text/html', '', '<p>html part</p>',
      '--b1', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64', '', Buffer.from('plain part ✓').toString('base64'),
      '--b1--', '',
    ].join('\r\n');
    expect(previewOf(mail('Content-Type: multipart/alternative; boundary="b1"', body))).toBe('plain part ✓');
    const withFile = ['--b2', 'Content-Type: text/plain', 'Content-Disposition: attachment; filename=a.txt', '', 'file text', '--b2--'].join('\r\n');
    expect(previewOf(mail('Content-Type: multipart/mixed; boundary=b2', withFile))).toBe('');
  });

  it('strips tags, styles and entities from an HTML-only body and cuts long text', () => {
    const html = `<html><head><style>p{color:red}</style></head><body><p>Tom &amp; Jerry&nbsp;&#8212; ${'word '.repeat(60)}</p><script>x()</script></body></html>`;
    const preview = previewOf(mail('Content-Type: text/html; charset=utf-8', html));
    expect(preview.startsWith('Tom & Jerry — word word')).toBe(true);
    expect(preview.length).toBe(160);
    expect(preview.endsWith('…')).toBe(true);
  });

  it('shows a code point no character has as U+FFFD instead of failing the insert (issue 18, finding 2)', () => {
    const derived = deriveListFields(mail('Content-Type: text/html', '<p>x &#99999999; y &#x110000; z &#55296;</p>'));
    expect(derived).toMatchObject({ preview: 'x \ufffd y \ufffd z \ufffd', problems: [] });
  });

  it('follows nested multiparts and reads a part whose closing boundary is missing', () => {
    const body = ['--a', 'Content-Type: multipart/alternative; boundary=b', '', '--b', 'Content-Type: text/plain', '', 'inner text', '--b', ''].join('\r\n');
    expect(previewOf(mail('Content-Type: multipart/mixed; boundary=a', body))).toBe('inner text');
  });
});

describe('subject and sender, as a mail app shows them (issue 18, finding 12)', () => {
  it('decodes RFC 2047 encoded words, in any charset, in both', () => {
    const derived = deriveListFields(mail('From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <jorg@example.test>\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?= =?ISO-8859-1?Q?aus_K=F6ln?=', 'x'));
    expect(derived).toMatchObject({ subject: 'Grüßeaus Köln', from: 'Jörg Müller <jorg@example.test>' });
  });

  it('reads raw UTF-8 header bytes as UTF-8 (RFC 6532), other 8-bit bytes as Windows-1252', () => {
    expect(deriveListFields(Buffer.from('Subject: Grüße aus Köln\r\nFrom: Jörg <j@x>\r\n\r\nx', 'utf8'))).toMatchObject({ subject: 'Grüße aus Köln', from: 'Jörg <j@x>' });
    expect(deriveListFields(Buffer.from('Subject: caf\xe9\r\n\r\nx', 'latin1')).subject).toBe('café');
  });

  it('unfolds, keeps one line and never lets an encoded name forge another address', () => {
    const derived = deriveListFields(mail('Subject: a long\r\n\tsubject\r\nFrom: =?utf-8?q?Bank=2C_=3Cceo@bank.test=3E?= <thief@evil.test>', 'x'));
    expect(derived.subject).toBe('a long subject');
    expect(derived.from).toBe('"Bank, <ceo@bank.test>" <thief@evil.test>');
  });

  it('falls back to the value as it is where nothing decodes, and cuts what is too long', () => {
    expect(deriveListFields(mail('Subject: =?x-unknown?B?////?= plain\r\nFrom: <<<>>>', 'x'))).toMatchObject({ from: '<<<>>>' });
    expect(deriveListFields(mail(`Subject: ${'x'.repeat(5000)}`, 'x')).subject).toHaveLength(1000);
  });
});

describe('hostile messages (issue 18): the fields are derived in bounded time, never an exception', () => {
  const hostile: Record<string, Buffer> = {
    lt: mail('Content-Type: text/html', '<'.repeat(250_000)),
    anchor: mail('Content-Type: text/html', '<a'.repeat(125_000)),
    deep: mail('Content-Type: text/html', '<div>'.repeat(50_000)),
    parts: mail('Content-Type: multipart/mixed; boundary=b', '--b\r\n\r\n'.repeat(30_000)),
    nested: mail('Content-Type: multipart/mixed; boundary=b', '--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n'.repeat(5000)),
    words: mail(`Subject: ${'=?utf-8?b?w6k=?= '.repeat(15_000)}\r\nFrom: ${'"'.repeat(100_000)}`, 'x'),
    headerOnly: Buffer.from(`Subject: ${'a'.repeat(1_000_000)}`),
    empty: Buffer.alloc(0),
  };
  for (const [name, raw] of Object.entries(hostile)) {
    it(name, () => {
      const started = performance.now();
      const derived = deriveListFields(raw);
      expect(derived.problems).toEqual([]);
      expect(performance.now() - started).toBeLessThan(2000);
    });
  }
});
