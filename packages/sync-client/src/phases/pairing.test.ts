import { describe, expect, it } from 'vitest';
import type { PhoneListEntry } from '@twinbox/protocol';
import { LIMITS, standInDigest } from '@twinbox/protocol';
import type { DesktopSummary } from '../imap/desktop-imap.js';
import { decidePair, digestsNeeded, planPairing, type DigestOf } from './pairing.js';

const REAL = `c1:${'a'.repeat(64)}`;
const FORGED = `c1:${'f'.repeat(64)}`;

const phone = (phoneId: number, over: Partial<PhoneListEntry> = {}): PhoneListEntry => ({
  phoneId, folder: 'inbox', fingerprint: 'mid:q1@corp', digest: REAL, date: 0, seen: false, flagged: false, changed: [], ...over,
});
const desktop = (uid: number, over: Partial<DesktopSummary> = {}): DesktopSummary => ({ uid, date: 0, seen: false, flagged: false, fingerprint: 'mid:q1@corp', size: 100, ...over });

describe('planPairing', () => {
  const digests: DigestOf = (role, uid) => (role === 'inbox' && uid === 7 ? REAL : undefined);

  it('pairs only the same message: a phone copy with the Message-ID but other content is missing (forged-message-id)', () => {
    const plan = planPairing([phone(1, { digest: FORGED })], { inbox: [desktop(7)], trash: [] }, digests);
    expect(plan.pairs).toEqual([]);
    expect(plan.missing.map((p) => p.phoneId)).toEqual([1]);
  });

  it('pairs the real copy and leaves the forgery missing, whichever came first', () => {
    const plan = planPairing([phone(1, { digest: FORGED }), phone(2)], { inbox: [desktop(7)], trash: [] }, digests);
    expect(plan.pairs.map((p) => [p.phone.phoneId, p.desktop.uid])).toEqual([[2, 7]]);
    expect(plan.missing.map((p) => p.phoneId)).toEqual([1]);
  });

  it('each desktop message pairs once; the other folder is looked at second', () => {
    const both: DigestOf = () => REAL;
    const plan = planPairing([phone(1), phone(2), phone(3, { folder: 'trash' })], { inbox: [desktop(7)], trash: [desktop(9)] }, both);
    expect(plan.pairs.map((p) => [p.phone.phoneId, p.folder, p.desktop.uid])).toEqual([[1, 'inbox', 7], [2, 'trash', 9]]);
    expect(plan.missing.map((p) => p.phoneId)).toEqual([3]);
  });

  it('a stand-in pairs with the desktop message of its original size above the frame limit, without content', () => {
    const big = LIMITS.maxMessageBytes + 5;
    const plan = planPairing([phone(1, { digest: standInDigest(big) })], { inbox: [desktop(7, { size: big - 1 }), desktop(8, { size: big })], trash: [] }, () => undefined);
    expect(plan.pairs.map((p) => p.desktop.uid)).toEqual([8]);
  });

  it('asks for the digests of exactly the desktop messages that share a fingerprint with a phone message', () => {
    const needed = digestsNeeded([phone(1)], { inbox: [desktop(7), desktop(8, { fingerprint: 'mid:other' })], trash: [desktop(9)] });
    expect(needed).toEqual([{ role: 'inbox', uid: 7, size: 100 }, { role: 'trash', uid: 9, size: 100 }]);
  });
});

describe('decidePair', () => {
  const pair = (p: Partial<PhoneListEntry>, d: Partial<DesktopSummary>, folder: 'inbox' | 'trash' = 'inbox') => ({ phone: phone(1, p), desktop: desktop(7, d), folder });

  it('desktop policy: the desktop values go to the phone', () => {
    expect(decidePair(pair({ seen: true, folder: 'trash' }, { seen: false }), 'desktop')).toEqual({
      folder: 'inbox', moveDesktop: false, desktopFlags: {}, phoneActions: [{ kind: 'recover', phoneId: 1 }, { kind: 'markUnread', phoneId: 1 }], agreed: { seen: false, flagged: false },
    });
  });

  it('what the user changed on the phone wins over the desktop policy, the rest follows the policy', () => {
    expect(decidePair(pair({ seen: true, flagged: true, folder: 'trash', changed: ['seen', 'folder'] }, {}), 'desktop')).toEqual({
      folder: 'trash', moveDesktop: true, desktopFlags: { seen: true }, phoneActions: [{ kind: 'unflag', phoneId: 1 }], agreed: { seen: true, flagged: false },
    });
  });

  it('phone policy: the phone values go to the desktop', () => {
    expect(decidePair(pair({ flagged: true }, { seen: true }), 'phone')).toEqual({
      folder: 'inbox', moveDesktop: false, desktopFlags: { seen: false, flagged: true }, phoneActions: [], agreed: { seen: false, flagged: true },
    });
  });
});
