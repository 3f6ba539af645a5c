/**
 * How much of a stored message the server reads to show it (issue 18), in one
 * place so that the parsers cannot drift apart (the imapflow `limits.js`
 * idea; wire limits are in @twinbox/protocol's LIMITS).
 *
 * Mail is hostile and up to LIMITS.maxMessageBytes (60 MiB) long. Every
 * parser here does work linear in what it reads, and reads at most these
 * amounts, so the work for one message is bounded whatever its bytes are:
 * the list fields from a prefix, the view from mailparser (streaming) with
 * the HTML it hands the sanitizer clipped by size and by nesting depth.
 */
export const MAIL_LIMITS = {
  /** The list fields (subject, sender, preview) are read from at most this prefix of the message. */
  listScanBytes: 256 * 1024,
  /** A header value longer than this is cut before it is decoded (RFC 5322 lines are at most 998 bytes). */
  headerValueChars: 16 * 1024,
  /** Longest decoded Subject and From kept for the lists. */
  subjectChars: 1000,
  fromChars: 1000,
  /** Addresses of a From field shown (the rest is left out). */
  fromAddresses: 20,
  /** The preview line. */
  previewChars: 160,
  /** MIME: leaf parts returned for the preview, parts of any kind looked at, and multipart nesting followed. */
  listParts: 64,
  listEntities: 256,
  listDepth: 8,
  /** Recipients (To, Cc) the message view shows, and their length. */
  viewAddresses: 200,
  viewAddressChars: 16 * 1024,
  /** The message view: header block mailparser accepts (beyond it the message is shown as plain source). */
  viewHeadBytes: 256 * 1024,
  /** MIME parts mailparser accepts (its own default; beyond it the message is shown as plain source). */
  viewParts: 1000,
  /**
   * HTML handed to the sanitizer (sanitize-html costs up to ~4 µs a character on hostile HTML) and
   * text sent to the phone: longer bodies are clipped (Gmail clips at 102 KB).
   */
  viewHtmlChars: 256 * 1024,
  viewTextChars: 512 * 1024,
  /** A part the view shows as text is cut after this many (encoded) bytes before mailparser decodes it whole. */
  viewTextPartBytes: 1024 * 1024,
  /** Tags and runs of text in the view's HTML (a large newsletter has some 20,000; 250 KB of `<` has 250,000). */
  viewHtmlTokens: 40_000,
  /** Open elements the view's HTML may nest (htmlparser2's tree builder costs O(depth) per tag): deeper, it is clipped. */
  viewHtmlDepth: 400,
  /** Inline (cid:) images made data: URLs in one view, in bytes of URL. */
  viewInlineImageBytes: 20 * 1024 * 1024,
  /** A message that cannot be parsed is shown as this much of its source. */
  viewSourceChars: 256 * 1024,
} as const;
