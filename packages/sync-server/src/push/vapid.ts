/**
 * The server's VAPID key (RFC 8292): one P-256 key pair that signs every push
 * request, so a push service knows the pushes for a subscription come from the
 * server the browser subscribed for. A PEM file (PKCS #8), mode 0600 beside the
 * server's other keys; made by `twinbox-server init`, or at start when push is
 * configured and the file is missing (a deployment from before push).
 *
 * The public key is the `applicationServerKey` browsers subscribe with: a new
 * key makes every existing subscription useless, so subscriptions remember the
 * key they were made for (store/push-subscriptions.ts) and those of another
 * key are dropped at start; the web app subscribes again.
 */
import { chmodSync, closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';

export interface VapidKeys {
  /** Uncompressed P-256 point, base64url (65 bytes): the applicationServerKey. */
  publicKey: string;
  /** The private scalar, base64url (32 bytes), as web-push takes it. */
  privateKey: string;
}

/** Write a new VAPID key to `path` (0600); an existing file is never overwritten. Returns whether one was made. */
export function makeVapidKey(path: string): boolean {
  if (existsSync(path)) return false;
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const fd = openSync(path, 'wx', 0o600);
  try {
    chmodSync(path, 0o600); // whatever the umask
    writeSync(fd, pem);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Read the key (tightening a looser file to 0600, as for the TLS key). */
export function loadVapidKey(path: string): VapidKeys {
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const key = createPrivateKey(readFileSync(path));
  const jwk = key.export({ format: 'jwk' });
  if (key.asymmetricKeyType !== 'ec' || jwk.crv !== 'P-256' || !jwk.d || !jwk.x || !jwk.y) throw new Error(`${path} is not a P-256 private key (a VAPID key)`);
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
  return { publicKey: point.toString('base64url'), privateKey: jwk.d };
}
