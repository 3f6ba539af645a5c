/**
 * TLS material (docs/trust.md): a self-signed EC certificate for servers
 * that have none and a spare (backup) key, made with the system's openssl in
 * milliseconds; the key pins agents hold (`sha256//…`, @twinbox/protocol
 * key-pin.ts); and the key and certificate read as a pair that belongs
 * together (a key written before its certificate, in the middle of a
 * renewal, is not a pair yet).
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { chmodSync, readFileSync } from 'node:fs';
import { TwinboxError, keyPinOf, keyPinOfKey } from '@twinbox/protocol';

function openssl(args: string[], what: string): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`could not make ${what} with openssl (is it installed?): ${(err as Error).message}`);
  }
}

export function makeSelfSignedCertificate(keyPath: string, certPath: string, hostnames: string[]): void {
  const san = hostnames.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath,
      '-days', '3650', '-subj', `/CN=${hostnames[0] ?? 'twinbox'}`, '-addext', `subjectAltName=${san}`],
    'a certificate',
  );
  chmodSync(keyPath, 0o600);
}

/** A new EC P-256 private key (mode 0600): the backup key, not used until the operator changes keys. */
export function makePrivateKey(keyPath: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath], 'a key');
  chmodSync(keyPath, 0o600);
}

/** "AB:CD:…" SHA-256 of the whole certificate (what pairings before key pins pinned). */
export function certificateFingerprint(certPath: string): string {
  return new X509Certificate(readFileSync(certPath)).fingerprint256;
}

/** The pin of the key of the certificate in this file. */
export function certificatePin(certPath: string): string {
  return keyPinOf(new X509Certificate(readFileSync(certPath)));
}

/** The pin of a private key's public half (the backup key has no certificate yet). */
export function privateKeyPin(keyPath: string): string {
  return keyPinOfKey(createPublicKey(createPrivateKey(readFileSync(keyPath))));
}

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  /** The certificate's key pin. */
  pin: string;
  /** When the certificate expires (ms). */
  validTo: number;
}

/** The key and certificate files, read and checked to be a pair (CONFIG when they are not, or cannot be read). */
export function readTlsMaterial(files: { key: string; cert: string }): TlsMaterial {
  let key: Buffer;
  let cert: Buffer;
  let x509: X509Certificate;
  try {
    key = readFileSync(files.key);
    cert = readFileSync(files.cert);
    x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error(`the key in ${files.key} is not the key of the certificate in ${files.cert}`);
  } catch (err) {
    throw new TwinboxError('CONFIG', `TLS key and certificate: ${(err as Error).message}`, { cause: err });
  }
  return { key, cert, pin: keyPinOf(x509), validTo: Date.parse(x509.validTo) };
}
