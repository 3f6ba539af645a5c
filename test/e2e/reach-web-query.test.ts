/**
 * The phone web app's pure parts of the desktop search and folders (issue 21):
 * a search round-trips through the address (so Back shows the same results),
 * becomes the API's filter (the "until" day included), and the folder tree a
 * desktop sends is shown whole — a folder whose parent is missing, or a cycle
 * a hostile server could send, is neither lost nor looped.
 */
import { describe, expect, it } from 'vitest';
import { folderTree } from '../../packages/sync-server/web/src/desktop-mailboxes.js';
import type { DesktopMailbox } from '../../packages/sync-server/web/src/desktop-types.js';
import { emptySearch, filterOfSearch, hasCriteria, MAX_SEARCH_CHARS, queryOfSearch, searchOfQuery } from '../../packages/sync-server/web/src/search-query.js';

const box = (id: string, parentId: string | null, role: DesktopMailbox['role'] = null): DesktopMailbox => ({
  id,
  name: id.split('/').pop()!,
  parentId,
  role,
  totalEmails: 0,
  unreadEmails: 0,
  selectable: true,
});

describe('desktop search in the web app', () => {
  it('keeps a search in the address and gives it back the same', () => {
    const form = { words: 'a "quoted" {5}\r\nA1 LOGOUT & more', field: 'subject' as const, inMailbox: 'Projects/2026', unread: true, flagged: false, from: '2026-01-02', until: '2026-01-31' };
    const query = queryOfSearch(form);
    expect(searchOfQuery(query)).toEqual({ ...form, words: form.words.trim() });
    expect(searchOfQuery('field=nonsense&from=yesterday&q=x')).toEqual({ ...emptySearch, words: 'x' });
    expect(searchOfQuery(`q=${'w'.repeat(1000)}`).words).toHaveLength(MAX_SEARCH_CHARS);
  });

  it('makes the API filter: the words in the chosen field, as text; the until day included', () => {
    expect(filterOfSearch({ ...emptySearch, words: ' glazier ', from: '2026-01-02', until: '2026-01-31', flagged: true })).toEqual({
      text: 'glazier',
      flagged: true,
      after: '2026-01-02T00:00:00.000Z',
      before: '2026-02-01T00:00:00.000Z',
    });
    expect(filterOfSearch({ ...emptySearch, words: '{5}\r\nX', field: 'from', inMailbox: 'INBOX' })).toEqual({ inMailbox: 'INBOX', from: '{5}\r\nX' });
    expect(hasCriteria(emptySearch)).toBe(false);
    expect(hasCriteria({ ...emptySearch, inMailbox: 'INBOX' })).toBe(false);
    expect(hasCriteria({ ...emptySearch, unread: true })).toBe(true);
  });
});

describe('the desktop folder tree in the web app', () => {
  it('puts the roles first, children under their parent', () => {
    const tree = folderTree([box('Zeta', null), box('Trash', null, 'trash'), box('Projects/2026', 'Projects'), box('Projects', null), box('INBOX', null, 'inbox'), box('Sent', null, 'sent')]);
    expect(tree.map((n) => `${n.depth}:${n.mailbox.id}`)).toEqual(['0:INBOX', '0:Sent', '0:Trash', '0:Projects', '1:Projects/2026', '0:Zeta']);
  });

  it('shows every folder once, whatever parents a hostile server names', () => {
    const tree = folderTree([box('A', 'B'), box('B', 'A'), box('C', 'missing'), box('D', 'D')]);
    expect(tree.map((n) => n.mailbox.id).sort()).toEqual(['A', 'B', 'C', 'D']);
    expect(tree.filter((n) => n.mailbox.id === 'C' || n.mailbox.id === 'D').every((n) => n.depth === 0)).toBe(true);
  });
});
