/**
 * A message's preview line for the phone's lists (issue 12): the start of its
 * first text part (or its HTML, without tags), decoded (RFC 2045
 * quoted-printable and base64, the part's charset), on one line. Computed once,
 * when the message is stored, from at most its first 256 KB — a list of 50
 * never parses 50 bodies.
 */
const PREVIEW_CHARS = 160;
const SCAN_BYTES = 256 * 1024;
const MAX_DEPTH = 6;

interface Part {
  headers: Map<string, string>;
  body: string;
}

function splitPart(raw: string): Part {
  const end = raw.search(/\r?\n\r?\n/);
  const head = end < 0 ? raw : raw.slice(0, end);
  const body = end < 0 ? '' : raw.slice(end).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) {
      const name = line.slice(0, colon).trim().toLowerCase();
      if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
    }
  }
  return { headers, body };
}

function param(value: string, name: string): string | undefined {
  const match = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(value);
  return match ? (match[1] ?? match[2]) : undefined;
}

function decodeBody(part: Part): string {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '').toLowerCase();
  let bytes: Buffer;
  if (encoding === 'base64') bytes = Buffer.from(part.body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  else if (encoding === 'quoted-printable') {
    bytes = Buffer.from(part.body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  } else bytes = Buffer.from(part.body, 'latin1');
  const charset = param(part.headers.get('content-type') ?? '', 'charset') ?? 'utf-8';
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function textOfHtml(html: string): string {
  return html
    .replace(/<(style|script|head|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (whole, name: string) => {
      if (name[0] === '#') return String.fromCodePoint(name[1]?.toLowerCase() === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10));
      return ENTITIES[name.toLowerCase()] ?? whole;
    });
}

/** The first text/plain part, else the first text/html one, depth-first. */
function findText(part: Part, depth: number): { text: string; html: boolean } | undefined {
  const type = (part.headers.get('content-type') ?? 'text/plain').toLowerCase();
  if (/^\s*attachment/i.test(part.headers.get('content-disposition') ?? '')) return undefined;
  if (type.startsWith('multipart/')) {
    const boundary = param(part.headers.get('content-type') ?? '', 'boundary');
    if (!boundary || depth >= MAX_DEPTH) return undefined;
    const pieces = part.body.split(`--${boundary}`).slice(1);
    const children = pieces.filter((p) => !p.startsWith('--')).map((p) => splitPart(p.replace(/^\r?\n/, '')));
    let html: { text: string; html: boolean } | undefined;
    for (const child of children) {
      const found = findText(child, depth + 1);
      if (found && !found.html) return found;
      html ??= found;
    }
    return html;
  }
  if (type.startsWith('text/plain')) return { text: decodeBody(part), html: false };
  if (type.startsWith('text/html')) return { text: textOfHtml(decodeBody(part)), html: true };
  return undefined;
}

export function previewOf(raw: Buffer): string {
  const found = findText(splitPart(raw.subarray(0, SCAN_BYTES).toString('latin1')), 0);
  if (!found) return '';
  const oneLine = found.text
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('>'))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  return oneLine.length > PREVIEW_CHARS ? `${oneLine.slice(0, PREVIEW_CHARS - 1)}…` : oneLine;
}
