/**
 * The scenario suite with the server's store on PostgreSQL (issue 22;
 * docs/scaling.md): the testkit's private PostgreSQL, an empty database per
 * scenario, two server nodes on it behind HAProxy, which sends each sync (and
 * the runner each phone request) to a random node; everything else as in
 * suite.test.ts. `npm test` runs a sample
 * that covers each kind of scenario (phone and desktop changes, conflicts,
 * window, outgoing mail, a server killed mid-sync, sync now); `npm run soak`
 * (TWINBOX_SOAK=1) runs every scenario.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { parseScenario, runScenario } from '@twinbox/scenario';
import { ROOT, startPostgres, type Postgres } from '@twinbox/testkit';

const DIR = join(ROOT, 'test/scenarios');
const SEED = Number(process.env.TWINBOX_SEED ?? 20261122);
const SAMPLE = [
  'patent-worked-example.yaml',
  'phone-flags.yaml',
  'phone-trash-recover-destroy.yaml',
  'desktop-trash-recover-destroy.yaml',
  'conflict-flag-merge.yaml',
  'window-phone-burst.yaml',
  'send-via-sync.yaml',
  'crash-server-random.yaml',
  'push-phone-change.yaml',
  'sync-now-trigger.yaml',
];
const all = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
const files = process.env.TWINBOX_SOAK ? all : SAMPLE.filter((f) => all.includes(f));

let pg: Postgres;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
});

describe.concurrent(`scenario suite on PostgreSQL (seed ${SEED})`, () => {
  it('samples scenarios that exist', ({ expect }) => {
    expect(files.length).toBe(process.env.TWINBOX_SOAK ? all.length : SAMPLE.length);
  });
  for (const file of files) {
    it(file, async ({ expect }) => {
      const path = join(DIR, file);
      const scenario = parseScenario(path, readFileSync(path, 'utf8'));
      const lines: string[] = [];
      const result = await runScenario(scenario, { seed: SEED, out: (line) => lines.push(line), storeUrl: async () => (await pg.createDatabase()).url, nodes: 2 });
      expect(result.passed, lines.join('\n')).toBe(true);
    });
  }
});
