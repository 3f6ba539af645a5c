import { afterEach, describe, expect, it } from 'vitest';
import { ServerStore } from './index.js';

describe('the reach cache (docs/reach.md "The cache")', () => {
  let store: ServerStore | undefined;
  afterEach(() => store?.close());

  const setUp = () => {
    store = ServerStore.open(':memory:');
    store.accounts.add({ id: 'alice', desktopAddress: 'alice@example.test' });
    store.accounts.add({ id: 'bob', desktopAddress: 'bob@example.test' });
    return store.reachCache;
  };

  const part = (cache: ReturnType<typeof setUp>, account: string, key: string, bytes: number, cap: number) => {
    const writer = cache.begin(account, key, { type: 'application/octet-stream' }, bytes, cap);
    for (let at = 0; at < bytes; at += 100) writer?.write(Buffer.alloc(Math.min(100, bytes - at), key));
    writer?.finish();
  };

  it('keeps parts chunk by chunk under the cap, least recently used first out, per account', () => {
    const cache = setUp();
    part(cache, 'alice', 'a', 400, 1000);
    part(cache, 'alice', 'b', 400, 1000);
    expect(cache.get('alice', 'a')).toBeDefined(); // a used again: b is the oldest now
    part(cache, 'alice', 'c', 400, 1000);
    expect(cache.get('alice', 'b')).toBeUndefined();
    expect(Buffer.concat([...cache.chunks('alice', 'a')])).toEqual(Buffer.alloc(400, 'a'));
    expect(cache.size('alice')).toBe(800);
    // Another account's cache is its own.
    expect(cache.get('bob', 'a')).toBeUndefined();
    expect([...cache.chunks('bob', 'a')]).toEqual([]);
  });

  it('keeps nothing of a part larger than the cap or one that did not come whole', () => {
    const cache = setUp();
    expect(cache.begin('alice', 'big', {}, 2000, 1000)).toBeUndefined();
    // Announced small, came large: dropped as soon as it passes the cap.
    const writer = cache.begin('alice', 'liar2', {}, 10, 1000)!;
    for (let i = 0; i < 20; i++) writer.write(Buffer.alloc(100));
    writer.finish();
    expect(cache.get('alice', 'liar2')).toBeUndefined();
    const broken = cache.begin('alice', 'broken', {}, 300, 1000)!;
    broken.write(Buffer.alloc(100));
    expect(cache.get('alice', 'broken')).toBeUndefined();
    broken.abandon();
    expect(store!.db.prepare('SELECT COUNT(*) AS n FROM reach_cache_chunks WHERE key = ?').get('broken')).toEqual({ n: 0 });
  });
});
