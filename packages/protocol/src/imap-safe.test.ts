import { describe, expect, it } from 'vitest';
import { imapSafe, needsImapSafe } from './imap-safe.js';
import { contentDigestOfRaw, digestMatches } from './identity.js';

const crlf = (s: string) => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'latin1');

/** The decoded body of a part, as a reader would see it. */
function decodedBody(part: string): Buffer {
  const [head, ...rest] = part.split('\r\n\r\n');
  const body = rest.join('\r\n\r\n');
  return /content-transfer-encoding:\s*base64/i.test(head!) ? Buffer.from(body, 'base64') : Buffer.from(body, 'latin1');
}

describe('imapSafe (issue 18.8: bytes IMAP can carry)', () => {
  it('leaves a message without NUL untouched (the same buffer)', () => {
    const raw = crlf('Subject: plain\n\nhello\n');
    expect(imapSafe(raw)).toBe(raw);
    expect(needsImapSafe(raw)).toBe(false);
  });

  it('re-encodes a single-part body with NUL as base64, keeping the other header fields', () => {
    const raw = Buffer.concat([crlf('From: a@b\nSubject: nul\nContent-Transfer-Encoding: 8bit\n\nhello'), Buffer.from([0, 0xe9]), crlf('world\n')]);
    const safe = imapSafe(raw);
    expect(needsImapSafe(safe)).toBe(false);
    const text = safe.toString('latin1');
    expect(text).toContain('From: a@b\r\nSubject: nul\r\nContent-Transfer-Encoding: base64\r\n\r\n');
    expect(text).not.toMatch(/8bit/);
    expect(decodedBody(text)).toEqual(Buffer.concat([Buffer.from('hello'), Buffer.from([0, 0xe9]), Buffer.from('world\r\n')]));
  });

  it('re-encodes only the NUL-carrying part of a multipart message; delimiters, preamble and epilogue stay', () => {
    const raw = Buffer.concat([
      crlf('Content-Type: multipart/mixed; boundary="b1"\n\npreamble\n--b1\nContent-Type: text/plain\n\nfirst part\n--b1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n'),
      Buffer.from([1, 0, 2, 0, 3]),
      crlf('\n--b1--\nepilogue\n'),
    ]);
    const text = imapSafe(raw).toString('latin1');
    expect(text.indexOf('\0')).toBe(-1);
    expect(text).toContain('preamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--b1\r\n');
    expect(text).toMatch(/--b1--\r\nepilogue\r\n$/);
    const binaryPart = text.split('--b1\r\n')[2]!.split('\r\n--b1--')[0]!;
    expect(binaryPart).toContain('Content-Transfer-Encoding: base64');
    expect(decodedBody(binaryPart)).toEqual(Buffer.from([1, 0, 2, 0, 3]));
  });

  it('drops a NUL it cannot re-encode (in a header field, in an already encoded body) and never throws', () => {
    const raw = Buffer.concat([crlf('Subject: a'), Buffer.from([0]), crlf('b\nContent-Transfer-Encoding: base64\n\naGVs'), Buffer.from([0]), crlf('bG8=\n')]);
    expect(imapSafe(raw).toString('latin1')).toBe('Subject: ab\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n');
    for (const odd of [Buffer.from([0]), Buffer.from([0, 13, 10, 13, 10, 0]), crlf('Content-Type: multipart/x; boundary=z\n\n--z\n\n\0'), crlf('Content-Type: multipart/x\n\n\0')]) {
      expect(needsImapSafe(imapSafe(odd))).toBe(false);
    }
  });

  it('keeps nesting bounded: deeply nested multiparts are linear and total', () => {
    let body = Buffer.concat([crlf('Content-Type: text/plain\n\nx'), Buffer.from([0]), crlf('\n')]);
    for (let depth = 0; depth < 200; depth++) body = Buffer.concat([crlf(`Content-Type: multipart/mixed; boundary=d${depth}\n\n--d${depth}\n`), body, crlf(`--d${depth}--\n`)]);
    expect(needsImapSafe(imapSafe(body))).toBe(false);
  });

  it('makes the same message on both sides: the digest of the re-encoded form is the digest of the original', () => {
    const raw = Buffer.concat([crlf('Message-ID: <n@x>\nSubject: nul\n\nhello'), Buffer.from([0]), crlf('world\n')]);
    expect(contentDigestOfRaw(imapSafe(raw))).toBe(contentDigestOfRaw(raw));
    expect(digestMatches(contentDigestOfRaw(raw), imapSafe(raw))).toBe(true);
  });
});
