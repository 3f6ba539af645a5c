/**
 * Issue 9.8, the smaller field-safety items, with the real CLIs and servers:
 *
 * - the server's folder, key and database (with its WAL files) are its
 *   owner's alone; agent.json and the agent database too, even after a rewrite;
 * - `pair` takes its secrets from the environment or standard input, so they
 *   need not appear on a command line (`ps` shows command lines to everyone);
 * - IMAP and SMTP are never used in clear unless the user chose `plain`:
 *   `starttls` against servers that do not offer STARTTLS fails, and nothing
 *   (no password, no mail) is sent;
 * - two concurrent retries of a failed direct send send it once;
 * - `pair` tests the server link and the IMAP login before it writes anything
 *   (issue 13), and says what failed.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AGENT_CLI, TwinboxSystem, makeMessage } from '@twinbox/testkit';

const modeOf = (path: string) => statSync(path).mode & 0o777;
const pinArgs = (pins: string[]) => pins.flatMap((pin) => ['--pin', pin]);

function agentCli(args: string[], env: NodeJS.ProcessEnv = {}, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [AGENT_CLI, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(stdin ?? '');
  });
}

describe('operator safety', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  it('private-files: server folder 0700, key, config and database with its WAL files 0600; agent files 0600 after every write', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.desktop.deliver({ label: 'D1' });
    await system.sync();
    const server = system.serverDir;
    expect(modeOf(server)).toBe(0o700);
    for (const file of ['key.pem', 'config.json', 'twinbox.db', 'twinbox.db-wal', 'twinbox.db-shm']) expect([file, modeOf(join(server, file))]).toEqual([file, 0o600]);
    // (The agent's WAL files exist only while it runs: SQLite removes them when the last connection closes.)
    for (const file of [system.agentConfig, system.agentDatabase]) expect([file, modeOf(file)]).toEqual([file, 0o600]);

    // A config loosened by hand is tightened when pair rewrites it; a loosened database when it is opened.
    chmodSync(system.agentConfig, 0o644);
    chmodSync(system.agentDatabase, 0o644);
    const config = JSON.parse(readFileSync(system.agentConfig, 'utf8'));
    const again = await agentCli(
      ['pair', '--config', system.agentConfig, '--server', config.server.url, '--account', 'user1', ...pinArgs(config.server.pins),
        '--imap-host', '127.0.0.1', '--imap-port', String(system.dovecot.imapPort), '--imap-security', 'plain', '--imap-user', 'user1',
        '--database', system.agentDatabase],
      { TWINBOX_TOKEN: system.pairing.token, TWINBOX_IMAP_PASSWORD: 'secret1', TWINBOX_TRIGGER_SECRET: system.pairing.triggerSecret },
    );
    expect(again.code).toBe(0);
    expect(modeOf(system.agentConfig)).toBe(0o600);
    await system.sync();
    expect(modeOf(system.agentDatabase)).toBe(0o600);

    // A config in a folder that does not exist yet (`--config ~/.twinbox/agent.json` on a fresh machine): made, 0700.
    const fresh = join(system.dir, 'home-of-someone', '.twinbox', 'agent.json');
    const paired = await agentCli(
      ['pair', '--config', fresh, '--server', config.server.url, '--account', 'user1', ...pinArgs(config.server.pins),
        '--imap-host', '127.0.0.1', '--imap-port', String(system.dovecot.imapPort), '--imap-security', 'plain', '--imap-user', 'user1',
        '--database', join(dirname(fresh), 'agent.db')],
      { TWINBOX_TOKEN: system.pairing.token, TWINBOX_IMAP_PASSWORD: 'secret1', TWINBOX_TRIGGER_SECRET: system.pairing.triggerSecret },
    );
    expect(paired.code).toBe(0);
    expect([modeOf(dirname(fresh)), modeOf(fresh)]).toEqual([0o700, 0o600]);
  });

  it('pair-tests-before-writing: a wrong token, IMAP password or fingerprint is refused, and no config is written', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    const config = JSON.parse(readFileSync(system.agentConfig, 'utf8'));
    const target = join(system.dir, 'new-home', '.twinbox', 'agent.json');
    const pair = (env: NodeJS.ProcessEnv, pins: string[] = config.server.pins) =>
      agentCli(
        ['pair', '--config', target, '--server', config.server.url, '--account', 'user1', ...pinArgs(pins),
          '--imap-host', '127.0.0.1', '--imap-port', String(system!.dovecot.imapPort), '--imap-security', 'plain', '--imap-user', 'user1'],
        { TWINBOX_TOKEN: system!.pairing.token, TWINBOX_IMAP_PASSWORD: 'secret1', ...env },
      );

    const wrongToken = await pair({ TWINBOX_TOKEN: 'tbx_not-the-token' });
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toMatch(/server: .*\[AUTH_FAILED\]/);
    expect(wrongToken.stderr).toContain('nothing written');
    const wrongPassword = await pair({ TWINBOX_IMAP_PASSWORD: 'not-the-password' });
    expect(wrongPassword.code).toBe(1);
    expect(wrongPassword.stderr).toMatch(/imap: .*\[IMAP_AUTH\]/);
    const otherKey = await pair({}, [`sha256//${'A'.repeat(43)}=`]);
    expect(otherKey.code).toBe(1);
    expect(otherKey.stderr).toMatch(/server: the server .* presents the key sha256\/\/\S+, not the pinned .*\[CERT_MISMATCH\]/);
    const notAFingerprint = await pair({}, ['zz']);
    expect(notAFingerprint.code).toBe(64);
    expect(existsSync(target)).toBe(false);

    const right = await pair({});
    expect(right.code).toBe(0);
    expect(right.stdout).toMatch(/ok imap: logged in/);
    expect(right.stdout).toMatch(/ok server: .*accepted the token/);
    expect(JSON.parse(readFileSync(target, 'utf8')).account).toBe('user1');
  });

  it('pair-secrets-off-the-command-line: from standard input or the environment, stored in the 0600 config', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    const config = JSON.parse(readFileSync(system.agentConfig, 'utf8'));
    const base = ['pair', '--config', system.agentConfig, '--server', config.server.url, '--account', 'user1', ...pinArgs(config.server.pins),
      '--imap-host', '127.0.0.1', '--imap-port', String(system.dovecot.imapPort), '--imap-security', 'plain', '--imap-user', 'user1', '--database', system.agentDatabase];
    const fromStdin = await agentCli([...base, '--secrets-stdin'], {}, `token=${system.pairing.token}\nimap-password=secret1\ntrigger-secret=${system.pairing.triggerSecret}\n`);
    expect(fromStdin.code).toBe(0);
    const written = JSON.parse(readFileSync(system.agentConfig, 'utf8'));
    expect([written.token, written.imap.password, written.triggerSecret]).toEqual([system.pairing.token, 'secret1', system.pairing.triggerSecret]);
    await system.desktop.deliver({ label: 'D1' });
    await system.sync();
    expect(await system.phoneLabels()).toEqual(['D1']);

    const missing = await agentCli([...base], { TWINBOX_TOKEN: '', TWINBOX_IMAP_PASSWORD: '' });
    expect(missing.code).toBe(64);
    expect(missing.stderr).toMatch(/--token is required \(or TWINBOX_TOKEN in the environment, or token=… with --secrets-stdin or in --secrets-file\)/);
    const bad = await agentCli([...base, '--secrets-stdin'], {}, 'password=oops\n');
    expect(bad.code).toBe(64);
  });

  it('starttls-required: against servers without STARTTLS the agent refuses to log in or send in clear', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    system.editAgentConfig((c) => Object.assign(c.imap, { security: 'starttls' }));
    const dovecotLog = join(system.dovecot.dir, 'dovecot.log');
    const logBefore = readFileSync(dovecotLog, 'utf8').length;
    const imap = await system.runAgent();
    expect(imap.code).not.toBe(0);
    expect(imap.stderr).toMatch(/STARTTLS/);
    expect(readFileSync(dovecotLog, 'utf8').slice(logBefore)).not.toMatch(/Login: user=<user1>/);

    system.editAgentConfig((c) => {
      Object.assign(c.imap, { security: 'plain' });
      Object.assign((c as unknown as { smtp: object }).smtp, { security: 'starttls' });
    });
    const id = await system.phone().send({ raw: makeMessage({ label: 'O1' }), envelope: { from: 'user1@phone.invalid', to: ['friend@example.test'] }, viaSync: true });
    await system.sync();
    expect(system.smtp.received).toHaveLength(0);
    expect(await system.phone().get(id)).toMatchObject({ folder: 'outbox', sendStatus: 'failed' });
    expect((await system.phone().get(id))!.sendError).toMatch(/STARTTLS/i);
  });

  it('concurrent-retry-sends-once: two retries of a failed direct send at the same moment send it once', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    const token = await system.addDevice();
    system.relay.refuse.add('friend@example.test');
    const failed = await system.api('POST', '/api/v1/send', token, { to: 'friend@example.test', subject: 'hi', text: 'hello', viaSync: false });
    expect(failed.json.error.code).toBe('SEND_FAILED');
    const outbox = await system.api('GET', '/api/v1/folders/outbox', token);
    const id = outbox.json.messages[0].id as number;
    system.relay.refuse.clear();
    const answers = await Promise.all([
      system.api('POST', `/api/v1/messages/${id}/retry`, token),
      system.api('POST', `/api/v1/messages/${id}/retry`, token),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(system.relay.received).toHaveLength(1);
    expect(await system.phone().get(id)).toMatchObject({ folder: 'sent' });
  });
});
