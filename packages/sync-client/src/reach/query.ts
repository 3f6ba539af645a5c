/**
 * Search and folder listing (JMAP Email/query, RFC 8621 §4.4) on the desktop
 * IMAP server: UID SEARCH (RFC 3501 §6.4.4) with the filter, newest first,
 * one page with what a list shows.
 *
 * Hostile text: the phone's words reach the IMAP server only through
 * imapflow's search builder, which sends each value as one IMAP string — a
 * quoted string with `"` and `\` escaped, or a literal for non-ASCII text —
 * never spliced into the command line. A quoted string cannot hold CR or LF,
 * and search text is words: control characters become spaces (so
 * `x\r\nA1 DELETE INBOX` looks for the words "x A1 DELETE INBOX"). Lengths
 * are bounded by REQUEST_LIMITS (checked when the request was decoded).
 *
 * Order: in one folder, UID SORT (REVERSE ARRIVAL) (RFC 5256) where the
 * server offers it, else UIDs newest first (UIDs rise with arrival, RFC 3501
 * §2.3.1.1). Where the server has ESEARCH (RFC 4731) the answer is a compact
 * set with its COUNT, and with PARTIAL (RFC 9394) only the newest UIDs the
 * page needs. Across folders, each folder's newest `position + limit`
 * matches are merged by arrival time (INTERNALDATE).
 */
import type { ImapFlow, MessageAddressObject, SearchObject } from 'imapflow';
import { searchCompiler } from 'imapflow/lib/search-compiler.js';
import { REQUEST_LIMITS, charsetDecode, transferDecode, type EmailSummary, type QueryParams, type QueryResult } from '@twinbox/protocol';
import { uidSet } from '../imap/expunge.js';
import { REFUSED } from '../imap/fallbacks.js';
import { listMailboxes, openFolder, searchedFolders } from './folders.js';
import type { LaneContext } from './lane.js';
import { hasAttachment, previewLeaf, type Leaf } from './structure.js';
import { RequestFailure } from './failure.js';

/** Search text as IMAP search words: no control characters, white space as one space. */
export function searchWords(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim();
}

/** The filter as imapflow's search object (its builder quotes every value: see the module comment). */
export function searchOf(filter: QueryParams['filter']): SearchObject {
  const query: SearchObject = { deleted: false };
  for (const key of ['text', 'from', 'to', 'subject', 'body'] as const) {
    const words = filter[key] === undefined ? '' : searchWords(filter[key]);
    if (words !== '') query[key] = words;
  }
  if (filter.after !== undefined) query.since = new Date(filter.after);
  if (filter.before !== undefined) query.before = new Date(filter.before);
  if (filter.unread !== undefined) query.seen = !filter.unread;
  if (filter.flagged !== undefined) query.flagged = filter.flagged;
  return query;
}

/** A compact UID set ("1,5:10") as UIDs. */
export function expandSet(set: string): number[] {
  const uids: number[] = [];
  for (const range of set.split(',')) {
    if (range === '') continue;
    const [a, b] = range.split(':').map(Number);
    if (!Number.isSafeInteger(a)) continue;
    const to = b !== undefined && Number.isSafeInteger(b) ? b : a!;
    for (let uid = Math.min(a!, to); uid <= Math.max(a!, to); uid++) uids.push(uid);
  }
  return uids;
}

type ImapExec = (command: string, attributes: unknown[], options: { untagged: Record<string, (untagged: { attributes?: { value?: unknown }[] }) => void> }) => Promise<{ next: () => void }>;

/** UID SORT (REVERSE ARRIVAL), or undefined where the server does not sort (or refused it). */
async function sortedNewestFirst(lane: LaneContext, query: SearchObject): Promise<number[] | undefined> {
  const { client, fallbacks } = lane;
  if (!client.capabilities.has('SORT') || fallbacks.refused('sort')) return undefined;
  const criteria = searchCompiler(client, query);
  const uids: number[] = [];
  // imapflow has no SORT command; its exec() (untyped) sends one with the builder's criteria.
  const exec = (client as unknown as { exec: ImapExec }).exec.bind(client);
  const sorted = await fallbacks.attempt('sort', 'UID SORT for a search', async () => {
    const response = await exec('UID SORT', [[{ type: 'ATOM', value: 'REVERSE' }, { type: 'ATOM', value: 'ARRIVAL' }], { type: 'ATOM', value: 'UTF-8' }, ...criteria], {
      untagged: {
        SORT: (untagged) => {
          for (const a of untagged.attributes ?? []) {
            const uid = Number(a.value);
            if (Number.isSafeInteger(uid) && uid > 0) uids.push(uid);
          }
        },
      },
    });
    response.next();
    return uids;
  }, { remember: false });
  return sorted === REFUSED ? undefined : sorted;
}

/** The matches in the selected folder: how many, and the newest `want` UIDs, newest first. */
async function searchSelected(lane: LaneContext, query: SearchObject, want: number): Promise<{ count: number; uids: number[] }> {
  const { client } = lane;
  const sorted = await sortedNewestFirst(lane, query);
  if (sorted) return { count: sorted.length, uids: sorted.slice(0, want) };
  if (client.capabilities.has('ESEARCH')) {
    const partial = client.capabilities.has('PARTIAL');
    const result = await client.search(query, { uid: true, returnOptions: partial ? ['COUNT', { partial: `-1:-${want}` }] : ['COUNT', 'ALL'] });
    if (result && !Array.isArray(result)) {
      const uids = expandSet(partial ? (result.partial?.messages ?? '') : (result.all ?? '')).sort((a, b) => b - a);
      return { count: result.count ?? uids.length, uids: uids.slice(0, want) };
    }
    if (Array.isArray(result)) return { count: result.length, uids: result.sort((a, b) => b - a).slice(0, want) };
  }
  const uids = await client.search(query, { uid: true });
  if (!uids) throw new RequestFailure('IMAP', 'the desktop IMAP server refused the search');
  return { count: uids.length, uids: uids.sort((a, b) => b - a).slice(0, want) };
}

interface Hit {
  mailbox: string;
  uidValidity: string;
  uid: number;
  date: number;
}

async function arrivalDates(client: ImapFlow, uids: number[]): Promise<Map<number, number>> {
  const dates = new Map<number, number>();
  if (uids.length === 0) return dates;
  for (const m of await client.fetchAll(uidSet(uids), { uid: true, internalDate: true }, { uid: true })) {
    if (typeof m.uid === 'number' && m.internalDate) dates.set(m.uid, new Date(m.internalDate).getTime());
  }
  return dates;
}

const address = (list: MessageAddressObject[] | undefined) =>
  (list ?? [])
    .slice(0, 20)
    .map((a) => (a.name ? `${a.name} <${a.address ?? ''}>` : (a.address ?? '')))
    .join(', ')
    .slice(0, 1000);

/** A short preview of a text part's first bytes (at most the page's messages are asked). */
function previewText(bytes: Buffer, encoding: string | null, charset: string | null, html: boolean): string {
  let text = charsetDecode(transferDecode(bytes, encoding ?? undefined), charset ?? undefined);
  if (html) text = text.replace(/<(style|script)[^>]*>[^<]*<\/\1>/gi, ' ').replace(/<[^>]{0,2000}>/g, ' ').replace(/&nbsp;/g, ' ');
  return text.replace(/\s+/g, ' ').trim().slice(0, 200);
}

const PREVIEW_BYTES = 2048;

/** What a list shows of these messages of one folder (selected), in the order given. */
async function summaries(client: ImapFlow, mailbox: string, uidValidity: string, uids: number[]): Promise<Map<number, EmailSummary>> {
  const out = new Map<number, EmailSummary>();
  if (uids.length === 0) return out;
  const rows = await client.fetchAll(uidSet(uids), { uid: true, flags: true, internalDate: true, size: true, envelope: true, bodyStructure: true }, { uid: true });
  const previews = new Map<string, number[]>();
  const leaves = new Map<number, Leaf>();
  for (const m of rows) {
    if (typeof m.uid !== 'number' || !uids.includes(m.uid) || !m.envelope) continue;
    out.set(m.uid, {
      ref: { mailbox, uidValidity, uid: m.uid },
      receivedAt: m.internalDate ? new Date(m.internalDate).getTime() : 0,
      from: address(m.envelope.from),
      to: address(m.envelope.to),
      subject: (m.envelope.subject ?? '').slice(0, 1000),
      size: m.size ?? 0,
      seen: m.flags?.has('\\Seen') ?? false,
      flagged: m.flags?.has('\\Flagged') ?? false,
      hasAttachment: hasAttachment(m.bodyStructure),
      preview: '',
    });
    const leaf = previewLeaf(m.bodyStructure);
    if (!leaf) continue;
    leaves.set(m.uid, leaf);
    previews.set(leaf.partId, [...(previews.get(leaf.partId) ?? []), m.uid]);
  }
  // One partial FETCH per section number (most messages share one: 1 or 1.1), only the first bytes.
  for (const [part, partUids] of previews) {
    const rows = await client.fetchAll(uidSet(partUids), { uid: true, bodyParts: [{ key: part, start: 0, maxLength: PREVIEW_BYTES }] }, { uid: true });
    for (const m of rows) {
      const summary = typeof m.uid === 'number' ? out.get(m.uid) : undefined;
      const leaf = typeof m.uid === 'number' ? leaves.get(m.uid) : undefined;
      const bytes = m.bodyParts?.get(part) ?? [...(m.bodyParts?.values() ?? [])][0];
      if (!summary || !bytes || !leaf) continue;
      summary.preview = previewText(bytes, leaf.encoding, leaf.charset, leaf.type === 'text/html');
    }
  }
  return out;
}

export async function query(lane: LaneContext, params: QueryParams, signal: AbortSignal): Promise<QueryResult> {
  const { client } = lane;
  const search = searchOf(params.filter);
  const want = params.position + params.limit;
  const folders = params.filter.inMailbox !== undefined ? [params.filter.inMailbox] : searchedFolders(await listMailboxes(lane, false)).map((m) => m.id);
  let total = 0;
  let hits: Hit[] = [];
  for (const mailbox of folders) {
    if (signal.aborted) throw new RequestFailure('CANCELLED', 'cancelled');
    const { uidValidity } = await openFolder(client, mailbox, false);
    const found = await searchSelected(lane, search, want);
    total += found.count;
    if (folders.length === 1) {
      hits = found.uids.map((uid) => ({ mailbox, uidValidity, uid, date: 0 }));
      break;
    }
    const dates = await arrivalDates(client, found.uids);
    hits.push(...found.uids.map((uid) => ({ mailbox, uidValidity, uid, date: dates.get(uid) ?? 0 })));
  }
  if (folders.length > 1) hits.sort((a, b) => b.date - a.date || b.uid - a.uid);
  const page = hits.slice(params.position, want).slice(0, REQUEST_LIMITS.maxPageSize);
  // The page's summaries, folder by folder, then in the page's order.
  const byFolder = new Map<string, Hit[]>();
  for (const hit of page) byFolder.set(hit.mailbox, [...(byFolder.get(hit.mailbox) ?? []), hit]);
  const found = new Map<string, EmailSummary>();
  for (const [mailbox, folderHits] of byFolder) {
    if (signal.aborted) throw new RequestFailure('CANCELLED', 'cancelled');
    const { uidValidity } = await openFolder(client, mailbox, false);
    const rows = await summaries(client, mailbox, uidValidity, folderHits.map((h) => h.uid));
    for (const [uid, summary] of rows) found.set(`${mailbox}\u0000${uid}`, summary);
  }
  const items = page.flatMap((hit) => found.get(`${hit.mailbox}\u0000${hit.uid}`) ?? []);
  return { total, position: params.position, items };
}
