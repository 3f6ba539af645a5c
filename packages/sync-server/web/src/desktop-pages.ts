/**
 * A list of desktop messages read page by page (a search's results, a
 * folder's newest): the first page when the list is shown, the next when the
 * user asks for more ("position" is how many are already shown).
 *
 * The pages read are kept for the last few lists, so that Back from a
 * message opened in them shows the same list at once, without asking the
 * desktop again; what the user did to a message there (read, flag, move)
 * is written into the kept lists too.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { desktop, PAGE_SIZE } from './desktop-api.js';
import type { DesktopFilter, DesktopSummary } from './desktop-types.js';

export interface Pages {
  items: DesktopSummary[];
  /** Matches in all, when the desktop counted them. */
  total: number | null;
  /** Are there more to read? */
  more: boolean;
  loading: boolean;
  /** Why the last read failed (the view says it in words: desktopErrorText). */
  error?: unknown;
}

const KEPT_LISTS = 8;
const kept = new Map<string, Pages>();

function keep(key: string, pages: Pages): void {
  kept.delete(key);
  kept.set(key, pages);
  while (kept.size > KEPT_LISTS) kept.delete(kept.keys().next().value!);
}

/** What the user did to a message, in every kept list that shows it (undefined: it left them, moved or trashed). */
export function patchKept(id: string, patch: Partial<DesktopSummary> | undefined): void {
  for (const [key, pages] of kept) {
    if (!pages.items.some((m) => m.id === id)) continue;
    const items = patch ? pages.items.map((m) => (m.id === id ? { ...m, ...patch } : m)) : pages.items.filter((m) => m.id !== id);
    kept.set(key, { ...pages, items, total: pages.total !== null && !patch ? pages.total - 1 : pages.total });
  }
}

/** A list asked for anew (a search submitted): read from the desktop, not from what was kept of it. */
export function forgetKeptList(key: string): void {
  kept.delete(key);
}

/** Every kept list is stale (the desktop's folders changed under them): read afresh when next shown. */
export function forgetKept(): void {
  kept.clear();
}

const EMPTY: Pages = { items: [], total: null, more: false, loading: false };

/**
 * The pages of `filter` (undefined: nothing asked yet); `key` names the list. `onFatal` takes the
 * failures that are not the desktop's (signed out, another account): the app handles those.
 */
export function usePages(key: string, filter: DesktopFilter | undefined, onFatal: (err: unknown) => boolean): { pages: Pages; loadMore: () => void; reload: () => void } {
  const [pages, setPages] = useState<Pages>(() => kept.get(key) ?? EMPTY);
  // The list a read was for: an answer for a list no longer shown is dropped.
  const current = useRef(key);
  current.current = key;
  const fatal = useRef(onFatal);
  fatal.current = onFatal;

  const read = useCallback(
    async (from: Pages, position: number) => {
      if (!filter) return;
      const forKey = key;
      setPages({ ...from, loading: true });
      try {
        const page = await desktop.query(filter, position, PAGE_SIZE);
        const items = [...from.items.slice(0, position), ...page.items.filter((m) => !from.items.some((o) => o.id === m.id))];
        const next: Pages = {
          items,
          total: page.total,
          more: page.total !== null ? items.length < page.total : page.items.length >= PAGE_SIZE,
          loading: false,
        };
        keep(forKey, next);
        if (current.current === forKey) setPages(next);
      } catch (err) {
        if (fatal.current(err)) return;
        if (current.current === forKey) setPages({ ...from, loading: false, error: err });
      }
    },
    [key, filter],
  );

  useEffect(() => {
    const known = kept.get(key);
    if (known) return setPages(known);
    setPages(EMPTY);
    if (filter) void read(EMPTY, 0);
  }, [key]);

  return {
    pages,
    loadMore: () => void read(pages, pages.items.length),
    reload: () => {
      kept.delete(key);
      void read(EMPTY, 0);
    },
  };
}

/** A read that failed while the desktop was away is read again when it comes back (the banner goes, the list comes). */
export function useRetryWhenOnline(desktopOnline: boolean, failed: boolean, retry: () => void): void {
  const was = useRef(desktopOnline);
  useEffect(() => {
    if (desktopOnline && !was.current && failed) retry();
    was.current = desktopOnline;
  }, [desktopOnline]);
}
