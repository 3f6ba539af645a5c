/**
 * `twinbox-server account add|list|remove|token` (README "Running it for
 * real"). The pairing secrets — the agent token (shown once; stored only as
 * a hash) and the trigger secret — go to a new 0600 file (`--secrets-file`),
 * to a program as JSON (`--json`), or to standard output as the lines the
 * agent reads on its standard input; never into a printed command line.
 */
import { existsSync } from 'node:fs';
import { UsageError, isoTime, required, wholeNumber } from '@twinbox/cli';
import { LIMITS } from '@twinbox/protocol';
import type { Presence } from '../store/index.js';
import { createSecretsFile, pinsOf, publicUrlOf, secretLines, withAccount, withStore, writeSecretsFile, type CommandValues } from './shared.js';

export interface AccountValues extends CommandValues {
  desktop?: string;
  phone?: string;
  window?: string;
  'unread-first'?: boolean;
  'conflict-policy'?: string;
  'secrets-file'?: string;
  'trigger-secret'?: boolean;
}

function secretsTarget(values: AccountValues, command: string): string | undefined {
  const file = values['secrets-file'];
  if (file !== undefined && values.json) throw new UsageError('--secrets-file and --json are two ways to take the secrets: give one', command);
  if (file !== undefined && existsSync(file)) throw new UsageError(`--secrets-file ${file} exists already; name a new file`, command);
  return file;
}

export async function accountAdd(values: AccountValues): Promise<void> {
  const policy = values['conflict-policy'] ?? 'desktop';
  if (policy !== 'desktop' && policy !== 'phone') throw new UsageError('--conflict-policy must be desktop or phone', 'account add');
  const secretsFile = secretsTarget(values, 'account add');
  const id = required(values, 'id', 'account add');
  const desktopAddress = required(values, 'desktop', 'account add');
  const window = values.window !== undefined ? wholeNumber(values.window, 'window', 1, LIMITS.maxWindow, 'account add') : undefined;
  await withStore(values, 'account add', async (store, config) => {
    const pins = pinsOf(config);
    const { account, token } = await store.accounts.add({
      id,
      desktopAddress,
      ...(values.phone ? { phoneAddress: values.phone } : {}),
      ...(window !== undefined ? { window } : {}),
      unreadFirst: values['unread-first'] ?? false,
      conflictPolicy: policy,
    });
    const pairing = { server: publicUrlOf(config), account: account.id, pins, token, triggerSecret: account.triggerSecret };
    if (values.json) return void console.log(JSON.stringify(pairing));
    const comment = `# Twinbox pairing secrets of account ${account.id} on ${pairing.server} (for twinbox-agent pair)\n`;
    if (secretsFile !== undefined) {
      try {
        writeSecretsFile(secretsFile, comment + secretLines(pairing));
      } catch (err) {
        await store.accounts.remove(account.id); // its token would be lost: as if never added
        throw err;
      }
    }
    console.log(`account ${account.id} added (window ${account.window}, phone address ${account.phoneAddress}).`);
    // The command carries no secret: pasted into a shell, nothing shows in `ps`.
    const pair = `twinbox-agent pair --config agent.json --server=${pairing.server} --account=${pairing.account} ${pins.map((p) => `--pin=${p}`).join(' ')}`;
    const mail = '--imap-host HOST --imap-user USER [--smtp-host HOST --smtp-user USER]';
    if (secretsFile !== undefined) {
      console.log(`The agent token and trigger secret (shown nowhere else) are in ${secretsFile} (mode 0600). Copy it to the desktop and pair with:`);
      console.log(`  ${pair} \\`);
      console.log(`    --secrets-file ${secretsFile} --secrets-stdin ${mail}`);
      console.log('giving it imap-password=… (and smtp-password=…) on standard input (or add those lines to the file).');
      return;
    }
    console.log('Pair the desktop agent with (the token is shown only now):');
    console.log(`  ${pair} \\`);
    console.log(`    --secrets-stdin ${mail}`);
    console.log('and give it these lines on standard input, with imap-password=… (and smtp-password=…) after them:');
    for (const line of secretLines(pairing).trimEnd().split('\n')) console.log(`  ${line}`);
  });
}

/**
 * `account token`: a new agent token; the old one stops working at once. The
 * mail, the devices and the sync state are untouched. `--trigger-secret`
 * makes a new trigger secret too (until the agent has it, its "sync now"
 * e-mails stay in the desktop INBOX as ordinary mail).
 */
export async function accountToken(values: AccountValues): Promise<void> {
  const secretsFile = secretsTarget(values, 'account token');
  await withAccount(values, 'account token', async (store, config, id) => {
    // The file is made before and written inside the transaction: if it cannot be, the old token stays (the new one
    // would be lost). Each write replaces the last, as the transaction may run again (PostgreSQL).
    const file = secretsFile !== undefined ? createSecretsFile(secretsFile) : undefined;
    let secrets: { token: string; triggerSecret?: string };
    try {
      secrets = await store.transaction(async () => {
        const fresh = (await store.accounts.reissueToken(id, { triggerSecret: values['trigger-secret'] ?? false }))!;
        const issued = { token: fresh.token, ...(values['trigger-secret'] ? { triggerSecret: fresh.triggerSecret } : {}) };
        file?.write(`# New Twinbox agent secrets of account ${id} on ${publicUrlOf(config)} (for twinbox-agent secrets)\n${secretLines(issued)}`);
        return issued;
      }, { scope: id });
    } catch (err) {
      file?.discard(); // it holds no token that logs in
      throw err;
    }
    file?.close();
    if (values.json) return void console.log(JSON.stringify({ account: id, ...secrets }));
    const what = values['trigger-secret'] ? 'agent token and trigger secret' : 'agent token';
    console.log(`account ${id}: a new ${what}; the old token no longer logs in. The mail is untouched.`);
    if (secretsFile !== undefined) {
      console.log(`It is in ${secretsFile} (mode 0600, shown nowhere else). Copy it to the desktop and run:`);
      console.log(`  twinbox-agent secrets --config agent.json --secrets-file ${secretsFile}`);
      return;
    }
    console.log('Give the agent these lines (shown only now) on standard input of:');
    console.log('  twinbox-agent secrets --config agent.json --secrets-stdin');
    for (const line of secretLines(secrets).trimEnd().split('\n')) console.log(`  ${line}`);
  });
}

function presenceText(p: Presence): string {
  if (p.state === 'connected') return `connected since ${isoTime(p.since)}`;
  if (p.state === 'unknown') return `unknown (the server last vouched at ${isoTime(p.lastSeen)}; is it running?)`;
  return p.since === null ? 'never connected' : `not connected since ${isoTime(p.since)}`;
}

function presenceJson(p: Presence) {
  if (p.state === 'unknown') return { state: p.state, lastSeen: isoTime(p.lastSeen) };
  return { state: p.state, since: isoTime(p.since) };
}

/** `account list`: one row per account under a header, with its desktop address and whether its agent is connected. */
export async function accountList(values: AccountValues): Promise<void> {
  await withStore(values, 'account list', async (store) => {
    const rows = [];
    for (const account of await store.accounts.list()) {
      const sync = await store.syncStates.get(account.id);
      rows.push({
        id: account.id,
        desktopAddress: account.desktopAddress,
        phoneAddress: account.phoneAddress,
        window: account.window,
        inbox: await store.messages.count(account.id, 'inbox'),
        pendingActions: await store.actions.count(account.id),
        lastSyncAt: isoTime(sync.lastSyncAt),
        agent: await store.presence.get(account.id),
      });
    }
    if (values.json) return void console.log(JSON.stringify(rows.map((r) => ({ ...r, agent: presenceJson(r.agent) }))));
    const table = [['ACCOUNT', 'DESKTOP', 'WINDOW', 'INBOX', 'PENDING', 'LAST SYNC', 'AGENT']];
    for (const r of rows) table.push([r.id, r.desktopAddress, String(r.window), String(r.inbox), String(r.pendingActions), r.lastSyncAt ?? 'never', presenceText(r.agent)]);
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table) console.log(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
    if (rows.length === 0) console.log('(no accounts: twinbox-server account add)');
  });
}

export async function accountRemove(values: AccountValues): Promise<void> {
  await withAccount(values, 'account remove', async (store, _config, id) => {
    let messages = 0;
    for (const folder of ['inbox', 'trash', 'sent', 'outbox'] as const) messages += await store.messages.count(id, folder);
    await store.accounts.remove(id);
    await store.engine.releaseFreePages();
    if (values.json) return void console.log(JSON.stringify({ removed: id, messages }));
    console.log(`account ${id} removed with its ${messages} phone messages, devices, sessions and sync state; its agent can no longer log in.`);
  });
}
