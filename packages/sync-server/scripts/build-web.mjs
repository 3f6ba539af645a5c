#!/usr/bin/env node
// Builds the phone web app (issue 12) into packages/sync-server/dist/web with esbuild: the app
// (Preact, one minified ES module), its service worker, its style sheet, index.html, the web app
// manifest and its icons (PNG made here, so that no image tool is needed). Prints what the first
// load transfers, compressed as the server sends it, and writes it to dist/web/bundle-size.json.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, crc32, deflateSync, gzipSync } from 'node:zlib';
import { build, transform } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'web');
const out = join(root, 'dist', 'web');
/** The most the first load may transfer, compressed (issue 12). */
const FIRST_LOAD_BUDGET = 100 * 1024;

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'icons'), { recursive: true });

const common = { bundle: true, minify: true, target: ['chrome100', 'firefox100', 'safari15'], legalComments: 'none', logLevel: 'warning' };
await build({
  ...common,
  entryPoints: [join(web, 'src/main.tsx')],
  outfile: join(out, 'app.js'),
  format: 'esm',
  jsx: 'automatic',
  jsxImportSource: 'preact',
});
const css = await transform(readFileSync(join(web, 'app.css'), 'utf8'), { loader: 'css', minify: true });
writeFileSync(join(out, 'app.css'), css.code);
copyFileSync(join(web, 'index.html'), join(out, 'index.html'));
copyFileSync(join(web, 'manifest.webmanifest'), join(out, 'manifest.webmanifest'));

// A new build is a new service worker (its shell cache is named after the build).
const buildId = createHash('sha256')
  .update(readFileSync(join(out, 'app.js')))
  .update(css.code)
  .update(readFileSync(join(out, 'index.html')))
  .digest('hex')
  .slice(0, 12);
await build({ ...common, entryPoints: [join(web, 'src/sw.ts')], outfile: join(out, 'sw.js'), format: 'iife', define: { BUILD: JSON.stringify(buildId) } });

// The icon: two overlapping envelopes on the app colour, as SVG and as PNG.
const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512"><rect width="512" height="512" rx="96" fill="#1f4f9a"/><rect x="88" y="120" width="280" height="190" rx="14" fill="#9db8e6"/><rect x="144" y="200" width="280" height="190" rx="14" fill="#fff"/><path d="M150 212 284 312 418 212" fill="none" stroke="#1f4f9a" stroke-width="22" stroke-linejoin="round"/></svg>\n`;
writeFileSync(join(out, 'icons', 'icon.svg'), ICON_SVG);

function iconPixel(x, y) {
  const inRect = (x0, y0, w, h) => x >= x0 && x < x0 + w && y >= y0 && y < y0 + h;
  const back = [0x1f, 0x4f, 0x9a];
  // The flap: a V from (150,212) through (284,312) to (418,212), 22 wide.
  const onFlap = inRect(144, 200, 280, 190) && Math.abs(y - (212 + (Math.abs(x - 284) < 134 ? (134 - Math.abs(x - 284)) * (100 / 134) : -999))) < 12;
  if (onFlap) return back;
  if (inRect(144, 200, 280, 190)) return [0xff, 0xff, 0xff];
  if (inRect(88, 120, 280, 190)) return [0x9d, 0xb8, 0xe6];
  return back;
}

function png(size) {
  const scale = 512 / size;
  const rows = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 3);
    for (let x = 0; x < size; x++) row.set(iconPixel((x + 0.5) * scale, (y + 0.5) * scale), 1 + x * 3);
    rows.push(row);
  }
  const chunk = (type, data) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.concat(rows), { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}
for (const size of [192, 512]) writeFileSync(join(out, 'icons', `icon-${size}.png`), png(size));

// What a first visit fetches: the page, its script and style, the manifest and the icon (the
// service worker fetches the same files again for its cache, plus itself).
const FIRST_LOAD = ['index.html', 'app.js', 'app.css', 'manifest.webmanifest', 'icons/icon.svg', 'sw.js'];
const sizes = Object.fromEntries(
  FIRST_LOAD.map((file) => {
    const bytes = readFileSync(join(out, file));
    return [file, { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, br: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length }];
  }),
);
const total = (key) => Object.values(sizes).reduce((sum, s) => sum + s[key], 0);
const report = { build: buildId, files: sizes, firstLoad: { raw: total('raw'), gzip: total('gzip'), br: total('br') }, budget: FIRST_LOAD_BUDGET };
writeFileSync(join(out, 'bundle-size.json'), `${JSON.stringify(report, null, 2)}\n`);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`web app built (${buildId}): first load ${kb(report.firstLoad.raw)} raw, ${kb(report.firstLoad.gzip)} gzip, ${kb(report.firstLoad.br)} brotli (budget ${kb(FIRST_LOAD_BUDGET)})`);
if (report.firstLoad.gzip > FIRST_LOAD_BUDGET) {
  console.error(`the web app's first load is over its budget: ${kb(report.firstLoad.gzip)} gzip > ${kb(FIRST_LOAD_BUDGET)}`);
  process.exit(1);
}
