/**
 * The README followed as written. "Try it for real on one machine": its code
 * blocks are read from the README and run with bash, in order, as a newcomer
 * would paste them (`npm run try-imap` included); only the folder and the
 * ports differ. Then "Running it for real", command by command, through
 * the installed commands (node_modules/.bin, what `npx` runs): init, start,
 * account add (the pairing secrets in a 0600 file, never on a command line),
 * pair (the secrets file, the passwords on standard input; tested before written), sync,
 * status, doctor, a phone device, install-service (checked by
 * systemd-analyze), account remove. Only hosts, ports and folders differ.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, freePort, startDovecot, type Dovecot } from '@twinbox/testkit';
import { tryItForReal } from './readme-steps.js';

const BIN = join(ROOT, 'node_modules', '.bin');

function cli(command: string, args: string[], stdin?: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(join(BIN, command), args, { env: { ...process.env, HTTPS_PROXY: '', https_proxy: '', TWINBOX_LOG: 'warn', ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(stdin ?? '');
  });
}

describe('the README walkthrough, with the installed commands', () => {
  let dir: string;
  let dovecot: Dovecot;
  let server: ChildProcess | undefined;
  let port: number;
  let pins: string[];
  const serverDir = () => join(dir, 'twinbox');
  const secretsFile = () => join(dir, 'alice.secrets');
  const serverConfig = () => join(serverDir(), 'config.json');
  const agentConfig = () => join(dir, 'home', '.twinbox', 'agent.json');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'twinbox-walkthrough-'));
    dovecot = await startDovecot([{ name: 'alice', password: 'alice-imap-password' }]);
    port = await freePort();
  });
  afterAll(async () => {
    if (server?.pid && server.exitCode === null) process.kill(server.pid, 'SIGTERM');
    await dovecot?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('twinbox-server init, start, account add', async () => {
    const init = await cli('twinbox-server', ['init', '--dir', serverDir(), '--host', '127.0.0.1', '--port', String(port), '--public-url', `wss://127.0.0.1:${port}/sync`]);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/^key pin \(agents pin it\): {2}sha256\/\/[A-Za-z0-9+/]{43}=$/m);
    expect(init.stdout).toMatch(/^backup pin .*: {2}sha256\/\/[A-Za-z0-9+/]{43}=$/m);
    server = spawn(join(BIN, 'twinbox-server'), ['start', '--config', serverConfig()], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TWINBOX_LOG: 'warn' } });
    await new Promise<void>((resolve, reject) => {
      server!.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve());
      server!.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    const add = await cli('twinbox-server', ['account', 'add', '--config', serverConfig(), '--id', 'alice', '--desktop', 'alice@corp.example', '--window', '50', '--secrets-file', secretsFile()]);
    expect(add.code, add.stderr).toBe(0);
    // The secrets are in a file only its owner can read; the printed pair command reads them from it and carries none.
    expect(statSync(secretsFile()).mode & 0o777).toBe(0o600);
    const secrets = readFileSync(secretsFile(), 'utf8');
    const token = /^token=(tbx_\S+)$/m.exec(secrets)?.[1] ?? '';
    expect(token).not.toBe('');
    expect(secrets).toMatch(/^trigger-secret=\S+$/m);
    pins = [...add.stdout.matchAll(/--pin=(\S+)/g)].map((m) => m[1]!);
    expect(pins).toHaveLength(2);
    expect(add.stdout).toContain(`twinbox-agent pair --config agent.json --server=wss://127.0.0.1:${port}/sync --account=alice --pin=${pins[0]} --pin=${pins[1]}`);
    expect(add.stdout).toContain(`--secrets-file ${secretsFile()}`);
    expect(add.stdout).not.toContain(token);
    // Without --secrets-file: lines for the agent's standard input, and a pair command with no secret in it.
    const bob = await cli('twinbox-server', ['account', 'add', '--config', serverConfig(), '--id', 'bob', '--desktop', 'bob@corp.example']);
    expect(bob.code, bob.stderr).toBe(0);
    expect(bob.stdout).toMatch(/^ {2}token=tbx_\S+$/m);
    const command = bob.stdout.split('\n').filter((l) => l.includes('twinbox-agent pair') || l.includes('--secrets-stdin'));
    expect(command.join('\n')).toContain('--secrets-stdin');
    expect(command.join('\n')).not.toMatch(/tbx_|--token|--trigger-secret/);
    expect((await cli('twinbox-server', ['account', 'remove', '--config', serverConfig(), '--id', 'bob'])).code).toBe(0);
  });

  it('twinbox-agent pair refuses a secrets file other users may read', async () => {
    const loose = join(dir, 'loose.secrets');
    copyFileSync(secretsFile(), loose);
    chmodSync(loose, 0o644);
    const pair = await cli(
      'twinbox-agent',
      ['pair', '--config', agentConfig(), '--server', `wss://127.0.0.1:${port}/sync`, '--account', 'alice', ...pins.flatMap((p) => ['--pin', p]), '--secrets-file', loose, '--secrets-stdin',
        '--imap-host', '127.0.0.1', '--imap-port', String(dovecot.imapPort), '--imap-security', 'plain', '--imap-user', 'alice'],
      'imap-password=alice-imap-password\n',
    );
    expect(pair.code).toBe(1);
    expect(pair.stderr).toMatch(/may be read by other users \(mode 0644\); chmod 600 it.*\[CONFIG\]/);
    expect(existsSync(agentConfig())).toBe(false);
  });

  it('twinbox-agent pair with the secrets file and the IMAP password on standard input, then sync, status and doctor', async () => {
    const pair = await cli(
      'twinbox-agent',
      ['pair', '--config', agentConfig(), '--server', `wss://127.0.0.1:${port}/sync`, '--account', 'alice', ...pins.flatMap((p) => ['--pin', p]), '--secrets-file', secretsFile(), '--secrets-stdin',
        '--imap-host', '127.0.0.1', '--imap-port', String(dovecot.imapPort), '--imap-security', 'plain', '--imap-user', 'alice'],
      'imap-password=alice-imap-password\n',
    );
    expect(pair.code, pair.stderr).toBe(0);
    expect(pair.stdout).toContain('ok server');
    expect(existsSync(agentConfig())).toBe(true);
    const sync = await cli('twinbox-agent', ['sync', '--config', agentConfig()]);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stdout).toMatch(/^sync 1 \(initial\) complete/);
    const status = await cli('twinbox-agent', ['status', '--config', agentConfig()]);
    expect(status.stdout).toContain('agent: not running');
    expect(status.stdout).toMatch(/last attempt: succeeded/);
    expect(status.stdout).toMatch(/IMAP code paths: changes by qresync/);
    const doctor = await cli('twinbox-agent', ['doctor', '--config', agentConfig()]);
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(doctor.stdout).toContain('verdict: ready to sync');
  });

  it('a phone device with its sign-in link', async () => {
    const device = await cli('twinbox-server', ['device', 'add', '--config', serverConfig(), '--id', 'alice', '--name', "Alice's phone"]);
    expect(device.code, device.stderr).toBe(0);
    expect(device.stdout).toMatch(new RegExp(`https://127\\.0\\.0\\.1:${port}/#signin=tbc_`));
    const list = await cli('twinbox-server', ['device', 'list', '--config', serverConfig(), '--id', 'alice']);
    expect(list.stdout).toMatch(/^1\tAlice's phone\tadded \d{4}-\d\d-\d\dT/);
  });

  it('twinbox-agent install-service writes a unit systemd accepts', async () => {
    const unitDir = join(dir, 'units');
    const install = await cli('twinbox-agent', ['install-service', '--config', agentConfig(), '--unit-dir', unitDir]);
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toContain('systemctl --user enable --now twinbox-agent-alice.service');
    const unit = readFileSync(join(unitDir, 'twinbox-agent-alice.service'), 'utf8');
    expect(unit).toContain(`ExecStart="${process.execPath}" "${join(ROOT, 'packages/sync-client/bin/twinbox-agent.js')}" "run" "--config" "${agentConfig()}"`);
    expect(unit).toContain('Restart=on-failure');
    const verify = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile('systemd-analyze', ['verify', '--man=no', join(unitDir, 'twinbox-agent-alice.service')], (error, _out, stderr) => resolve({ code: error ? 1 : 0, stderr })),
    );
    expect(verify.stderr.split('\n').filter((l) => l.includes('twinbox-agent-alice.service'))).toEqual([]);
  });

  it('the server unit the project ships is one systemd accepts (with this machine\'s paths)', async () => {
    const shipped = readFileSync(join(ROOT, 'deploy', 'twinbox-server.service'), 'utf8');
    const local = shipped.replaceAll('/usr/bin/node', process.execPath).replaceAll('/opt/twinbox', ROOT).replace(/^User=.*$/m, 'User=root').replace(/^Group=.*$/m, 'Group=root');
    const path = join(dir, 'twinbox-server.service');
    writeFileSync(path, local);
    const verify = await new Promise<{ stderr: string }>((resolve) => execFile('systemd-analyze', ['verify', '--man=no', path], (_error, _out, stderr) => resolve({ stderr })));
    expect(verify.stderr.split('\n').filter((l) => l.includes('twinbox-server.service'))).toEqual([]);
  });

  it('twinbox-server account remove: the agent can no longer log in', async () => {
    const remove = await cli('twinbox-server', ['account', 'remove', '--config', serverConfig(), '--id', 'alice']);
    expect(remove.code, remove.stderr).toBe(0);
    const sync = await cli('twinbox-agent', ['sync', '--config', agentConfig()]);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toMatch(/AUTH_FAILED/);
  });
});

tryItForReal();
