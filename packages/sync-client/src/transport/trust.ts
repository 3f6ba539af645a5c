/**
 * The agent's trust in its server (docs/trust.md): the server's public key,
 * pinned (`server.pins`: the key in use and a backup, `sha256//…`). A
 * certificate renewed with the same key is the same server; a new key is
 * refused (CERT_MISMATCH) until `twinbox-agent repin` has shown it and the
 * user said yes — unless it is the backup key the pairing pinned.
 *
 * Pairings from before key pins hold `server.fingerprint`, the SHA-256 of
 * the whole certificate. It is still honoured for that very certificate, and
 * `migrateToKeyPin` replaces it by that certificate's key pin (run by `sync`
 * and `run`), after which a renewal with the same key no longer breaks it.
 */
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { TwinboxError, keyPinOf, trustOf, type Logger } from '@twinbox/protocol';
import { editAgentConfigFile, type AgentConfig, type ServerSettings } from '../config.js';
import { proxyFor, proxyLabel } from './proxy.js';

/** How the presented certificate is trusted, or CERT_MISMATCH saying what to do. */
export function checkServerCertificate(server: ServerSettings, cert: X509Certificate | undefined): 'pin' | 'fingerprint' {
  const how = cert ? trustOf(server, cert) : undefined;
  if (how) return how;
  const presented = cert ? keyPinOf(cert) : '(no certificate)';
  const pinned = server.pins?.length ? `the pinned ${server.pins.join(', ')}` : `the certificate ${server.fingerprint ?? '(none)'} pinned at pairing`;
  throw new TwinboxError(
    'CERT_MISMATCH',
    `the server ${server.url} presents the key ${presented}, not ${pinned}; refusing to talk to it. If its operator changed the key, check the new one with them and run twinbox-agent repin`,
  );
}

/** The server's certificate as it presents it now: one TLS handshake (through the proxy, if one applies) and a GET /healthz. */
export function presentedCertificate(server: ServerSettings, timeoutMs = 15_000): Promise<X509Certificate> {
  const url = new URL(server.url.replace(/^wss:/i, 'https:'));
  const proxy = proxyFor(server.url, server.proxy);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || 443,
        path: '/healthz',
        method: 'GET',
        servername: /^[\d.]+$|:/.test(url.hostname) ? undefined : url.hostname,
        // The certificate is judged by its key pin here, not by a CA (it is often self-signed).
        rejectUnauthorized: false,
        minVersion: 'TLSv1.2',
        timeout: timeoutMs,
        ...(proxy ? { agent: new HttpsProxyAgent(proxy) } : { agent: false }),
      },
      (res) => {
        const cert = (res.socket as TLSSocket).getPeerX509Certificate();
        res.resume();
        if (cert) resolve(cert);
        else reject(new TwinboxError('CERT_MISMATCH', `the server ${server.url} presented no certificate`));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(new TwinboxError('CONNECTION_LOST', `cannot reach ${server.url}${proxy ? ` through the proxy ${proxyLabel(proxy)}` : ''}: ${err.message}`, { cause: err })));
    req.end();
  });
}

/**
 * A pairing from before key pins: when the server still presents the
 * certificate the pairing trusts, pin its key instead (written to the config
 * file) and go on with the pin. If the server cannot be reached now, the old
 * fingerprint serves this time and the migration is tried again next time.
 */
export async function migrateToKeyPin(config: AgentConfig, log: Logger): Promise<AgentConfig> {
  if (config.server.pins?.length || config.server.fingerprint === undefined) return config;
  let cert: X509Certificate;
  try {
    cert = await presentedCertificate(config.server);
  } catch (err) {
    log.debug('key pin migration: server not reachable now', { error: (err as Error).message });
    return config;
  }
  if (trustOf(config.server, cert) !== 'fingerprint') return config; // the sync will refuse it (CERT_MISMATCH) and say why
  const pin = keyPinOf(cert);
  editAgentConfigFile(config.path, (file) => {
    file.server.pins = [pin];
    delete file.server.fingerprint;
  });
  log.info('pinned the server key instead of its whole certificate (a renewal with the same key keeps working)', { pin });
  const { fingerprint: _old, ...server } = config.server;
  return { ...config, server: { ...server, pins: [pin] } };
}
