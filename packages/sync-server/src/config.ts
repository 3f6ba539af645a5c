/**
 * Server configuration: one JSON file, paths relative to it.
 *
 *   { "store": { "kind": "sqlite", "path": "twinbox.db" }, "listen": { "host": "127.0.0.1", "port": 8443 },
 *     "tls": { "key": "key.pem", "cert": "cert.pem", "backupKey": "backup-key.pem" }, "publicUrl": "wss://host:8443/sync",
 *     "smtp": { "host": "0.0.0.0", "port": 25, "maxMessageBytes": 26214400, "trustedSenders": [] },
 *     "relay": { "host": "smtp.example", "port": 587, "user": "…", "password": "…" },
 *     "metrics": { "token": "…", "listen": { "host": "127.0.0.1", "port": 9464 } },
 *     "retention": { "trashDays": 30, "sentDays": 90, "maxBytesPerAccount": 1073741824, "intervalMinutes": 60 },
 *     "phone": { "maxEventStreamsPerDevice": 5, "syncNowEmailIntervalSeconds": 60 },
 *     "reach": { "cacheBytesPerAccount": 268435456, "timeoutSeconds": 30, "previewAboveBytes": 262144 },
 *     "push": { "subject": "mailto:ops@example.com", "vapidKey": "vapid-key.pem" } }
 *
 * The store: `"store": { "kind": "sqlite", "path": "twinbox.db" }` (one
 * machine), or `{ "kind": "postgres", "url": "postgres://…", "poolSize": 10 }`
 * (several nodes on one database, docs/scaling.md), or the environment
 * variable DATABASE_URL (a postgres:// URL), which overrides the file as
 * twelve-factor deployments expect. `"database": "twinbox.db"`, what older
 * files and `init` say, is short for the sqlite form.
 *
 * A config that cannot be read or is wrong is a `TwinboxError('CONFIG')`, as
 * in the agent, naming every mistake (config-schema.ts): the CLI prints it
 * with its code and exits 1.
 */
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { configError, fileProblem, loadConfigFile } from '@twinbox/cli';
import { PREVIEW_DEFAULTS, TwinboxError, securityOf } from '@twinbox/protocol';
import { POSTGRES_URL, POSTGRES_URL_PROBLEM, SERVER_CONFIG_SCHEMA, type ServerConfigFile } from './config-schema.js';
import type { RelayConfig } from './mailer.js';
import type { MetricsConfig } from './metrics-endpoint.js';
import { RETENTION_DEFAULTS, type RetentionConfig } from './housekeeping.js';
import type { TriggerTransportConfig } from './sync-now.js';
import { parsePushConfig, type PushConfig } from './push/push-config.js';
import type { StoreTarget } from './store/index.js';

/** Inbound SMTP limits and their defaults (README "Security"). */
export const INBOUND_SMTP_DEFAULTS = {
  /** Larger messages are refused (552) and never held in memory beyond this. */
  maxMessageBytes: 25 * 1024 * 1024,
  /** Connections at once (the rest are refused with 421). */
  maxClients: 100,
  /** Connections at once from one source: an IPv4 address, an IPv6 /64 (rate-limit.ts `sourceKey`, as on the HTTPS port). */
  maxClientsPerSource: 10,
  /** Recipients per mail transaction (452 beyond). */
  maxRecipients: 50,
  /** A connection silent this long is closed (Postfix smtpd_timeout). */
  idleTimeoutSeconds: 60,
  /** Every connection is closed after this long, however busy (a slow DATA included). */
  sessionTimeoutSeconds: 600,
} as const;

export interface InboundSmtpConfig {
  host: string;
  port: number;
  /** Larger messages are refused (552). Default 25 MiB. */
  maxMessageBytes?: number;
  maxClients?: number;
  maxClientsPerSource?: number;
  maxRecipients?: number;
  idleTimeoutSeconds?: number;
  sessionTimeoutSeconds?: number;
  /**
   * Client addresses allowed to state a message's arrival time with an
   * X-Twinbox-Arrival header (the scenario runner, importers). Default none.
   */
  trustedSenders?: string[];
}

/** Limits of the HTTPS port (sync endpoint and phone API) and their defaults (README "Security"). */
export const CONNECTION_DEFAULTS = {
  /** A connection must log in (hello, watch, or a phone API request with a valid token) within this. */
  loginTimeoutSeconds: 10,
  /** Bytes a connection may send before it logs in (a hello is a few hundred). */
  maxPreAuthBytes: 64 * 1024,
  /** Connections not logged in, from one source (an IPv4 address, an IPv6 /64). */
  maxUnauthenticatedPerSource: 32,
  /** Connections not logged in, in all. */
  maxUnauthenticated: 2048,
  /** A sync session whose peer neither sends a frame nor reads ours this long is ended and the account unlocked. */
  sessionIdleSeconds: 120,
  /** Bytes queued for a peer that is not reading, beyond which the server stops producing more for it. */
  sendBufferBytes: 8 * 1024 * 1024,
} as const;

export type ConnectionLimits = { -readonly [K in keyof typeof CONNECTION_DEFAULTS]: number };

/** Limits of the phone's API and their defaults (README "Security"). */
export const PHONE_DEFAULTS = {
  /** Live event streams (GET /api/v1/events) one device may hold; a newer one closes the oldest. */
  maxEventStreamsPerDevice: 5,
  /** "Sync now" sends a trigger e-mail at most once in this many seconds per account; requests meanwhile coalesce. */
  syncNowEmailIntervalSeconds: 60,
} as const;

export type PhoneLimits = { -readonly [K in keyof typeof PHONE_DEFAULTS]: number };

/** The phone's reach beyond its window (docs/reach.md) and its defaults (README "Beyond the window"). */
export const REACH_DEFAULTS = {
  /** What the server keeps of desktop messages the phone opened (structure, text, parts), per account; least recently used first out. */
  cacheBytesPerAccount: 256 * 1024 * 1024,
  /** How long the phone waits for the desktop agent's answer (a part: for each next chunk). */
  timeoutSeconds: 30,
  /**
   * Preview first (docs/reach.md): a desktop window message larger than this reaches the phone without its
   * large parts, which are fetched on demand; 0 turns it off (every window message whole, as before).
   */
  previewAboveBytes: PREVIEW_DEFAULTS.aboveBytes,
} as const;

export type ReachConfig = { -readonly [K in keyof typeof REACH_DEFAULTS]: number };

/** This node among several on one database (docs/scaling.md). */
export interface ClusterConfig {
  /** Unique per node and kept across restarts (a restarted node takes its sync leases back at once). Default: host name and port. */
  nodeName: string;
  /** A sync lease not renewed for this long is free for another node: the longest a killed node holds an account. */
  leaseSeconds: number;
  /**
   * Where the other nodes reach this one (https://address:port), to pass it a phone request for an agent
   * connected here. Default: listen.host (this machine's name when it listens on every address) and the port.
   */
  internalUrl?: string;
}

export const CLUSTER_DEFAULTS = { leaseSeconds: 30 } as const;

export interface ServerConfig {
  /** Where the store lives: a SQLite file (its path absolute), or a PostgreSQL database. */
  store: StoreTarget;
  listen: { host: string; port: number };
  /** backupKey: a spare key, not in use, whose pin agents hold as their backup (docs/trust.md). */
  tls: { key: string; cert: string; backupKey?: string };
  /** The address agents use to reach the sync endpoint; printed at pairing. */
  publicUrl?: string;
  /** The web app's address for sign-in links; defaults to publicUrl's https:// origin. */
  appUrl?: string;
  /** Inbound SMTP for the phone addresses; off when absent. */
  smtp?: InboundSmtpConfig;
  /** Outgoing relay for mail the phone sends directly; without it only sending via sync works. */
  relay?: RelayConfig;
  /** How trigger e-mails reach the desktop address; defaults to the relay. */
  trigger?: TriggerTransportConfig;
  /** Limits of the HTTPS port; each defaults to CONNECTION_DEFAULTS. */
  connections: ConnectionLimits;
  /** Where Prometheus metrics are served (metrics-endpoint.ts); nowhere when absent. */
  metrics?: MetricsConfig;
  /** How long phone Trash and Sent keep mail, and the size cap per account (housekeeping.ts); each defaults to RETENTION_DEFAULTS. */
  retention: RetentionConfig;
  /** Limits of the phone's API; each defaults to PHONE_DEFAULTS. */
  phone: PhoneLimits;
  /** Requests to the desktop agent and their cache; each defaults to REACH_DEFAULTS. */
  reach: ReachConfig;
  /** This node's name and its sync leases (several nodes on PostgreSQL). */
  cluster: ClusterConfig;
  /** Web Push notifications (push/push-config.ts): off until push.subject is set. */
  push: PushConfig;
}

const WHAT = 'server config';

/** The environment variable that names a PostgreSQL store, over what the file says. */
export const DATABASE_URL = 'DATABASE_URL';

/**
 * A URL (or any text with URLs in it, like an error message) with each
 * password masked — `postgres://user:***@host/db`, `?password=***` — as logs
 * and errors may show it. A value cut short ("…") is masked from its colon on.
 */
export function redactUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/?#@"]*):[^\s"]*(?=[@…])/gi, '$1:***').replace(/([?&]password=)[^&#\s"]*/gi, '$1***');
}

/** The store as logs may name it: `sqlite /srv/twinbox/twinbox.db`, `postgres postgres://twinbox:***@db/twinbox`. */
export function storeDescription(target: StoreTarget): string {
  return target.kind === 'sqlite' ? `sqlite ${target.path}` : `postgres ${redactUrl(target.url)}`;
}

/**
 * Where the store is: DATABASE_URL when set (a deployment's environment
 * outranks its file), else the file's `store` or `database` (a SQLite path
 * relative to the file). The schema refused a file with both.
 */
function storeOf(c: ServerConfigFile, base: string, env: NodeJS.ProcessEnv): { store?: StoreTarget; problem?: string } {
  const url = env[DATABASE_URL];
  if (url) {
    if (!POSTGRES_URL.test(url)) return { problem: `the environment variable ${DATABASE_URL} ${POSTGRES_URL_PROBLEM}` };
    return { store: { kind: 'postgres', url } };
  }
  if (c.store?.kind === 'postgres') return { store: c.store };
  const path = c.store?.path ?? c.database;
  if (path === undefined) return { problem: `store is missing (or database, a SQLite file; or the environment variable ${DATABASE_URL})` };
  return { store: { kind: 'sqlite', path: resolve(base, path) } };
}

/**
 * Read and check the server's config: every mistake at once, as one
 * `TwinboxError('CONFIG')` with a line per mistake (config-schema.ts for the
 * keys; the files it names must exist). `env` is where DATABASE_URL is read.
 */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const file = resolve(path);
  const c = readConfigFile(file);
  const base = dirname(file);
  const tls = { key: resolve(base, c.tls.key), cert: resolve(base, c.tls.cert), ...(c.tls.backupKey ? { backupKey: resolve(base, c.tls.backupKey) } : {}) };
  const { store, problem } = storeOf(c, base, env);
  const missing = [
    problem,
    fileProblem('tls.key', tls.key),
    fileProblem('tls.cert', tls.cert),
    tls.backupKey ? fileProblem('tls.backupKey', tls.backupKey) : undefined,
    store?.kind === 'sqlite' ? fileProblem(c.store ? 'store.path' : 'database', dirname(store.path), 'folder') : undefined,
  ].filter((p) => p !== undefined);
  if (missing.length > 0 || !store) throw configError(WHAT, file, missing);
  // Checked here too (the mailers check again when made), so that a wrong value stops every command, not only `start`.
  if (c.relay) securityOf(c.relay, `${WHAT} ${file}: relay.security`, 'starttls');
  if (c.trigger) securityOf(c.trigger, `${WHAT} ${file}: trigger.security`, c.trigger.lmtp ? 'plain' : 'starttls');
  // The push block's shape is in the schema; what its values mean (a VAPID subject, CIDR ranges) is push-config.ts's.
  const push = parsePushConfig(c.push, base, (message) => configError(WHAT, file, [message]));
  return {
    push,
    connections: { ...CONNECTION_DEFAULTS, ...(c.connections ?? {}) },
    retention: { ...RETENTION_DEFAULTS, ...(c.retention ?? {}) },
    phone: { ...PHONE_DEFAULTS, ...(c.phone ?? {}) },
    reach: { ...REACH_DEFAULTS, ...(c.reach ?? {}) },
    cluster: {
      nodeName: c.cluster?.nodeName ?? `${hostname()}:${c.listen.port}`,
      leaseSeconds: c.cluster?.leaseSeconds ?? CLUSTER_DEFAULTS.leaseSeconds,
      ...(c.cluster?.internalUrl ? { internalUrl: c.cluster.internalUrl.replace(/\/$/, '') } : {}),
    },
    ...(c.metrics ? { metrics: c.metrics } : {}),
    store,
    listen: { host: c.listen.host ?? '127.0.0.1', port: c.listen.port },
    tls,
    ...(c.publicUrl ? { publicUrl: c.publicUrl } : {}),
    ...(c.appUrl ? { appUrl: c.appUrl } : {}),
    ...(c.smtp ? { smtp: { ...c.smtp, host: c.smtp.host ?? '127.0.0.1' } } : {}),
    ...(c.relay ? { relay: c.relay } : {}),
    ...(c.trigger ?? c.relay ? { trigger: c.trigger ?? c.relay! } : {}),
  };
}

/**
 * The file against the schema. Its problems quote wrong values, and a
 * misplaced store URL may hold a password: every URL in them is masked (and
 * the cause, which may quote the file, is left behind).
 */
function readConfigFile(file: string): ServerConfigFile {
  try {
    return loadConfigFile(SERVER_CONFIG_SCHEMA, file, WHAT);
  } catch (err) {
    if (err instanceof TwinboxError) throw new TwinboxError(err.code, redactUrl(err.message));
    throw err;
  }
}
