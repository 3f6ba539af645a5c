import { describe, expect, it } from 'vitest';
import { mimeLeaves, topHeaderFields } from './mime-parts.js';

const crlf = (s: string) => Buffer.from(s.replace(/\n/g, '\r\n'), 'latin1');
const leaves = (raw: Buffer) => mimeLeaves(raw).leaves.map((l) => [l.type, l.body.toString('latin1')]);

describe('mimeLeaves', () => {
  it('a message without MIME headers is one text/plain part', () => {
    expect(leaves(crlf('Subject: x\n\nhello\n'))).toEqual([['text/plain', 'hello\r\n']]);
    expect(mimeLeaves(crlf('Subject: x\n\nhello\n')).headers.get('subject')).toBe('x');
  });

  it('walks nested multiparts depth first, preamble and epilogue left out, LF or CRLF', () => {
    for (const convert of [crlf, (s: string) => Buffer.from(s, 'latin1')]) {
      const raw = convert(
        'Content-Type: multipart/mixed; boundary="outer"\n\npreamble\n--outer\nContent-Type: multipart/alternative; boundary=inner\n\n--inner\nContent-Type: text/plain\n\nplain\n--inner\nContent-Type: text/html\n\n<p>html</p>\n--inner--\n--outer\nContent-Type: image/png\n\nPNG\n--outer--\nepilogue\n',
      );
      expect(leaves(raw)).toEqual([['text/plain', 'plain'], ['text/html', '<p>html</p>'], ['image/png', 'PNG']]);
    }
  });

  it('reads what it can of broken structure: no closing boundary, no boundary parameter, a boundary that is a prefix of another', () => {
    expect(leaves(crlf('Content-Type: multipart/mixed; boundary=a\n\n--a\n\nopen part\n'))).toEqual([['text/plain', 'open part\r\n']]);
    expect(leaves(crlf('Content-Type: multipart/mixed\n\n--a\n\nx\n'))).toEqual([]);
    expect(leaves(crlf('Content-Type: multipart/mixed; boundary=a\n\n--a\n\none\n--ab\n--a--\n'))).toEqual([['text/plain', 'one\r\n--ab']]);
  });

  it('reads no further than its prefix, and the top header fields the same way', () => {
    const raw = Buffer.concat([crlf('Subject: big\n\n'), Buffer.alloc(1_000_000, 0x61)]);
    expect(mimeLeaves(raw).leaves[0]!.body.length).toBeLessThan(300 * 1024);
    expect(topHeaderFields(raw).get('subject')).toBe('big');
  });
});
