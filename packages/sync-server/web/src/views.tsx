/** The app's screens: the folder list, a message, compose, and the banner. */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { viewUrl } from './api.js';
import { desktopErrorText, desktopIsOffline, saveOffline } from './desktop-api.js';
import type { Draft } from './format.js';
import { ago, displayName, listDate, sizeText } from './format.js';
import type { Folder, Message, Status, Summary } from './types.js';

export const FOLDER_NAMES: Record<Folder, string> = { inbox: 'Inbox', trash: 'Trash', sent: 'Sent', outbox: 'Outbox' };

export function Banner(props: {
  status: Status | undefined;
  folder: Folder;
  count: number;
  offline: boolean;
  queued: number;
  syncing: string | undefined;
  onRetryQuarantined: (id: number) => void;
}) {
  const { status, offline, queued, syncing } = props;
  if (!status) return null;
  const desktopInbox = status.lastSync?.stats?.desktopInbox;
  const window =
    props.folder === 'inbox'
      ? desktopInbox !== undefined
        ? `The ${status.inbox} newest of ${desktopInbox.toLocaleString()} on the desktop (window ${status.window})`
        : `Window: ${status.inbox} of ${status.window} newest desktop messages`
      : `${props.count} ${props.count === 1 ? 'message' : 'messages'}`;
  const sync = syncing ?? (status.lastSync ? `Synced ${ago(status.lastSync.at)}` : 'Never synced');
  return (
    <div class="banner" role="status" aria-live="polite">
      <span>{window}</span>
      <span>
        {sync}
        {status.agentConnected ? ' · desktop online' : ' · desktop offline'}
      </span>
      {offline && <span class="offline">Offline — showing saved mail{queued > 0 ? `; ${queued} action${queued === 1 ? '' : 's'} will be sent` : ''}</span>}
      {!offline && queued > 0 && <span>{queued} action{queued === 1 ? '' : 's'} waiting to be sent</span>}
      <Quarantine status={status} onRetry={props.onRetryQuarantined} />
    </div>
  );
}

const CHANGE_NAMES: Record<string, string> = { insert: 'Copying to the desktop', trash: 'Moving to Trash', recover: 'Moving back to the Inbox', destroy: 'Deleting', deliver: 'Sending' };

/** What could not sync because of one message, and a way to try again (docs/quarantine.md). */
function Quarantine(props: { status: Status; onRetry: (id: number) => void }) {
  const q = props.status.quarantine;
  if (!q || (q.changes.length === 0 && q.desktopMessagesHeld === 0)) return null;
  return (
    <div class="quarantine">
      {q.changes.map((c) => (
        <p key={c.id}>
          <span>
            {CHANGE_NAMES[c.kind] ?? 'A change to'} “{c.subject ?? `message ${c.phoneId}`}” failed: the desktop refused it ({c.error}).{' '}
          </span>
          <button type="button" onClick={() => props.onRetry(c.id)}>
            Try again
          </button>
        </p>
      ))}
      {q.desktopMessagesHeld > 0 && (
        <p>
          {q.desktopMessagesHeld} desktop message{q.desktopMessagesHeld === 1 ? '' : 's'} could not be brought to the phone (see twinbox-agent status on the desktop).
        </p>
      )}
    </div>
  );
}

export function MessageList(props: { folder: Folder; messages: Summary[] | undefined; dataAt: number; onOpen: (id: number) => void; onRetry: (id: number) => void }) {
  const { folder, messages } = props;
  // The render time of a list, from its data to the frame that shows it (reported by the e2e test: issue 12).
  useLayoutEffect(() => {
    if (!messages || props.dataAt === 0) return;
    const start = props.dataAt;
    requestAnimationFrame(() => performance.measure(`render-${folder}`, { start, end: performance.now() }));
  }, [messages, props.dataAt, folder]);
  if (!messages) return <p class="empty">Loading…</p>;
  if (messages.length === 0) return <p class="empty">No messages in {FOLDER_NAMES[folder]}.</p>;
  return (
    <ul class="list" aria-label={`${FOLDER_NAMES[folder]} messages`}>
      {messages.map((m) => (
        <li key={m.id} class={m.seen ? 'row' : 'row unread'}>
          <a href={`#/message/${m.id}`} class="row-link" onClick={(e) => (e.preventDefault(), props.onOpen(m.id))} data-id={m.id}>
            <span class="row-top">
              <span class="from">
                {!m.seen && <span class="dot" aria-hidden="true" />}
                {!m.seen && <span class="sr-only">Unread, </span>}
                {folder === 'sent' || folder === 'outbox' ? 'To: ' : ''}
                {displayName(m.from)}
              </span>
              <span class="date">{listDate(m.date)}</span>
            </span>
            <span class="subject">
              {m.flagged && (
                <span class="flag" role="img" aria-label="Flagged">
                  ★{' '}
                </span>
              )}
              {m.subject || '(no subject)'}
            </span>
            {m.preview && <span class="preview">{m.preview}</span>}
          </a>
          {folder === 'outbox' && (
            <div class={`send-status ${m.sendStatus ?? ''}`}>
              <span class="reason">{m.sendStatus === 'failed' ? `Not sent: ${m.sendError ?? 'error'}` : m.viaSync ? 'Waiting for the desktop to send it' : 'Sending…'}</span>
              {m.sendStatus === 'failed' && (
                <button type="button" onClick={() => props.onRetry(m.id)}>
                  Retry
                </button>
              )}
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}

/** What the user reads when an attachment a preview left on the desktop is tapped, the desktop offline and the server not holding it. */
export const HELD_OFFLINE_TEXT = 'This attachment is on your desktop, which is offline: it can be downloaded when the desktop is back.';

export type MessageAction = 'read' | 'unread' | 'flag' | 'unflag' | 'trash' | 'recover' | 'destroy' | 'reply' | 'replyAll' | 'forward';

export function MessageView(props: {
  message: Message | undefined;
  error: string | undefined;
  /** The agent is connected: an attachment a preview left on the desktop (`onDesktop`) can be fetched from it. */
  desktopOnline: boolean;
  onAction: (action: MessageAction) => void;
  onBack: () => void;
  /** A failure the app handles itself (signed out, another account, no connection): true when it did. */
  onFatal: (err: unknown) => boolean;
  say: (text: string) => void;
}) {
  const { message: m } = props;
  const [images, setImages] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => setImages(false), [m?.id]);
  useEffect(() => heading.current?.focus(), [m?.id]);
  if (props.error) return <p class="empty">{props.error}</p>;
  if (!m) return <p class="empty">Loading…</p>;
  const button = (action: MessageAction, label: string) => (
    <button type="button" onClick={() => props.onAction(action)}>
      {label}
    </button>
  );
  return (
    <article class="message" aria-labelledby="message-subject">
      <div class="toolbar" role="toolbar" aria-label="Message actions">
        <button type="button" onClick={props.onBack}>
          ← Back
        </button>
        {m.seen ? button('unread', 'Mark unread') : button('read', 'Mark read')}
        {m.flagged ? button('unflag', 'Unflag') : button('flag', 'Flag')}
        {m.folder === 'trash' ? button('recover', 'Recover') : m.folder === 'inbox' ? button('trash', 'Trash') : null}
        {(m.folder === 'inbox' || m.folder === 'trash') && button('destroy', 'Delete forever')}
        {button('reply', 'Reply')}
        {button('replyAll', 'Reply all')}
        {button('forward', 'Forward')}
      </div>
      <header class="message-head">
        <h2 id="message-subject" tabIndex={-1} ref={heading}>
          {m.subject || '(no subject)'}
        </h2>
        <dl>
          <dt>From</dt>
          <dd>{m.from}</dd>
          <dt>To</dt>
          <dd>{m.to}</dd>
          {m.cc && <dt>Cc</dt>}
          {m.cc && <dd>{m.cc}</dd>}
          <dt>Date</dt>
          <dd>{new Date(m.date).toLocaleString()}</dd>
        </dl>
      </header>
      {m.folder === 'outbox' && m.sendStatus === 'failed' && (
        <p class="notice send-error" role="alert">
          Not sent: {m.sendError ?? 'error'}
        </p>
      )}
      {m.attachments.length > 0 && (
        <ul class="attachments" aria-label="Attachments">
          {m.attachments.map((a) => (
            <li key={a.index}>
              <a
                href={`/api/v1/messages/${m.id}/attachments/${a.index}`}
                download={a.filename ?? `attachment-${a.index + 1}`}
                onClick={(e) => {
                  // A part the preview left on the desktop, with the desktop offline: the server may still hold it
                  // (its reach cache). Asked here, as for a desktop message's part (desktop-message.tsx), so that a
                  // refusal is said in words instead of ending as a failed download.
                  if (!a.onDesktop || props.desktopOnline) return;
                  e.preventDefault();
                  const url = `/api/v1/messages/${m.id}/attachments/${a.index}`;
                  void saveOffline(url, a.filename ?? `attachment-${a.index + 1}`).catch((err: unknown) => {
                    if (!props.onFatal(err)) props.say(desktopIsOffline(err) ? HELD_OFFLINE_TEXT : desktopErrorText(err));
                  });
                }}
              >
                {a.filename ?? `attachment ${a.index + 1}`}
              </a>{' '}
              <span class="meta">
                ({sizeText(a.size)}
                {a.onDesktop ? ', on the desktop: fetched when opened' : ''})
              </span>
            </li>
          ))}
        </ul>
      )}
      {m.html !== null ? (
        <>
          {m.remoteContent && !images && (
            <div class="notice">
              Remote images are hidden (they can tell the sender you read this).{' '}
              <button type="button" onClick={() => setImages(true)}>
                Show images
              </button>
            </div>
          )}
          {/* No allow-scripts, no allow-same-origin: the mail runs nothing and has an opaque origin (message-view.ts). */}
          <iframe
            class="body-frame"
            title="Message body"
            sandbox="allow-popups allow-popups-to-escape-sandbox"
            referrerpolicy="no-referrer"
            src={viewUrl(m.id, images)}
          />
        </>
      ) : (
        <div class="text-body">{m.text}</div>
      )}
    </article>
  );
}

export function Compose(props: { draft: Draft; directSend: boolean; onSend: (draft: Draft, files: File[], viaSync: boolean) => void; onCancel: () => void }) {
  const [draft, setDraft] = useState(props.draft);
  const [viaSync, setViaSync] = useState(true);
  const [showCopies, setShowCopies] = useState(props.draft.cc !== '' || props.draft.bcc !== '');
  const files = useRef<HTMLInputElement>(null);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);
  const field = (name: 'to' | 'cc' | 'bcc' | 'subject', label: string, ref?: typeof first) => (
    <div class="field">
      <label for={`compose-${name}`}>{label}</label>
      <input
        id={`compose-${name}`}
        ref={ref}
        type="text"
        inputMode={name === 'subject' ? 'text' : 'email'}
        autoComplete={name === 'subject' ? 'off' : 'email'}
        value={draft[name]}
        onInput={(e) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value })}
        {...(name === 'to' ? { required: true } : {})}
      />
    </div>
  );
  return (
    <form
      class="compose"
      aria-label="New message"
      onSubmit={(e) => {
        e.preventDefault();
        props.onSend(draft, [...(files.current?.files ?? [])], viaSync || !props.directSend);
      }}
    >
      {field('to', 'To', first)}
      {showCopies ? (
        <>
          {field('cc', 'Cc')}
          {field('bcc', 'Bcc')}
        </>
      ) : (
        <button type="button" class="link" onClick={() => setShowCopies(true)}>
          Add Cc and Bcc
        </button>
      )}
      {field('subject', 'Subject')}
      <div class="field">
        <label for="compose-text">Message</label>
        <textarea id="compose-text" rows={10} value={draft.text} onInput={(e) => setDraft({ ...draft, text: (e.target as HTMLTextAreaElement).value })} />
      </div>
      {(props.draft.forwardAttachments ?? []).length > 0 && (
        <p class="meta">Forwarding with: {props.draft.forwardAttachments!.map((a) => a.filename).join(', ')}</p>
      )}
      <div class="field">
        <label for="compose-files">Attachments</label>
        <input id="compose-files" type="file" multiple ref={files} />
      </div>
      <div class="check">
        <input id="compose-via" type="checkbox" checked={viaSync || !props.directSend} disabled={!props.directSend} onChange={(e) => setViaSync((e.target as HTMLInputElement).checked)} />
        <label for="compose-via">Send through the desktop (from your desktop account, kept in its Sent folder)</label>
      </div>
      <div class="actions">
        <button type="submit" class="primary">
          Send
        </button>
        <button type="button" onClick={props.onCancel}>
          Discard
        </button>
      </div>
    </form>
  );
}

export function Toast(props: { text: string; undo?: () => void }) {
  return (
    <div class="toast" role="status" aria-live="polite">
      <span>{props.text}</span>
      {props.undo && (
        <button type="button" onClick={props.undo}>
          Undo
        </button>
      )}
    </div>
  );
}
