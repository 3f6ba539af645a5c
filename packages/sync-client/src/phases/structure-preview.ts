/**
 * The preview of a desktop message larger than a frame carries (over
 * LIMITS.maxMessageBytes: today's stand-in, stand-in.ts), made without reading
 * it whole (docs/reach.md "Preview first"): its BODYSTRUCTURE (RFC 3501
 * §7.4.2) says what it holds, and only the header block, each part's MIME
 * header fields (`BODY.PEEK[n.MIME]`) and the bodies of the parts kept are
 * fetched — the text to show up to TEXT_BYTES, any other part up to
 * `smallPartBytes` — then put together along the message's own boundaries.
 * A part left out is marked as protocol preview.ts marks it, and fetched on
 * demand through the request lane by its section (reach/held-part.ts).
 *
 * The bytes are the message's own but for what lies outside the parts
 * (preamble, epilogue, transport padding), which BODYSTRUCTURE does not
 * carry. Identity is not taken from them: such a message stays known by the
 * stand-in digest, its size (docs/identity.md), as before.
 *
 * Bounded like every walk of hostile MIME: MAX_DEPTH levels, MAX_PARTS parts;
 * anything this cannot describe (no boundary, a section not served) gives
 * undefined, and the caller sends the stand-in instead.
 */
import type { MessageStructureObject } from 'imapflow';
import { OMITTED_HEADER, PREVIEW_DEFAULTS, type OmittedPart } from '@twinbox/protocol';
import type { DesktopImap } from '../imap/desktop-imap.js';
import type { FolderRole } from '../store/agent-store.js';

const MAX_DEPTH = 16;
const MAX_PARTS = 500;
/** Text to show is kept up to this size (a larger one is left out like an attachment). */
const TEXT_BYTES = 1024 * 1024;

type Plan = { node: MessageStructureObject; section: string; keep: boolean };

const isMultipart = (n: MessageStructureObject) => n.type.toLowerCase().startsWith('multipart/') && (n.childNodes?.length ?? 0) > 0;

/** A leaf's decoded size, estimated from its encoded size (base64: 57 bytes in each 78-byte line). */
const decodedEstimate = (n: MessageStructureObject) => (n.encoding?.toLowerCase() === 'base64' ? Math.floor(((n.size ?? 0) * 57) / 78) : (n.size ?? 0));

function keeps(n: MessageStructureObject, smallPartBytes: number): boolean {
  const type = n.type.toLowerCase();
  const text = (type === 'text/plain' || type === 'text/html') && n.disposition?.toLowerCase() !== 'attachment';
  return (n.size ?? 0) <= (text ? TEXT_BYTES : smallPartBytes);
}

/** Every node below the root with its section, and whether a leaf is kept; undefined past the bounds. */
function planOf(root: MessageStructureObject, smallPartBytes: number): Plan[] | undefined {
  const plans: Plan[] = [];
  const walk = (node: MessageStructureObject, depth: number): boolean => {
    if (depth > MAX_DEPTH || plans.length > MAX_PARTS) return false;
    for (const child of node.childNodes ?? []) {
      if (!child.part) return false;
      plans.push({ node: child, section: child.part, keep: isMultipart(child) || keeps(child, smallPartBytes) });
      if (isMultipart(child) && !walk(child, depth + 1)) return false;
    }
    return true;
  };
  return walk(root, 0) ? plans : undefined;
}

export async function structurePreview(imap: DesktopImap, role: FolderRole, uid: number, smallPartBytes: number = PREVIEW_DEFAULTS.smallPartBytes): Promise<{ body: Buffer; omitted: OmittedPart[] } | undefined> {
  const found = await imap.structureOf(role, uid);
  if (!found) return undefined;
  const { structure, header } = found;
  const omitted: OmittedPart[] = [];
  const mark = (section: string, node: MessageStructureObject) => {
    const size = decodedEstimate(node);
    omitted.push({ partId: section, size });
    return Buffer.from(`${OMITTED_HEADER}: part=${section}; size=${size}\r\n`, 'latin1');
  };
  // A message without parts: its one body is section 1, left out (it is far too large to be all kept).
  if (!isMultipart(structure)) {
    if (keeps(structure, smallPartBytes)) return undefined;
    return { body: Buffer.concat([mark('1', structure), header]), omitted };
  }
  const plans = planOf(structure, smallPartBytes);
  if (!plans) return undefined;
  const wanted = plans.flatMap((p) => [`${p.section}.MIME`, ...(p.keep && !isMultipart(p.node) ? [p.section] : [])]);
  const sections = await imap.sectionsOf(role, uid, wanted);
  const section = (name: string) => sections.get(name.toLowerCase());
  const entity = (node: MessageStructureObject): Buffer[] | undefined => {
    const boundary = node.parameters?.boundary;
    if (!boundary || /[\r\n]/.test(boundary)) return undefined;
    const out: Buffer[] = [];
    for (const child of node.childNodes ?? []) {
      const plan = plans.find((p) => p.node === child)!;
      const mime = section(`${plan.section}.MIME`);
      if (!mime) return undefined;
      out.push(Buffer.from(`--${boundary}\r\n`, 'latin1'));
      if (isMultipart(child)) {
        const inner = entity(child);
        if (!inner) return undefined;
        out.push(mime, ...inner);
      } else if (plan.keep) {
        const body = section(plan.section);
        if (!body) return undefined;
        out.push(mime, body, Buffer.from('\r\n'));
      } else out.push(mark(plan.section, child), mime, Buffer.from('\r\n'));
    }
    out.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
    return out;
  };
  const body = entity(structure);
  if (!body || omitted.length === 0) return undefined;
  return { body: Buffer.concat([header, ...body]), omitted };
}
