/**
 * Random use, checked after every sync (issue 5): fast-check generates
 * sequences of desktop and phone operations and syncs, runs them on the real
 * system, and checks what SPEC.md promises whatever the order of events:
 *
 *   - the window invariant (SPEC §2);
 *   - no label twice on either side (§3, §10);
 *   - nothing lost: every message not destroyed is on the desktop, in INBOX or Trash (§2, §10);
 *   - destroyed means gone from both sides (§6: destroy beats everything);
 *   - the phone Trash holds only what the desktop Trash holds;
 *   - a second sync right after finds nothing to do (convergence).
 *
 * These are SPEC's invariants, not a full reference model of the expected
 * mailboxes. Shrinking gives a minimal failing sequence; the seed is printed.
 * `npm test` runs 4 sequences, `npm run soak` 200; TWINBOX_RANDOM_RUNS sets it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TwinboxSystem, windowInvariantProblems } from '@twinbox/testkit';

const RUNS = Number(process.env.TWINBOX_RANDOM_RUNS ?? (process.env.TWINBOX_SOAK === '1' ? 200 : 4));
const WINDOW = 3;
type Side = 'desktop' | 'phone';
type Op =
  | { op: 'deliver'; side: Side }
  | { op: 'read' | 'unread' | 'flag' | 'unflag' | 'trash' | 'recover' | 'destroy'; side: Side; pick: number }
  | { op: 'sync' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('deliver' as const), side: fc.constantFrom<Side>('desktop', 'phone') }) },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constantFrom('read', 'unread', 'flag', 'unflag', 'trash', 'recover', 'destroy' as const),
      side: fc.constantFrom<Side>('desktop', 'phone'),
      pick: fc.nat(),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ op: 'sync' as const }) },
);

async function run(ops: Op[]): Promise<void> {
  const system = await TwinboxSystem.start({ window: WINDOW });
  const created: string[] = [];
  const destroyed = new Set<string>();
  let n = 0;
  try {
    for (let i = 0; i < 4; i++) await system.desktop.deliver({ label: `I${i}`, date: new Date(Date.UTC(2024, 0, 1, 0, i)) });
    created.push('I0', 'I1', 'I2', 'I3');
    await system.sync();
    for (const step of [...ops, { op: 'sync' as const }]) {
      if (step.op === 'sync') {
        await system.sync();
        const again = await system.sync();
        expect(again, 'a second sync finds nothing to do').toMatchObject({ agentActions: 0, serverActions: 0, pulled: 0, unmapped: 0, insertedOnDesktop: 0 });
        expect(await windowInvariantProblems(system, WINDOW)).toEqual([]);
        const desktop = [...(await system.desktop.labels('INBOX')), ...(await system.desktop.labels('Trash'))];
        const phone = [...system.phoneLabels('inbox'), ...system.phoneLabels('trash')];
        expect(new Set(desktop).size, `desktop twice: ${desktop}`).toBe(desktop.length);
        expect(new Set(phone).size, `phone twice: ${phone}`).toBe(phone.length);
        for (const label of created) {
          if (destroyed.has(label)) expect([desktop.includes(label), phone.includes(label)], `${label} destroyed`).toEqual([false, false]);
          else expect(desktop, `${label} lost`).toContain(label);
        }
        const desktopTrash = await system.desktop.labels('Trash');
        for (const label of system.phoneLabels('trash')) expect(desktopTrash, `${label} in phone Trash only`).toContain(label);
        continue;
      }
      if (step.op === 'deliver') {
        const label = `${step.side === 'desktop' ? 'D' : 'P'}${n++}`;
        created.push(label);
        if (step.side === 'desktop') await system.desktop.deliver({ label });
        else system.phoneDeliver({ label });
        continue;
      }
      // An operation on some message that side has now.
      if (step.side === 'desktop') {
        const inbox = await system.desktop.labels('INBOX');
        const trash = await system.desktop.labels('Trash');
        const pool = step.op === 'recover' ? trash : step.op === 'trash' ? inbox : [...inbox, ...trash];
        if (pool.length === 0) continue;
        const label = pool[step.pick % pool.length]!;
        const folder = inbox.includes(label) ? 'INBOX' : 'Trash';
        if (step.op === 'trash') await system.desktop.move(label, 'INBOX', 'Trash');
        else if (step.op === 'recover') await system.desktop.move(label, 'Trash', 'INBOX');
        else if (step.op === 'destroy') {
          await system.desktop.destroy(label, folder);
          destroyed.add(label);
        } else await system.desktop.setFlag(label, step.op === 'read' || step.op === 'unread' ? '\\Seen' : '\\Flagged', step.op === 'read' || step.op === 'flag', folder);
      } else {
        const inbox = system.phoneMessages('inbox');
        const trash = system.phoneMessages('trash');
        const pool = step.op === 'recover' ? trash : step.op === 'trash' ? inbox : [...inbox, ...trash];
        if (pool.length === 0) continue;
        const m = pool[step.pick % pool.length]!;
        const phone = system.phone();
        const ops = { read: phone.markRead, unread: phone.markUnread, flag: phone.flag, unflag: phone.unflag, trash: phone.trash, recover: phone.recover, destroy: phone.destroy };
        ops[step.op].call(phone, m.id);
        if (step.op === 'destroy') destroyed.add(m.label);
      }
    }
  } finally {
    await system.stop();
  }
}

describe('random use against the promises of SPEC.md', () => {
  it(`${RUNS} random sequences of desktop and phone operations and syncs`, async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 3, maxLength: 14 }), run), { numRuns: RUNS, endOnFailure: true });
  });
});
