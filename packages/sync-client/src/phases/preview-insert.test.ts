import { describe, expect, it } from 'vitest';
import { contentDigestOfRaw, fingerprintOfRaw } from '@twinbox/protocol';
import { previewInsert } from './preview-insert.js';

const attachment = (bytes: number) => Buffer.alloc(bytes, 0x41).toString('base64').replace(/.{76}/g, '$&\n');

/** A message with bare LF line ends (the agent sends what IMAP served; identity is over the CRLF form). */
const message = (bytes: number) =>
  Buffer.from(
    `From: a@b\nSubject: s\nContent-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\n\nhi\n--q\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n${attachment(bytes)}\n--q--\n`,
  );

describe('previewInsert (preview first, docs/reach.md)', () => {
  it('a message above the threshold goes as a preview with the whole message identity, as the server would have stored it whole', () => {
    const raw = message(400_000);
    const found = previewInsert(raw, 256 * 1024)!;
    const whole = Buffer.from(raw.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
    expect(found.previewOf).toEqual({ fingerprint: fingerprintOfRaw(whole), size: whole.length, digest: contentDigestOfRaw(whole), omitted: [{ partId: '2', size: 400_000 }] });
    expect(found.body.length).toBeLessThan(1000);
    expect(found.body.toString('latin1')).toContain('\r\n\r\nhi\r\n');
  });

  it('at or below the threshold, with the threshold off (0), or with nothing large to leave out: sent whole (undefined)', () => {
    const raw = message(400_000);
    expect(previewInsert(raw, 0)).toBeUndefined();
    expect(previewInsert(raw, raw.length)).toBeUndefined();
    expect(previewInsert(Buffer.from(`Subject: text\n\n${'x'.repeat(300_000)}\n`), 1024)).toBeUndefined();
  });
});
