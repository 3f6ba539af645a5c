/**
 * The running sync server: its store, one HTTPS port that serves the sync
 * endpoint (/sync), the phone API (/api/v1/) and the phone web app (/), and
 * inbound SMTP for the phone addresses when configured. TLS 1.2+ only; the
 * key and certificate are reloaded when their files change (tls-reload.ts).
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { TwinboxError } from '@twinbox/protocol';
import { storeDescription, type ServerConfig } from './config.js';
import { startInboundSmtp, type InboundSmtp } from './inbound/smtp-receiver.js';
import { createLogger, type Logger } from './log.js';
import { observedMailer, relayMailer } from './mailer.js';
import { ServerMetrics } from './metrics.js';
import { metricsOnMainPort, startMetricsListener } from './metrics-endpoint.js';
import { healthEndpoints } from './health.js';
import { scheduleHousekeeping } from './housekeeping.js';
import { createPhoneApi } from './phone/api.js';
import { startPush } from './push/service.js';
import { EventStreams } from './phone/event-stream.js';
import { webApp } from './phone/web-app.js';
import { createSyncNow } from './sync-now.js';
import { ServerStore } from './store/index.js';
import { PRESENCE_HEARTBEAT_MS } from './store/agent-presence.js';
import { ConnectionGate } from './transport/connection-gate.js';
import { attachSyncEndpoint } from './transport/sync-endpoint.js';
import { readTlsMaterial } from './tls.js';
import { NodeForwarder } from './reach/forward.js';
import { FailureLimiter, StoredFailureLimiter } from './rate-limit.js';
import { watchTlsFiles } from './tls-reload.js';

export interface RunningServer {
  store: ServerStore;
  host: string;
  port: number;
  /** Port of inbound SMTP for the phone addresses, when configured. */
  smtpPort: number | undefined;
  /** Port of the plain-HTTP metrics listener, when configured. */
  metricsPort: number | undefined;
  /** Read the TLS files again now (SIGHUP); true if a new certificate is in use. */
  reloadTls(): boolean;
  close(): Promise<void>;
}

/**
 * Whether each agent is connected, written for `twinbox-server account list`
 * run beside this process (agent-presence.ts): one write after another, in
 * the order asked — on PostgreSQL's pool two writes could pass each other and
 * leave an agent that left "connected". A write that fails is logged (the
 * agent's next connect or leave writes its state again). `settled` waits
 * for the last one.
 */
function presenceWriter(store: ServerStore, log: Logger) {
  let last: Promise<void> = Promise.resolve();
  const write = (what: string, fn: () => Promise<void>) => {
    last = last.then(fn).catch((err: unknown) => log.warn(`agent presence: the ${what} was not written`, { error: String(err) }));
  };
  return {
    /** The agent's state as the endpoint sees it when the write runs: the latest. */
    changed: (accountId: string, connected: (accountId: string) => boolean) =>
      write('change', async () => {
        await store.presence.record(accountId, connected(accountId));
        // Every node's web apps hear it (their phones show whether the desktop is online).
        store.engine.notify('presence', accountId);
      }),
    heartbeat: () => write('heartbeat', () => store.presence.heartbeat()),
    /** The server stops: no agent is connected to it. */
    allGone: () => write('shutdown', () => store.presence.allGone()),
    settled: () => last,
  };
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const log = createLogger('server');
  const store = await ServerStore.open(config.store, log);
  log.info('store opened', { store: storeDescription(config.store) });
  // Two live nodes under one name would take each other's leases and presence rows: the second one stops here.
  store.presence.node = config.cluster.nodeName;
  if (config.listen.port !== 0) {
    const other = await store.presence.otherNodeNamedSo(config.cluster.internalUrl ?? internalUrlOf(config.listen.host, config.listen.port));
    if (other) {
      await store.close();
      throw new TwinboxError(
        'CONFIG',
        `another server node named "${config.cluster.nodeName}" is running (reached at ${other.url}, seen ${Math.round(other.agoMs / 1000)} s ago): give each node its own cluster.nodeName; if that node is gone, this one can start in ${Math.ceil(other.freeInMs / 1000)} s`,
      );
    }
  }
  await store.reachCache.dropIncomplete();
  const tls = readTlsMaterial(config.tls);
  const limits = config.connections;
  const loginTimeoutMs = limits.loginTimeoutSeconds * 1000;
  // A stranger gets loginTimeoutMs for the TLS handshake, again for the request headers, and again to log in.
  const https = createServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2', handshakeTimeout: loginTimeoutMs });
  https.headersTimeout = loginTimeoutMs;
  const gate = new ConnectionGate({
    loginTimeoutMs,
    maxPreAuthBytes: limits.maxPreAuthBytes,
    maxPerSource: limits.maxUnauthenticatedPerSource,
    maxTotal: limits.maxUnauthenticated,
  });
  https.on('secureConnection', (socket: TLSSocket) => gate.admit(socket));
  // Failed logins: counted in the database where several nodes share it, so that each does not allow its own share.
  const loginLimiter = (scope: string) => (store.engine.dialect === 'postgres' ? new StoredFailureLimiter(store.engine, scope) : new FailureLimiter());
  const events = new EventStreams(store, { maxPerDevice: config.phone.maxEventStreamsPerDevice });
  const metrics = new ServerMetrics({
    sessionsOpen: () => endpoint.sessions(),
    agentsConnected: () => endpoint.agentsConnected(),
    eventStreams: () => events.size,
  });
  const endpoint = attachSyncEndpoint(https, store, log, {
    gate,
    sessionIdleMs: limits.sessionIdleSeconds * 1000,
    sendBufferBytes: limits.sendBufferBytes,
    observer: metrics,
    previewAboveBytes: config.reach.previewAboveBytes,
    node: config.cluster.nodeName,
    leaseMs: config.cluster.leaseSeconds * 1000,
    limiter: loginLimiter('sync'),
  });
  /** Is the account's agent connected, to this node or (as the database says) to another? */
  const agentConnected = async (accountId: string) => endpoint.connected(accountId) || (await store.presence.get(accountId)).state === 'connected';
  /** Ask the account's agent for a sync: over this node's link, or through the node that holds it (it hears `syncNow`). */
  const askAgent = async (accountId: string) => {
    if (endpoint.requestSync(accountId, 'syncNow') > 0) return true;
    if ((await store.presence.get(accountId)).state !== 'connected') return false;
    store.engine.notify('syncNow', accountId);
    return true;
  };
  const onSyncNow = (accountId: string) => endpoint.requestSync(accountId, 'syncNow');
  store.events.on('syncNow', onSyncNow);
  const push = await startPush(store, config.push, log, { observer: metrics });
  let certificate = tls.cert;
  const forwarder = new NodeForwarder(store.presence, {
    node: config.cluster.nodeName,
    connectedHere: (accountId) => endpoint.agentRequests(accountId) !== undefined,
    certificate: () => certificate,
    ...(config.publicUrl ? { publicHost: new URL(config.publicUrl).hostname.replace(/^\[|\]$/g, '') } : {}),
    answerWithinMs: config.reach.timeoutSeconds * 1000 + 5_000,
    log,
  });
  const phoneApi = createPhoneApi(store, log, {
    limiter: loginLimiter('api'),
    events,
    push,
    onAuthenticated: (socket) => gate.authenticated(socket),
    ...(config.relay ? { mailer: observedMailer(relayMailer(config.relay), (ok) => metrics.smtpSent('direct', ok)) } : {}),
    agentConnected: (accountId) => agentConnected(accountId),
    desktop: { requests: (accountId) => endpoint.agentRequests(accountId), timeoutMs: config.reach.timeoutSeconds * 1000, cacheBytes: config.reach.cacheBytesPerAccount },
    forward: (accountId, req, res) => forwarder.forward(accountId, req, res),
    syncNow: createSyncNow(store, askAgent, config.trigger, log, config.phone.syncNowEmailIntervalSeconds * 1000, (ok) =>
      metrics.smtpSent('trigger', ok),
    ),
  });
  // Whether each agent is connected, for `twinbox-server account list` run beside this process and for the other
  // nodes on the database (agent-presence.ts): this node's rows.
  await store.presence.allGone();
  const presence = presenceWriter(store, log);
  const onPresence = (accountId: string) => presence.changed(accountId, (id) => endpoint.connected(id));
  store.events.on('agentLink', onPresence);
  // Where the other nodes reach this one (known once it listens: the port may be chosen then).
  const reachedAt: { url?: string } = {};
  const announce = async () => reachedAt.url && store.presence.announce(reachedAt.url).catch((err: unknown) => log.warn('could not write where this node is reached', { error: String(err) }));
  const presenceHeartbeat = setInterval(() => {
    presence.heartbeat();
    void announce();
  }, PRESENCE_HEARTBEAT_MS);
  presenceHeartbeat.unref();
  const health = healthEndpoints(store);
  const metricsRoute = metricsOnMainPort(metrics, config.metrics?.token);
  const app = webApp();
  https.on('request', (req, res) => {
    res.once('close', () => metrics.request(req.url ?? '/', res.statusCode));
    void (async () => {
      if (health(req, res)) return;
      if (metricsRoute(req, res)) return;
      if (await phoneApi(req, res)) return;
      if (app(req, res)) return;
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no such route' } }));
    })().catch((err: unknown) => {
      // The routes answer their own errors; this is the last resort, so that one request cannot end the process.
      log.error('request failed', { path: (req.url ?? '').split('?')[0], error: String(err) });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'INTERNAL', message: 'internal error' } }));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    https.once('error', reject);
    https.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const address = https.address() as AddressInfo;
  reachedAt.url = config.cluster.internalUrl ?? internalUrlOf(config.listen.host, address.port);
  await announce();
  const smtp: InboundSmtp | undefined = config.smtp ? await startInboundSmtp(config.smtp, tls, store, log, (outcome, reason) => metrics.smtpReceived(outcome, reason), config.retention.maxBytesPerAccount) : undefined;
  const metricsListener = config.metrics?.listen ? await startMetricsListener(metrics, config.metrics.listen) : undefined;
  const stopHousekeeping = scheduleHousekeeping(store, config.retention, log, config.cluster.nodeName);
  const reloader = watchTlsFiles(config.tls, tls, (next) => {
    https.setSecureContext({ key: next.key, cert: next.cert, minVersion: 'TLSv1.2' });
    certificate = next.cert;
    smtp?.updateTls(next);
  }, log);
  return {
    store,
    host: address.address,
    port: address.port,
    smtpPort: smtp?.port,
    metricsPort: metricsListener?.port,
    reloadTls: () => reloader.reload(),
    close: async () => {
      reloader.close();
      // Its timers stop now; a run in progress is awaited before the store closes.
      const housekeepingStopped = stopHousekeeping();
      push.close();
      await metricsListener?.close();
      await smtp?.close();
      events.closeAll();
      clearInterval(presenceHeartbeat);
      store.events.off('agentLink', onPresence);
      store.events.off('syncNow', onSyncNow);
      await endpoint.close();
      forwarder.close();
      presence.allGone();
      await presence.settled();
      await new Promise<void>((resolve) => https.close(() => resolve()));
      await housekeepingStopped;
      await store.close();
    },
  };
}

/** This node's address for the others: where it listens, or this machine's name when it listens on every address. */
function internalUrlOf(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' || host === '' ? hostname() : host;
  return `https://${name.includes(':') ? `[${name}]` : name}:${port}`;
}
