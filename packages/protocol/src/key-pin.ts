/**
 * How an agent knows its server (docs/trust.md): by a **pin** of the server's
 * public key — the SHA-256 of its SubjectPublicKeyInfo (DER), base64, written
 * `sha256//…` as curl's `--pinnedpubkey` takes it. A certificate renewed with
 * the same key keeps its pin; a new key needs a backup pin given at pairing,
 * or `twinbox-agent repin`.
 *
 * Pairings made before pins pinned the whole certificate (`fingerprint`, its
 * SHA-256 as AB:CD:… pairs). Such a fingerprint still matches the very
 * certificate it was taken from, and the agent then replaces it by that
 * certificate's key pin (transport/trust.ts).
 *
 * Pure: both programs compute pins here (the server prints them; the agent
 * checks them).
 */
import { createHash, type KeyObject, type X509Certificate } from 'node:crypto';

/** `sha256//` and 44 base64 characters (32 bytes). */
export const KEY_PIN = /^sha256\/\/[A-Za-z0-9+/]{43}=$/;

/** A whole-certificate SHA-256 fingerprint as pairings before key pins wrote it. */
export const CERTIFICATE_FINGERPRINT = /^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/;

export function isKeyPin(value: unknown): value is string {
  return typeof value === 'string' && KEY_PIN.test(value);
}

/** The pin of a public key (a private key's public half gives the same). */
export function keyPinOfKey(key: KeyObject): string {
  const spki = key.export({ type: 'spki', format: 'der' });
  return `sha256//${createHash('sha256').update(spki).digest('base64')}`;
}

/** The pin of a certificate's public key. */
export function keyPinOf(cert: X509Certificate): string {
  return keyPinOfKey(cert.publicKey);
}

/** The same fingerprint whatever its case and separators. */
export function sameCertificateFingerprint(a: string, b: string): boolean {
  const norm = (v: string) => v.replace(/[^0-9a-f]/gi, '').toUpperCase();
  return norm(a) !== '' && norm(a) === norm(b);
}

/** What an agent trusts its server by: key pins, or (a pairing from before pins) one certificate's fingerprint. */
export interface ServerTrust {
  pins?: readonly string[];
  fingerprint?: string;
}

/** How `cert` is trusted: by one of the pins, by the old whole-certificate fingerprint, or not at all. */
export function trustOf(trust: ServerTrust, cert: X509Certificate): 'pin' | 'fingerprint' | undefined {
  if ((trust.pins ?? []).includes(keyPinOf(cert))) return 'pin';
  if (trust.fingerprint !== undefined && sameCertificateFingerprint(trust.fingerprint, cert.fingerprint256)) return 'fingerprint';
  return undefined;
}
