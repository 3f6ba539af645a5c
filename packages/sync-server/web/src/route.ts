/** The app's screens, in the address bar's fragment: #/inbox, #/trash, #/sent, #/outbox, #/message/ID, #/compose. */
import type { Folder } from './types.js';

export type Route = { name: 'folder'; folder: Folder } | { name: 'message'; id: number } | { name: 'compose' };

export function routeOf(hash: string): Route {
  const message = /^#\/message\/(\d+)$/.exec(hash);
  if (message) return { name: 'message', id: Number(message[1]) };
  if (hash === '#/compose') return { name: 'compose' };
  const folder = /^#\/(inbox|trash|sent|outbox)$/.exec(hash)?.[1] as Folder | undefined;
  return { name: 'folder', folder: folder ?? 'inbox' };
}
