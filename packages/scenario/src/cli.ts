#!/usr/bin/env node
/**
 * twinbox-scenario — run scripted sync scenarios (docs/scenarios.md).
 *
 *   twinbox-scenario [--seed N] file.yaml [more.yaml …]
 *
 * Exit status: 0 every file passed; 1 an expectation (or a step) failed;
 * 2 a file is invalid (its line and the reason are printed). Invalid files
 * are reported first and not run; the valid ones still run.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { guardSignals } from '@twinbox/cli';
import { ScenarioFileError, type Scenario } from './model.js';
import { parseScenario } from './parse.js';
import { runScenario, type ScenarioResult } from './run.js';

const USAGE = 'usage: twinbox-scenario [--seed N] file.yaml [more.yaml …]';

// Like every Twinbox program: a stray SIGUSR1 must not open Node's inspector.
guardSignals((signal) => console.error(`twinbox-scenario: ${signal} ignored`));

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ options: { seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help || positionals.length === 0) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  if (!Number.isInteger(seed)) {
    console.error(`--seed must be an integer\n${USAGE}`);
    return 2;
  }
  let invalid = 0;
  const scenarios: Scenario[] = [];
  for (const file of positionals) {
    try {
      scenarios.push(parseScenario(file, readFileSync(file, 'utf8')));
    } catch (err) {
      invalid++;
      if (err instanceof ScenarioFileError) console.error(`invalid scenario: ${err.message}`);
      else console.error(`invalid scenario: ${file}: ${(err as Error).message}`);
    }
  }
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) results.push(await runScenario(scenario, { seed, out: (line) => console.log(line) }));
  const failed = results.filter((r) => !r.passed);
  console.log(`\n${results.length - failed.length} passed, ${failed.length} failed${invalid ? `, ${invalid} invalid` : ''} (seed ${seed})`);
  for (const f of failed) console.log(`  ✗ ${f.file}: ${f.failure}`);
  return invalid > 0 ? 2 : failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`twinbox-scenario: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
