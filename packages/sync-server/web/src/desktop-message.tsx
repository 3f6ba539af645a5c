/**
 * A desktop message opened from a search or a desktop folder (issue 21):
 * headers and text first (or the HTML body through the server's sanitized
 * view, in the same sandboxed frame as a window message's), a notice when
 * the desktop sent only the beginning, and each attachment as a link that
 * fetches it from the desktop only when tapped. Read, flag, trash and
 * "Move to…" are desktop actions, done at once or refused with a reason
 * (never queued: the desktop has to be there to do them).
 *
 * Everything of the message is hostile: it is shown as text (Preact escapes
 * it), and its HTML only inside the frame, which runs nothing.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { desktop, desktopErrorText, desktopPartUrl, desktopViewUrl, saveOffline } from './desktop-api.js';
import { DesktopError } from './desktop-list.js';
import { folderName, folderTree, type Mailboxes } from './desktop-mailboxes.js';
import { patchKept } from './desktop-pages.js';
import type { DesktopAction, DesktopEmail } from './desktop-types.js';
import { sizeText } from './format.js';

export type ReplyKind = 'reply' | 'replyAll' | 'forward';

interface Props {
  id: string;
  mailboxes: Mailboxes & { reload: () => void };
  desktopOnline: boolean;
  onFatal: (err: unknown) => boolean;
  onBack: () => void;
  say: (text: string) => void;
  onReply: (kind: ReplyKind, email: DesktopEmail) => void;
}

export function DesktopMessageView(props: Props) {
  const [email, setEmail] = useState<DesktopEmail>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [moving, setMoving] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const { id, say } = props;

  useEffect(() => {
    let shown = true;
    setEmail(undefined);
    setError(undefined);
    setMoving(false);
    desktop.email(id).then(
      (e) => {
        if (!shown) return;
        setEmail(e);
        // Opened is read, as for a window message; quietly: failing to mark it does not stop the reading.
        if (!e.seen) void desktop.act(id, 'read').then(() => (setEmail((m) => (m ? { ...m, seen: true } : m)), patchKept(id, { seen: true })), () => undefined);
      },
      (err: unknown) => {
        if (shown && !props.onFatal(err)) setError(err);
      },
    );
    return () => void (shown = false);
  }, [id]);
  useEffect(() => heading.current?.focus(), [email?.id]);

  if (error !== undefined)
    return (
      <div class="reach">
        <div class="toolbar" role="toolbar" aria-label="Message actions">
          <button type="button" onClick={props.onBack}>
            ← Back
          </button>
        </div>
        <DesktopError error={error} />
      </div>
    );
  if (!email) return <p class="empty">Asking the desktop for the message…</p>;
  const m = email;
  const inTrash = props.mailboxes.mailboxes?.find((f) => f.id === m.mailboxId)?.role === 'trash';

  async function act(action: DesktopAction, mailboxId?: string) {
    setBusy(true);
    try {
      const next = await desktop.act(m.id, action, mailboxId);
      if (action === 'trash' || action === 'move') {
        const to = action === 'trash' ? 'Trash' : props.mailboxes.mailboxes?.find((f) => f.id === mailboxId);
        patchKept(m.id, undefined);
        say(`Moved to ${typeof to === 'string' ? to : to ? folderName(to) : mailboxId} on the desktop`);
        props.mailboxes.reload();
        props.onBack();
        return;
      }
      const patch = action === 'read' ? { seen: true } : action === 'unread' ? { seen: false } : action === 'flag' ? { flagged: true } : { flagged: false };
      setEmail({ ...m, ...patch, id: next });
      patchKept(m.id, patch);
    } catch (err) {
      if (!props.onFatal(err)) say(desktopErrorText(err));
    } finally {
      setBusy(false);
    }
  }

  const button = (action: DesktopAction, label: string) => (
    <button type="button" disabled={busy} onClick={() => void act(action)}>
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
        {!inTrash && button('trash', 'Trash')}
        <button type="button" disabled={busy} aria-expanded={moving} aria-controls={moving ? 'move-form' : undefined} onClick={() => setMoving(!moving)}>
          Move to…
        </button>
        <button type="button" onClick={() => props.onReply('reply', m)}>
          Reply
        </button>
        <button type="button" onClick={() => props.onReply('replyAll', m)}>
          Reply all
        </button>
        <button type="button" onClick={() => props.onReply('forward', m)}>
          Forward
        </button>
      </div>
      {moving && <MoveForm email={m} mailboxes={props.mailboxes} busy={busy} onMove={(to) => void act('move', to)} onCancel={() => setMoving(false)} />}
      <header class="message-head">
        <p class="meta desktop-note">On the desktop, not kept on the phone</p>
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
          <dd>{m.date ? new Date(m.date).toLocaleString() : ''}</dd>
        </dl>
      </header>
      {m.isTruncated && (
        <p class="notice truncated" role="note">
          This message is long: the phone shows its beginning. The whole of it is on the desktop.
        </p>
      )}
      {m.attachments.length > 0 && (
        <ul class="attachments" aria-label="Attachments">
          {m.attachments.map((a, i) => {
            const name = a.name ?? `attachment-${i + 1}`;
            return (
              <li key={a.partId}>
                <a
                  href={desktopPartUrl(m.id, a.partId)}
                  download={name}
                  onClick={(e) => {
                    // Online, the browser streams it to a file itself. Offline, the server may still hold it
                    // (its reach cache): asked here, so that a refusal is said in words, not saved as the file.
                    if (props.desktopOnline) return;
                    e.preventDefault();
                    void saveOffline(desktopPartUrl(m.id, a.partId), name).catch((err: unknown) => {
                      if (!props.onFatal(err)) say(desktopErrorText(err));
                    });
                  }}
                >
                  {name}
                </a>{' '}
                <span class="meta">
                  ({sizeText(a.size)}, fetched from the desktop when opened)
                </span>
              </li>
            );
          })}
        </ul>
      )}
      {m.html !== null ? (
        // No allow-scripts, no allow-same-origin: the mail runs nothing and has an opaque origin (message-view.ts on the server).
        <iframe
          class="body-frame"
          title="Message body"
          sandbox="allow-popups allow-popups-to-escape-sandbox"
          referrerpolicy="no-referrer"
          src={desktopViewUrl(m.id)}
        />
      ) : (
        <div class="text-body">{m.text}</div>
      )}
    </article>
  );
}

/** "Move to…": the desktop's folders but the one the message is in (and those that hold only folders). */
function MoveForm(props: { email: DesktopEmail; mailboxes: Mailboxes & { reload: () => void }; busy: boolean; onMove: (mailboxId: string) => void; onCancel: () => void }) {
  const { mailboxes } = props.mailboxes;
  const targets = mailboxes ? folderTree(mailboxes).filter((n) => n.mailbox.selectable && n.mailbox.id !== props.email.mailboxId) : [];
  const [to, setTo] = useState('');
  const first = useRef<HTMLSelectElement>(null);
  useEffect(() => first.current?.focus(), [mailboxes !== undefined]);
  if (!mailboxes) return props.mailboxes.error !== undefined ? <DesktopError error={props.mailboxes.error} onRetry={props.mailboxes.reload} /> : <p class="empty">Asking the desktop for its folders…</p>;
  return (
    <form
      id="move-form"
      class="move-form"
      aria-label="Move to a folder"
      onSubmit={(e) => {
        e.preventDefault();
        if (to) props.onMove(to);
      }}
    >
      <div class="field">
        <label for="move-to">Move to folder</label>
        <select id="move-to" ref={first} value={to} onChange={(e) => setTo((e.target as HTMLSelectElement).value)}>
          <option value="">Choose a folder…</option>
          {targets.map((n) => (
            <option key={n.mailbox.id} value={n.mailbox.id}>
              {`${'\u00a0\u00a0'.repeat(n.depth)}${folderName(n.mailbox)}`}
            </option>
          ))}
        </select>
      </div>
      <div class="actions">
        <button type="submit" class="primary" disabled={!to || props.busy}>
          Move
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
