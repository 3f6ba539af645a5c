/**
 * HTML mail, read in one linear pass (issue 18): its text (the preview line,
 * the text of an HTML-only message) and the part of it the view's sanitizer
 * may be given.
 *
 * Both use htmlparser2's Tokenizer, the state machine under the parsers that
 * sanitize-html and mailparser's html-to-text use (WHATWG tokenization,
 * entity decoding that maps invalid code points to U+FFFD): linear in its
 * input and never throwing. Its tree builder (Parser) is not linear: each
 * open tag costs O(depth of open elements), so a message of 50,000 `<div>`s
 * costs ~10^9 steps. `clipHtml` therefore follows the tree builder's own
 * rules for the depth (a shadow of its stack) and cuts the HTML before the
 * tag that would nest deeper than MAIL_LIMITS.viewHtmlDepth, or at
 * MAIL_LIMITS.viewHtmlChars; the sanitizer then costs O(size × that depth).
 */
import { Tokenizer, type TokenizerCallbacks } from 'htmlparser2';

const VOID = new Set(['area', 'base', 'basefont', 'br', 'col', 'command', 'embed', 'frame', 'hr', 'image', 'img', 'input', 'isindex', 'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr']);

/**
 * Opening a tag closes these open elements while they are on top of the stack: htmlparser2's
 * `openImpliesClose`, only where all versions in use agree (10.x under sanitize-html, 12.x here),
 * so that the shadow stack is never shallower than the real one.
 */
const P = new Set(['p']);
const FORM = new Set(['input', 'option', 'optgroup', 'select', 'button', 'datalist', 'textarea']);
const DDT = new Set(['dt', 'dd']);
const RTP = new Set(['rt', 'rp']);
const TABLE_SECTION = new Set(['thead', 'tbody']);
const IMPLIES_CLOSE = new Map<string, Set<string>>([
  ['tr', new Set(['tr', 'th', 'td'])],
  ['th', new Set(['th'])],
  ['td', new Set(['thead', 'th', 'td'])],
  ['body', new Set(['head', 'link', 'script'])],
  ['li', new Set(['li'])],
  ['option', new Set(['option'])],
  ['optgroup', new Set(['optgroup', 'option'])],
  ['dd', DDT],
  ['dt', DDT],
  ['rt', RTP],
  ['rp', RTP],
  ['tbody', TABLE_SECTION],
  ['tfoot', TABLE_SECTION],
  ...['select', 'input', 'output', 'button', 'datalist', 'textarea'].map((t) => [t, FORM] as [string, Set<string>]),
  ...['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'address', 'article', 'aside', 'blockquote', 'details', 'div', 'dl', 'fieldset', 'figcaption', 'figure', 'footer', 'form', 'header', 'hr', 'main', 'nav', 'ol', 'pre', 'section', 'table', 'ul'].map(
    (t) => [t, P] as [string, Set<string>],
  ),
]);

/** Callbacks the passes below do not need. */
const IGNORED: Omit<TokenizerCallbacks, 'onopentagname' | 'onclosetag' | 'ontext' | 'ontextentity' | 'onopentagend' | 'onselfclosingtag'> = {
  onattribdata: () => undefined,
  onattribentity: () => undefined,
  onattribend: () => undefined,
  onattribname: () => undefined,
  oncdata: () => undefined,
  oncomment: () => undefined,
  ondeclaration: () => undefined,
  onend: () => undefined,
  onprocessinginstruction: () => undefined,
};

const charOf = (codepoint: number) => (codepoint > 0 && codepoint <= 0x10ffff && (codepoint < 0xd800 || codepoint > 0xdfff) ? String.fromCodePoint(codepoint) : '\ufffd');

/** Elements whose content is not text a reader sees. */
const HIDDEN = new Set(['script', 'style', 'title', 'template', 'head']);
const LINE_BREAKING = new Set(['br', 'p', 'div', 'tr', 'li', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'blockquote', 'pre', 'hr', 'ul', 'ol', 'dl', 'dt', 'dd', 'section', 'article', 'header', 'footer']);
const CELLS = new Set(['td', 'th']);

/** The text of an HTML document as a reader sees it (line breaks at blocks), at most about `maxChars` long. */
export function htmlText(html: string, maxChars: number): string {
  const out: string[] = [];
  let length = 0;
  let hidden = 0;
  // Adjacent text (a run of `<` that opens no tag is reported a character at a time) is taken as one slice.
  let textStart = -1;
  let textEnd = -1;
  const flush = () => {
    if (textStart < 0) return;
    const text = html.slice(textStart, Math.min(textEnd, textStart + maxChars));
    textStart = -1;
    out.push(text);
    length += text.length;
    if (length >= maxChars) tokenizer.pause();
  };
  const emit = (text: string) => {
    flush();
    if (hidden > 0 || length >= maxChars) return;
    out.push(text);
    length += text.length;
    if (length >= maxChars) tokenizer.pause();
  };
  const tag = (start: number, end: number) => html.slice(start, end).toLowerCase();
  const tokenizer = new Tokenizer(
    { decodeEntities: true },
    {
      ...IGNORED,
      onopentagname(start, end) {
        flush();
        const name = tag(start, end);
        // <body> ends an unclosed <head>.
        if (name === 'body') hidden = 0;
        if (HIDDEN.has(name)) hidden++;
        else if (LINE_BREAKING.has(name)) emit('\n');
        else if (CELLS.has(name)) emit(' ');
      },
      onclosetag(start, end) {
        flush();
        const name = tag(start, end);
        if (HIDDEN.has(name)) hidden = Math.max(0, hidden - 1);
        else if (LINE_BREAKING.has(name)) emit('\n');
      },
      ontext(start, end) {
        if (hidden > 0 || length >= maxChars) return;
        if (textStart >= 0 && start === textEnd) {
          textEnd = end;
          return;
        }
        flush();
        textStart = start;
        textEnd = end;
      },
      ontextentity(codepoint) {
        emit(charOf(codepoint));
      },
      onopentagend: () => undefined,
      onselfclosingtag: () => undefined,
    },
  );
  tokenizer.write(html);
  if (tokenizer.running) tokenizer.end();
  flush();
  return out.join('').slice(0, maxChars);
}

/** How much HTML the sanitizer may be given: characters, nesting depth (as htmlparser2 counts it), tokens (tags and text events). */
export interface HtmlClip {
  chars: number;
  depth: number;
  tokens: number;
}

/**
 * The longest start of `html` within `clip` (the sanitizer's cost grows with
 * each: per character, per token — a run of 250,000 `<` that open no tag is
 * 250,000 text tokens to it — and per level of nesting); `clipped` when that
 * is not all of it.
 */
export function clipHtml(html: string, clip: HtmlClip): { html: string; clipped: boolean } {
  const { chars: maxChars, depth: maxDepth } = clip;
  let tokens = clip.tokens;
  const stack: string[] = [];
  let cutAt = html.length;
  /** End of the last token that is whole within maxChars. */
  let safe = 0;
  let tagStart = 0;
  const stop = (at: number) => {
    cutAt = Math.max(0, Math.min(cutAt, at));
    tokenizer.pause();
  };
  const tag = (start: number, end: number) => html.slice(start, end).toLowerCase();
  const tagEnd = (endIndex: number) => {
    if (endIndex + 1 > maxChars) stop(tagStart);
    else safe = endIndex + 1;
  };
  const tokenizer = new Tokenizer(
    { decodeEntities: false },
    {
      ...IGNORED,
      onopentagname(start, end) {
        tagStart = start - 1;
        if (--tokens < 0) return stop(tagStart);
        const name = tag(start, end);
        const closes = IMPLIES_CLOSE.get(name);
        if (closes) while (stack.length > 0 && closes.has(stack[stack.length - 1]!)) stack.pop();
        if (VOID.has(name)) return;
        if (stack.length >= maxDepth) return stop(tagStart);
        stack.push(name);
      },
      onopentagend: tagEnd,
      onselfclosingtag: tagEnd,
      onclosetag(start, end) {
        if (end + 1 > maxChars || --tokens < 0) return stop(start - 2);
        const at = stack.lastIndexOf(tag(start, end));
        if (at >= 0) stack.length = at;
        safe = end + 1;
      },
      ontext(start, end) {
        // Each text event is one to the sanitizer too (`<<<` is three).
        if (--tokens < 0) return stop(start);
        if (end <= maxChars) {
          safe = end;
          return;
        }
        if (start >= maxChars) return stop(start);
        // Within the text, but not between the two halves of a surrogate pair.
        let at = maxChars;
        const before = html.charCodeAt(at - 1);
        if (before >= 0xd800 && before <= 0xdbff) at--;
        stop(at);
      },
      ontextentity: () => undefined,
    },
  );
  tokenizer.write(html);
  if (tokenizer.running) tokenizer.end();
  // Past maxChars with nothing reported (an unfinished tag or comment): keep what was whole.
  if (cutAt > maxChars) cutAt = safe;
  return { html: html.slice(0, cutAt), clipped: cutAt < html.length };
}
