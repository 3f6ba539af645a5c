/**
 * The desktop mailbox beyond the window (issue 21, docs/reach.md): search,
 * the desktop's folders, and any desktop message, each read from the desktop
 * through the server while the desktop agent is online. The window (the
 * app's Inbox, Trash, Sent, Outbox) is untouched by all of it, and keeps
 * working when the desktop is offline: these views then say so plainly.
 */
import { useEffect } from 'preact/hooks';
import { DesktopMessageView, type ReplyKind } from './desktop-message.js';
import { FolderView, FoldersView } from './desktop-folders.js';
import { useMailboxes } from './desktop-mailboxes.js';
import type { DesktopEmail } from './desktop-types.js';
import type { DesktopRoute } from './route.js';
import { SearchView } from './search.js';

/** The list a desktop message was opened from, for Back (a message opened from a link has none: the search). */
let lastList = '#/search';

export function desktopTitle(route: DesktopRoute): string {
  // Short: the title shares a 360 px top bar with two buttons.
  return route.name === 'search' ? 'Search' : route.name === 'desktopMessage' ? 'Message' : 'Folders';
}

export function Reach(props: {
  route: DesktopRoute;
  desktopOnline: boolean;
  onFatal: (err: unknown) => boolean;
  say: (text: string) => void;
  onReply: (kind: ReplyKind, email: DesktopEmail) => void;
}) {
  const { route } = props;
  // Opening the folder list reads the tree afresh (its counts); elsewhere the tree read once serves.
  const mailboxes = useMailboxes(props.onFatal);
  useEffect(() => {
    if (route.name !== 'desktopMessage') lastList = location.hash;
  }, [route]);
  useEffect(() => {
    if (route.name === 'desktopFolders') mailboxes.reload();
  }, [route.name]);

  switch (route.name) {
    case 'search':
      return <SearchView query={route.query} mailboxes={mailboxes} desktopOnline={props.desktopOnline} onFatal={props.onFatal} />;
    case 'desktopFolders':
      return <FoldersView mailboxes={mailboxes} desktopOnline={props.desktopOnline} />;
    case 'desktopFolder':
      return <FolderView mailbox={route.mailbox} mailboxes={mailboxes} desktopOnline={props.desktopOnline} onFatal={props.onFatal} />;
    case 'desktopMessage':
      return (
        <DesktopMessageView
          id={route.id}
          mailboxes={mailboxes}
          desktopOnline={props.desktopOnline}
          onFatal={props.onFatal}
          onBack={() => (location.hash = lastList)}
          say={props.say}
          onReply={props.onReply}
        />
      );
  }
}
