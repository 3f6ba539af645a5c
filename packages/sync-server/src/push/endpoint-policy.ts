/**
 * Where the server may post a push (issue 20, "hostile input"). A phone names
 * the endpoint, so before any request: the endpoint is an `https:` URL of at
 * most 1 KiB with no user name or password in it, and every address its host
 * resolves to is public (addresses.ts), or in a network the operator allowed
 * (`push.allowPrivateNetworks`). Checked when a phone registers a subscription
 * and again before every push: DNS answers can change (DNS rebinding), so the
 * sender connects to the very address checked here and never resolves the
 * name again (sender.ts).
 *
 * Lookups are few at a time (MAX_LOOKUPS): they run on libuv's small thread
 * pool, which a resolver that never answers must not fill.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { allowedBy, nonPublicKind, parseNetwork, type Network } from './addresses.js';
import { PUSH_LIMITS } from './limits.js';

/** Why an endpoint is refused: shown to the phone that gave it, and logged. */
export class EndpointRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EndpointRefused';
  }
}

/** The host of an endpoint could not be resolved now (a passing DNS failure, not a refusal). */
export class EndpointUnresolved extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EndpointUnresolved';
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to all its addresses (injected in tests: a resolver whose answers change). */
export type Lookup = (hostname: string) => Promise<ResolvedAddress[]>;

export interface EndpointPolicy {
  /** Networks the operator allows although they are not public. */
  allowed: readonly Network[];
  lookup: Lookup;
}

/** The endpoint's URL, if it may be a push endpoint at all (before any lookup). */
export function checkEndpointUrl(endpoint: unknown): URL {
  if (typeof endpoint !== 'string' || endpoint === '') throw new EndpointRefused('the subscription has no endpoint');
  const bytes = Buffer.byteLength(endpoint, 'utf8');
  if (bytes > PUSH_LIMITS.maxEndpointBytes) throw new EndpointRefused(`the endpoint is ${bytes} bytes long; at most ${PUSH_LIMITS.maxEndpointBytes} are accepted`);
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new EndpointRefused('the endpoint is not a URL');
  }
  if (url.protocol !== 'https:') throw new EndpointRefused(`the endpoint must be an https: URL (push services speak HTTPS, RFC 8030), not ${url.protocol}`);
  if (url.username !== '' || url.password !== '') throw new EndpointRefused('the endpoint must not carry a user name or password');
  if (url.hostname === '') throw new EndpointRefused('the endpoint has no host');
  return url;
}

/** The host of a URL as a name or a bare IP address (`[::1]` → `::1`). */
export function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/** Refuse an address that is not public, unless the operator allowed its network. */
export function checkAddress(address: string, policy: Pick<EndpointPolicy, 'allowed'>, host: string): void {
  const kind = nonPublicKind(address);
  if (kind === undefined || allowedBy(address, policy.allowed)) return;
  const named = host === address ? address : `${host} (${address})`;
  throw new EndpointRefused(`the endpoint's host ${named} is ${kind}, not on the public internet; push services are (an operator may allow a network with push.allowPrivateNetworks)`);
}

/**
 * Resolve the endpoint's host and check every address it resolves to; the
 * first is where to connect. A host that resolves to any refused address is
 * refused as a whole (a name that also points inward is no push service).
 */
export async function resolveEndpoint(url: URL, policy: EndpointPolicy): Promise<ResolvedAddress> {
  const host = hostOf(url);
  const literal = isIP(host);
  const addresses: ResolvedAddress[] = literal ? [{ address: host, family: literal as 4 | 6 }] : await policy.lookup(host);
  if (addresses.length === 0) throw new EndpointUnresolved(`the endpoint's host ${host} has no address`);
  for (const a of addresses) checkAddress(a.address, policy, host);
  return addresses[0]!;
}

/** Parse the operator's allowed networks (config). */
export function allowedNetworks(entries: readonly string[]): Network[] {
  return entries.map(parseNetwork);
}

let lookupsRunning = 0;
const lookupsWaiting: (() => void)[] = [];

/**
 * The system resolver (as https would use it), at most MAX_LOOKUPS at once, each given up after a timeout.
 * A lookup given up on keeps its place until the resolver answers: its thread is still taken.
 */
export const systemLookup: Lookup = async (hostname) => {
  if (lookupsRunning >= PUSH_LIMITS.maxLookups) await new Promise<void>((resolve) => lookupsWaiting.push(resolve));
  lookupsRunning++;
  const looking = dnsLookup(hostname, { all: true, verbatim: true });
  const release = () => {
    lookupsRunning--;
    lookupsWaiting.shift()?.();
  };
  looking.then(release, release);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EndpointUnresolved(`looking up ${hostname} took longer than ${PUSH_LIMITS.lookupTimeoutMs} ms`)), PUSH_LIMITS.lookupTimeoutMs);
  });
  try {
    const found = await Promise.race([looking, timeout]);
    return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
  } catch (err) {
    if (err instanceof EndpointUnresolved) throw err;
    throw new EndpointUnresolved(`the endpoint's host ${hostname} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
};
