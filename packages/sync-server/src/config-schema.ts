/**
 * The server's config file as a schema (zod): every key it may hold, what
 * each must be, and nothing else — a misspelt key is refused with the
 * nearest known one (@twinbox/cli config-file.ts), never ignored. README
 * "Configuration" is the table of keys with their defaults (config.ts).
 *
 * A key added to the server's config must be added here, or every command
 * refuses the file that has it.
 */
import { z } from 'zod';
import { LIMITS, TRANSPORT_SECURITY } from '@twinbox/protocol';

const text = z.string().min(1, 'must not be empty');
const port = z.number().int('must be a port, 0 to 65535').min(0, 'must be a port, 0 to 65535').max(65535, 'must be a port, 0 to 65535');
const positive = z.number().int('must be a positive whole number').min(1, 'must be a positive whole number').max(Number.MAX_SAFE_INTEGER, 'must be a positive whole number');
const atLeast = (min: number) => z.number().int(`must be a whole number ≥ ${min}`).min(min, `must be a whole number ≥ ${min}`).max(Number.MAX_SAFE_INTEGER, `must be a whole number ≥ ${min}`);
const security = z.enum(TRANSPORT_SECURITY);

const SMTP_SCHEMA = z.strictObject({
  host: text.optional(),
  port,
  maxMessageBytes: z
    .number()
    .int(`must be a whole number of bytes from 1 to ${LIMITS.maxMessageBytes}`)
    .min(1, `must be a whole number of bytes from 1 to ${LIMITS.maxMessageBytes}`)
    // A phone message must fit in one sync frame to reach the desktop; a larger limit would strand it on the server.
    .max(LIMITS.maxMessageBytes, `must be a whole number of bytes from 1 to ${LIMITS.maxMessageBytes}`)
    .optional(),
  maxClients: positive.optional(),
  maxClientsPerSource: positive.optional(),
  maxRecipients: positive.optional(),
  idleTimeoutSeconds: positive.optional(),
  sessionTimeoutSeconds: positive.optional(),
  trustedSenders: z.array(text).optional(),
});

const RELAY_SCHEMA = z.strictObject({
  host: text,
  port,
  security: security.optional(),
  /** Before `security`: true = tls, false = starttls. */
  secure: z.boolean().optional(),
  user: z.string().optional(),
  password: z.string().optional(),
});

const TRIGGER_SCHEMA = RELAY_SCHEMA.extend({ lmtp: z.boolean().optional(), from: text.optional() });

/** A PostgreSQL connection URL (store.url, DATABASE_URL); store/index.ts `storeTargetOf` knows it the same way. */
export const POSTGRES_URL = /^postgres(ql)?:\/\/\S+$/;
export const POSTGRES_URL_PROBLEM = 'must be a postgres:// URL, like postgres://twinbox@db.example.com:5432/twinbox';

/** A scheme://… address: never a SQLite file (and never echoed back in an error: it may hold a password). */
const isUrl = (value: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(value);

/**
 * The SQLite file of the short form `database`. A URL here is refused with a
 * refinement (its problem shows no value), not resolved as a path that would
 * print the password in "needs the folder …".
 */
const SQLITE_PATH = text.refine((path) => !isUrl(path), 'is a SQLite file; a PostgreSQL database goes in store ({ "kind": "postgres", "url": … }) or DATABASE_URL');

/**
 * Where the store lives (store/index.ts `StoreTarget`). The URL is checked by a
 * refinement, whose problem shows no value: a wrong URL may still hold a password.
 */
const STORE_SCHEMA = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('sqlite'), path: SQLITE_PATH }),
    z.strictObject({
      kind: z.literal('postgres'),
      url: z.string().refine((url) => POSTGRES_URL.test(url), POSTGRES_URL_PROBLEM),
      poolSize: positive.optional(),
      /** Where the LISTEN connection goes when `url` names a pooler in transaction mode (it cannot hold one). */
      listenUrl: z.string().refine((url) => POSTGRES_URL.test(url), POSTGRES_URL_PROBLEM).optional(),
      /** Off for a pooler in transaction mode that cannot carry prepared statements (postgres-engine.ts). */
      preparedStatements: z.boolean().optional(),
    }),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? 'must be "sqlite" or "postgres"' : undefined) },
);

export const SERVER_CONFIG_SCHEMA = z.strictObject({
  /** Short for `store: { kind: 'sqlite', path }`, as config files before `store` say it. */
  database: SQLITE_PATH.optional(),
  store: STORE_SCHEMA.optional(),
  listen: z.strictObject({ host: text.optional(), port }),
  tls: z.strictObject({
    key: text,
    cert: text,
    /** A spare key not in use yet, whose pin agents hold as their backup (docs/trust.md). */
    backupKey: text.optional(),
  }),
  publicUrl: z.string().regex(/^wss:\/\/\S+$/, 'must be the wss://HOST:PORT/sync address agents reach the server at').optional(),
  appUrl: z.string().regex(/^https:\/\/\S+$/, 'must be the https:// address phones open the web app at').optional(),
  smtp: SMTP_SCHEMA.optional(),
  relay: RELAY_SCHEMA.optional(),
  trigger: TRIGGER_SCHEMA.optional(),
  connections: z
    .strictObject({
      loginTimeoutSeconds: positive.optional(),
      maxPreAuthBytes: positive.optional(),
      maxUnauthenticatedPerSource: positive.optional(),
      maxUnauthenticated: positive.optional(),
      sessionIdleSeconds: positive.optional(),
      sendBufferBytes: positive.optional(),
    })
    .optional(),
  metrics: z
    .strictObject({
      token: z.string().min(16, 'must be a string of at least 16 characters').optional(),
      listen: z.strictObject({ host: text, port }).optional(),
    })
    .optional(),
  retention: z
    .strictObject({
      trashDays: atLeast(0).optional(),
      expireDesktopTrash: z.boolean().optional(),
      sentDays: atLeast(0).optional(),
      maxBytesPerAccount: atLeast(0).optional(),
      intervalMinutes: atLeast(1).optional(),
    })
    .optional(),
  phone: z
    .strictObject({
      maxEventStreamsPerDevice: positive.optional(),
      syncNowEmailIntervalSeconds: positive.optional(),
    })
    .optional(),
  /**
   * Requests to the desktop agent beyond the window (docs/reach.md): the cache's cap per account (0: no cache), the
   * answer's deadline, and the size above which a window message reaches the phone as a preview (0: off).
   */
  reach: z
    .strictObject({
      cacheBytesPerAccount: atLeast(0).optional(),
      previewAboveBytes: atLeast(0).optional(),
      timeoutSeconds: z.number().int('must be a whole number of seconds from 1 to 120').min(1, 'must be a whole number of seconds from 1 to 120').max(120, 'must be a whole number of seconds from 1 to 120').optional(),
    })
    .optional(),
  /**
   * Several nodes on one PostgreSQL database (docs/scaling.md): this node's name (unique among them, the same
   * after a restart) and how long a sync lease outlives a node that stopped renewing it.
   */
  cluster: z
    .strictObject({
      nodeName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.:-]{0,99}$/, 'must be 1 to 100 letters, digits, dots, colons or dashes').optional(),
      leaseSeconds: z.number().int('must be a whole number of seconds from 5 to 600').min(5, 'must be a whole number of seconds from 5 to 600').max(600, 'must be a whole number of seconds from 5 to 600').optional(),
      internalUrl: z
        .string()
        .regex(/^https:\/\/[^/?#\s]+\/?$/, 'must be an https:// address with no path, such as https://10.0.0.5:8443')
        .optional(),
    })
    .optional(),
  /** Web Push (push/push-config.ts checks what the values mean: a VAPID subject, CIDR ranges). */
  push: z
    .strictObject({
      subject: text.optional(),
      vapidKey: text.optional(),
      ttlSeconds: atLeast(0).optional(),
      allowPrivateNetworks: z.array(text).optional(),
    })
    .optional(),
})
  // Neither is a problem only where DATABASE_URL is not set either: config.ts checks that.
  .refine((c) => c.database === undefined || c.store === undefined, { path: ['database'], message: 'and store both say where the database is: give one (database is short for store { "kind": "sqlite", "path": … })' });

export type ServerConfigFile = z.infer<typeof SERVER_CONFIG_SCHEMA>;
