/**
 * Web Push limits and timings in one place (issue 20). The operator's settings
 * (`push.*` in config.json) are in push-config.ts; these are the fixed ones.
 */
export const PUSH_LIMITS = {
  /** A subscription endpoint longer than this is refused (real ones are a few hundred bytes). */
  maxEndpointBytes: 1024,
  /** The notification's JSON, before encryption: well under the 4,096 bytes a push service must accept (RFC 8030 §7.2). */
  maxPayloadBytes: 3072,
  /** Cut sender and subject to this many characters in a notification. */
  maxFieldChars: 200,
  /** One push request — connect, TLS, POST, answer — is given up after this long. */
  requestTimeoutMs: 10_000,
  /** The most of a push service's answer that is read. */
  maxResponseBytes: 64 * 1024,
  /** Push requests in flight at once, all accounts together. */
  maxConcurrent: 8,
  /** Host lookups at once (they take threads of libuv's pool, which has four), and how long one may take. */
  maxLookups: 2,
  lookupTimeoutMs: 5_000,
  /** New mail is gathered this long after the last arrival before a push goes, and never longer than maxGatherMs after the first. */
  quietMs: 150,
  maxGatherMs: 400,
  /** After a push service's 5xx, 429, timeout or lost connection: try again after these delays, then give up until the next new mail. */
  retryDelaysMs: [2_000, 10_000, 60_000],
  /** The most a push service's Retry-After may defer a new try. */
  maxRetryAfterMs: 10 * 60_000,
  /** Collapses a burst at the push service (RFC 8030 §5.4): a newer push with this Topic replaces an undelivered one. */
  topic: 'twinbox-new-mail',
  urgency: 'normal',
} as const;
