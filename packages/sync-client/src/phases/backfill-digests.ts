/**
 * Mappings made before the agent kept each message's content digest (agent
 * schema 5, issue 18) get it from the desktop copy they map: after this the
 * agent recognises a moved message by its digest (detection-plan.ts), never by
 * its Message-ID alone. Runs in every sync, after detection, and does nothing
 * once every mapping has one; the work is O(window), once, after the upgrade.
 *
 * A message above the frame limit is a stand-in on the phone: its digest is
 * the stand-in's (its size decides, identity.ts).
 */
import { LIMITS, standInDigest } from '@twinbox/protocol';
import { digestsOf } from '../imap/same-message.js';
import type { FolderRole } from '../store/agent-store.js';
import type { SyncContext } from './context.js';

const BATCH = 500;

export async function backfillDigests(ctx: Pick<SyncContext, 'store' | 'imap' | 'log'>): Promise<number> {
  const { store, imap } = ctx;
  let filled = 0;
  for (const role of ['inbox', 'trash'] as FolderRole[]) {
    const missing = store.mappingsWithoutDigest(100_000).filter((m) => m.folder === role);
    for (let i = 0; i < missing.length; i += BATCH) {
      const batch = missing.slice(i, i + BATCH);
      const summaries = new Map<number, number>();
      await imap.summariesOf(role, batch.map((m) => m.uid), (page) => page.forEach((s) => summaries.set(s.uid, s.size)));
      const digests = await digestsOf(imap, role, [...summaries].map(([uid, size]) => ({ uid, size })));
      store.transaction(() => {
        for (const m of batch) {
          const size = summaries.get(m.uid);
          const digest = size !== undefined && size > LIMITS.maxMessageBytes ? standInDigest(size) : digests.get(m.uid);
          if (digest === undefined) continue;
          store.setMappingDigest(m.phoneId, digest);
          filled++;
        }
      });
    }
  }
  if (filled > 0) ctx.log.info('content digests recorded for mappings made before they were kept', { filled });
  return filled;
}
