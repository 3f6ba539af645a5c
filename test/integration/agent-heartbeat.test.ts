/**
 * A sync whose agent works on the desktop side for longer than the server's
 * session idle limit between two frames (pairing a big Trash on a slow IMAP
 * server does) is not ended as idle: the agent pings while it works, and the
 * server counts that (transport/connection.ts, transport/sync-endpoint.ts).
 * Here the idle limit is 2 s and every IMAP round trip takes 1.2 s more;
 * with the heartbeat slower than the limit the same sync is ended with
 * TIMEOUT, which shows the gap is real.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LatencyProxy, TwinboxSystem } from '@twinbox/testkit';

describe('the agent heartbeat', () => {
  let system: TwinboxSystem;
  let slowImap: LatencyProxy;
  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 5 });
    for (let i = 1; i <= 3; i++) await system.desktop.deliver({ label: `D${i}` });
    await system.stopServer();
    system.editServerConfig((c) => ((c as unknown as { connections: { sessionIdleSeconds: number } }).connections = { sessionIdleSeconds: 2 }));
    await system.startServer();
    slowImap = await LatencyProxy.start({ host: system.dovecot.host, port: system.dovecot.imapPort }, 1200);
    system.editAgentConfig((c) => (c.imap.port = slowImap.port));
  });
  afterAll(async () => {
    await system?.stop();
    await slowImap?.stop();
  });

  it('without pings in time, a sync that goes quiet for IMAP round trips is ended as idle (the setup has a real gap)', async () => {
    const run = await system.runAgent([], { TWINBOX_HEARTBEAT_MS: '60000' });
    expect(run.code).toBe(75);
    expect(run.stderr).toMatch(/neither sent, read nor pinged for 2 s \[TIMEOUT/);
    expect(await system.phoneLabels()).toEqual([]);
  });

  it('with the heartbeat, the same sync completes and the mail arrives', async () => {
    const run = await system.runAgent([], { TWINBOX_HEARTBEAT_MS: '500' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await system.phoneLabels()).sort()).toEqual(['D1', 'D2', 'D3']);
  });
});
