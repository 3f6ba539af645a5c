/**
 * TLS material: a self-signed EC certificate for servers that have none
 * (made with the system's openssl, in milliseconds), and the SHA-256
 * fingerprint that agents pin at pairing.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

export function makeSelfSignedCertificate(keyPath: string, certPath: string, hostnames: string[]): void {
  const san = hostnames.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath,
        '-days', '3650', '-subj', `/CN=${hostnames[0] ?? 'twinbox'}`, '-addext', `subjectAltName=${san}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (err) {
    throw new Error(`could not make a certificate with openssl (is it installed?): ${(err as Error).message}`);
  }
}

/** "AB:CD:…" SHA-256 of the certificate, the form Node reports for a peer (`fingerprint256`). */
export function certificateFingerprint(certPath: string): string {
  return new X509Certificate(readFileSync(certPath)).fingerprint256;
}
