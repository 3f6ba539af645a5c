/**
 * The agent's side of refusals (docs/spec.md §4.1): a wrong token, a server whose
 * certificate is not the pinned one, and a second session of a busy account
 * each end with a clear error, a documented exit status, and no change.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PROTOCOL_VERSION, encodeFrame } from '@twinbox/protocol';
import { TwinboxSystem } from '@twinbox/testkit';

describe('agent refusals', () => {
  let system: TwinboxSystem;
  let original: string;

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.desktop.deliver({ label: 'D1' });
    original = readFileSync(system.agentConfig, 'utf8');
  });
  afterAll(async () => system?.stop());

  function withConfig(change: Parameters<TwinboxSystem['editAgentConfig']>[0]): void {
    writeFileSync(system.agentConfig, original);
    system.editAgentConfig(change);
  }

  it('a wrong token: AUTH_FAILED, exit 1, nothing synced', async () => {
    withConfig((c) => (c.token = 'wrong-token-wrong-token-wrong-token-wrong-t'));
    const run = await system.runAgent();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/AUTH_FAILED/);
    expect(await system.phoneLabels()).toEqual([]);
  });

  it('a server key that is not a pinned one: CERT_MISMATCH before anything is sent', async () => {
    withConfig((c) => (c.server.pins = [`sha256//${'A'.repeat(43)}=`]));
    const run = await system.runAgent();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/CERT_MISMATCH/);
    expect((await system.store.syncStates.get('user1')).agentId).toBeNull();
  });

  it('a second session while one is open: BUSY, retryable (exit 75)', async () => {
    writeFileSync(system.agentConfig, original);
    const holder = new WebSocket(system.serverUrl, { rejectUnauthorized: false });
    await new Promise((resolve) => holder.once('open', resolve));
    const welcomed = new Promise((resolve) => holder.once('message', resolve));
    holder.send(encodeFrame({ type: 'hello', version: PROTOCOL_VERSION, accountId: 'user1', token: system.pairing.token, agentId: 'holder', syncEpoch: null, lastSyncNo: 0, ackedThrough: 0 }));
    await welcomed;
    const run = await system.runAgent();
    expect(run.code).toBe(75);
    expect(run.stderr).toMatch(/BUSY/);
    holder.close();
    await new Promise((resolve) => holder.once('close', resolve));
    const summary = await system.sync();
    expect(summary.pulled).toBe(1);
  });
});
