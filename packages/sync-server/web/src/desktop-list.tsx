/**
 * A list of desktop messages (search results, a desktop folder's page): its
 * own list, never mixed into the window's. Each row shows the sender, the
 * subject, the date, the preview and the flags; everything in it is the
 * mail's text, shown as text (Preact escapes it), cut to one line by CSS.
 */
import { useEffect, useRef } from 'preact/hooks';
import { desktopErrorText, desktopIsOffline } from './desktop-api.js';
import type { Pages } from './desktop-pages.js';
import { desktopMessageHash } from './route.js';
import { displayName, listDate } from './format.js';

/** The desktop is not connected: said once, plainly, with what still works. */
export function DesktopOffline() {
  return (
    <p class="notice desktop-offline" role="status">
      <span>
        <strong>Your desktop is offline:</strong> only the messages on the phone can be opened. Search and the desktop's folders come back when the desktop agent
        is online. <a href="#/inbox">Open the Inbox on the phone</a>
      </span>
    </p>
  );
}

/** A failed read, in words (the offline one is the banner's, not repeated here), with a way to try again. */
export function DesktopError(props: { error: unknown; onRetry?: () => void }) {
  if (props.error === undefined) return null;
  if (desktopIsOffline(props.error)) return <DesktopOffline />;
  return (
    <p class="notice desktop-error" role="alert">
      <span>{desktopErrorText(props.error)}</span>
      {props.onRetry && (
        <button type="button" onClick={props.onRetry}>
          Try again
        </button>
      )}
    </p>
  );
}

export function DesktopList(props: { label: string; pages: Pages; empty: string; more: string; onMore: () => void; onRetry: () => void }) {
  const { pages } = props;
  const shown = pages.items.length;
  // After "More", focus goes to the first new row: the button may be gone, and a screen reader goes on from there.
  const list = useRef<HTMLUListElement>(null);
  const firstNew = useRef<number | undefined>(undefined);
  useEffect(() => {
    const at = firstNew.current;
    if (at === undefined || pages.loading) return;
    firstNew.current = undefined;
    list.current?.querySelectorAll<HTMLAnchorElement>('.row-link')[at]?.focus();
  }, [shown, pages.loading]);
  const more = () => {
    firstNew.current = shown;
    props.onMore();
  };
  const count = pages.total !== null ? `${shown} of ${pages.total.toLocaleString()}` : `${shown}`;
  return (
    <section class="desktop-list" aria-label={props.label}>
      <DesktopError error={pages.error} onRetry={shown === 0 ? props.onRetry : props.onMore} />
      {shown === 0 && pages.loading && <p class="empty">Asking the desktop…</p>}
      {shown === 0 && !pages.loading && pages.error === undefined && <p class="empty">{props.empty}</p>}
      {shown > 0 && (
        <>
          <p class="list-count" role="status">
            {count} shown, newest first
          </p>
          <ul class="list" aria-label={props.label} ref={list}>
            {pages.items.map((m) => (
              <li key={m.id} class={m.seen ? 'row' : 'row unread'}>
                <a href={desktopMessageHash(m.id)} class="row-link" data-id={m.id}>
                  <span class="row-top">
                    <span class="from">
                      {!m.seen && <span class="dot" aria-hidden="true" />}
                      {!m.seen && <span class="sr-only">Unread, </span>}
                      {displayName(m.from)}
                    </span>
                    <span class="date">{m.receivedAt ? listDate(m.receivedAt) : ''}</span>
                  </span>
                  <span class="subject">
                    {m.flagged && (
                      <span class="flag" role="img" aria-label="Flagged">
                        ★{' '}
                      </span>
                    )}
                    {m.subject || '(no subject)'}
                  </span>
                  {(m.preview || m.hasAttachment) && (
                    <span class="preview">
                      {/* A word, not an emoji: a phone without an emoji font would show a box. */}
                      {m.hasAttachment && <span class="clip">Attachment</span>}
                      {m.preview}
                    </span>
                  )}
                </a>
              </li>
            ))}
          </ul>
        </>
      )}
      {pages.more && (
        <div class="more">
          <button type="button" onClick={more} disabled={pages.loading}>
            {pages.loading ? 'Asking the desktop…' : props.more}
          </button>
        </div>
      )}
    </section>
  );
}
