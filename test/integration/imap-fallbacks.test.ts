/**
 * Every IMAP command has a way back (issue 18, finding 11), against the
 * private Dovecot posing as servers that advertise and refuse
 * (imap-profiles.ts); each test named after what it guards. The profile
 * suites (test/profiles) run the action checks against the same profiles.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { IMAP_PROFILES, TwinboxSystem, makeMessage, type ImapProfile } from '@twinbox/testkit';

const minutes = (n: number) => new Date(Date.UTC(2024, 4, 1, 12, 0) + n * 60_000);

/** A raw IMAP session: each command's lines up to and including its tagged answer. */
async function rawSession(port: number, commands: string[]): Promise<string[][]> {
  const socket = new Socket();
  let buffer = '';
  let wake: () => void = () => undefined;
  socket.on('data', (d: Buffer) => {
    buffer += d.toString('latin1');
    wake();
  });
  await new Promise<void>((resolve, reject) => socket.once('error', reject).connect(port, '127.0.0.1', resolve));
  const until = async (done: (text: string) => boolean) => {
    while (!done(buffer)) await new Promise<void>((resolve) => (wake = resolve));
  };
  await until((t) => t.includes('\r\n'));
  buffer = '';
  const answers: string[][] = [];
  for (const [i, command] of commands.entries()) {
    const tag = `R${i}`;
    socket.write(`${tag} ${command}\r\n`);
    await until((t) => new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)[^\\r]*\\r\\n`).test(t));
    answers.push(buffer.split('\r\n').filter((l) => l !== ''));
    buffer = '';
  }
  socket.destroy();
  return answers;
}

describe('IMAP fallbacks (issue 18)', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  async function start(profile: ImapProfile, messages = 6): Promise<TwinboxSystem> {
    system = await TwinboxSystem.start({ window: 4, profile });
    for (let i = 1; i <= messages; i++) await system.desktop.deliver({ label: `D${i}`, date: minutes(-i) });
    return system;
  }

  it('courier-sort-refused: the Courier profile answers the old SORT as Courier 5.0.13 did; the agent sorts in UTF-8 and initial sync, trash and send succeed', async () => {
    const s = await start(IMAP_PROFILES.courier);
    const [login, enable, , usAscii, utf8] = await rawSession(s.agentImapPort, [
      'LOGIN user1 secret1',
      'ENABLE UTF8=ACCEPT',
      'SELECT INBOX',
      'UID SORT (REVERSE ARRIVAL) US-ASCII ALL',
      'UID SORT (REVERSE ARRIVAL) UTF-8 ALL',
    ]);
    expect(login!.at(-1)).toMatch(/^R0 OK \[CAPABILITY IMAP4rev1 UIDPLUS .*SORT .*UTF8=ACCEPT/);
    expect(enable).toContain('* ENABLED UTF8=ACCEPT');
    // What stock Courier answered the agent's `UID SORT … US-ASCII` (seen against Debian's imapd 5.0.13).
    expect(usAscii).toEqual(['R3 BAD [BADCHARSET] Only UTF-8 charset is valid after enabling RFC 6855 support']);
    expect(utf8![0]).toBe('* SORT 1 2 3 4 5 6'); // D1, the newest arrival, was delivered first

    const first = await s.sync();
    expect(first.mode).toBe('initial');
    expect(first.imap).toMatchObject({ order: 'sort', refused: [] });
    expect(await s.phoneLabels()).toEqual(['D1', 'D2', 'D3', 'D4']);
    await s.phone().trash(await s.phoneId('D1'));
    await s.phone().send({ raw: makeMessage({ label: 'O1', from: 'user1@phone.invalid' }), envelope: { from: 'user1@phone.invalid', to: ['friend@example.test'] }, viaSync: true });
    await s.sync();
    expect(await s.desktop.labels('Trash')).toEqual(['D1']);
    expect(await s.desktop.labels('Sent')).toEqual(['O1']);
    expect(await s.phoneLabels()).toEqual(['D2', 'D3', 'D4', 'D5']);
    expect(s.refusedImapCommands.filter((c) => !c.includes('US-ASCII ALL'))).toEqual([]);
  });

  it('a CHANGEDSINCE refused half-way: detection starts again by comparison and finds the change in that same sync', async () => {
    const refuse = [{ command: /^(UID )?FETCH .*\(CHANGEDSINCE /i, answer: 'BAD Error in IMAP command UID FETCH: Unknown FETCH modifier CHANGEDSINCE' }];
    const s = await start({ ...IMAP_PROFILES.full, refuse });
    await s.sync();
    await s.desktop.setFlag('D2', '\\Seen', true);
    const summary = await s.sync();
    expect(summary.detection.method).toBe('compare');
    expect([...summary.imap.refused].sort()).toEqual(['condstore', 'qresync']);
    expect((await s.phoneMessages()).find((m) => m.label === 'D2')?.seen).toBe(true);
    // With QRESYNC enabled the FETCH carried VANISHED (refused: QRESYNC dropped), then without it (refused: CONDSTORE).
    expect(s.refusedImapCommands).toHaveLength(2);
    expect(s.refusedImapCommands[1]).not.toMatch(/VANISHED/);
    await s.desktop.setFlag('D3', '\\Flagged', true);
    const next = await s.sync();
    expect(next.detection.method).toBe('compare');
    expect((await s.phoneMessages()).find((m) => m.label === 'D3')?.flagged).toBe(true);
    expect(s.refusedImapCommands).toHaveLength(2);
  });

  it('ENABLE, ID and NAMESPACE refused (imapflow logs in without them): changes found by comparison, every sync succeeds', async () => {
    const refuse = ['ENABLE', 'ID', 'NAMESPACE'].map((command) => ({ command: new RegExp(`^${command}\\b`, 'i'), answer: `BAD Error in IMAP command ${command}: Unknown command.` }));
    const s = await start({ ...IMAP_PROFILES.full, refuse });
    const first = await s.sync();
    expect(first.imap.detection).toBe('compare');
    await s.desktop.setFlag('D1', '\\Seen', true);
    const next = await s.sync();
    expect(next.detection.method).toBe('compare');
    expect((await s.phoneMessages()).find((m) => m.label === 'D1')?.seen).toBe(true);
    // imapflow carries on without what they would have given: nothing for the agent to remember.
    expect(next.imap.refused).toEqual([]);
    expect(s.refusedImapCommands.some((c) => c.startsWith('NAMESPACE'))).toBe(true);
    expect(await s.phoneLabels()).toEqual(['D1', 'D2', 'D3', 'D4']);
  });

  it('a dropped connection is no refusal: the sync fails and is retried, nothing is remembered, the next sync takes the advertised path', async () => {
    const s = await start({ ...IMAP_PROFILES.full, refuse: [{ command: /^UID SORT /i, answer: 'close' }] });
    const failed = await s.agentCli(['sync', '--config', s.agentConfig]);
    expect(failed.code).toBe(75);
    expect(failed.stderr).toMatch(/UID SORT in INBOX failed.*\[IMAP, retryable\]/);
    const status = await s.agentCli(['status', '--config', s.agentConfig]);
    expect(status.stdout).not.toContain('IMAP fallback');
    const doctor = await s.agentCli(['doctor', '--config', s.agentConfig]);
    expect(doctor.stdout).toContain('fallbacks: none');

    s.imapRewriter!.rules.refuse = [];
    const summary = await s.sync();
    expect(summary.imap).toMatchObject({ order: 'sort', refused: [] });
    expect(await s.phoneLabels()).toEqual(['D1', 'D2', 'D3', 'D4']);
  });

  it('a refusal is remembered until the server advertises something else, then the command is tried again', async () => {
    const s = await start(IMAP_PROFILES['courier-nosort']);
    const first = await s.sync();
    expect(first.imap).toMatchObject({ order: 'listing', refused: ['sort'] });
    expect(s.refusedImapCommands).toHaveLength(1);
    const doctor = await s.agentCli(['doctor', '--config', s.agentConfig]);
    expect(doctor.stdout).toMatch(/fallback: UID SORT refused on \S+ \("NO This command is disabled by the system administrator\."\): the INBOX order from listed arrival times/);

    // A new UIDVALIDITY: an initial sync, which lists the window's cover again, without asking for SORT.
    await s.dovecot.resetInboxUidValidity('user1');
    expect((await s.sync()).mode).toBe('initial');
    expect(s.refusedImapCommands).toHaveLength(1);

    // The server is upgraded (it advertises one more capability): what it refused is asked again.
    const conf = join(s.dovecot.dir, 'dovecot.conf');
    writeFileSync(conf, readFileSync(conf, 'utf8').replace(/^imap_capability = (.*)$/m, 'imap_capability = $1 X-TWINBOX-UPGRADED'));
    await s.dovecot.resetInboxUidValidity('user1');
    const upgraded = await s.sync();
    expect(upgraded.mode).toBe('initial');
    expect(s.refusedImapCommands).toHaveLength(2);
    expect(upgraded.imap).toMatchObject({ order: 'listing', refused: ['sort'] });
    expect(await s.phoneLabels()).toEqual(['D1', 'D2', 'D3', 'D4']);
    const status = await s.agentCli(['status', '--config', s.agentConfig, '--json']);
    const fallbacks = (JSON.parse(status.stdout) as { imapFallbacks: { path: string; response: string }[] }).imapFallbacks;
    expect(fallbacks).toEqual([expect.objectContaining({ path: 'sort', response: 'NO This command is disabled by the system administrator.' })]);
  });
});
