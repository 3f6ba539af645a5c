import { afterEach, describe, expect, it } from 'vitest';
import { LIMITS } from '@twinbox/protocol';
import { ServerStore } from '../store/index.js';
import { phoneListPage } from './phone-list.js';

describe('phoneListPage', () => {
  let store: ServerStore | undefined;
  afterEach(() => store?.close());

  it('pages every Inbox and Trash message exactly once, each page within the byte budget, whatever the Message-IDs', async () => {
    store = await ServerStore.open(':memory:');
    await store.accounts.add({ id: 'a', desktopAddress: 'a@example.test' });
    const ids: number[] = [];
    await store.transaction(async () => {
      for (let i = 0; i < 3000; i++) {
        const raw = Buffer.from(`Message-ID: <${'x'.repeat(400)}.${i}@outlook.example>\r\nSubject: ${i}\r\n\r\nbody ${i}\r\n`);
        ids.push(await store!.messages.insert('a', { folder: i % 3 === 0 ? 'trash' : i % 3 === 1 ? 'inbox' : 'sent', raw, date: i, seen: false, flagged: false }));
      }
    });
    const seen: number[] = [];
    let after = 0;
    for (let pages = 0; ; pages++) {
      expect(pages).toBeLessThan(100);
      const page = await phoneListPage(store, 'a', after, new Map([[ids[0]!, ['seen']]]));
      expect(JSON.stringify(page.messages).length).toBeLessThanOrEqual(LIMITS.phoneListPageBytes + 1000);
      seen.push(...page.messages.map((m) => m.phoneId));
      if (page.next === null) break;
      after = page.next;
    }
    expect(seen).toEqual(ids.filter((_, i) => i % 3 !== 2));
    expect((await phoneListPage(store, 'a', 0, new Map([[ids[0]!, ['seen']]]))).messages[0]!.changed).toEqual(['seen']);
    expect(await phoneListPage(store, 'a', ids.at(-1)!, new Map())).toEqual({ messages: [], next: null });
  });
});
