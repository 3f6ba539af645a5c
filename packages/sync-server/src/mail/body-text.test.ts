import { describe, expect, it } from 'vitest';
import { charsetDecode, decodeBase64, decodeQuotedPrintable, transferDecode } from './body-text.js';

describe('transfer encodings (RFC 2045 §6)', () => {
  it('decodes quoted-printable, soft line breaks included, and keeps what is not an escape', () => {
    expect(decodeQuotedPrintable(Buffer.from('Gr=FC=DFe =\r\naus=20K=F6ln =ZZ =\n!=')).toString('latin1')).toBe('Grüße aus Köln =ZZ !=');
  });

  it('decodes base64, skipping what is not in its alphabet', () => {
    expect(decodeBase64(Buffer.from('aGVs\r\nbG8!!!=\r\n')).toString()).toBe('hello');
    expect(decodeBase64(Buffer.from('!!!not base64!!!')).length).toBeLessThan(10);
  });

  it('leaves 7bit, 8bit, binary and unknown encodings as they are', () => {
    const body = Buffer.from([0xe9, 0x41]);
    for (const name of ['7bit', '8bit', 'binary', 'x-uuencode', undefined]) expect(transferDecode(body, name)).toBe(body);
  });
});

describe('charsets', () => {
  it('decodes the charsets mail uses, by any of their names', () => {
    expect(charsetDecode(Buffer.from([0x43, 0x61, 0x66, 0xe9]), 'ISO-8859-1')).toBe('Café');
    expect(charsetDecode(Buffer.from('1b2442246b1b2842', 'hex'), 'iso-2022-jp')).toBe('る');
    expect(charsetDecode(Buffer.from('c7d1b1db', 'hex'), 'ks_c_5601-1987')).toBe('한글');
    expect(charsetDecode(Buffer.from('Café'), '"utf-8"')).toBe('Café');
  });

  it('reads an unknown or missing charset as UTF-8 when it is, else as Windows-1252', () => {
    expect(charsetDecode(Buffer.from('Café'), 'x-unknown-9')).toBe('Café');
    expect(charsetDecode(Buffer.from([0xe9, 0x80]), undefined)).toBe('é€');
    expect(charsetDecode(Buffer.from([0xe9, 0xe8, 0xff]), 'utf-7')).toBe('éèÿ');
  });
});
