/**
 * Issue 9.7: an initial sync works however many messages the phone holds.
 * The phone list used to travel in one frame header (1 MiB): 12,000 messages
 * with Outlook-style Message-IDs made every initial sync fail with BAD_FRAME.
 * Here the phone Trash and the desktop Trash hold the same N messages (15,000
 * in `npm test`; `TWINBOX_PHONE_LIST_SIZE=100000`, as `npm run soak -- --only
 * paging` runs it, for the full size) and the agent starts over: every
 * message is paired, none appended or duplicated, on either side.
 */
import { describe, expect, it } from 'vitest';
import { AgentStore } from '@twinbox/sync-client';
import { TwinboxSystem, makeMessage } from '@twinbox/testkit';

const N = Number(process.env.TWINBOX_PHONE_LIST_SIZE ?? 15_000);

/** An Outlook-style Message-ID (about 80 characters), unique per i. */
const outlookId = (i: number) => `<DM6PR11MB${String(i).padStart(6, '0')}E6F4A2B7C43D9F0A1B2C3D4E5F6A7B8C9@DM6PR11MB4098.namprd11.prod.outlook.com>`;

describe('the phone list in pages', () => {
  it(`initial-sync-with-${N}-phone-messages: all paired, none appended or duplicated`, async () => {
    const system = await TwinboxSystem.start({ window: 50 });
    try {
      const base = Date.UTC(2025, 0, 1);
      const messages = Array.from({ length: N }, (_, i) => ({
        raw: makeMessage({ label: `T${i}`, messageId: outlookId(i), date: new Date(base + i * 60_000), subject: 'archived thread' }),
        date: new Date(base + i * 60_000),
        seen: true,
      }));
      system.dovecot.writeMaildir('user1', 'Trash', messages);
      const store = system.store;
      await store.transaction(async () => {
        for (const m of messages) await store.messages.insert('user1', { folder: 'trash', raw: m.raw, date: m.date.getTime(), seen: true, flagged: false });
      });
      await system.closeStore();
      await system.desktop.deliver({ label: 'NEW' });

      const summary = await system.sync();
      expect(summary.mode).toBe('initial');
      expect(summary.insertedOnDesktop).toBe(0);
      expect(summary.wire.framesReceived).toBeGreaterThan(Math.ceil((N * 200) / (256 * 1024)));

      const agent = AgentStore.open(system.agentDatabase);
      try {
        expect(agent.mappings('trash')).toHaveLength(N);
        expect(agent.mappings('inbox')).toHaveLength(1);
      } finally {
        agent.close();
      }
      await system.openStore();
      expect(await system.store.messages.count('user1', 'trash')).toBe(N);
      expect(await system.phoneLabels()).toEqual(['NEW']);
      const trash = await system.desktop.labels('Trash');
      expect(trash).toHaveLength(N);
      expect(new Set(trash).size).toBe(N);
      // And the next sync is an ordinary, quiet update.
      const next = await system.sync();
      expect([next.mode, next.agentActions, next.serverActions]).toEqual(['update', 0, 0]);
    } finally {
      await system.stop();
    }
  }, 900_000);
});
