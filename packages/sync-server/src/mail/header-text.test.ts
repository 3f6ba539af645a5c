import { describe, expect, it } from 'vitest';
import { addressListText, cut, headerBytesToText, oneLine, unstructuredText } from './header-text.js';

const bytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

describe('header text', () => {
  it('RFC 6532: UTF-8 bytes as UTF-8, other 8-bit bytes as Windows-1252', () => {
    expect(headerBytesToText(bytes('Grüße'))).toBe('Grüße');
    expect(headerBytesToText('caf\xe9 \x80')).toBe('café €');
  });

  it('RFC 2047: encoded words decoded, white space between adjacent ones dropped, any charset', () => {
    expect(unstructuredText('=?UTF-8?B?w6k=?= =?UTF-8?Q?=C3=A9?= x')).toBe('éé x');
    expect(unstructuredText('=?koi8-r?B?8NLJ18XU?=')).toBe('Привет');
    expect(unstructuredText('=?utf-8?q?broken')).toBe('=?utf-8?q?broken');
  });

  it('one line: control characters and line separators are spaces', () => {
    expect(oneLine('a\r\n\tb\u0000c\u2028d  ')).toBe('a b c d');
  });

  it('cuts at a length, never inside a surrogate pair', () => {
    expect(cut('abcdef', 4)).toBe('abc…');
    expect(cut('ab😀def', 4)).toBe('ab…');
  });

  it('addresses: parsed, then names decoded; quoted where a name holds specials; groups', () => {
    expect(addressListText('=?utf-8?q?J=C3=B6rg?= <j@x>, "Last, First" <l@y>, plain@z')).toBe('Jörg <j@x>, "Last, First" <l@y>, plain@z');
    expect(addressListText('friends: a@x, =?utf-8?q?B=C3=A9?= <b@x>;')).toBe('friends: a@x, Bé <b@x>;');
    expect(addressListText('a@x, b@x, c@x', 1000, 2)).toBe('a@x, b@x');
  });
});
