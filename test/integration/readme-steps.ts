/**
 * README "Try it for real on one machine", followed literally: the section's
 * `sh` code blocks are read from the README and run with bash in order, as a
 * newcomer pastes them, with `T` a temp folder and free ports in place of
 * 8443 and 1143. The third block is the example of the line `try-imap`
 * prints; the line it really printed is run instead, as the README says.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, freePort } from '@twinbox/testkit';

/** The `sh` blocks of one README section, in order. */
export function readmeBlocks(section: string): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${section}\n`);
  if (start < 0) throw new Error(`README has no section "${section}"`);
  const end = readme.indexOf('\n## ', start + 1);
  const text = readme.slice(start, end < 0 ? undefined : end);
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/^ {3}/gm, ''));
}

/** Lines of a block that are commands (not blank, not comments). */
const commands = (block: string) => block.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));

function bash(script: string, env: NodeJS.ProcessEnv, stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('bash', ['-c', script], { cwd: ROOT, env: { ...process.env, TWINBOX_LOG: 'warn', ...env }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(stdin);
  });
}

export function tryItForReal(): void {
  describe('README: Try it for real on one machine, as written', () => {
    const blocks = readmeBlocks('Try it for real on one machine');
    let T: string;
    let port: number;
    let imapPort: number;
    let env: NodeJS.ProcessEnv;
    let tryImap: ChildProcess | undefined;
    let tryOut = '';
    let agent: ChildProcess | undefined;
    let serverPid: number | undefined;
    /** A README line with this run's folder and ports. */
    const local = (line: string) => line.replaceAll('$HOME/twinbox-try', T).replaceAll('--port 8443', `--port ${port}`);

    beforeAll(async () => {
      T = mkdtempSync(join(tmpdir(), 'twinbox-try-'));
      [port, imapPort] = [await freePort(), await freePort()];
      env = { T };
    });
    afterAll(async () => {
      // What the README says to do at the end: Ctrl-C for try-imap, kill the server and the agent, rm -rf $T.
      if (tryImap?.pid && tryImap.exitCode === null) {
        const exited = new Promise((resolve) => tryImap!.once('exit', resolve));
        process.kill(-tryImap.pid, 'SIGINT');
        await exited;
      }
      if (agent?.pid && agent.exitCode === null) process.kill(-agent.pid, 'SIGTERM');
      if (serverPid) process.kill(serverPid, 'SIGTERM');
      rmSync(T, { recursive: true, force: true });
    });

    it('has the six steps: the server, try-imap, the pair line, sync, a device', () => {
      expect(blocks).toHaveLength(5);
      expect(blocks[0]).toContain('T=$HOME/twinbox-try');
      expect(blocks[1]).toMatch(/^npm run try-imap -- /);
    });

    it('1. the server, in a folder of its own, and an account for alice', async () => {
      const run = await bash(commands(blocks[0]!).map(local).join('\n'), env);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('account alice added');
      // The server started in the background: it says where it listens, and its pid, in $T/server.log.
      const listening = /listening on \S+ \(pid (\d+)\)/;
      await expect.poll(() => readFileSync(join(T, 'server.log'), 'utf8'), { timeout: 20_000, interval: 200 }).toMatch(listening);
      serverPid = Number(listening.exec(readFileSync(join(T, 'server.log'), 'utf8'))![1]);
    });

    it('2. npm run try-imap prints the pair line', async () => {
      const [line] = commands(blocks[1]!).map(local);
      // In its own process group, as in a terminal (Ctrl-C reaches it all).
      tryImap = spawn('bash', ['-c', `${line!} --port ${imapPort}`], { cwd: ROOT, env: { ...process.env, ...env }, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
      tryImap.stdout!.on('data', (d: Buffer) => (tryOut += d.toString()));
      tryImap.stderr!.on('data', (d: Buffer) => (tryOut += d.toString()));
      await expect.poll(() => tryOut, { timeout: 90_000, interval: 200 }).toMatch(/Enter delivers one more message/);
      expect(tryOut).toContain(`IMAP server on 127.0.0.1:${imapPort}`);
      expect(tryOut).toMatch(/^printf 'imap-password=try-password\\n' \| npx twinbox-agent pair /m);
    });

    it('3. the pair line it printed (the README shows one like it)', async () => {
      const printed = tryOut.split('\n').find((l) => l.startsWith("printf 'imap-password="))!;
      const example = commands(blocks[2]!)[0]!;
      // The README's example is that line, but for the pins (and this run's folder and ports).
      const shape = (l: string) => l.replace(/sha256\/\/\S+/g, 'PIN').replaceAll('$HOME/twinbox-try', T).replace(/127\.0\.0\.1:\d+/g, 'HOST').replace(/--imap-port \d+/, '--imap-port N');
      expect(shape(printed)).toBe(shape(example));
      const run = await bash(printed, env);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^ok imap: /m);
      expect(run.stdout).toMatch(/^ok server: .*accepted the token$/m);
      expect(run.stdout).toContain(`wrote ${join(T, 'agent.json')}`);
    });

    it('4. sync, status and the account list', async () => {
      const [sync, status, list] = await (async () => {
        const out = [];
        for (const line of commands(blocks[3]!).map(local)) out.push(await bash(line, env));
        return out;
      })();
      expect(sync!.code, sync!.stderr).toBe(0);
      expect(sync!.stdout).toMatch(/^sync 1 \(initial\) complete .* 5 pulled to the phone/);
      expect(status!.stdout).toMatch(/last attempt: succeeded/);
      expect(list!.stdout).toMatch(/^ACCOUNT\s+DESKTOP/);
      expect(list!.stdout).toMatch(/^alice\s+alice@example\.test\s+50\s+5\s+0\s+\d{4}-/m);
    });

    it('5. a device for the browser: its sign-in link', async () => {
      const run = await bash(commands(blocks[4]!).map(local).join('\n'), env);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`https://127\\.0\\.0\\.1:${port}/#signin=tbc_`));
    });

    it('6. the background agent; Enter in try-imap delivers a message; sync asks the running agent', async () => {
      const section = readFileSync(join(ROOT, 'README.md'), 'utf8');
      const runLine = /`(npx twinbox-agent run --config \$T\/agent\.json)`/.exec(section)![1]!;
      const syncLine = /`(npx twinbox-agent sync --config \$T\/agent\.json)` asks the running agent/.exec(section)![1]!;
      let agentOut = '';
      agent = spawn('bash', ['-c', runLine], { cwd: ROOT, env: { ...process.env, ...env, TWINBOX_LOG: 'warn' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      agent.stdout!.on('data', (d: Buffer) => (agentOut += d.toString()));
      await expect.poll(() => agentOut, { timeout: 30_000 }).toMatch(/"event":"sync"/);
      tryImap!.stdin!.write('\n');
      await expect.poll(() => tryOut, { timeout: 10_000 }).toContain('delivered message 6');
      const sync = await bash(syncLine, env);
      expect(sync.code, sync.stderr).toBe(0);
      expect(sync.stdout).toMatch(/\(run by the background agent, pid \d+\)/);
      const list = await bash(local(commands(blocks[3]!)[2]!), env);
      expect(list.stdout).toMatch(/^alice\s+alice@example\.test\s+50\s+6\s/m);
    });
  });
}
