/**
 * Hostile-input limits, kept in one place so that the decoder, the server and
 * the agent cannot drift apart (the imapflow `limits.js` idea).
 */
export const LIMITS = {
  /** Largest frame either side accepts (header + body). A frame above it is refused with FRAME_TOO_LARGE. */
  maxFrameBytes: 64 * 1024 * 1024,
  /** Largest JSON header of a frame. */
  maxHeaderBytes: 1024 * 1024,
  /** Largest mail message carried in an insert (raw RFC 5322 bytes). */
  maxMessageBytes: 60 * 1024 * 1024,
  /** Largest number of entries in one list-valued field (a phone list page, phoneIds of a fetch, order entries). */
  maxListEntries: 100_000,
  /** A phone list page is cut at about this many bytes of JSON, so any number of phone messages fits in frames. */
  phoneListPageBytes: 256 * 1024,
  /** Window order entries per `order` frame. */
  orderPageEntries: 5_000,
  /** Longest string field (tokens, ids, error messages, fingerprints). */
  maxStringLength: 4096,
  /** Largest window an account may have. */
  maxWindow: 10_000,
  /**
   * Actions one side keeps in flight (sent, not yet acknowledged), and the
   * message bytes they may carry (at least one action is always sent). Big
   * enough that a slow link is kept full: 1,000 small changes over a 50 ms
   * link go out in one window and take about one round trip (issue 11), while
   * message bodies in flight stay bounded.
   */
  maxInFlight: 1024,
  maxInFlightBytes: 8 * 1024 * 1024,
  /** Heartbeat: a ping every interval; a peer silent for `heartbeatTimeoutMs` is dropped. */
  heartbeatIntervalMs: 15_000,
  heartbeatTimeoutMs: 45_000,
  /** How long one side waits for the next frame of a session before giving up. */
  frameTimeoutMs: 120_000,
} as const;
