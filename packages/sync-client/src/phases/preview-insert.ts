/**
 * Preview first (docs/reach.md; protocol preview.ts): a window message larger
 * than the server's `previewAboveBytes` goes to the phone without its large
 * parts. The agent holds the whole message here (it is at most a frame's
 * size, read as any other insert), so it computes the whole message's
 * identity — fingerprint, size and content digest, over the same canonical
 * bytes the server would have stored (CRLF, IMAP-safe) — and sends it with the
 * preview: the phone's copy is then the same message for pairing, dedupe and
 * move detection as if it were held whole (docs/identity.md).
 */
import { contentDigestOfRaw, fingerprintOfRaw, imapSafe, previewOf, toCrlf, type PreviewOf } from '@twinbox/protocol';

/** The preview to send instead of `body`, or undefined: at or below the threshold, threshold 0 (off), or nothing large to leave out. */
export function previewInsert(body: Buffer, aboveBytes: number): { body: Buffer; previewOf: PreviewOf } | undefined {
  if (aboveBytes <= 0 || body.length <= aboveBytes) return undefined;
  const whole = imapSafe(toCrlf(body));
  const preview = previewOf(whole);
  if (!preview) return undefined;
  return {
    body: preview.raw,
    previewOf: { fingerprint: fingerprintOfRaw(whole), size: whole.length, digest: contentDigestOfRaw(whole), omitted: preview.omitted },
  };
}
