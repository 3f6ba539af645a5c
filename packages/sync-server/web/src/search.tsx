/**
 * Search the whole desktop mailbox, or one of its folders (issue 21): words
 * (anywhere, or in From, To, Subject or the body), unread or flagged only,
 * and a range of days. The search lives in the address (#/search?…), so Back
 * from a result shows the same results; they are a list of their own, newest
 * first, with "More results" for the next page — never put into the window.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { DesktopList, DesktopOffline } from './desktop-list.js';
import { folderName, folderTree, type Mailboxes } from './desktop-mailboxes.js';
import { forgetKeptList, usePages, useRetryWhenOnline } from './desktop-pages.js';
import { filterOfSearch, hasCriteria, MAX_SEARCH_CHARS, queryOfSearch, SEARCH_FIELDS, searchOfQuery, type SearchField, type SearchForm } from './search-query.js';

export function SearchView(props: { query: string; mailboxes: Mailboxes; desktopOnline: boolean; onFatal: (err: unknown) => boolean }) {
  const asked = useMemo(() => searchOfQuery(props.query), [props.query]);
  const [form, setForm] = useState<SearchForm>(asked);
  // A new address (Back, a link to "search this folder") is a new form.
  useEffect(() => setForm(asked), [asked]);
  const key = `search:${queryOfSearch(asked)}`;
  const filter = hasCriteria(asked) ? filterOfSearch(asked) : undefined;
  const { pages, loadMore, reload } = usePages(key, filter, props.onFatal);
  useRetryWhenOnline(props.desktopOnline, pages.error !== undefined && filter !== undefined, reload);

  const submit = (e: Event) => {
    e.preventDefault();
    if (!hasCriteria(form)) return;
    const query = queryOfSearch(form);
    const next = `#/search?${query}`;
    // A search submitted is asked of the desktop afresh; only Back shows what was kept.
    // The same search again: the address does not change, so nothing else would read it.
    if (location.hash === next) return reload();
    forgetKeptList(`search:${query}`);
    location.hash = next;
  };
  const set = <K extends keyof SearchForm>(name: K, value: SearchForm[K]) => setForm((f) => ({ ...f, [name]: value }));
  const folders = props.mailboxes.mailboxes ? folderTree(props.mailboxes.mailboxes).filter((n) => n.mailbox.selectable) : [];
  const scopeKnown = form.inMailbox === '' || folders.some((n) => n.mailbox.id === form.inMailbox);

  return (
    <div class="reach search-view">
      <form class="search" role="search" aria-label="Desktop search" onSubmit={submit}>
        <div class="field">
          <label for="search-words">Search the desktop mailbox</label>
          <div class="search-row">
            <input
              id="search-words"
              type="search"
              enterKeyHint="search"
              autoComplete="off"
              maxLength={MAX_SEARCH_CHARS}
              value={form.words}
              onInput={(e) => set('words', (e.target as HTMLInputElement).value)}
            />
            <button type="submit" class="primary" disabled={!hasCriteria(form)}>
              Search
            </button>
          </div>
        </div>
        <div class="search-options">
          <div class="field">
            <label for="search-field">Look in</label>
            <select id="search-field" value={form.field} onChange={(e) => set('field', (e.target as HTMLSelectElement).value as SearchField)}>
              {(Object.keys(SEARCH_FIELDS) as SearchField[]).map((f) => (
                <option key={f} value={f}>
                  {SEARCH_FIELDS[f]}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="search-folder">Folder</label>
            <select id="search-folder" value={form.inMailbox} onChange={(e) => set('inMailbox', (e.target as HTMLSelectElement).value)}>
              <option value="">Whole desktop mailbox</option>
              {!scopeKnown && <option value={form.inMailbox}>{form.inMailbox}</option>}
              {folders.map((n) => (
                <option key={n.mailbox.id} value={n.mailbox.id}>
                  {`${'\u00a0\u00a0'.repeat(n.depth)}${folderName(n.mailbox)}`}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="search-from">From day</label>
            <input id="search-from" type="date" value={form.from} max={form.until || undefined} onInput={(e) => set('from', (e.target as HTMLInputElement).value)} />
          </div>
          <div class="field">
            <label for="search-until">Until day</label>
            <input id="search-until" type="date" value={form.until} min={form.from || undefined} onInput={(e) => set('until', (e.target as HTMLInputElement).value)} />
          </div>
          <div class="check">
            <input id="search-unread" type="checkbox" checked={form.unread} onChange={(e) => set('unread', (e.target as HTMLInputElement).checked)} />
            <label for="search-unread">Unread only</label>
          </div>
          <div class="check">
            <input id="search-flagged" type="checkbox" checked={form.flagged} onChange={(e) => set('flagged', (e.target as HTMLInputElement).checked)} />
            <label for="search-flagged">Flagged only</label>
          </div>
        </div>
      </form>
      {!props.desktopOnline && pages.error === undefined && <DesktopOffline />}
      {filter ? (
        <DesktopList label="Search results" pages={pages} empty="Nothing on the desktop matches." more="More results" onMore={loadMore} onRetry={reload} />
      ) : (
        <p class="empty">Search every folder of the desktop, not only the messages on the phone.</p>
      )}
    </div>
  );
}
