/**
 * Reference scenarios for the fault campaigns: each sets up both sides, runs
 * the syncs that come before, and makes the changes whose sync is the one to
 * interrupt.
 */
import { makeMessage, type TwinboxSystem } from '@twinbox/testkit';

export interface Reference {
  name: string;
  window: number;
  /** Everything up to (not including) the sync under test. */
  prepare(system: TwinboxSystem): Promise<void>;
}

const at = (hhmm: string) => new Date(`2024-03-01T${hhmm}:00Z`);

export const PATENT_EXAMPLE: Reference = {
  name: 'patent worked example, update sync',
  window: 6,
  async prepare(system) {
    const times = ['10:00', '09:50', '09:40', '09:30', '09:20', '09:10', '09:00', '08:50', '08:40', '08:30'];
    for (const [i, t] of times.entries()) await system.desktop.deliver({ label: `C${i + 1}`, date: at(t) });
    for (const [label, t] of [['P21', '09:45'], ['P54', '08:00'], ['P7', '07:50'], ['P14', '07:40'], ['P70', '07:30']] as const) {
      await system.phoneDeliver({ label, date: at(t), messageId: `<${label}@ref>` });
    }
    await system.sync();
    await system.desktop.move('C1', 'INBOX', 'Trash');
    await system.desktop.setFlag('C2', '\\Seen', true);
    await system.phoneDeliver({ label: 'P129', date: at('10:30'), messageId: '<P129@ref>' });
    await system.phone().trash(await system.phoneId('C4'));
  },
};

export const SEND_VIA_SYNC: Reference = {
  name: 'send via sync with changes both ways',
  window: 3,
  async prepare(system) {
    for (const [i, t] of ['10:00', '09:00', '08:00', '07:00'].entries()) await system.desktop.deliver({ label: `D${i + 1}`, date: at(t) });
    await system.sync();
    await system.phone().send({ raw: makeMessage({ label: 'O1', to: 'x@corp.example', messageId: '<O1@ref>' }), envelope: { from: 'user1@phone.invalid', to: ['x@corp.example'] }, viaSync: true });
    await system.phone().send({ raw: makeMessage({ label: 'O2', to: 'y@corp.example', messageId: '<O2@ref>' }), envelope: { from: 'user1@phone.invalid', to: ['y@corp.example'] }, viaSync: true });
    await system.desktop.setFlag('D1', '\\Flagged', true);
    await system.phone().markRead(await system.phoneId('D2'));
    await system.phoneDeliver({ label: 'P1', date: at('11:00'), messageId: '<P1@ref>' });
  },
};

/** 100 desktop and 100 phone changes in one update sync (the soak campaign). */
export const TWO_HUNDRED_ACTIONS: Reference = {
  name: '200-action update in both directions',
  window: 60,
  async prepare(system) {
    for (let i = 1; i <= 70; i++) await system.desktop.deliver({ label: `D${i}`, date: new Date(Date.UTC(2024, 2, 1, 0, 0) + (100 - i) * 60_000), messageId: `<D${i}@ref>` });
    await system.sync();
    for (let i = 1; i <= 50; i++) await system.desktop.setFlag(`D${i}`, '\\Seen', true);
    for (let i = 51; i <= 60; i++) await system.desktop.move(`D${i}`, 'INBOX', 'Trash');
    for (let i = 1; i <= 40; i++) await system.desktop.setFlag(`D${i}`, '\\Flagged', true);
    const phone = system.phone();
    for (let i = 1; i <= 30; i++) await system.phoneDeliver({ label: `P${i}`, date: new Date(Date.UTC(2024, 2, 2, 0, i)), messageId: `<P${i}@ref>` });
    for (let i = 1; i <= 40; i++) await phone.flag(await system.phoneId(`D${i + 10}`));
    for (let i = 41; i <= 50; i++) await phone.trash(await system.phoneId(`D${i}`));
    for (let i = 1; i <= 20; i++) await phone.markRead(await system.phoneId(`P${i}`));
  },
};
