import { describe, expect, it } from 'vitest';
import { previewOf } from '@twinbox/protocol';
import { attachmentOf, renderMessage } from './render.js';

const crlf = (s: string) => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'latin1');
const pdf = Buffer.alloc(200_000, 7);
const whole = Buffer.concat([
  crlf('Subject: figures\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nsee attached\n--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename="f.pdf"\nContent-Transfer-Encoding: base64\n\n'),
  Buffer.from(pdf.toString('base64').replace(/.{76}/g, '$&\r\n'), 'latin1'),
  crlf('\n--b--\n'),
]);

describe('a window message held as a preview (docs/reach.md "Preview first")', () => {
  const preview = previewOf(whole)!;

  it('lists the part left out with its own size, on the desktop; serving it is left to the request lane', async () => {
    const rendered = await renderMessage(preview.raw, { heldParts: preview.omitted });
    expect(rendered.text).toContain('see attached');
    expect(rendered.attachments).toEqual([{ index: 0, filename: 'f.pdf', contentType: 'application/pdf', size: 200_000, onDesktop: true }]);
    expect(await attachmentOf(preview.raw, 0, undefined, preview.omitted)).toEqual({ filename: 'f.pdf', contentType: 'application/pdf', held: { partId: '2', size: 200_000 } });
  });

  it('trusts only the server record: the same bytes without it (a sender who wrote the field) are an empty attachment', async () => {
    expect((await renderMessage(preview.raw)).attachments).toEqual([{ index: 0, filename: 'f.pdf', contentType: 'application/pdf', size: 0 }]);
    expect(await attachmentOf(preview.raw, 0)).toMatchObject({ content: Buffer.alloc(0) });
    // A record naming another part does not make this one held.
    expect(await attachmentOf(preview.raw, 0, undefined, [{ partId: '1', size: 5 }])).toMatchObject({ content: Buffer.alloc(0) });
  });
});
