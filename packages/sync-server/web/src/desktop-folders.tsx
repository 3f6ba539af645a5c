/**
 * The desktop's folders (issue 21): the tree with roles and unread counts,
 * and any folder's newest messages, page by page. A folder's page is the
 * desktop's, read on demand: it never joins the window.
 */
import { DesktopError, DesktopList, DesktopOffline } from './desktop-list.js';
import { folderName, folderTree, ROLE_NAMES, type Mailboxes } from './desktop-mailboxes.js';
import { usePages, useRetryWhenOnline } from './desktop-pages.js';
import type { DesktopMailbox } from './desktop-types.js';
import { desktopFolderHash } from './route.js';
import { queryOfSearch, emptySearch } from './search-query.js';

export function FoldersView(props: { mailboxes: Mailboxes & { reload: () => void }; desktopOnline: boolean }) {
  const { mailboxes, loading, error } = props.mailboxes;
  useRetryWhenOnline(props.desktopOnline, error !== undefined, props.mailboxes.reload);
  return (
    <div class="reach">
      {!props.desktopOnline && error === undefined && <DesktopOffline />}
      <DesktopError error={error} onRetry={props.mailboxes.reload} />
      {!mailboxes && loading && <p class="empty">Asking the desktop for its folders…</p>}
      {mailboxes && mailboxes.length === 0 && <p class="empty">The desktop has no folders to show.</p>}
      {mailboxes && mailboxes.length > 0 && (
        <ul class="folder-tree" aria-label="Desktop folders">
          {folderTree(mailboxes).map(({ mailbox: m, depth }) => (
            // Depth as a class, not a style attribute: the app's CSP allows style sheets only.
            <li key={m.id} class={`depth-${Math.min(depth, 6)}`}>
              {m.selectable ? (
                <a href={desktopFolderHash(m.id)} class="folder-link">
                  <FolderLabel mailbox={m} />
                </a>
              ) : (
                <span class="folder-link holder">
                  <FolderLabel mailbox={m} />
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function FolderLabel(props: { mailbox: DesktopMailbox }) {
  const m = props.mailbox;
  const unread = m.unreadEmails ?? 0;
  return (
    <>
      <span class="folder-name">{folderName(m)}</span>
      {m.role && m.role !== 'inbox' && ROLE_NAMES[m.role].toLowerCase() !== m.name.toLowerCase() && <span class="meta"> ({ROLE_NAMES[m.role]})</span>}
      {unread > 0 && (
        <span class="count" aria-label={`${unread} unread`}>
          {unread.toLocaleString()}
        </span>
      )}
    </>
  );
}

export function FolderView(props: { mailbox: string; mailboxes: Mailboxes; desktopOnline: boolean; onFatal: (err: unknown) => boolean }) {
  const { pages, loadMore, reload } = usePages(`folder:${props.mailbox}`, { inMailbox: props.mailbox }, props.onFatal);
  useRetryWhenOnline(props.desktopOnline, pages.error !== undefined, reload);
  const known = props.mailboxes.mailboxes?.find((m) => m.id === props.mailbox);
  const name = known ? folderName(known) : props.mailbox;
  return (
    <div class="reach">
      <div class="reach-head">
        <h2 class="wrap">{name}</h2>
        <a class="button" href={`#/search?${queryOfSearch({ ...emptySearch, inMailbox: props.mailbox })}`}>
          Search this folder
        </a>
      </div>
      {known && known.totalEmails !== null && (
        <p class="meta reach-meta">
          {known.totalEmails.toLocaleString()} on the desktop{known.unreadEmails ? `, ${known.unreadEmails.toLocaleString()} unread` : ''}
        </p>
      )}
      {!props.desktopOnline && pages.error === undefined && <DesktopOffline />}
      <DesktopList label={`${name}: desktop messages`} pages={pages} empty={`No messages in ${name} on the desktop.`} more="More messages" onMore={loadMore} onRetry={reload} />
    </div>
  );
}
