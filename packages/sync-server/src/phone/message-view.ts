/**
 * A message's HTML body as the web app shows it (issue 12): a document of its
 * own, `GET /api/v1/messages/{id}/view[?images=1]`, that the app puts in a
 * sandboxed frame. HTML mail is hostile, so three fences, each enough alone
 * for what it guards:
 *
 * 1. sanitize-html keeps an allow-list of tags and attributes: no script,
 *    no event handler, no form, no meta refresh, no SVG or MathML, no
 *    embedded objects or frames; links keep only http(s), mailto and tel
 *    (never javascript: or data:) and open in a new tab without a referrer;
 *    images keep only data: (inline cid: parts, made data: by mailparser)
 *    until the user asks for remote ones.
 * 2. The response's Content-Security-Policy: nothing may load or run but
 *    inline styles and data: images (remote images too after "show images");
 *    no script, font, connect, form target or base URL. CSS that fetches a
 *    remote URL (@import, url()) is refused by the browser before a request.
 * 3. CSP `sandbox` (and the frame's sandbox attribute): the document has an
 *    opaque origin and no scripts even when opened on its own, so it cannot
 *    reach the app's storage, its cookie (HttpOnly anyway) or its API; links
 *    may only open new top-level tabs, outside the sandbox.
 */
import sanitizeHtml from 'sanitize-html';

const ALLOWED_TAGS = [
  ...sanitizeHtml.defaults.allowedTags,
  'img', 'font', 'center', 'big', 'strike', 'tt', 'style', 'details', 'summary',
];

const LAYOUT_ATTRIBUTES = ['style', 'class', 'id', 'align', 'valign', 'width', 'height', 'bgcolor', 'color', 'border', 'dir', 'lang', 'title'];

const REMOTE_URL = /^\s*(https?:)?\/\//i;
// One `\s*` per position (two in a row backtrack quadratically on `url(` and a long run of spaces: issue 18).
const REMOTE_CSS = /url\(\s*(?:['"]\s*)?(?:https?:)?\/\/|@import/i;

export interface SanitizedHtml {
  html: string;
  /** The mail refers to remote content (images, CSS backgrounds): the app offers "show images". */
  remoteContent: boolean;
}

export function sanitizeMailHtml(html: string, showRemote: boolean): SanitizedHtml {
  let remoteContent = REMOTE_CSS.test(html);
  const clean = sanitizeHtml(html, {
    allowedTags: ALLOWED_TAGS,
    // The contents of <style> are kept (the CSP refuses what they would fetch); script and the like never are.
    allowVulnerableTags: true,
    allowedAttributes: {
      '*': LAYOUT_ATTRIBUTES,
      a: ['href', 'name', 'target', 'rel'],
      img: ['src', 'alt', 'width', 'height'],
      font: ['face', 'size', 'color'],
      td: ['colspan', 'rowspan', 'nowrap'],
      th: ['colspan', 'rowspan', 'nowrap'],
      table: ['cellpadding', 'cellspacing', 'summary'],
    },
    allowedSchemes: ['http', 'https', 'mailto', 'tel'],
    allowedSchemesByTag: { img: showRemote ? ['data', 'http', 'https'] : ['data'] },
    allowProtocolRelative: false,
    transformTags: {
      a: (tagName, attribs) => ({ tagName, attribs: { ...attribs, target: '_blank', rel: 'noopener noreferrer' } }),
      img: (tagName, attribs) => {
        if (attribs.src !== undefined && REMOTE_URL.test(attribs.src)) remoteContent = true;
        return { tagName, attribs };
      },
    },
  });
  return { html: clean, remoteContent };
}

/** The frame document's policy: see the module comment. */
export function viewPolicy(showRemote: boolean): string {
  const images = showRemote ? "data: https: http:" : 'data:';
  return [
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    `img-src ${images}`,
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'self'",
    'sandbox allow-popups allow-popups-to-escape-sandbox',
  ].join('; ');
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const FRAME_STYLE =
  'body{margin:0;padding:12px;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1f;background:#fff;overflow-wrap:anywhere}' +
  'img{max-width:100%;height:auto}table{max-width:100%}pre,.text{white-space:pre-wrap;font:inherit}blockquote{margin:0 0 0 .6em;padding-left:.6em;border-left:3px solid #ccc}' +
  '.clipped{margin-top:1em;padding-top:.6em;border-top:1px solid #ccc;color:#555;font-size:13px}';

const CLIPPED_NOTE = '<p class="clipped">This message is longer than the phone shows; the rest is in the desktop copy.</p>';

/** The whole frame document for a message with an HTML body, or its text when it has none; a note when it was clipped. */
export function viewDocument(body: { html: string | null; text: string; clipped?: boolean }, showRemote: boolean): string {
  const shown = body.html !== null ? sanitizeMailHtml(body.html, showRemote).html : `<div class="text">${escapeHtml(body.text)}</div>`;
  const content = body.clipped ? `${shown}${CLIPPED_NOTE}` : shown;
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer"><style>${FRAME_STYLE}</style></head><body>${content}</body></html>`;
}

/** The response headers of a view document (the fences above): for window messages and desktop messages alike. */
export function viewHeaders(document: Buffer, showRemote: boolean): Record<string, string | number> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-length': document.length,
    'content-security-policy': viewPolicy(showRemote),
    'x-frame-options': 'SAMEORIGIN',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'private, no-cache',
  };
}
