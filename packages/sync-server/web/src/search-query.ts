/**
 * A search as the user writes it, as the address keeps it (#/search?…, so
 * that Back from a result returns to the same results), and as the API takes
 * it (Email/query's filter, docs/reach.md). Pure: no DOM, no requests.
 *
 * The text is hostile input to the desktop's IMAP server: it goes to the API
 * as a JSON string only, and the server and agent quote it (docs/reach.md).
 * Here it is only bounded, so that an address cannot carry a novel.
 */
import type { DesktopFilter } from './desktop-types.js';

/** Where the words are looked for (IMAP TEXT, FROM, TO, SUBJECT, BODY). */
export const SEARCH_FIELDS = { text: 'Anywhere', from: 'From', to: 'To', subject: 'Subject', body: 'Body' } as const;
export type SearchField = keyof typeof SEARCH_FIELDS;

/** The API's bound on a search text (REQUEST_LIMITS.maxSearchChars in the protocol). */
export const MAX_SEARCH_CHARS = 256;

export interface SearchForm {
  words: string;
  field: SearchField;
  /** A desktop folder's id; '' for the whole desktop mailbox. */
  inMailbox: string;
  unread: boolean;
  flagged: boolean;
  /** Days as an <input type="date"> gives them (YYYY-MM-DD), both included; '' for open. */
  from: string;
  until: string;
}

export const emptySearch: SearchForm = { words: '', field: 'text', inMailbox: '', unread: false, flagged: false, from: '', until: '' };

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const isField = (v: string | null): v is SearchField => v !== null && Object.prototype.hasOwnProperty.call(SEARCH_FIELDS, v);

export function searchOfQuery(query: string): SearchForm {
  const q = new URLSearchParams(query);
  const day = (name: string) => {
    const v = q.get(name) ?? '';
    return DAY.test(v) ? v : '';
  };
  const field = q.get('field');
  return {
    words: (q.get('q') ?? '').slice(0, MAX_SEARCH_CHARS),
    field: isField(field) ? field : 'text',
    inMailbox: q.get('in') ?? '',
    unread: q.get('unread') === '1',
    flagged: q.get('flagged') === '1',
    from: day('from'),
    until: day('until'),
  };
}

export function queryOfSearch(s: SearchForm): string {
  const q = new URLSearchParams();
  if (s.words.trim()) q.set('q', s.words.trim().slice(0, MAX_SEARCH_CHARS));
  if (s.field !== 'text') q.set('field', s.field);
  if (s.inMailbox) q.set('in', s.inMailbox);
  if (s.unread) q.set('unread', '1');
  if (s.flagged) q.set('flagged', '1');
  if (s.from) q.set('from', s.from);
  if (s.until) q.set('until', s.until);
  return q.toString();
}

/** Has the user asked for anything? (An empty search is not sent: it would list the whole mailbox.) */
export const hasCriteria = (s: SearchForm): boolean => s.words.trim() !== '' || s.unread || s.flagged || s.from !== '' || s.until !== '';

/** The day after a YYYY-MM-DD day, as the API's exclusive "before" (the user's "until" includes its day). */
function dayAfter(day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + 1);
  return date.toISOString();
}

export function filterOfSearch(s: SearchForm): DesktopFilter {
  const words = s.words.trim().slice(0, MAX_SEARCH_CHARS);
  return {
    ...(s.inMailbox ? { inMailbox: s.inMailbox } : {}),
    ...(words ? { [s.field]: words } : {}),
    ...(s.unread ? { unread: true } : {}),
    ...(s.flagged ? { flagged: true } : {}),
    ...(s.from ? { after: `${s.from}T00:00:00.000Z` } : {}),
    ...(s.until ? { before: dayAfter(s.until) } : {}),
  };
}
