import sanitizeHtml from 'sanitize-html';
import { describe, expect, it } from 'vitest';
import { clipHtml, htmlText } from './html-text.js';

const limits = (chars: number, depth: number, tokens = 1_000_000) => ({ chars, depth, tokens });

describe('htmlText', () => {
  it('keeps what a reader sees: text, entities decoded, a line per block, no script, style or title', () => {
    const html = '<html><head><title>T</title><style>p{}</style></head><body><p>a &amp; b</p><div>c<br>d</div><table><tr><td>1</td><td>2</td></tr></table><script>x()</script></body></html>';
    expect(htmlText(html, 1000).split('\n').map((l) => l.trim()).filter(Boolean)).toEqual(['a & b', 'c', 'd', '1 2']);
  });

  it('shows a reference to no character as U+FFFD, never throws (issue 18, finding 2)', () => {
    expect(htmlText('&#99999999;&#x110000;&#0;&#xD800;&amp', 100)).toBe('\ufffd\ufffd\ufffd\ufffd&');
  });

  it('stops at about maxChars', () => {
    expect(htmlText(`<p>${'word '.repeat(10_000)}</p>`, 100).length).toBeLessThanOrEqual(100);
  });
});

describe('clipHtml', () => {
  it('leaves ordinary HTML whole', () => {
    const html = '<table><tr><td><p>a<p>b<ul><li>1<li>2</ul></td></tr></table><img src=x><br>';
    expect(clipHtml(html, limits(1000, 10))).toEqual({ html, clipped: false });
  });

  it('cuts before the tag that would nest deeper than maxDepth, as the tree builder counts', () => {
    // <p>, <li> and <td> close their open siblings; <div> and <b> nest.
    expect(clipHtml('<p>a<p>b<p>c<p>d', limits(1000, 2)).clipped).toBe(false);
    expect(clipHtml('<div><b><i>x</i></b></div><div><div><div>y', limits(1000, 3))).toEqual({ html: '<div><b><i>x</i></b></div><div><div><div>y', clipped: false });
    expect(clipHtml('<div><div><div><div>y', limits(1000, 3))).toEqual({ html: '<div><div><div>', clipped: true });
    // A close tag for something not open closes nothing.
    expect(clipHtml('<b></x><b></x><b>', limits(1000, 2))).toEqual({ html: '<b></x><b></x>', clipped: true });
  });

  it('cuts after as many tokens (tags and text events) as the sanitizer may be given', () => {
    expect(clipHtml('<p>a</p><p>b</p>', limits(1000, 10, 3))).toEqual({ html: '<p>a</p>', clipped: true });
    expect(clipHtml('<'.repeat(100), limits(1000, 10, 10)).html.length).toBeLessThanOrEqual(10);
  });

  it('cuts at maxChars, never inside a tag', () => {
    expect(clipHtml('<p>hello</p><p>world</p>', limits(14, 10))).toEqual({ html: '<p>hello</p>', clipped: true });
    expect(clipHtml('abcdefghij', limits(4, 10))).toEqual({ html: 'abcd', clipped: true });
  });

  it('is never shallower than htmlparser2 counts: what it keeps sanitizes in time linear in its size', () => {
    const deep = '<div>'.repeat(50_000) + '<b></x>'.repeat(20_000);
    const clipped = clipHtml(deep, limits(512 * 1024, 400));
    expect(clipped.html).toBe('<div>'.repeat(400));
    const started = performance.now();
    sanitizeHtml(clipHtml('<span><a><p>'.repeat(40_000), limits(512 * 1024, 400)).html);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
