/** The MIME body decoders live in @twinbox/protocol (body-text.ts): the agent's previews use them too (docs/reach.md). */
export { charsetDecode, decodeBase64, decodeQuotedPrintable, decodeWindows1252, transferDecode } from '@twinbox/protocol';
