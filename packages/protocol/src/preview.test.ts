import { describe, expect, it } from 'vitest';
import { OMITTED_HEADER, decodedSize, previewOf } from './preview.js';

const crlf = (s: string) => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'latin1');
const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/.{76}/g, '$&\r\n');

function withAttachment(attachment: Buffer, inline = Buffer.alloc(0)): Buffer {
  return Buffer.concat([
    crlf('Message-ID: <p@x>\nFrom: a@b\nSubject: big\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B1"\n\npreamble\n--B1\n'),
    crlf('Content-Type: multipart/alternative; boundary=B2\n\n--B2\nContent-Type: text/plain\n\nhello\n--B2\nContent-Type: text/html\n\n<p>hello</p>\n--B2--\n'),
    crlf('--B1\nContent-Type: image/png\nContent-ID: <i1>\nContent-Transfer-Encoding: base64\n\n'),
    Buffer.from(b64(inline), 'latin1'),
    crlf('\n--B1\nContent-Type: application/pdf; name="big.pdf"\nContent-Disposition: attachment; filename="big.pdf"\nContent-Transfer-Encoding: base64\n\n'),
    Buffer.from(b64(attachment), 'latin1'),
    crlf('\n--B1--\nepilogue\n'),
  ]);
}

describe('previewOf (issue 21: preview first in the window)', () => {
  it('leaves out a large attachment by its IMAP section, keeping text, small parts and every other byte', () => {
    const attachment = Buffer.alloc(300_000, 7);
    const inline = Buffer.alloc(1000, 3);
    const raw = withAttachment(attachment, inline);
    const preview = previewOf(raw)!;
    expect(preview.omitted).toEqual([{ partId: '3', size: attachment.length }]);
    expect(preview.raw.length).toBeLessThan(4000);
    const text = preview.raw.toString('latin1');
    expect(text).toContain(`${OMITTED_HEADER}: part=3; size=300000\r\nContent-Type: application/pdf; name="big.pdf"`);
    // Everything but the attachment's body is the original, byte for byte.
    const cut = raw.toString('latin1').replace(b64(attachment), '');
    expect(text.replace(`${OMITTED_HEADER}: part=3; size=300000\r\n`, '')).toBe(cut);
    expect(text).toContain(b64(inline));
    expect(text).toContain('<p>hello</p>');
  });

  it('numbers nested parts as IMAP does (2.1, 2.2)', () => {
    const big = Buffer.from(b64(Buffer.alloc(100_000, 1)), 'latin1');
    const raw = Buffer.concat([
      crlf('Content-Type: multipart/mixed; boundary=O\n\n--O\nContent-Type: text/plain\n\nhi\n--O\nContent-Type: multipart/related; boundary=I\n\n--I\nContent-Type: text/html\n\n<b>x</b>\n--I\nContent-Type: image/jpeg\nContent-Transfer-Encoding: base64\n\n'),
      big,
      crlf('\n--I--\n--O--\n'),
    ]);
    expect(previewOf(raw)!.omitted).toEqual([{ partId: '2.2', size: 100_000 }]);
  });

  it('omits nothing (undefined) when every part is small or text, and a single-part text body is kept', () => {
    expect(previewOf(withAttachment(Buffer.alloc(1000)))).toBeUndefined();
    expect(previewOf(crlf(`Subject: long\n\n${'x'.repeat(500_000)}\n`))).toBeUndefined();
  });

  it('a single-part non-text body is section 1', () => {
    const raw = Buffer.concat([crlf('Content-Type: application/zip\nContent-Transfer-Encoding: base64\n\n'), Buffer.from(b64(Buffer.alloc(200_000, 9)), 'latin1')]);
    expect(previewOf(raw)!.omitted).toEqual([{ partId: '1', size: 200_000 }]);
  });

  it('keeps malformed MIME as it is (a multipart without boundary), and never throws on junk', () => {
    const raw = crlf(`Content-Type: multipart/mixed\n\n${'y'.repeat(200_000)}`);
    expect(previewOf(raw)).toBeUndefined();
    for (const junk of ['', '\r\n', '--', 'Content-Type: multipart/mixed; boundary=\n\n--\n--', 'Content-Type: multipart/mixed; boundary=a\n\n--a\n--a\n--a--']) expect(() => previewOf(crlf(junk), 1)).not.toThrow();
  });

  it('counts decoded base64 exactly', () => {
    for (const n of [0, 1, 2, 3, 100, 1001]) expect(decodedSize(Buffer.from(b64(Buffer.alloc(n, 5))), 'base64')).toBe(n);
  });
});
