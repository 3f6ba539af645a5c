import { describe, expect, it } from 'vitest';
import type { DesktopSummary } from '../imap/desktop-imap.js';
import type { Mapping } from '../store/agent-store.js';
import { planDetection, type DetectionInput } from './detection-plan.js';

const summary = (uid: number, fingerprint: string, flags: Partial<{ seen: boolean; flagged: boolean; deleted: boolean; trigger: string }> = {}): DesktopSummary => ({
  uid,
  date: 1000 * uid,
  seen: false,
  flagged: false,
  fingerprint,
  size: 100,
  ...flags,
});
/** A flag-only report (the comparison and CHANGEDSINCE paths give no fingerprint for a tracked message). */
const flagsOnly = (uid: number, seen: boolean, flagged: boolean, deleted = false): DesktopSummary => ({ uid, date: 0, seen, flagged, deleted, fingerprint: '', size: 0 });
const mapping = (phoneId: number, folder: 'inbox' | 'trash', uid: number, fingerprint: string, seen = false, flagged = false, digest: string | null = null): Mapping => ({
  phoneId,
  folder,
  uid,
  fingerprint,
  digest,
  seen,
  flagged,
});

function input(overrides: Partial<DetectionInput>): DetectionInput {
  return {
    inbox: { vanished: [], changed: [] },
    trash: { vanished: [], changed: [] },
    trashUidNext: 50,
    mappings: [],
    tracked: new Set(),
    isLiveTrigger: (s) => s.trigger === 'live',
    isSame: () => true,
    ...overrides,
  };
}

describe('planDetection', () => {
  it('left INBOX and new in Trash with the same fingerprint: trash, and the mapping follows', () => {
    const plan = planDetection(input({ inbox: { vanished: [10], changed: [] }, trash: { vanished: [], changed: [summary(50, 'mid:a')] }, mappings: [mapping(1, 'inbox', 10, 'mid:a')], tracked: new Set([10]) }));
    expect(plan.actions).toEqual([{ kind: 'trash', phoneId: 1 }]);
    expect(plan.mappingPuts).toEqual([mapping(1, 'trash', 50, 'mid:a')]);
    expect(plan.inboxDeletes).toEqual([10]);
  });

  it('left INBOX and found nowhere: destroy, the mapping dropped', () => {
    const plan = planDetection(input({ inbox: { vanished: [10], changed: [] }, mappings: [mapping(1, 'inbox', 10, 'mid:a')], tracked: new Set([10]) }));
    expect(plan.actions).toEqual([{ kind: 'destroy', phoneId: 1 }]);
    expect(plan.mappingDeletes).toEqual([1]);
    expect(plan.mappingPuts).toEqual([]);
  });

  it('left Trash and new in INBOX: recover, and the recovered copy’s flags are compared once it is mapped', () => {
    const plan = planDetection(
      input({ trash: { vanished: [60], changed: [] }, inbox: { vanished: [], changed: [summary(20, 'mid:a', { seen: true })] }, mappings: [mapping(1, 'trash', 60, 'mid:a')] }),
    );
    expect(plan.actions).toEqual([
      { kind: 'recover', phoneId: 1 },
      { kind: 'markRead', phoneId: 1 },
    ]);
    expect(plan.mappingPuts).toEqual([mapping(1, 'inbox', 20, 'mid:a', true)]);
    expect(plan.inboxPuts.map((s) => s.uid)).toEqual([20]);
  });

  it('moved out and back between two syncs: the same message under a new UID, no action', () => {
    const plan = planDetection(input({ inbox: { vanished: [10], changed: [summary(30, 'mid:a')] }, mappings: [mapping(1, 'inbox', 10, 'mid:a')], tracked: new Set([10]) }));
    expect(plan.actions).toEqual([]);
    expect(plan.mappingPuts).toEqual([mapping(1, 'inbox', 30, 'mid:a')]);
  });

  it('flag changes in INBOX and in Trash become flag actions against the agreed state; \\Deleted marks are recorded', () => {
    const plan = planDetection(
      input({
        inbox: { vanished: [], changed: [flagsOnly(10, true, true), flagsOnly(11, false, false, true)] },
        trash: { vanished: [], changed: [flagsOnly(40, false, true)] },
        mappings: [mapping(1, 'inbox', 10, 'mid:a'), mapping(2, 'inbox', 11, 'mid:b'), mapping(3, 'trash', 40, 'mid:c', true)],
        tracked: new Set([10, 11]),
      }),
    );
    expect(plan.actions).toEqual([
      { kind: 'markRead', phoneId: 1 },
      { kind: 'flag', phoneId: 1 },
      { kind: 'markUnread', phoneId: 3 },
      { kind: 'flag', phoneId: 3 },
    ]);
    expect(plan.inboxFlags).toEqual([
      { uid: 10, seen: true, flagged: true, deleted: false },
      { uid: 11, seen: false, flagged: false, deleted: true },
    ]);
  });

  it('new INBOX mail is tracked, a live trigger e-mail is not, and an untracked flag change is nothing', () => {
    const plan = planDetection(input({ inbox: { vanished: [], changed: [summary(70, 'mid:new'), summary(71, 'mid:t', { trigger: 'live' }), flagsOnly(5, true, false)] } }));
    expect(plan.inboxPuts.map((s) => s.uid)).toEqual([70]);
    expect(plan.actions).toEqual([]);
    expect(plan.inboxFlags).toEqual([]);
  });

  it('recovered and trashed again between two syncs: still in Trash under a new UID, no action', () => {
    const plan = planDetection(input({ trash: { vanished: [60], changed: [summary(61, 'mid:a')] }, trashUidNext: 61, mappings: [mapping(1, 'trash', 60, 'mid:a')] }));
    expect(plan.actions).toEqual([]);
    expect(plan.mappingPuts).toEqual([mapping(1, 'trash', 61, 'mid:a')]);
  });

  // Issue 18.5: a stranger's copy F of a real message R (same Message-ID, other content), both mapped; the user
  // moves both to Trash between two syncs, in either order. Each mapping follows its own message, never the other.
  for (const order of [['R', 'F'], ['F', 'R']] as const) {
    it(`moved to Trash ${order.join(' then ')} with one Message-ID: each mapping follows its own message (by digest)`, () => {
      const digestOf: Record<number, string> = {};
      // R was UID 10 (phone 1), F UID 11 (phone 2); in Trash they get 50 and 51 in the order they were moved.
      const trashUid = { R: 50 + order.indexOf('R'), F: 50 + order.indexOf('F') };
      digestOf[trashUid.R] = 'c2:real';
      digestOf[trashUid.F] = 'c2:forged';
      const plan = planDetection(
        input({
          inbox: { vanished: [10, 11], changed: [] },
          trash: { vanished: [], changed: [summary(50, 'mid:a'), summary(51, 'mid:a')] },
          mappings: [mapping(1, 'inbox', 10, 'mid:a', false, false, 'c2:real'), mapping(2, 'inbox', 11, 'mid:a', false, false, 'c2:forged')],
          tracked: new Set([10, 11]),
          isSame: (m, _role, s) => m.digest === null || digestOf[s.uid] === m.digest,
        }),
      );
      expect(plan.actions).toEqual([
        { kind: 'trash', phoneId: 1 },
        { kind: 'trash', phoneId: 2 },
      ]);
      expect(plan.mappingPuts.sort((a, b) => a.phoneId - b.phoneId)).toEqual([
        mapping(1, 'trash', trashUid.R, 'mid:a', false, false, 'c2:real'),
        mapping(2, 'trash', trashUid.F, 'mid:a', false, false, 'c2:forged'),
      ]);
    });
  }

  it('a message new in Trash with the Message-ID but not the content of a vanished one is not it: destroy', () => {
    const plan = planDetection(
      input({
        inbox: { vanished: [10], changed: [] },
        trash: { vanished: [], changed: [summary(50, 'mid:a')] },
        mappings: [mapping(1, 'inbox', 10, 'mid:a', false, false, 'c2:real')],
        tracked: new Set([10]),
        isSame: () => false,
      }),
    );
    expect(plan.actions).toEqual([{ kind: 'destroy', phoneId: 1 }]);
    expect(plan.mappingDeletes).toEqual([1]);
  });
});
