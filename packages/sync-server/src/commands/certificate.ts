/**
 * `twinbox-server certificate`: the certificate in use and the pins agents
 * hold (docs/trust.md) — what an operator compares with what
 * `twinbox-agent repin` shows before a user trusts a new key.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isoTime } from '@twinbox/cli';
import { keyPinOf } from '@twinbox/protocol';
import { privateKeyPin } from '../tls.js';
import { loadConfig } from '../config.js';
import { required } from '@twinbox/cli';

export function certificate(values: { config?: string; json?: boolean }): void {
  const config = loadConfig(required(values, 'config', 'certificate'));
  const cert = new X509Certificate(readFileSync(config.tls.cert));
  const info = {
    file: config.tls.cert,
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    selfSigned: cert.issuer === cert.subject,
    names: cert.subjectAltName ?? '',
    validFrom: isoTime(Date.parse(cert.validFrom)),
    validTo: isoTime(Date.parse(cert.validTo)),
    pin: keyPinOf(cert),
    backupPin: config.tls.backupKey ? privateKeyPin(config.tls.backupKey) : null,
    certificateSha256: cert.fingerprint256,
  };
  if (values.json) return void console.log(JSON.stringify(info));
  console.log(`certificate ${info.file}`);
  console.log(`  ${info.subject}; issued by ${info.issuer}${info.selfSigned ? ' (self-signed: browsers do not trust it; see docs/trust.md)' : ''}`);
  if (info.names) console.log(`  names: ${info.names}`);
  console.log(`  valid ${info.validFrom} to ${info.validTo}`);
  console.log(`key pin (agents hold it):  ${info.pin}`);
  console.log(`backup pin:                ${info.backupPin ?? 'none (tls.backupKey is not set)'}`);
}
