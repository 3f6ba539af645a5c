/**
 * Real-world mail that no one on this project wrote (issue 18), from Debian
 * packages that scripts/install-system-deps.sh installs:
 *
 * - `python`: CPython's email package test messages (libpython3.11-testsuite);
 * - `enmime`: the Go MIME library enmime's test messages, well-formed and
 *   "low-quality" (golang-github-jhillyerd-enmime-dev);
 * - `ham`: the SpamAssassin public corpus's "easy ham" (mailing-list mail of
 *   2002, as delivered), which the Go threading library jwz ships as test
 *   data (golang-github-gatherstars-com-jwz-dev): 2,403 messages; a test
 *   takes every n-th.
 *
 * Each message is taken as a mailbox holds it: a leading mbox separator line
 * (`From sender date`) belongs to the mbox file, not to the message, and is
 * left out. Everything else is byte for byte the file.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const CORPUS_SOURCES = {
  python: { dir: '/usr/lib/python3.11/test/test_email/data', match: /^msg_.*\.txt$/, deb: 'libpython3.11-testsuite' },
  enmime: { dir: '/usr/share/gocode/src/github.com/jhillyerd/enmime/testdata', match: /\.raw$/, deb: 'golang-github-jhillyerd-enmime-dev' },
  ham: { dir: '/usr/share/gocode/src/github.com/gatherstars-com/jwz/test/testdata/ham', match: /\.eml$/, deb: 'golang-github-gatherstars-com-jwz-dev' },
} as const;

export type CorpusSource = keyof typeof CORPUS_SOURCES;

export interface CorpusMessage {
  /** `source/relative path`, stable across runs. */
  name: string;
  raw: Buffer;
}

/** Without a leading mbox `From ` separator line. */
export function withoutMboxSeparator(file: Buffer): Buffer {
  if (!file.subarray(0, 5).equals(Buffer.from('From '))) return file;
  const lineEnd = file.indexOf(0x0a);
  return lineEnd < 0 ? Buffer.alloc(0) : file.subarray(lineEnd + 1);
}

function filesUnder(dir: string, match: RegExp): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) found.push(...filesUnder(join(dir, entry.name), match).map((f) => join(entry.name, f)));
    else if (match.test(entry.name)) found.push(entry.name);
  }
  return found.sort();
}

export function corpusAvailable(): boolean {
  return Object.values(CORPUS_SOURCES).every((s) => existsSync(s.dir));
}

/** The messages of the sources, in a stable order; of `ham`, every `hamEvery`-th. */
export function loadCorpus(options: { sources?: CorpusSource[]; hamEvery?: number } = {}): CorpusMessage[] {
  const messages: CorpusMessage[] = [];
  for (const source of options.sources ?? (Object.keys(CORPUS_SOURCES) as CorpusSource[])) {
    const { dir, match, deb } = CORPUS_SOURCES[source];
    if (!existsSync(dir)) throw new Error(`the ${source} corpus is missing (${dir}): install the Debian package ${deb} (scripts/install-system-deps.sh)`);
    const every = source === 'ham' ? (options.hamEvery ?? 1) : 1;
    filesUnder(dir, match).forEach((file, i) => {
      if (i % every === 0) messages.push({ name: `${source}/${file}`, raw: withoutMboxSeparator(readFileSync(join(dir, file))) });
    });
  }
  return messages;
}
