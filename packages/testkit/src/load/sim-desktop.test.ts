import { describe, expect, it } from 'vitest';
import { SimDesktop } from './sim-desktop.js';

const raw = (n: number) => Buffer.from(`Message-ID: <m${n}@test>\r\nSubject: ${n}\r\n\r\nbody\r\n`);

describe('the load generator\'s simulated desktop (issue 22)', () => {
  it('orders its INBOX newest first, ties by the higher UID, and names the top W', () => {
    const d = new SimDesktop();
    const a = d.arrive(raw(1), 1000);
    const b = d.arrive(raw(2), 3000);
    const c = d.arrive(raw(3), 3000);
    expect(d.inbox().map((m) => m.uid)).toEqual([c, b, a]);
    expect(d.top(2).map((m) => m.uid)).toEqual([c, b]);
  });

  it('evicts mapped messages pushed out of the window and pulls the top ones the phone lacks', () => {
    const d = new SimDesktop();
    const old = d.arrive(raw(1), 1000);
    d.map(101, old);
    const newer = d.arrive(raw(2), 2000);
    const newest = d.arrive(raw(3), 3000);
    expect(d.evictions(2)).toEqual([101]);
    expect(d.pullCandidates(2, 5, new Set()).map((m) => m.uid)).toEqual([newest, newer]);
    expect(d.pullCandidates(2, 1, new Set([newest])).map((m) => m.uid)).toEqual([newer]);
  });

  it('answers the server\'s actions as a desktop, and an action applied twice is acknowledged again', () => {
    const d = new SimDesktop();
    const first = d.apply({ kind: 'insert', phoneId: 7, date: 5000, seen: false, flagged: true }, raw(7));
    expect(first.result).toBe('ok');
    expect(d.apply({ kind: 'insert', phoneId: 7, date: 5000, seen: false, flagged: true }, raw(7))).toEqual(first);
    expect(d.apply({ kind: 'markRead', phoneId: 7 }, undefined)).toEqual({ result: 'ok' });
    expect(d.get(first.desktopUid!)!.seen).toBe(true);
    expect(d.apply({ kind: 'trash', phoneId: 7 }, undefined)).toEqual({ result: 'ok' });
    expect(d.inbox()).toEqual([]);
    expect(d.apply({ kind: 'expire', phoneId: 7, identity: { folder: 'trash', fingerprint: 'x', digest: 'y' } }, undefined)).toEqual({ result: 'ok' });
    expect(d.apply({ kind: 'destroy', phoneId: 7 }, undefined)).toEqual({ result: 'gone' });
    expect(d.apply({ kind: 'flag', phoneId: 99 }, undefined)).toEqual({ result: 'gone' });
  });

  it('sends only the window order that changed since the server took it', () => {
    const d = new SimDesktop();
    d.map(1, d.arrive(raw(1), 1000));
    d.map(2, d.arrive(raw(2), 2000));
    const entries = d.orderEntries(10);
    expect(entries.map((e) => e.phoneId)).toEqual([2, 1]);
    d.orderTaken(entries);
    expect(d.orderEntries(10)).toEqual([]);
    d.map(3, d.arrive(raw(3), 3000));
    expect(d.orderEntries(10).map((e) => e.phoneId)).toEqual([3]);
  });

  it('flips the read state of a window message and says which action carries it', () => {
    const d = new SimDesktop();
    d.map(4, d.arrive(raw(4), 1000));
    expect(d.toggleSeen(4)).toEqual({ kind: 'markRead', phoneId: 4 });
    expect(d.toggleSeen(4)).toEqual({ kind: 'markUnread', phoneId: 4 });
    expect(d.toggleSeen(5)).toBeUndefined();
  });
});
