#!/usr/bin/env node
// npm run soak — the long versions of the fault campaigns (issue 5), on the
// real system: kill-at-every-frame over every frame of every reference
// scenario (agent SIGKILL, server SIGKILL, connection cut by the loopback
// proxy), the disasters, and the model-based random-use test.
//
//   npm run soak -- --runs 1000            random sequences (default 200)
//   npm run soak -- --only random --seed 42 --path "3:1:0"   replay a failure
//   npm run soak -- --only kill            only the kill-at-every-frame campaign
//   npm run soak -- --only kill --sample 12   12 evenly spread kill points per fault, not all
//   npm run soak -- --only paging          an initial sync with 100,000 messages on the phone (issue 9.7)
//   npm run soak -- --only profiles        every scenario against every IMAP server profile (npm test samples half)
//   npm run soak -- --only postgres        every scenario with the server's store on PostgreSQL (npm test samples ten)
//   npm run soak -- --only failover        a node killed at every kill point of a sync (npm test samples one)
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const CAMPAIGNS = {
  kill: 'test/fault/kill-every-frame.test.ts',
  random: 'test/fault/random-use.test.ts',
  disasters: 'test/fault/disasters.test.ts',
  paging: 'test/integration/phone-list-paging.test.ts',
  profiles: 'test/profiles',
  postgres: 'test/scenario-runner/suite-postgres.test.ts',
  failover: 'test/integration/failover.test.ts',
};
const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    seed: { type: 'string' },
    path: { type: 'string' },
    only: { type: 'string' },
    sample: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: npm run soak -- [--runs N] [--seed S] [--path P] [--sample K] [--only kill|random|disasters|paging|profiles|postgres|failover]');
  process.exit(0);
}
const positive = (name, value) => {
  if (value !== undefined && !/^\d+$/.test(value)) {
    console.error(`soak: --${name} must be a whole number, got "${value}"`);
    process.exit(2);
  }
  return value;
};
if (values.only !== undefined && !(values.only in CAMPAIGNS)) {
  console.error(`soak: --only must be one of ${Object.keys(CAMPAIGNS).join(', ')}, got "${values.only}"`);
  process.exit(2);
}
const env = { ...process.env, TWINBOX_SOAK: '1', TWINBOX_PHONE_LIST_SIZE: process.env.TWINBOX_PHONE_LIST_SIZE ?? '100000' };
if (positive('runs', values.runs)) env.TWINBOX_RANDOM_RUNS = values.runs;
if (positive('seed', values.seed)) env.TWINBOX_RANDOM_SEED = values.seed;
if (values.path) env.TWINBOX_RANDOM_PATH = values.path;
if (positive('sample', values.sample)) env.TWINBOX_KILL_SAMPLE = values.sample;
const files = values.only ? [CAMPAIGNS[values.only]] : ['test/fault', CAMPAIGNS.paging, CAMPAIGNS.profiles];
const result = spawnSync('npx', ['vitest', 'run', '--testTimeout=0', ...files], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
