/**
 * The way to the server (issue 13): straight, or through an HTTP proxy by
 * CONNECT — many corporate networks let HTTPS out only through one. The TLS
 * session runs inside the tunnel, end to end with the server, so the proxy
 * sees neither the traffic nor the certificate check, and the pin
 * (connection.ts) is enforced exactly as without it.
 *
 * Which proxy: `server.proxy` in the agent config when set
 * ("http://user:password@proxy.corp:3128", credentials sent as Basic
 * Proxy-Authorization; "direct" to ignore the environment), else the
 * environment as curl reads it: HTTPS_PROXY / https_proxy (or ALL_PROXY),
 * with NO_PROXY / no_proxy naming hosts to reach directly.
 */
import { getProxyForUrl } from 'proxy-from-env';
import { TwinboxError } from '@twinbox/protocol';

/** The proxy URL for a wss:// server URL, or undefined to go straight. */
export function proxyFor(serverUrl: string, configured?: string): string | undefined {
  if (configured === 'direct') return undefined;
  // The environment names proxies by the scheme of the request: the sync connection is HTTPS before its upgrade.
  const proxy = configured ?? getProxyForUrl(serverUrl.replace(/^wss:/i, 'https:'));
  if (!proxy) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(proxy);
  } catch {
    throw new TwinboxError('CONFIG', `the proxy ${JSON.stringify(proxy)} is not a URL (http://[user:password@]host:port)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TwinboxError('CONFIG', `the proxy ${parsed.host} must be http:// or https:// (CONNECT), not ${parsed.protocol}`);
  return proxy;
}

/** The proxy's address without its credentials, for messages. */
export function proxyLabel(proxy: string): string {
  const url = new URL(proxy);
  return `${url.protocol}//${url.host}`;
}
