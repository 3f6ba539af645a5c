import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bodyOf, contentDigestOfRaw, digestMatches, isContentDigest, standInDigest, standInMatches } from './identity.js';
import { LIMITS } from './limits.js';

const message = (extraHeaders: string, body: string, subject = 'Quarterly numbers') =>
  Buffer.from(`${extraHeaders}From: Boss <boss@corp.example>\r\nTo: alice@corp.example\r\nSubject: ${subject}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <q1@corp.example>\r\n\r\n${body}`);

describe('content digest (identity scheme 3)', () => {
  it('is the same for the same message delivered to two addresses (trace fields differ)', () => {
    const desktop = message('Received: from mx1.corp.example\r\nDelivered-To: alice@corp.example\r\n', 'Numbers attached.\r\n');
    const phone = message('Received: from mx.phone.example\r\nReturn-Path: <boss@corp.example>\r\n', 'Numbers attached.\r\n');
    expect(contentDigestOfRaw(desktop)).toBe(contentDigestOfRaw(phone));
    expect(contentDigestOfRaw(desktop)).toMatch(/^c2:[0-9a-f]{64}$/);
  });

  it('differs for a forgery that reuses the Message-ID with another body, subject or sender', () => {
    const real = contentDigestOfRaw(message('', 'Numbers attached.\r\n'));
    expect(contentDigestOfRaw(message('', 'Click here.\r\n'))).not.toBe(real);
    expect(contentDigestOfRaw(message('', 'Numbers attached.\r\n', 'Re: Quarterly numbers'))).not.toBe(real);
    expect(contentDigestOfRaw(Buffer.from(message('', 'Numbers attached.\r\n').toString().replace('boss@', 'b0ss@')))).not.toBe(real);
  });

  it('reads LF and CRLF forms alike, and a message without a body', () => {
    const crlf = message('', 'line 1\r\nline 2\r\n');
    expect(contentDigestOfRaw(Buffer.from(crlf.toString().replace(/\r\n/g, '\n')))).toBe(contentDigestOfRaw(crlf));
    expect(bodyOf(Buffer.from('Subject: x\r\n'))).toHaveLength(0);
    expect(bodyOf(Buffer.from('Subject: x\r\n\r\nhi'))).toEqual(Buffer.from('hi'));
  });

  it('a stand-in matches only a desktop message of exactly the original size above the frame limit', () => {
    const big = LIMITS.maxMessageBytes + 10;
    expect(standInMatches(standInDigest(big), big)).toBe(true);
    expect(standInMatches(standInDigest(big), big + 1)).toBe(false);
    expect(standInMatches(standInDigest(1000), 1000)).toBe(false);
    expect(standInMatches('c1:' + '0'.repeat(64), 5)).toBeUndefined();
    expect(isContentDigest(standInDigest(big))).toBe(true);
    expect(isContentDigest('mid:x')).toBe(false);
  });

  it('covers the fields that say how to read the body (issue 18.8): another Content-Type or Content-Transfer-Encoding is another message', () => {
    const base = message('', 'SGVsbG8=\r\n');
    const real = contentDigestOfRaw(base);
    expect(contentDigestOfRaw(message('Content-Transfer-Encoding: base64\r\n', 'SGVsbG8=\r\n'))).not.toBe(real);
    expect(contentDigestOfRaw(message('Content-Type: text/html\r\n', 'SGVsbG8=\r\n'))).not.toBe(real);
    expect(contentDigestOfRaw(message('Content-Disposition: attachment\r\n', 'SGVsbG8=\r\n'))).not.toBe(real);
  });

  it('checks a digest from before scheme 3 in its own scheme', () => {
    const raw = message('', 'Numbers attached.\r\n');
    // The scheme-2 digest of this message, as a store from before the upgrade holds it.
    const c1 = 'c1:' + createHash('sha256').update(['message-id:<q1@corp.example>', 'date:Mon, 1 Jan 2024 10:00:00 +0000', 'from:Boss <boss@corp.example>', 'subject:Quarterly numbers', 'to:alice@corp.example', 'cc:'].map((f) => `${f}\u0000`).join('')).update('Numbers attached.\r\n').digest('hex');
    expect(digestMatches(c1, raw)).toBe(true);
    expect(digestMatches(contentDigestOfRaw(raw), raw)).toBe(true);
    expect(digestMatches(c1, message('', 'Other.\r\n'))).toBe(false);
    expect(digestMatches('standin:5', raw)).toBe(false);
  });
});
