/**
 * The project's scenario suite: every test/scenarios/*.yaml, run by the real
 * runner against the real system. The seed (for random crash points) is
 * fixed so CI is repeatable; TWINBOX_SEED overrides it to explore.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { parseScenario, runScenario } from '@twinbox/scenario';
import { ROOT } from '@twinbox/testkit';

const DIR = join(ROOT, 'test/scenarios');
const SEED = Number(process.env.TWINBOX_SEED ?? 20261122);

// Two at a time: each scenario has its own Dovecot, server and agent, and spends most of its time waiting on them.
describe.concurrent(`scenario suite (seed ${SEED})`, () => {
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()) {
    it(file, async ({ expect }) => {
      const path = join(DIR, file);
      const scenario = parseScenario(path, readFileSync(path, 'utf8'));
      const lines: string[] = [];
      const result = await runScenario(scenario, { seed: SEED, out: (line) => lines.push(line) });
      // On failure the message is the runner's own report: steps, side-by-side lists, the seed.
      expect(result.passed, lines.join('\n')).toBe(true);
    });
  }
});
