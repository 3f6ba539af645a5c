import { describe, expect, it } from 'vitest';
import { PUSH_LIMITS } from './limits.js';
import { isNewDesktopMail, newMailSince, NEW_MAIL_SLACK_MS } from './new-mail.js';
import { notificationPayload, oneLine, senderAndSubject } from './payload.js';

const message = (from: string, subject: string, body: string) =>
  Buffer.from(`From: ${from}\r\nTo: alice@example.test\r\nSubject: ${subject}\r\nMessage-ID: <p1@example.test>\r\n\r\n${body}\r\n`);

describe('what a push carries (issue 20)', () => {
  it('sender and subject only when the user chose them; never a body; always under the size cap', async () => {
    const raw = message('=?UTF-8?Q?Ann_Sm=C3=AFth?= <ann@example.test>', '=?UTF-8?B?THVuY2g/IPCfjYk=?=', 'SECRET BODY TEXT');
    const sender = await senderAndSubject(raw);
    expect(sender).toEqual({ from: 'Ann Smïth', subject: 'Lunch? 🍉' });
    const full = JSON.parse(notificationPayload({ account: 'alice', count: 1, message: 7, sender }).toString());
    expect(full).toEqual({ type: 'newMail', v: 1, account: 'alice', count: 1, message: 7, from: 'Ann Smïth', subject: 'Lunch? 🍉' });
    const bare = notificationPayload({ account: 'alice', count: 3, message: 9 }).toString();
    expect(JSON.parse(bare)).toEqual({ type: 'newMail', v: 1, account: 'alice', count: 3, message: 9 });
    expect(bare).not.toMatch(/Ann|Lunch|SECRET/);
  });

  it('a hostile sender or subject is one cut line, and the payload stays under the cap', async () => {
    const huge = '𝄞\u0000\n"\\'.repeat(20_000);
    const payload = notificationPayload({ account: 'a'.repeat(64), count: 99_999, message: 123_456_789, sender: { from: huge, subject: huge } });
    expect(payload.length).toBeLessThanOrEqual(PUSH_LIMITS.maxPayloadBytes);
    const parsed = JSON.parse(payload.toString()) as { from: string; subject: string };
    expect([...parsed.subject].some((c) => c.charCodeAt(0) < 0x20)).toBe(false);
    expect([...parsed.subject].length).toBeLessThanOrEqual(PUSH_LIMITS.maxFieldChars);
    expect(oneLine('a\r\nb\u2028c   d')).toBe('a b c d');
    expect(oneLine('x'.repeat(300), 10)).toBe(`${'x'.repeat(9)}…`);
    const { subject } = await senderAndSubject(message('x@example.test', 'a'.repeat(100_000), 'body'));
    expect(subject.length).toBe(100_000);
  });

  it('desktop inserts are new mail only in an update sync, unread, arrived since the last sync (less the slack)', () => {
    const last = Date.UTC(2026, 11, 1, 12, 0, 0);
    const since = newMailSince('update', last);
    expect(since).toBe(last - NEW_MAIL_SLACK_MS);
    expect(isNewDesktopMail({ seen: false, date: last + 1000 }, since)).toBe(true);
    expect(isNewDesktopMail({ seen: false, date: last - 60_000 }, since)).toBe(true);
    expect(isNewDesktopMail({ seen: true, date: last + 1000 }, since)).toBe(false);
    // A refill of the window: an old message from below it.
    expect(isNewDesktopMail({ seen: false, date: last - 3 * 24 * 3600_000 }, since)).toBe(false);
    expect(newMailSince('initial', last)).toBeUndefined();
    expect(isNewDesktopMail({ seen: false, date: last + 1000 }, newMailSince('initial', last))).toBe(false);
    expect(newMailSince('update', null)).toBeUndefined();
  });
});
