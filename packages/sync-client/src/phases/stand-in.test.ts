import { describe, expect, it } from 'vitest';
import { fingerprintOfRaw } from '@twinbox/protocol';
import { standInMessage } from './stand-in.js';

const MB = 1024 * 1024;

describe('standInMessage', () => {
  const header = Buffer.from(
    'Subject: quarterly\r\n figures\r\nFrom: a@example.test\r\nMessage-ID: <q@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=zz\r\nContent-Transfer-Encoding: 7bit\r\nX-Twinbox-Stand-In: forged\r\n\r\n',
  );
  const standIn = standInMessage(header, 70 * MB, 60 * MB).toString('latin1');

  it('keeps the fields that describe the message, folds included, and replaces those of the dropped body', () => {
    expect(standIn.split('\r\n\r\n')[0]!.split('\r\n')).toEqual([
      'Subject: quarterly',
      ' figures',
      'From: a@example.test',
      'Message-ID: <q@x>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      'Content-Transfer-Encoding: 7bit',
      `X-Twinbox-Stand-In: original ${70 * MB} bytes`,
    ]);
  });

  it('says why in its body, in plain ASCII, and keeps the Message-ID so the fingerprint is the same', () => {
    expect(standIn.split('\r\n\r\n')[1]).toMatch(/^This message is 70\.0 MB, larger than the 60\.0 MB a message on the phone can be\.\r\n/);
    expect(/^[\x20-\x7e\r\n]*$/.test(standIn)).toBe(true);
    expect(fingerprintOfRaw(Buffer.from(standIn, 'latin1'))).toBe('mid:q@x');
  });
});
