#!/usr/bin/env node
// Prints the tests that failed in the last vitest run (test-results/vitest.json, written by
// vitest.config.ts's json reporter), one line each with the first line of its error, so that
// the end of CI's output says what went wrong even when only its tail is kept.
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test-results/vitest.json';
if (!existsSync(file)) {
  console.log(`failures: no report at ${file} (vitest did not run, or failed before it wrote one)`);
  process.exit(0);
}
const report = JSON.parse(readFileSync(file, 'utf8'));
const failed = [];
for (const suite of report.testResults ?? []) {
  const tests = suite.assertionResults ?? [];
  for (const t of tests) if (t.status === 'failed') failed.push({ file: suite.name, name: t.fullName, error: (t.failureMessages ?? [])[0] ?? '' });
  // A file that failed as a whole (an import error, a hook) has a message but maybe no failed test.
  if (suite.status === 'failed' && !tests.some((t) => t.status === 'failed')) failed.push({ file: suite.name, name: '(the file)', error: suite.message ?? '' });
}
console.log(`failures: ${report.numFailedTests ?? 0} failed, ${report.numPassedTests ?? 0} passed, ${report.numTotalTests ?? 0} in all`);
for (const f of failed) {
  // eslint-disable-next-line no-control-regex -- the terminal's colour codes are what it removes
  const first = String(f.error).replace(/\u001b\[[0-9;]*m/g, '').split('\n').find((line) => line.trim() !== '') ?? '';
  console.log(`  FAILED ${f.file.replace(process.cwd() + '/', '')} > ${f.name}\n         ${first.slice(0, 300)}`);
}
