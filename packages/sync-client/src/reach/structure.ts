/**
 * A message's MIME structure (IMAP BODYSTRUCTURE, RFC 3501 §7.4.2) as JMAP
 * describes it (RFC 8621 §4.1.4): the leaf parts, and which of them are the
 * text to show (textBody, htmlBody) — a simplified parseStructure: in a
 * multipart/alternative the text/plain leaf is the text and the text/html
 * leaf the HTML; elsewhere inline text leaves are both, in order.
 */
import type { MessageStructureObject } from 'imapflow';
import { REQUEST_LIMITS, type BodyPart } from '@twinbox/protocol';

export interface Leaf extends BodyPart {
  encoding: string | null;
}

/** A leaf's section number: the root of a message without parts is section 1 (RFC 3501 §6.4.5). */
const sectionOf = (node: MessageStructureObject) => node.part ?? '1';

const cut = (s: string | undefined, max: number) => (s === undefined ? null : s.slice(0, max));

export function leavesOf(root: MessageStructureObject | undefined): Leaf[] {
  const leaves: Leaf[] = [];
  const walk = (node: MessageStructureObject, depth: number) => {
    if (leaves.length >= REQUEST_LIMITS.maxParts || depth > 16) return;
    if (node.childNodes && node.childNodes.length > 0 && node.type.startsWith('multipart/')) {
      for (const child of node.childNodes) walk(child, depth + 1);
      return;
    }
    const disposition = node.disposition?.toLowerCase();
    leaves.push({
      partId: sectionOf(node),
      type: node.type.toLowerCase().slice(0, 255) || 'application/octet-stream',
      charset: cut(node.parameters?.charset, 255),
      size: node.size ?? 0,
      name: cut(node.dispositionParameters?.filename ?? node.parameters?.name, 1000),
      disposition: disposition === 'inline' || disposition === 'attachment' ? disposition : null,
      cid: cut(node.id?.replace(/^<|>$/g, ''), 998),
      encoding: node.encoding?.toLowerCase() ?? null,
    });
  };
  if (root) walk(root, 0);
  return leaves;
}

const isText = (l: Leaf) => (l.type === 'text/plain' || l.type === 'text/html') && l.disposition !== 'attachment';

/** The text and HTML leaves to show (see the module comment). */
export function bodiesOf(root: MessageStructureObject | undefined): { textBody: string[]; htmlBody: string[] } {
  const textBody: string[] = [];
  const htmlBody: string[] = [];
  const walk = (node: MessageStructureObject, depth: number) => {
    if (depth > 16) return;
    if (node.type === 'multipart/alternative' && node.childNodes) {
      const leaves = leavesOf(node);
      const plain = leaves.find((l) => l.type === 'text/plain' && isText(l));
      const html = leaves.find((l) => l.type === 'text/html' && isText(l));
      if (plain) textBody.push(plain.partId);
      if (html) htmlBody.push(html.partId);
      return;
    }
    if (node.childNodes && node.childNodes.length > 0 && node.type.startsWith('multipart/')) {
      for (const child of node.childNodes) walk(child, depth + 1);
      return;
    }
    const [leaf] = leavesOf(node);
    if (!leaf || !isText(leaf)) return;
    if (leaf.type === 'text/plain') textBody.push(leaf.partId);
    else htmlBody.push(leaf.partId);
  };
  if (root) walk(root, 0);
  return { textBody: textBody.slice(0, 8), htmlBody: htmlBody.slice(0, 8) };
}

/** What a list shows as "has an attachment": a leaf marked attachment, or a named part that is not text to show. */
export function hasAttachment(root: MessageStructureObject | undefined): boolean {
  return leavesOf(root).some((l) => l.disposition === 'attachment' || (l.name !== null && !isText(l)));
}

/** The leaf a preview is read from: the first text to show, plain before HTML. */
export function previewLeaf(root: MessageStructureObject | undefined): Leaf | undefined {
  const leaves = leavesOf(root).filter(isText);
  return leaves.find((l) => l.type === 'text/plain') ?? leaves[0];
}
