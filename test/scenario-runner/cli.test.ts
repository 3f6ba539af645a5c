/** The runner's contract as a program: exit status 0/1/2, readable output, nothing skipped. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '@twinbox/testkit';

const CLI = join(ROOT, 'packages/scenario/dist/cli.js');
const fixture = (name: string) => join(ROOT, 'test/fixtures/scenarios', name);
const scenario = (name: string) => join(ROOT, 'test/scenarios', name);

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('twinbox-scenario', () => {
  it('exits 0 when every file passes', async () => {
    const run = await runCli(['--seed', '1', scenario('desktop-insert.yaml')]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/PASS desktop insert/);
    expect(run.stdout).toMatch(/1 passed, 0 failed \(seed 1\)/);
  });

  it('exits 1 on a wrong expectation, with the lists side by side and what is out of order', async () => {
    const run = await runCli(['--seed', '1', fixture('wrong-expectation.yaml')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('phone.inbox:');
    expect(run.stdout).toMatch(/expected\s+actual/);
    expect(run.stdout).toMatch(/✗ D2\s+D1/);
    expect(run.stdout).toMatch(/extra: D2|missing: D3/);
    expect(run.stdout).toMatch(/out of order: D2/);
    expect(run.stdout).toMatch(/replay with --seed 1/);
  });

  it('exits 2 on an invalid file, naming the file and line, and still runs the valid ones', async () => {
    const run = await runCli(['--seed', '1', fixture('invalid.yaml'), scenario('window-both-empty.yaml')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/invalid\.yaml:5: phone read: label "NOBODY" was never created/);
    expect(run.stdout).toMatch(/1 passed, 0 failed, 1 invalid/);
  });

  it('refuses what it cannot run faithfully (a crash step with the agent in the background), never skipping it', async () => {
    const run = await runCli([fixture('crash-with-live-agent.yaml')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/line 4: crash steps cannot be combined with syncNow\/waitForSync/);
  });
});
