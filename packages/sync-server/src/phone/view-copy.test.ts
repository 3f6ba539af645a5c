import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { MAIL_LIMITS } from '../mail/limits.js';
import { viewCopy } from './view-copy.js';

const LIMITS = { maxHeadSize: MAIL_LIMITS.viewHeadBytes, maxChildNodes: MAIL_LIMITS.viewParts };
const OPTIONS = { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true };

describe('the view copy of a message', () => {
  it('is the message itself when nothing needs changing', async () => {
    const raw = Buffer.from('Subject: s\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nshort  runs=20only\r\n');
    expect(await viewCopy(raw, LIMITS)).toEqual({ raw, clipped: false });
  });

  it('breaks long runs of spaces in quoted-printable with soft line breaks: the same decoded text, in linear time', async () => {
    const text = `${' '.repeat(40_000)}x${'\t '.repeat(50)}y`;
    const raw = Buffer.from(`Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${text}\r\n`);
    const copy = await viewCopy(raw, LIMITS);
    expect(copy.raw.equals(raw)).toBe(false);
    const started = performance.now();
    expect((await simpleParser(copy.raw, OPTIONS)).text).toBe(`${text}\n`);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('cuts a part shown as text after viewTextPartBytes, never an attachment', async () => {
    const big = 'line of text\r\n'.repeat(200_000);
    const raw = Buffer.from(
      `Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n${big}--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=log.txt\r\n\r\n${big}--b--\r\n`,
    );
    const copy = await viewCopy(raw, LIMITS);
    expect(copy.clipped).toBe(true);
    const parsed = await simpleParser(copy.raw, OPTIONS);
    expect(parsed.text!.length).toBeLessThanOrEqual(MAIL_LIMITS.viewTextPartBytes + 2);
    // The line break before a boundary belongs to the boundary (RFC 2046 §5.1.1).
    expect(parsed.attachments.map((a) => [a.filename, a.content.toString() === big.slice(0, -2)])).toEqual([['log.txt', true]]);
  });
});
