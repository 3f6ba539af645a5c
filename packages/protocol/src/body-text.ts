/**
 * A MIME part's content as text (RFC 2045 §6: quoted-printable and base64;
 * RFC 2046 §4.1.2: its charset). Single passes over the bytes, never an
 * error: bytes that do not decode are kept or replaced (U+FFFD), as a mail
 * app shows them.
 *
 * Charsets are those of the WHATWG Encoding Standard (TextDecoder: the names
 * and aliases browsers accept in mail, `ks_c_5601-1987` and `gb2312`
 * included). A part with no charset, or one the standard does not know, is
 * read as UTF-8 when its bytes are UTF-8, else as Windows-1252.
 */
const HEX = (c: number) => (c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1);

export function decodeQuotedPrintable(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(body.length);
  let n = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== 0x3d) {
      out[n++] = c;
      continue;
    }
    // A soft line break: `=` at the end of a line (trailing white space allowed, RFC 2045 §6.7 rule 3).
    let j = i + 1;
    while (j < body.length && (body[j] === 0x20 || body[j] === 0x09)) j++;
    if (body[j] === 0x0a || (body[j] === 0x0d && body[j + 1] === 0x0a)) {
      i = body[j] === 0x0d ? j + 1 : j;
      continue;
    }
    const hi = HEX(body[i + 1] ?? -1);
    const lo = HEX(body[i + 2] ?? -1);
    if (hi >= 0 && lo >= 0) {
      out[n++] = hi * 16 + lo;
      i += 2;
    } else out[n++] = c;
  }
  return out.subarray(0, n);
}

const BASE64_ALPHABET = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;

export function decodeBase64(body: Buffer): Buffer {
  const kept = Buffer.allocUnsafe(body.length);
  let n = 0;
  for (let i = 0; i < body.length; i++) if (BASE64_ALPHABET(body[i]!)) kept[n++] = body[i]!;
  return Buffer.from(kept.subarray(0, n - (n % 4 === 1 ? 1 : 0)).toString('latin1'), 'base64');
}

export function transferDecode(body: Buffer, encoding: string | undefined): Buffer {
  const name = (encoding ?? '').trim().toLowerCase();
  if (name === 'base64') return decodeBase64(body);
  if (name === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Windows-1252 (the WHATWG meaning of `iso-8859-1` and `us-ascii` too). Node 20's TextDecoder
 * reads it as ISO-8859-1, so 0x80–0x9F come out as C1 controls instead of € ‚ ƒ „ …
 */
const C1_AS_1252 = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';
export function decodeWindows1252(bytes: Buffer): string {
  return bytes.toString('latin1').replace(/[\u0080-\u009f]/g, (c) => C1_AS_1252[c.charCodeAt(0) - 0x80]!);
}

function sniff(bytes: Buffer): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    return decodeWindows1252(bytes);
  }
}

export function charsetDecode(bytes: Buffer, charset: string | undefined): string {
  const label = (charset ?? '').trim().replace(/^["']|["']$/g, '').toLowerCase();
  if (label === '' || label === 'us-ascii' || label === 'ascii') return sniff(bytes);
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(label);
  } catch {
    return sniff(bytes);
  }
  return decoder.encoding === 'windows-1252' ? decodeWindows1252(bytes) : decoder.decode(bytes);
}
