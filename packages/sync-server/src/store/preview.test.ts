import { describe, expect, it } from 'vitest';
import { previewOf } from './preview.js';

const mail = (head: string, body: string) => Buffer.from(`${head}\r\n\r\n${body}`, 'latin1');

describe('previewOf', () => {
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
});
