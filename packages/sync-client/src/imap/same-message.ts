/**
 * Finding, on the desktop, the message that *is* a given message (the one
 * rule of identity, packages/protocol/src/identity.ts; docs/identity.md):
 * candidates share its fingerprint; the one whose content digest matches is
 * it. Every place the agent pairs two messages comes here or to
 * pairing.ts/detection-plan.ts, which use the same digests. Content is fetched
 * only for candidates, in batches of at most BATCH_BYTES.
 */
import { LIMITS, contentDigestOfRaw, digestMatches, standInMatches, type MessageIdentity } from '@twinbox/protocol';
import type { FolderRole } from '../store/agent-store.js';
import type { DesktopImap, DesktopSummary, ImapFolder } from './desktop-imap.js';

/** At most this many bytes of message bodies are fetched in one batch (and so held at once). */
export const BATCH_BYTES = 64 * 1024 * 1024;

type Identity = Pick<MessageIdentity, 'fingerprint' | 'digest'>;

/**
 * Content digests of these messages; messages above the frame limit are
 * skipped (only a stand-in can be their twin, and size decides that). A UID
 * that is gone is absent from the answer.
 */
/** Each message's raw bytes, in UID order, fetched BATCH_BYTES at a time; one above the frame limit is skipped. */
async function forEachSource(imap: DesktopImap, role: ImapFolder, messages: { uid: number; size: number }[], each: (uid: number, raw: Buffer) => boolean | void): Promise<void> {
  const wanted = messages.filter((m) => m.size <= LIMITS.maxMessageBytes).sort((a, b) => a.uid - b.uid);
  for (let i = 0; i < wanted.length; ) {
    const batch: number[] = [];
    let bytes = 0;
    while (i < wanted.length && (batch.length === 0 || bytes + wanted[i]!.size <= BATCH_BYTES)) {
      batch.push(wanted[i]!.uid);
      bytes += wanted[i]!.size;
      i++;
    }
    const sources = await imap.sources(role, batch);
    for (const uid of batch) {
      const raw = sources.get(uid);
      if (raw && each(uid, raw) === true) return;
    }
  }
}

export async function digestsOf(imap: DesktopImap, role: ImapFolder, messages: { uid: number; size: number }[]): Promise<Map<number, string>> {
  const digests = new Map<number, string>();
  await forEachSource(imap, role, messages, (uid, raw) => void digests.set(uid, contentDigestOfRaw(raw)));
  return digests;
}

/**
 * Of these candidates, the lowest-UID one that is the same message as
 * `identity`, or undefined. A digest from before identity scheme 3 is checked
 * in its own scheme (digestMatches).
 */
export async function sameMessage(imap: DesktopImap, role: ImapFolder, identity: Identity, candidates: { uid: number; size: number; fingerprint: string }[]): Promise<number | undefined> {
  const sorted = candidates.filter((c) => c.fingerprint === identity.fingerprint).sort((a, b) => a.uid - b.uid);
  if (identity.digest.startsWith('standin:')) return sorted.find((c) => standInMatches(identity.digest, c.size) === true)?.uid;
  let found: number | undefined;
  await forEachSource(imap, role, sorted, (uid, raw) => {
    if (!digestMatches(identity.digest, raw)) return false;
    found = uid;
    return true;
  });
  return found;
}

/** The lowest-UID message at or above `minUid` that is the same message as `identity`. */
export async function findSame(imap: DesktopImap, role: ImapFolder, identity: Identity, minUid: number): Promise<number | undefined> {
  const found = (await imap.summaries(role, minUid)).filter((m) => m.fingerprint === identity.fingerprint);
  return found.length === 0 ? undefined : sameMessage(imap, role, identity, found);
}

/**
 * Candidates anywhere in a folder: by a server-side SEARCH HEADER Message-ID
 * where the fingerprint is a Message-ID, else (rare: no usable Message-ID) by
 * listing the folder.
 */
export async function candidatesFor(imap: DesktopImap, role: FolderRole, fingerprint: string): Promise<DesktopSummary[]> {
  const found = fingerprint.startsWith('mid:') ? await imap.searchMessageIds(role, [fingerprint.slice('mid:'.length)]) : await imap.summaries(role, 1);
  return found.filter((s) => s.fingerprint === fingerprint);
}
