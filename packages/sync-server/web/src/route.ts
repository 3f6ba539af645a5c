/**
 * The app's screens, in the address bar's fragment: #/inbox, #/trash, #/sent, #/outbox, #/message/ID, #/compose;
 * and the desktop mailbox beyond the window (issue 21): #/search?QUERY, #/desktop (its folders),
 * #/desktop/folder/ID, #/desktop/message/ID (desktop ids are opaque text, percent-encoded here).
 */
import type { Folder } from './types.js';

export type Route =
  | { name: 'folder'; folder: Folder }
  | { name: 'message'; id: number }
  | { name: 'compose' }
  | { name: 'search'; query: string }
  | { name: 'desktopFolders' }
  | { name: 'desktopFolder'; mailbox: string }
  | { name: 'desktopMessage'; id: string };

export type DesktopRoute = Extract<Route, { name: 'search' | 'desktopFolders' | 'desktopFolder' | 'desktopMessage' }>;

export const isDesktopRoute = (route: Route): route is DesktopRoute =>
  route.name === 'search' || route.name === 'desktopFolders' || route.name === 'desktopFolder' || route.name === 'desktopMessage';

/** A percent-encoded piece of the address; undefined when it does not decode (a hand-typed address). */
function decoded(piece: string): string | undefined {
  try {
    return decodeURIComponent(piece);
  } catch {
    return undefined;
  }
}

export function routeOf(hash: string): Route {
  const message = /^#\/message\/(\d+)$/.exec(hash);
  if (message) return { name: 'message', id: Number(message[1]) };
  if (hash === '#/compose') return { name: 'compose' };
  const search = /^#\/search(?:\?(.*))?$/.exec(hash);
  if (search) return { name: 'search', query: search[1] ?? '' };
  if (hash === '#/desktop') return { name: 'desktopFolders' };
  const desktop = /^#\/desktop\/(folder|message)\/([^/?#]+)$/.exec(hash);
  const id = desktop ? decoded(desktop[2]!) : undefined;
  if (desktop && id) return desktop[1] === 'folder' ? { name: 'desktopFolder', mailbox: id } : { name: 'desktopMessage', id };
  const folder = /^#\/(inbox|trash|sent|outbox)$/.exec(hash)?.[1] as Folder | undefined;
  return { name: 'folder', folder: folder ?? 'inbox' };
}

export const desktopFolderHash = (mailbox: string): string => `#/desktop/folder/${encodeURIComponent(mailbox)}`;
export const desktopMessageHash = (id: string): string => `#/desktop/message/${encodeURIComponent(id)}`;
