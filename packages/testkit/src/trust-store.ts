/**
 * A certificate a browser trusts, the way an operator's certificate is
 * trusted on a phone, for the web app's tests (docs/trust.md): a test CA made
 * here, a server certificate it issues for a host name on the server's own
 * key (so paired agents keep their pin), and Chromium with that CA in its
 * trust store — an NSS database in the browser's $HOME/.pki/nssdb, filled with
 * `certutil` (Debian's libnss3-tools) — and with no certificate check
 * switched off. The host name is mapped to 127.0.0.1 inside the browser.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM, chromiumAvailable } from './browser.js';

export const CERTUTIL = '/usr/bin/certutil';

export function certutilAvailable(): boolean {
  return existsSync(CERTUTIL);
}

export interface TestCa {
  dir: string;
  /** The CA certificate (PEM file). */
  cert: string;
  key: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeTestCa(name = 'Twinbox Test CA'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'twinbox-ca-'));
  const ca = { dir, cert: join(dir, 'ca.pem'), key: join(dir, 'ca.key') };
  openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', ca.key, '-out', ca.cert, '-days', '30', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return ca;
}

/**
 * A certificate for `host` on the existing private key `keyFile`, issued by
 * the CA, put in place of `certFile` the way renewals do (a new file renamed
 * over it: the server reloads it). Returns the certificate's PEM.
 */
export function issueServerCertificate(ca: TestCa, keyFile: string, certFile: string, host: string): string {
  const csr = join(ca.dir, `${host}.csr`);
  const ext = join(ca.dir, `${host}.ext`);
  const next = `${certFile}.next`;
  openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${host}`, '-out', csr]);
  writeFileSync(ext, `subjectAltName=DNS:${host}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '20', '-extfile', ext, '-out', next]);
  renameSync(next, certFile);
  return readFileSync(certFile, 'utf8');
}

/** A $HOME whose NSS database (what Chromium on Linux reads) trusts these CAs for web sites. */
export function homeTrusting(caCerts: string[]): string {
  if (!certutilAvailable()) throw new Error(`no ${CERTUTIL}: run scripts/install-system-deps.sh (Debian's libnss3-tools)`);
  const home = mkdtempSync(join(tmpdir(), 'twinbox-browser-home-'));
  const db = `sql:${join(home, '.pki', 'nssdb')}`;
  mkdirSync(join(home, '.pki', 'nssdb'), { recursive: true });
  execFileSync(CERTUTIL, ['-N', '-d', db, '--empty-password'], { stdio: 'ignore' });
  caCerts.forEach((cert, i) => execFileSync(CERTUTIL, ['-A', '-d', db, '-n', `twinbox-test-ca-${i}`, '-t', 'C,,', '-i', cert], { stdio: 'ignore' }));
  return home;
}

/**
 * Chromium as a phone with a real profile (installability is never checked
 * in an incognito-like context), trusting what `home`'s NSS database
 * trusts and nothing else: no certificate error is ignored.
 */
export async function launchPhoneTrusting(home: string, hostMap: Record<string, string>): Promise<BrowserContext> {
  if (!chromiumAvailable()) throw new Error(`no Chromium at ${CHROMIUM}: run scripts/install-system-deps.sh`);
  const rules = Object.entries(hostMap).map(([host, ip]) => `MAP ${host} ${ip}`).join(',');
  return chromium.launchPersistentContext(join(home, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    env: { ...process.env, HOME: home },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', `--host-resolver-rules=${rules}`],
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36',
    serviceWorkers: 'allow',
  });
}
