import { afterEach, describe, expect, it } from 'vitest';
import { ServerStore } from './index.js';

describe('the reach cache (docs/reach.md "The cache")', () => {
  let store: ServerStore | undefined;
  afterEach(() => store?.close());

  const setUp = async () => {
    store = await ServerStore.open(':memory:');
    await store.accounts.add({ id: 'alice', desktopAddress: 'alice@example.test' });
    await store.accounts.add({ id: 'bob', desktopAddress: 'bob@example.test' });
    return store.reachCache;
  };

  const part = async (cache: Awaited<ReturnType<typeof setUp>>, account: string, key: string, bytes: number, cap: number) => {
    const writer = await cache.begin(account, key, { type: 'application/octet-stream' }, bytes, cap);
    for (let at = 0; at < bytes; at += 100) await writer?.write(Buffer.alloc(Math.min(100, bytes - at), key));
    await writer?.finish();
  };

  /** Every chunk an async generator yields, in order. */
  const collect = async (chunks: AsyncIterable<Buffer>) => {
    const all: Buffer[] = [];
    for await (const chunk of chunks) all.push(chunk);
    return all;
  };

  it('keeps parts chunk by chunk under the cap, least recently used first out, per account', async () => {
    const cache = await setUp();
    await part(cache, 'alice', 'a', 400, 1000);
    await part(cache, 'alice', 'b', 400, 1000);
    expect(await cache.get('alice', 'a')).toBeDefined(); // a used again: b is the oldest now
    await part(cache, 'alice', 'c', 400, 1000);
    expect(await cache.get('alice', 'b')).toBeUndefined();
    expect(Buffer.concat(await collect(cache.chunks('alice', 'a')))).toEqual(Buffer.alloc(400, 'a'));
    expect(await cache.size('alice')).toBe(800);
    // Another account's cache is its own.
    expect(await cache.get('bob', 'a')).toBeUndefined();
    expect(await collect(cache.chunks('bob', 'a'))).toEqual([]);
  });

  it('keeps nothing of a part larger than the cap or one that did not come whole', async () => {
    const cache = await setUp();
    expect(await cache.begin('alice', 'big', {}, 2000, 1000)).toBeUndefined();
    // Announced small, came large: dropped as soon as it passes the cap.
    const writer = (await cache.begin('alice', 'liar2', {}, 10, 1000))!;
    for (let i = 0; i < 20; i++) await writer.write(Buffer.alloc(100));
    await writer.finish();
    expect(await cache.get('alice', 'liar2')).toBeUndefined();
    const broken = (await cache.begin('alice', 'broken', {}, 300, 1000))!;
    await broken.write(Buffer.alloc(100));
    expect(await cache.get('alice', 'broken')).toBeUndefined();
    await broken.abandon();
    expect(await store!.engine.get('SELECT COUNT(*) AS n FROM reach_cache_chunks WHERE key = ?', ['broken'])).toEqual({ n: 0 });
  });
});
