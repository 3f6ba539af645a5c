/**
 * An attachment a window message's preview left out (docs/reach.md "Preview
 * first"; protocol preview.ts), served at the window message's own attachment
 * route: from the reach cache when held there, else streamed from the desktop
 * through the agent's request lane (`heldPart`: the agent finds the desktop
 * message by its mapping of this phone message) and kept in the cache as it
 * passes, under the same per-account cap as every desktop part.
 *
 * The phone message is the caller's (api.ts found it in the caller's account),
 * and the part is one the server's own record of the preview lists: a device
 * can reach no other account's desktop, and no part the agent did not leave out.
 */
import type { ServerResponse } from 'node:http';
import type { Account, PhoneMessage, ServerStore } from '../store/index.js';
import { servePart, type DesktopAccess } from './desktop-api.js';
import { PhoneError } from './errors.js';

/** The reach cache key of a held part: phone IDs are never reused, and a window message's bytes never change. */
export const heldPartKey = (phoneId: number, partId: string) => `w:${phoneId}:${partId}`;

export async function heldPart(store: ServerStore, access: DesktopAccess | undefined, account: Account, message: PhoneMessage, partId: string, res: ServerResponse): Promise<void> {
  if (!message.heldParts?.some((p) => p.partId === partId)) throw new PhoneError('NOT_FOUND', `message ${message.id} has no part ${partId} on the desktop`);
  if (!access) throw new PhoneError('DESKTOP_OFFLINE', 'this attachment is on the desktop, and this server does not reach it');
  const gone = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  await servePart({ store, access, accountId: account.id, res, key: heldPartKey(message.id, partId), signal: gone.signal }, (lane) =>
    lane.openHeldPart({ phoneId: message.id, partId }, { timeoutMs: access.timeoutMs, signal: gone.signal }),
  );
}
