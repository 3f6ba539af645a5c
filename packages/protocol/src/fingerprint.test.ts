import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fingerprintOf, fingerprintOfRaw, firstBracketed, headerBlockOf, parseHeaderFields, toCrlf } from './fingerprint.js';

const raw = (headers: string, body = 'hello') => Buffer.from(`${headers}\r\n\r\n${body}\r\n`);

describe('fingerprint', () => {
  it('uses the Message-ID when present, whatever its folding or case of the header name', () => {
    expect(fingerprintOfRaw(raw('Subject: a\r\nMessage-ID: <abc@x>'))).toBe('mid:abc@x');
    expect(fingerprintOfRaw(raw('message-id:\r\n  <abc@x>'))).toBe('mid:abc@x');
  });

  it('hashes date, from, subject and size without a Message-ID; any of them changes it', () => {
    const base = 'Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nFrom: a@x\r\nSubject: hi';
    const a = fingerprintOfRaw(raw(base));
    expect(a).toMatch(/^h1:[0-9a-f]{40}$/);
    expect(fingerprintOfRaw(raw(base))).toBe(a);
    expect(fingerprintOfRaw(raw(base.replace('hi', 'ho')))).not.toBe(a);
    expect(fingerprintOfRaw(raw(base, 'hello!'))).not.toBe(a);
  });

  it('the same header fields give the same fingerprint from a full message and from IMAP HEADER.FIELDS', () => {
    const message = raw('Received: x\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nFrom: a@x\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nX-Other: y');
    const fieldsOnly = 'Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nFrom: a@x\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n\r\n';
    expect(fingerprintOf(parseHeaderFields(fieldsOnly), message.length)).toBe(fingerprintOfRaw(message));
  });

  it('normalises bare LF to CRLF and leaves CRLF alone', () => {
    expect(toCrlf(Buffer.from('a\nb\r\nc\n')).toString()).toBe('a\r\nb\r\nc\r\n');
    const crlf = Buffer.from('a\r\nb\r\n');
    expect(toCrlf(crlf)).toBe(crlf);
    expect(headerBlockOf(Buffer.from('A: 1\nB: 2\n\nbody'))).toBe('A: 1\nB: 2');
  });
});

describe('fingerprint of a hostile Message-ID', () => {
  it('hashes a Message-ID too long for a protocol string, so a stranger cannot make the phone list invalid', () => {
    const long = `<${'x'.repeat(5000)}@evil.example>`;
    const fp = fingerprintOfRaw(raw(`Message-ID: ${long}`));
    expect(fp).toMatch(/^midh:[0-9a-f]{64}$/);
    expect(fingerprintOfRaw(raw(`Subject: other\r\nMessage-ID: ${long}`))).toBe(fp);
  });
});

describe('the Message-ID in angle brackets (issue 18)', () => {
  it('is what /<([^>]+)>/ finds, for any value (stored fingerprints depend on it)', () => {
    const value = fc.array(fc.constantFrom('<', '>', 'a', ' ', '@'), { maxLength: 30 }).map((chars) => chars.join(''));
    fc.assert(fc.property(value, (v) => firstBracketed(v) === /<([^>]+)>/.exec(v)?.[1]), { numRuns: 5000 });
  });

  it('is found in one pass: a Message-ID of 250,000 `<` and no `>` costs milliseconds, not the half minute of the regex', () => {
    const started = performance.now();
    expect(fingerprintOfRaw(raw(`Message-ID: ${'<'.repeat(250_000)}x`))).toMatch(/^midh:/);
    expect(firstBracketed('<>'.repeat(100_000))).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
