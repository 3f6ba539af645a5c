import { describe, expect, it } from 'vitest';
import { MAIL_LIMITS } from '../mail/limits.js';
import { viewDocument } from './message-view.js';
import { attachmentOf, defuseLineBreakRuns, renderMessage, withParsedFieldsOnly } from './render.js';

const crlf = (s: string) => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'utf8');
const warnings: string[] = [];
const log = { error: () => undefined, warn: (message: string) => void warnings.push(message), info: () => undefined, debug: () => undefined };

describe('renderMessage', () => {
  it('shows headers decoded as the lists show them, and an HTML-only message has the text of its HTML', async () => {
    const raw = crlf('From: =?UTF-8?Q?J=C3=B6rg?= <j@x>\nTo: a@x, =?UTF-8?B?QsOp?= <b@x>\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\nContent-Type: text/html; charset=utf-8\n\n<p>Hello &amp; welcome</p><script>x()</script>\n');
    const rendered = await renderMessage(raw);
    expect(rendered).toMatchObject({ subject: 'Grüße', from: 'Jörg <j@x>', to: 'a@x, Bé <b@x>', cc: '', clipped: false });
    expect(rendered.text.trim()).toBe('Hello & welcome');
    expect(rendered.html).toContain('<p>Hello &amp; welcome</p>');
  });

  it('clips HTML that is too long or nests too deep, and the view says so', async () => {
    const deep = await renderMessage(crlf(`Content-Type: text/html\n\n${'<div>'.repeat(50_000)}x\n`));
    expect(deep.clipped).toBe(true);
    expect(deep.html!.length).toBe('<div>'.length * 400);
    const long = await renderMessage(crlf(`Content-Type: text/html\n\n<p>${'word '.repeat(200_000)}</p>\n`));
    expect(long.clipped).toBe(true);
    expect(long.html!.length).toBeLessThanOrEqual(MAIL_LIMITS.viewHtmlChars);
    expect(viewDocument(long, false)).toContain('longer than the phone shows');
  });

  it('makes cid: references to its own images data: URLs, and leaves others', async () => {
    const raw = crlf(
      'Content-Type: multipart/related; boundary=b\n\n--b\nContent-Type: text/html\n\n<img src="cid:logo@x"><img src="cid:other@x">\n--b\nContent-Type: image/png\nContent-ID: <logo@x>\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--b--\n',
    );
    const rendered = await renderMessage(raw, { inlineImages: true });
    expect(rendered.html).toContain('src="data:image/png;base64,iVBORw0KGgo="');
    expect(rendered.html).toContain('src="cid:other@x"');
  });

  it('shows a message mailparser refuses (more than 1,000 parts) as the start of its source, with a log line', async () => {
    const raw = crlf(`Subject: many parts\nContent-Type: multipart/mixed; boundary=b\n\n${'--b\nContent-Type: text/plain\n\nx\n'.repeat(1500)}--b--\n`);
    warnings.length = 0;
    const rendered = await renderMessage(raw, { log });
    expect(rendered).toMatchObject({ subject: 'many parts', html: null, attachments: [] });
    expect(rendered.text.startsWith('Subject: many parts')).toBe(true);
    expect(warnings).toEqual(['message shown as its source: mailparser refused it']);
    expect(await attachmentOf(raw, 0, log)).toBeUndefined();
  });

  it('parses a header with a long run of bare CRs in linear time (mailparser alone is quadratic on it)', async () => {
    const raw = Buffer.concat([Buffer.from('Subject: x\r\nX-Junk: a'), Buffer.alloc(250_000, 0x0d), Buffer.from('b\r\n\r\nbody\r\n')]);
    const started = performance.now();
    const rendered = await renderMessage(raw);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(rendered).toMatchObject({ subject: 'x', text: 'body\n' });
    const short = Buffer.from('a\r\r\nb\r\n\r\n');
    expect(defuseLineBreakRuns(short)).toBe(short);
    expect(defuseLineBreakRuns(Buffer.from(`a${'\r'.repeat(40)}\r\nb`)).toString()).toBe(`a${' '.repeat(40)}\r\nb`);
  });

  it('hands mailparser only the top header fields it is used for; a Cc of 50,000 addresses costs nothing', async () => {
    const head = 'Received: x\r\nCc: a@x,\r\n b@x\r\nDate: Tue, 1 Oct 2024 12:00:00 +0000\r\nContent-Type: text/plain;\r\n\tcharset=utf-8\r\nSubject: s\r\n';
    expect(withParsedFieldsOnly(Buffer.from(`${head}\r\nX-Not: a header\r\n`)).toString()).toBe('Date: Tue, 1 Oct 2024 12:00:00 +0000\r\nContent-Type: text/plain;\r\n\tcharset=utf-8\r\n\r\nX-Not: a header\r\n');
    expect(withParsedFieldsOnly(Buffer.from('Subject: s\nDate: d\n\nbody')).toString()).toBe('Date: d\n\nbody');
    const raw = Buffer.from(`Cc: ${'x@y, '.repeat(50_000)}\r\nDate: Tue, 1 Oct 2024 12:00:00 +0000\r\n\r\nbody\r\n`);
    const started = performance.now();
    const rendered = await renderMessage(raw);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(rendered).toMatchObject({ date: '2024-10-01T12:00:00.000Z', text: 'body\n' });
    expect(rendered.cc.startsWith('x@y, x@y')).toBe(true);
  });
});
