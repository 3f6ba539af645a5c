/**
 * Serves the phone web app (issue 12) — the files `npm run build` bundles into
 * dist/web — from memory, compressed once (brotli or gzip, whichever the
 * browser takes), under a strict Content-Security-Policy: the app runs only
 * its own script and style, talks only to this origin, and frames only this
 * origin's message views (which carry their own, stricter policy:
 * message-view.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** Where `npm run build` puts the bundle: packages/sync-server/dist/web. */
export const WEB_APP_DIR = fileURLToPath(new URL('../web/', import.meta.url));

export const APP_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

interface Asset {
  type: string;
  etag: string;
  identity: Buffer;
  gzip: Buffer;
  br: Buffer;
}

function load(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const type = TYPES[extname(name)];
        if (!type) continue;
        const identity = readFileSync(path);
        assets.set(`/${relative(dir, path).split(sep).join('/')}`, {
          type,
          etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 22)}"`,
          identity,
          gzip: gzipSync(identity, { level: 9 }),
          br: brotliCompressSync(identity, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
        });
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return assets;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'strict-transport-security': 'max-age=31536000',
};

/** The app's files; a request for any other path is not answered here (false). */
export function webApp(dir = WEB_APP_DIR): (req: IncomingMessage, res: ServerResponse) => boolean {
  const assets = load(dir);
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = new URL(req.url ?? '/', 'https://app.invalid').pathname;
    const asset = assets.get(path === '/' ? '/index.html' : path);
    if (!asset) {
      if (path !== '/') return false;
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS }).end('The Twinbox web app is not built: run `npm run build`, then restart the server.\n');
      return true;
    }
    const headers: Record<string, string | number> = {
      'content-type': asset.type,
      etag: asset.etag,
      // Always revalidated: a new server version is picked up at once; the service worker keeps the app offline.
      'cache-control': 'no-cache',
      vary: 'accept-encoding',
      'content-security-policy': APP_POLICY,
      ...SECURITY_HEADERS,
    };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers).end();
      return true;
    }
    const accepted = String(req.headers['accept-encoding'] ?? '');
    const [encoding, body] = /\bbr\b/.test(accepted) ? ['br', asset.br] : /\bgzip\b/.test(accepted) ? ['gzip', asset.gzip] : [undefined, asset.identity];
    if (encoding) headers['content-encoding'] = encoding;
    headers['content-length'] = body.length;
    res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
