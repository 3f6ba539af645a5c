/**
 * Issue 13 (a first part): the server's health endpoints, for a load
 * balancer or a service manager. `/healthz`: the process answers; `/readyz`:
 * its database answers too. No token needed, nothing disclosed, GET and
 * HEAD only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwinboxSystem } from '@twinbox/testkit';

describe('health endpoints', () => {
  let system: TwinboxSystem;
  beforeAll(async () => {
    system = await TwinboxSystem.start();
  });
  afterAll(async () => {
    await system.stop();
  });

  it('healthz and readyz answer without a token, and say only that', async () => {
    const live = await system.api('GET', '/healthz', undefined);
    expect([live.status, live.json]).toEqual([200, { status: 'ok' }]);
    expect(live.headers['cache-control']).toBe('no-store');
    const ready = await system.api('GET', '/readyz?probe=1', undefined);
    expect([ready.status, ready.json]).toEqual([200, { status: 'ready' }]);
    expect((await system.api('HEAD', '/readyz', undefined)).status).toBe(200);
  });

  it('other methods are refused, and the phone API still wants its token', async () => {
    expect((await system.api('POST', '/healthz', undefined, {})).status).toBe(405);
    expect((await system.api('GET', '/api/v1/status', undefined)).status).toBe(401);
  });
});
