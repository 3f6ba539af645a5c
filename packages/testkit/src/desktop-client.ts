/**
 * The desktop user's mail client in tests: a separate IMAP connection that
 * makes the changes a person would (APPEND with a date, STORE flags, MOVE to
 * Trash and back, EXPUNGE) and reads folders back by label, in order.
 */
import { ImapFlow } from 'imapflow';
import { IMAP_PROFILES, type ImapProfile } from './imap-profiles.js';
import { labelOfHeaders } from './labels.js';
import { makeMessage, type TestMessage } from './mail.js';

export interface LabeledMessage {
  label: string;
  uid: number;
  date: number;
  seen: boolean;
  flagged: boolean;
}

export type DesktopFolder = 'INBOX' | 'Trash' | 'Sent';

export const FOLDERS: readonly DesktopFolder[] = ['INBOX', 'Trash', 'Sent'];

export class DesktopClient {
  private constructor(
    private readonly client: ImapFlow,
    private readonly profile: ImapProfile,
  ) {}

  /** The user's own mail client. `profile` names the server's folders (Trash may be "Deleted Items", "INBOX.Trash", …). */
  static async connect(host: string, port: number, user: string, password: string, profile: ImapProfile = IMAP_PROFILES.full): Promise<DesktopClient> {
    const client = new ImapFlow({ host, port, secure: false, doSTARTTLS: false, auth: { user, pass: password }, logger: false });
    client.on('error', () => undefined);
    await client.connect();
    return new DesktopClient(client, profile);
  }

  /** The server's path of a folder. */
  path(folder: DesktopFolder): string {
    return folder === 'INBOX' ? 'INBOX' : folder === 'Trash' ? this.profile.trash : this.profile.sent;
  }

  /** Mark a message \Deleted without expunging it (Thunderbird's "mark as deleted" mode). */
  async markDeleted(label: string, folder: DesktopFolder = 'INBOX'): Promise<void> {
    const uid = await this.find(label, folder);
    await this.client.messageFlagsAdd(String(uid), ['\\Deleted'], { uid: true });
  }

  /** Take the \Deleted mark away again ("undelete"). */
  async unmarkDeleted(label: string, folder: DesktopFolder = 'INBOX'): Promise<void> {
    const uid = await this.find(label, folder);
    await this.client.messageFlagsRemove(String(uid), ['\\Deleted'], { uid: true });
  }

  /** Labels of the messages marked \Deleted in a folder. */
  async deletedLabels(folder: DesktopFolder = 'INBOX'): Promise<string[]> {
    await this.client.mailboxOpen(this.path(folder));
    const uids = await this.client.search({ deleted: true }, { uid: true });
    if (!uids || uids.length === 0) return [];
    const found = await this.client.fetchAll(uids.join(','), { uid: true, headers: ['x-scenario-label'] }, { uid: true });
    return found.map((m) => labelOfHeaders(m.headers?.toString('latin1') ?? '') ?? '(unlabeled)').sort();
  }

  async close(): Promise<void> {
    await this.client.logout().catch(() => this.client.close());
  }

  async deliver(m: TestMessage & { seen?: boolean; flagged?: boolean }, folder: DesktopFolder = 'INBOX'): Promise<number> {
    const flags = [...(m.seen ? ['\\Seen'] : []), ...(m.flagged ? ['\\Flagged'] : [])];
    const result = await this.client.append(this.path(folder), makeMessage(m), flags, m.date ?? new Date());
    if (!result || !result.uid) throw new Error(`APPEND of ${m.label} failed`);
    return result.uid;
  }

  /** Make a folder of any name (issue 21: folders beyond Inbox, Trash and Sent). */
  async createFolder(path: string): Promise<void> {
    await this.client.mailboxCreate(path);
  }

  /** Every folder's path and message count. */
  async folderCounts(): Promise<Map<string, number>> {
    const listed = await this.client.list({ statusQuery: { messages: true } });
    return new Map(listed.map((f) => [f.path, f.status?.messages ?? 0]));
  }

  /** APPEND bytes to a folder given by its path (any folder). */
  async appendTo(path: string, raw: Buffer, date: Date, flags: string[] = []): Promise<number> {
    const result = await this.client.append(path, raw, flags, date);
    if (!result || !result.uid) throw new Error(`APPEND to ${path} failed`);
    return result.uid;
  }

  /** Labels of the messages in a folder given by its path, in UID order. */
  async labelsIn(path: string): Promise<string[]> {
    const box = await this.client.mailboxOpen(path);
    if (box.exists === 0) return [];
    const found = await this.client.fetchAll('1:*', { uid: true, headers: ['x-scenario-label'] });
    return found.sort((a, b) => a.uid - b.uid).map((m) => labelOfHeaders(m.headers?.toString('latin1') ?? '') ?? '(unlabeled)');
  }

  /** APPEND bytes as they are (for malformed-message tests). */
  async appendRaw(raw: Buffer, date: Date, folder: DesktopFolder = 'INBOX'): Promise<number> {
    const result = await this.client.append(this.path(folder), raw, [], date);
    if (!result || !result.uid) throw new Error('APPEND failed');
    return result.uid;
  }

  /** The exact bytes the server serves for a label (BODY[]). */
  async source(label: string, folder: DesktopFolder = 'INBOX'): Promise<Buffer> {
    const uid = await this.find(label, folder);
    const m = await this.client.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
    if (!m || !m.source) throw new Error(`no source for ${label}`);
    return m.source;
  }

  /** The exact bytes of every message in a folder (BODY[]), in UID order. */
  async sources(folder: DesktopFolder = 'INBOX'): Promise<Buffer[]> {
    const box = await this.client.mailboxOpen(this.path(folder));
    if (box.exists === 0) return [];
    const all = await this.client.fetchAll('1:*', { uid: true, source: true });
    return all.sort((a, b) => a.uid - b.uid).map((m) => m.source ?? Buffer.alloc(0));
  }

  /** A folder's messages in the virtual order: (unread first,) INTERNALDATE newest first, then UID newest first. */
  async list(folder: DesktopFolder = 'INBOX', unreadFirst = false): Promise<LabeledMessage[]> {
    const box = await this.client.mailboxOpen(this.path(folder));
    if (box.exists === 0) return [];
    const all = await this.client.fetchAll('1:*', { uid: true, flags: true, internalDate: true, headers: ['x-scenario-label'] });
    return all
      .map((m) => ({
        label: labelOfHeaders(m.headers?.toString('latin1') ?? '') ?? '(unlabeled)',
        uid: m.uid,
        date: new Date(m.internalDate ?? 0).getTime(),
        seen: m.flags?.has('\\Seen') ?? false,
        flagged: m.flags?.has('\\Flagged') ?? false,
      }))
      .sort((a, b) => (unreadFirst && a.seen !== b.seen ? (a.seen ? 1 : -1) : 0) || Math.floor(b.date / 1000) - Math.floor(a.date / 1000) || b.uid - a.uid);
  }

  async labels(folder: DesktopFolder = 'INBOX', unreadFirst = false): Promise<string[]> {
    return (await this.list(folder, unreadFirst)).map((m) => m.label);
  }

  /** The folder that holds a label, searched in INBOX, Trash, Sent. */
  async folderOf(label: string): Promise<DesktopFolder | undefined> {
    for (const folder of FOLDERS) if ((await this.list(folder)).some((m) => m.label === label)) return folder;
    return undefined;
  }

  private async find(label: string, folder: DesktopFolder): Promise<number> {
    const found = (await this.list(folder)).find((m) => m.label === label);
    if (!found) throw new Error(`no message ${label} in desktop ${folder}`);
    await this.client.mailboxOpen(this.path(folder));
    return found.uid;
  }

  async setFlag(label: string, flag: '\\Seen' | '\\Flagged', on: boolean, folder: DesktopFolder = 'INBOX'): Promise<void> {
    const uid = await this.find(label, folder);
    if (on) await this.client.messageFlagsAdd(String(uid), [flag], { uid: true });
    else await this.client.messageFlagsRemove(String(uid), [flag], { uid: true });
  }

  async move(label: string, from: DesktopFolder, to: DesktopFolder): Promise<void> {
    const uid = await this.find(label, from);
    if (!(await this.client.messageMove(String(uid), this.path(to), { uid: true }))) throw new Error(`MOVE of ${label} failed`);
  }

  async destroy(label: string, folder: DesktopFolder): Promise<void> {
    const uid = await this.find(label, folder);
    if (!(await this.client.messageDelete(String(uid), { uid: true }))) throw new Error(`EXPUNGE of ${label} failed`);
  }
}
