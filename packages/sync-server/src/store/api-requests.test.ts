import { afterEach, describe, expect, it } from 'vitest';
import { API_CLAIM_LEASE_MS, API_REQUEST_TTL_MS } from './api-requests.js';
import { ServerStore } from './index.js';

describe('claims of Idempotency-Keys and trigger e-mail slots (issue 18.9, 18.10)', () => {
  let store: ServerStore | undefined;
  afterEach(() => store?.close());

  const setUp = () => {
    store = ServerStore.open(':memory:');
    store.accounts.add({ id: 'alice', desktopAddress: 'alice@example.test' });
    store.accounts.add({ id: 'bob', desktopAddress: 'bob@example.test' });
    return store;
  };
  const SEND = 'POST /api/v1/send';

  it('a key is claimed once: running until answered, then the answer; another account has keys of its own', () => {
    const { apiRequests } = setUp();
    const now = 1_000_000;
    const claim = apiRequests.claim('alice', 'key-00001', SEND, now);
    expect(claim).toEqual({ kind: 'claimed', stamp: now });
    expect(apiRequests.claim('alice', 'key-00001', SEND, now + 5)).toEqual({ kind: 'running', since: now });
    expect(apiRequests.claim('bob', 'key-00001', SEND, now + 5).kind).toBe('claimed');
    apiRequests.finish('alice', 'key-00001', now, { status: 202, body: { id: 7 } });
    expect(apiRequests.claim('alice', 'key-00001', SEND, now + 10)).toEqual({ kind: 'answered', answer: { status: 202, body: { id: 7 } } });
    expect(apiRequests.claim('alice', 'key-00001', 'POST /api/v1/sync-now', now + 10)).toEqual({ kind: 'other-request', request: SEND });
    // Kept a day.
    expect(apiRequests.claim('alice', 'key-00001', SEND, now + API_REQUEST_TTL_MS + 1).kind).toBe('claimed');
  });

  it('a released key is free again; a lapsed claim can be taken over, and its late answer does not overwrite the new one', () => {
    const { apiRequests } = setUp();
    const now = 2_000_000;
    apiRequests.claim('alice', 'key-00002', SEND, now);
    apiRequests.release('alice', 'key-00002', now);
    expect(apiRequests.claim('alice', 'key-00002', SEND, now + 1)).toEqual({ kind: 'claimed', stamp: now + 1 });

    expect(apiRequests.claim('alice', 'key-00002', SEND, now + API_CLAIM_LEASE_MS).kind).toBe('running');
    const takeover = apiRequests.claim('alice', 'key-00002', SEND, now + 1 + API_CLAIM_LEASE_MS);
    expect(takeover.kind).toBe('claimed');
    apiRequests.finish('alice', 'key-00002', now + 1, { status: 500, body: 'late' });
    expect(apiRequests.get('alice', 'key-00002')).toBeUndefined();
    apiRequests.finish('alice', 'key-00002', (takeover as { stamp: number }).stamp, { status: 202, body: 'new' });
    expect(apiRequests.get('alice', 'key-00002')).toEqual({ status: 202, body: 'new' });
  });

  it('one trigger e-mail slot per account per interval; a released slot is free at once; a stamp far in the future is ignored', () => {
    const { triggerMails } = setUp();
    const now = 3_000_000;
    expect(triggerMails.claim('alice', 60_000, now)).toEqual({ claimed: true, sentAt: now });
    expect(triggerMails.claim('alice', 60_000, now + 59_999)).toEqual({ claimed: false, sentAt: now });
    expect(triggerMails.claim('bob', 60_000, now + 1).claimed).toBe(true);
    expect(triggerMails.claim('alice', 60_000, now + 60_000)).toEqual({ claimed: true, sentAt: now + 60_000 });
    triggerMails.release('alice', now + 60_000);
    expect(triggerMails.claim('alice', 60_000, now + 60_001).claimed).toBe(true);
    // A node whose clock ran an hour ahead took a slot: it does not block this one for an hour.
    triggerMails.release('alice', now + 60_001);
    expect(triggerMails.claim('alice', 60_000, now + 3_600_000).claimed).toBe(true);
    expect(triggerMails.claim('alice', 60_000, now).claimed).toBe(true);
  });
});
