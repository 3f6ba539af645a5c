import { afterEach, describe, expect, it } from 'vitest';
import { API_CLAIM_LEASE_MS, API_REQUEST_TTL_MS } from './api-requests.js';
import { ServerStore } from './index.js';

describe('claims of Idempotency-Keys and trigger e-mail slots (issue 18.9, 18.10)', () => {
  let store: ServerStore | undefined;
  afterEach(() => store?.close());

  const setUp = async () => {
    store = await ServerStore.open(':memory:');
    await store.accounts.add({ id: 'alice', desktopAddress: 'alice@example.test' });
    await store.accounts.add({ id: 'bob', desktopAddress: 'bob@example.test' });
    return store;
  };
  const SEND = 'POST /api/v1/send';

  it('a key is claimed once: running until answered, then the answer; another account has keys of its own', async () => {
    const { apiRequests } = await setUp();
    const now = 1_000_000;
    const claim = await apiRequests.claim('alice', 'key-00001', SEND, now);
    expect(claim).toEqual({ kind: 'claimed', stamp: now });
    expect(await apiRequests.claim('alice', 'key-00001', SEND, now + 5)).toEqual({ kind: 'running', since: now });
    expect((await apiRequests.claim('bob', 'key-00001', SEND, now + 5)).kind).toBe('claimed');
    await apiRequests.finish('alice', 'key-00001', now, { status: 202, body: { id: 7 } });
    expect(await apiRequests.claim('alice', 'key-00001', SEND, now + 10)).toEqual({ kind: 'answered', answer: { status: 202, body: { id: 7 } } });
    expect(await apiRequests.claim('alice', 'key-00001', 'POST /api/v1/sync-now', now + 10)).toEqual({ kind: 'other-request', request: SEND });
    // Kept a day.
    expect((await apiRequests.claim('alice', 'key-00001', SEND, now + API_REQUEST_TTL_MS + 1)).kind).toBe('claimed');
  });

  it('a released key is free again; a lapsed claim can be taken over, and its late answer does not overwrite the new one', async () => {
    const { apiRequests } = await setUp();
    const now = 2_000_000;
    await apiRequests.claim('alice', 'key-00002', SEND, now);
    await apiRequests.release('alice', 'key-00002', now);
    expect(await apiRequests.claim('alice', 'key-00002', SEND, now + 1)).toEqual({ kind: 'claimed', stamp: now + 1 });

    expect((await apiRequests.claim('alice', 'key-00002', SEND, now + API_CLAIM_LEASE_MS)).kind).toBe('running');
    const takeover = await apiRequests.claim('alice', 'key-00002', SEND, now + 1 + API_CLAIM_LEASE_MS);
    expect(takeover.kind).toBe('claimed');
    await apiRequests.finish('alice', 'key-00002', now + 1, { status: 500, body: 'late' });
    expect(await apiRequests.get('alice', 'key-00002')).toBeUndefined();
    await apiRequests.finish('alice', 'key-00002', (takeover as { stamp: number }).stamp, { status: 202, body: 'new' });
    expect(await apiRequests.get('alice', 'key-00002')).toEqual({ status: 202, body: 'new' });
  });

  it('one trigger e-mail slot per account per interval; a released slot is free at once; a stamp far in the future is ignored', async () => {
    const { triggerMails } = await setUp();
    const now = 3_000_000;
    expect(await triggerMails.claim('alice', 60_000, now)).toEqual({ claimed: true, sentAt: now });
    expect(await triggerMails.claim('alice', 60_000, now + 59_999)).toEqual({ claimed: false, sentAt: now });
    expect((await triggerMails.claim('bob', 60_000, now + 1)).claimed).toBe(true);
    expect(await triggerMails.claim('alice', 60_000, now + 60_000)).toEqual({ claimed: true, sentAt: now + 60_000 });
    await triggerMails.release('alice', now + 60_000);
    expect((await triggerMails.claim('alice', 60_000, now + 60_001)).claimed).toBe(true);
    // A node whose clock ran an hour ahead took a slot: it does not block this one for an hour.
    await triggerMails.release('alice', now + 60_001);
    expect((await triggerMails.claim('alice', 60_000, now + 3_600_000)).claimed).toBe(true);
    expect((await triggerMails.claim('alice', 60_000, now)).claimed).toBe(true);
  });
});
