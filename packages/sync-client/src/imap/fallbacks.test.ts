import { describe, expect, it } from 'vitest';
import { TwinboxError } from '@twinbox/protocol';
import { ImapFallbacks, REFUSED, REPROBE_AFTER_MS, describeFallbacks, describeRefusal, isRefusal, transientMemory } from './fallbacks.js';
import { oneAtATime } from './expunge.js';

/** A command error the way imapflow makes one for a tagged NO or BAD. */
function answered(status: 'NO' | 'BAD', text: string, command: string, code?: string): Error {
  return Object.assign(new Error('Command failed'), {
    responseStatus: status,
    responseText: text,
    executedCommand: `A7 ${command}`,
    response: { tag: 'A7', command: status, attributes: code ? [{ type: 'ATOM', value: '', section: [{ type: 'ATOM', value: code }] }, { type: 'TEXT', value: text }] : [{ type: 'TEXT', value: text }] },
  });
}

// Stock Courier 5.0.13 once imapflow has enabled UTF8=ACCEPT (seen against Debian's imapd binary).
const courierCharset = answered('BAD', 'Only UTF-8 charset is valid after enabling RFC 6855 support', 'UID SORT (REVERSE ARRIVAL) US-ASCII ALL', 'BADCHARSET');

describe('isRefusal: the server refused the command, or did not answer', () => {
  it('a BAD, and a NO about the command, are refusals', () => {
    expect(isRefusal(courierCharset)).toBe(true);
    expect(isRefusal(answered('NO', 'This command is disabled by the system administrator.', 'UID SORT (REVERSE ARRIVAL) UTF-8 ALL'))).toBe(true);
    expect(isRefusal(answered('NO', 'not supported', 'UID MOVE 4 Trash', 'CANNOT'))).toBe(true);
  });

  it('a NO that says "not now" or "not this message" is not', () => {
    for (const code of ['UNAVAILABLE', 'INUSE', 'LIMIT', 'OVERQUOTA', 'TRYCREATE', 'NONEXISTENT', 'EXPUNGEISSUED']) {
      expect(isRefusal(answered('NO', 'try later', 'UID MOVE 4 Trash', code)), code).toBe(false);
    }
  });

  it('a lost connection, a throttle or nothing at all is not', () => {
    expect(isRefusal(Object.assign(new Error('Connection not available'), { code: 'NoConnection' }))).toBe(false);
    expect(isRefusal(Object.assign(answered('BAD', 'Request is throttled', 'UID SORT'), { code: 'ETHROTTLE' }))).toBe(false);
    expect(isRefusal(undefined)).toBe(false);
    expect(isRefusal(new Error('read ECONNRESET'))).toBe(false);
  });

  it('describes the answer and the command without its tag', () => {
    expect(describeRefusal(courierCharset)).toEqual({ command: 'UID SORT (REVERSE ARRIVAL) US-ASCII ALL', response: 'BAD [BADCHARSET] Only UTF-8 charset is valid after enabling RFC 6855 support' });
  });
});

describe('ImapFallbacks: remembered per server, until its capabilities change', () => {
  const server = 'user1@mail.example:143';

  it('remembers a refusal across connections, and forgets it when the capabilities change', () => {
    const memory = transientMemory();
    const first = new ImapFallbacks(server, memory);
    first.connected(['IMAP4rev1', 'SORT', 'UIDPLUS']);
    first.record('sort', courierCharset);
    expect(first.refused('sort')).toBe(true);

    const next = new ImapFallbacks(server, memory);
    expect(next.refused('sort')).toBe(true); // before login: what it refused under any capabilities
    next.connected(['UIDPLUS', 'IMAP4rev1', 'SORT']); // the same set, in another order
    expect(next.refused('sort')).toBe(true);
    expect(describeFallbacks(next.list())[0]).toMatch(/^UID SORT refused on \d{4}-.*\("BAD \[BADCHARSET\] Only UTF-8 .*"\): the INBOX order from listed arrival times$/);

    const upgraded = new ImapFallbacks(server, memory);
    upgraded.connected(['IMAP4rev1', 'SORT', 'UIDPLUS', 'MOVE']);
    expect(upgraded.refused('sort')).toBe(false);
    expect(memory.refusals(server)).toEqual([]);
    // Another server's memory is its own.
    expect(new ImapFallbacks('user1@other:143', memory).refused('sort')).toBe(false);
  });

  it('tries a refused command again after a week', () => {
    let now = Date.UTC(2026, 0, 1);
    const fallbacks = new ImapFallbacks(server, transientMemory(), () => now);
    fallbacks.connected(['SORT']);
    fallbacks.record('sort', courierCharset);
    now += REPROBE_AFTER_MS - 1;
    expect(fallbacks.refused('sort')).toBe(true);
    now += 2;
    expect(fallbacks.refused('sort')).toBe(false);
  });

  it('attempt: a refusal of that command is remembered and answered REFUSED; anything else throws and disables nothing', async () => {
    const heard: string[] = [];
    const fallbacks = new ImapFallbacks(server).onRefusal((r) => heard.push(r.path));
    fallbacks.connected(['SORT', 'MOVE', 'UIDPLUS']);
    expect(await fallbacks.attempt('sort', 'UID SORT', () => Promise.reject(courierCharset))).toBe(REFUSED);
    expect(heard).toEqual(['sort']);

    const lost = Object.assign(new Error('Connection not available'), { code: 'NoConnection' });
    await expect(fallbacks.attempt('move', 'MOVE', () => Promise.reject(lost))).rejects.toMatchObject({ code: 'IMAP', retryable: true });
    expect(fallbacks.refused('move')).toBe(false);

    // imapflow returns false and logs the error: the logger hands it over.
    const refusedMove = answered('BAD', 'Unknown command', 'UID MOVE 4 "Trash"');
    expect(await fallbacks.attempt('move', 'MOVE', async () => (fallbacks.logger.warn({ err: refusedMove, cid: 'c' }), false))).toBe(REFUSED);
    expect(fallbacks.refused('move')).toBe(true);

    // A refusal of another command on the way (the STORE before UID EXPUNGE) is no refusal of UID EXPUNGE.
    const store = answered('NO', 'read-only', 'UID STORE 4 +FLAGS (\\Deleted)');
    await expect(fallbacks.attempt('uidExpunge', 'UID EXPUNGE 4', async () => (fallbacks.logger.warn({ err: store }), false))).rejects.toBeInstanceOf(TwinboxError);
    expect(fallbacks.refused('uidExpunge')).toBe(false);

    expect(await fallbacks.attempt('sort', 'UID SORT', async () => [3, 2, 1])).toEqual([3, 2, 1]);
  });
});

describe('oneAtATime: expunges of one mailbox in this process never overlap', () => {
  it('runs them one after another, also after one fails; other mailboxes are not held up', async () => {
    const events: string[] = [];
    const step = (name: string, ms: number, fail = false) => async () => {
      events.push(`${name} start`);
      await new Promise((r) => setTimeout(r, ms));
      events.push(`${name} end`);
      if (fail) throw new Error(name);
    };
    const a = oneAtATime('u@h:1', step('sync', 30, true)).catch(() => 'failed');
    const b = oneAtATime('u@h:1', step('watcher', 5));
    const c = oneAtATime('u@other:1', step('other', 5));
    expect(await a).toBe('failed');
    await Promise.all([b, c]);
    expect(events.indexOf('watcher start')).toBeGreaterThan(events.indexOf('sync end'));
    expect(events.indexOf('other end')).toBeLessThan(events.indexOf('sync end'));
  });
});
