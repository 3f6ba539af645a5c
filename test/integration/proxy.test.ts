/**
 * The agent through an HTTP proxy (issue 13), against Debian's tinyproxy with
 * Basic authentication: `server.proxy` in the config, or HTTPS_PROXY with
 * NO_PROXY; the certificate pin still holds through the tunnel; wrong proxy
 * credentials are named as such.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwinboxSystem, startTinyproxy, type Tinyproxy } from '@twinbox/testkit';

describe('the agent through an HTTP proxy', () => {
  let system: TwinboxSystem;
  let proxy: Tinyproxy;
  const target = () => `127.0.0.1:${system.port}`;
  const setProxy = (value: string | undefined) =>
    system.editAgentConfig((c) => {
      const server = c.server as { proxy?: string };
      if (value === undefined) delete server.proxy;
      else server.proxy = value;
    });

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 3 });
    proxy = await startTinyproxy({ user: 'agent', password: 'proxy-secret' });
  });
  afterAll(async () => {
    await proxy?.stop();
    await system?.stop();
  });

  it('syncs through the proxy named in server.proxy', async () => {
    setProxy(proxy.url);
    await system.desktop.deliver({ label: 'D1' });
    await system.sync();
    expect(await system.phoneLabels()).toEqual(['D1']);
    expect(proxy.connects()).toContain(target());
  });

  it('still refuses a server whose key is not a pinned one, through the tunnel', async () => {
    const before = proxy.connects().length;
    const pinned = [...system.pairing.pins];
    system.editAgentConfig((c) => (c.server.pins = [`sha256//${'A'.repeat(43)}=`]));
    try {
      const run = await system.runAgent();
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/CERT_MISMATCH/);
      expect(proxy.connects().length).toBe(before + 1);
    } finally {
      system.editAgentConfig((c) => (c.server.pins = pinned));
    }
  });

  it('names wrong proxy credentials', async () => {
    setProxy(`http://agent:wrong@127.0.0.1:${proxy.port}`);
    const run = await system.runAgent();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/through the proxy http:\/\/127\.0\.0\.1:\d+: the proxy refused the credentials \(40[17]\).*\[CONFIG\]/);
    expect(run.stderr).not.toContain('wrong');
  });

  it('honours HTTPS_PROXY, and NO_PROXY for hosts to reach directly', async () => {
    setProxy(undefined);
    const before = proxy.connects().length;
    await system.desktop.deliver({ label: 'D2' });
    const viaEnv = await system.runAgent([], { HTTPS_PROXY: proxy.url, NO_PROXY: '' });
    expect(viaEnv.code).toBe(0);
    expect(proxy.connects().length).toBe(before + 1);
    const direct = await system.runAgent([], { HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1' });
    expect(direct.code).toBe(0);
    expect(proxy.connects().length).toBe(before + 1);
    const bypass = await system.runAgent([], { HTTPS_PROXY: 'http://127.0.0.1:1' });
    expect(bypass.code).not.toBe(0);
    setProxy('direct');
    expect((await system.runAgent([], { HTTPS_PROXY: 'http://127.0.0.1:1' })).code).toBe(0);
    expect(await system.phoneLabels()).toEqual(['D2', 'D1']);
  });
});
