import { describe, expect, it } from 'vitest';
import type { FolderState } from '../store/agent-store.js';
import { ChangeBatcher, StatusCheck, statusChanged, trashNotificationChanged, type FolderStatus } from './change-plan.js';

const timing = { quietMs: 250, maxDelayMs: 2000 };

describe('ChangeBatcher', () => {
  it('a burst becomes one sync, asked for after a quiet period', () => {
    const b = new ChangeBatcher(timing);
    expect(b.dueAt()).toBeUndefined();
    b.change(1000);
    b.change(1100);
    b.change(1200);
    expect(b.dueAt()).toBe(1450);
    expect(b.due(1449)).toBe(false);
    expect(b.due(1450)).toBe(true);
    expect(b.state.name).toBe('requested');
    expect(b.due(1500)).toBe(false);
  });

  it('a burst that never goes quiet is bounded by the maximum delay after its first change', () => {
    const b = new ChangeBatcher(timing);
    for (let t = 0; t <= 5000; t += 100) {
      if (b.due(t)) {
        expect(t).toBe(2000);
        return;
      }
      b.change(t);
    }
    throw new Error('no sync was asked for');
  });

  it('changes heard before a sync starts are covered by it, whatever asked for it', () => {
    const b = new ChangeBatcher(timing);
    b.change(0);
    b.syncStarted(); // a push from the phone, say
    b.syncEnded(300);
    expect(b.state.name).toBe('idle');
    expect(b.dueAt()).toBeUndefined();
  });

  it('a change heard while the sync asked for is still waiting to start asks for nothing more', () => {
    const b = new ChangeBatcher(timing);
    b.change(0);
    expect(b.due(250)).toBe(true);
    b.change(260);
    expect(b.dueAt()).toBeUndefined();
    b.syncStarted();
    b.syncEnded(400);
    expect(b.state.name).toBe('idle');
  });

  it('a change heard during a sync makes one more, a quiet period after the sync ended', () => {
    const b = new ChangeBatcher(timing);
    b.syncStarted();
    b.change(100);
    expect(b.dueAt()).toBeUndefined();
    b.syncEnded(500);
    expect(b.dueAt()).toBe(750);
    b.change(700); // the sync's own changes, notified back late (Dovecot: about 0.5 s)
    expect(b.due(900)).toBe(false);
    expect(b.due(950)).toBe(true);
  });

  it('no change, no sync: a quiet follow-up ends the chain', () => {
    const b = new ChangeBatcher(timing);
    b.syncStarted();
    b.change(10); // its own changes
    b.syncEnded(50);
    expect(b.due(300)).toBe(true);
    b.syncStarted(); // the follow-up finds nothing and changes nothing
    b.syncEnded(320);
    expect(b.state.name).toBe('idle');
    expect(b.dueAt()).toBeUndefined();
  });
});

const saved: FolderState = { uidValidity: '7', highestModseq: '100', uidNext: 50, exists: 40 };
const same: FolderStatus = { uidValidity: '7', highestModseq: '100', uidNext: 50, exists: 40 };

describe('statusChanged', () => {
  it('new mail, a removal, a flag change (HIGHESTMODSEQ) and a new UIDVALIDITY are changes; the same STATUS is none', () => {
    expect(statusChanged(saved, same)).toBe(false);
    expect(statusChanged(saved, { ...same, uidNext: 51, exists: 41 })).toBe(true);
    expect(statusChanged(saved, { ...same, exists: 39 })).toBe(true);
    expect(statusChanged(saved, { ...same, highestModseq: '101' })).toBe(true);
    expect(statusChanged(saved, { ...same, uidValidity: '8' })).toBe(true);
  });

  it('without HIGHESTMODSEQ on either side only counts and UIDs tell; never synced: nothing to compare with', () => {
    expect(statusChanged({ ...saved, highestModseq: null }, { ...same, highestModseq: '900' })).toBe(false);
    expect(statusChanged(saved, { ...same, highestModseq: null })).toBe(false);
    expect(statusChanged({ uidValidity: '7', highestModseq: null, uidNext: 50 }, { ...same, exists: 3 })).toBe(false);
    expect(statusChanged(undefined, same)).toBe(false);
  });
});

describe('StatusCheck', () => {
  it('asks for a sync once per snapshot: a STATUS the sync does not record the same way cannot sync every poll', () => {
    const check = new StatusCheck();
    const store = { inbox: saved, trash: { ...saved, uidNext: 9, exists: 2 } };
    const now = { inbox: { ...same, uidNext: 51, exists: 41 }, trash: { ...same, uidNext: 9, exists: 2 } };
    expect(check.verdict((r) => store[r], now)).toBe(true);
    expect(check.verdict((r) => store[r], now)).toBe(false);
    // Another change since: a new snapshot asks again.
    expect(check.verdict((r) => store[r], { ...now, inbox: { ...now.inbox, uidNext: 52, exists: 42 } })).toBe(true);
    // The sync recorded it: equal again, and the memory is cleared.
    const synced = { inbox: { ...saved, uidNext: 52, exists: 42 }, trash: store.trash };
    expect(check.verdict((r) => synced[r], { ...now, inbox: { ...now.inbox, uidNext: 52, exists: 42 } })).toBe(false);
    expect(check.verdict((r) => store[r], now)).toBe(true);
  });

  it('a Trash change counts; a folder not looked at is left out', () => {
    const check = new StatusCheck();
    const store = { inbox: saved, trash: { ...saved, uidNext: 9, exists: 2 } };
    expect(check.verdict((r) => store[r], { inbox: same, trash: { ...same, uidNext: 9, exists: 1 } })).toBe(true);
    expect(new StatusCheck().verdict((r) => store[r], { inbox: same })).toBe(false);
  });
});

describe('trashNotificationChanged', () => {
  it('a notification of Trash as the last sync saw it (a sync took its \\Recent flags) is no change; one without HIGHESTMODSEQ, or unreadable, is', () => {
    expect(trashNotificationChanged(saved, same)).toBe(false);
    expect(trashNotificationChanged(saved, { ...same, highestModseq: '101' })).toBe(true);
    expect(trashNotificationChanged(saved, { ...same, exists: 39 })).toBe(true);
    expect(trashNotificationChanged(saved, { ...same, highestModseq: null })).toBe(true);
    expect(trashNotificationChanged(saved, undefined)).toBe(true);
  });
});

describe('StatusCheck after a reconnect', () => {
  it('without HIGHESTMODSEQ a gap in the connection counts as a change (flags may have changed unseen); with it, STATUS tells', () => {
    const bare = { inbox: { ...saved, highestModseq: null }, trash: { ...saved, highestModseq: null } };
    const now = { inbox: { ...same, highestModseq: null } };
    expect(new StatusCheck().verdict((r) => bare[r], now, true)).toBe(true);
    expect(new StatusCheck().verdict((r) => bare[r], now, false)).toBe(false);
    expect(new StatusCheck().verdict(() => saved, { inbox: same }, true)).toBe(false);
    expect(new StatusCheck().verdict(() => undefined, now, true)).toBe(false);
  });
});
