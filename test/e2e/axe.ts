/** axe-core's WCAG 2.1 A/AA rules on a page of the web app: the serious and critical violations (the e2e tests want none). */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export async function axeViolations(page: Page): Promise<{ id: string; impact: string; nodes: number }[]> {
  // Evaluated over the DevTools protocol: the app's CSP (script-src 'self') stays on.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    type Rule = { id: string; impact: string; nodes: unknown[] };
    const run = await (window as unknown as { axe: { run: (ctx: Document, o: object) => Promise<{ violations: Rule[]; passes: Rule[] }> } }).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return { passes: run.passes.length, violations: run.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })) };
  });
  // axe ran its rules (colour contrast, labels, names, landmarks…) on this page.
  expect(result.passes).toBeGreaterThan(5);
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
