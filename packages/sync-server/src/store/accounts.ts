/**
 * Accounts: who may sync, with which window and options. The agent token is
 * stored only as a SHA-256 hash (it is 256 random bits, so a slow hash adds
 * nothing) and compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LIMITS, type AccountOptions } from '@twinbox/protocol';
import type { SqlEngine } from './engine.js';

export interface Account extends AccountOptions {
  id: string;
  desktopAddress: string;
  phoneAddress: string;
  triggerSecret: string;
}

interface AccountRow {
  id: string;
  desktop_address: string;
  phone_address: string;
  window: number;
  unread_first: number;
  conflict_policy: 'desktop' | 'phone';
  trigger_secret: string;
  token_hash: string;
}

export interface NewAccount {
  id: string;
  desktopAddress: string;
  phoneAddress?: string;
  window?: number;
  unreadFirst?: boolean;
  conflictPolicy?: 'desktop' | 'phone';
}

export const DEFAULT_WINDOW = 50;

const ACCOUNT_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

// A fixed prefix: a secret never starts with "-" (which a command line would
// take for an option), and a leaked one is recognisable as Twinbox's.
const newToken = () => `tbx_${randomBytes(32).toString('base64url')}`;
const newTriggerSecret = () => `tbt_${randomBytes(32).toString('base64url')}`;

function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    desktopAddress: row.desktop_address,
    phoneAddress: row.phone_address,
    window: row.window,
    unreadFirst: row.unread_first === 1,
    conflictPolicy: row.conflict_policy,
    triggerSecret: row.trigger_secret,
  };
}

export class Accounts {
  constructor(private readonly db: SqlEngine) {}

  /** Create an account; returns it with the agent token, which is shown once and stored only hashed. */
  async add(input: NewAccount): Promise<{ account: Account; token: string }> {
    if (!ACCOUNT_ID.test(input.id)) throw new Error(`account id ${JSON.stringify(input.id)} must match ${ACCOUNT_ID}`);
    const window = input.window ?? DEFAULT_WINDOW;
    if (!Number.isInteger(window) || window < 1 || window > LIMITS.maxWindow) {
      throw new Error(`window must be an integer from 1 to ${LIMITS.maxWindow}`);
    }
    if (await this.get(input.id)) throw new Error(`account ${input.id} exists already`);
    const token = newToken();
    const triggerSecret = newTriggerSecret();
    await this.db.transaction(async () => {
      await this.db.run(
        `INSERT INTO accounts (id, desktop_address, phone_address, "window", unread_first, conflict_policy, token_hash, trigger_secret, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
        input.id,
        input.desktopAddress,
        input.phoneAddress ?? `${input.id}@phone.invalid`,
        window,
        input.unreadFirst ? 1 : 0,
        input.conflictPolicy ?? 'desktop',
        hashToken(token),
        triggerSecret,
        Date.now(),
        ],
      );
      await this.db.run('INSERT INTO sync_state (account_id) VALUES (?)', [input.id]);
    });
    return { account: (await this.get(input.id))!, token };
  }

  async get(id: string): Promise<Account | undefined> {
    const row = await this.db.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', [id]);
    return row ? toAccount(row) : undefined;
  }

  /**
   * The account whose phone address this is (ASCII letters in any case), if any. ASCII only on both engines:
   * SQLite's lower() changes nothing else, PostgreSQL's would — one address must not match on one and not the other.
   */
  async byPhoneAddress(address: string): Promise<Account | undefined> {
    const lower = (expr: string) => (this.db.dialect === 'postgres' ? `translate(${expr}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')` : `lower(${expr})`);
    const row = await this.db.get<AccountRow>(`SELECT * FROM accounts WHERE ${lower('phone_address')} = ${lower('?')}`, [address]);
    return row ? toAccount(row) : undefined;
  }

  async list(): Promise<Account[]> {
    return (await this.db.all<AccountRow>('SELECT * FROM accounts ORDER BY id')).map(toAccount);
  }

  /** The account if `token` is its agent token; undefined otherwise (same time either way). */
  async authenticate(id: string, token: string): Promise<Account | undefined> {
    const row = await this.db.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', [id]);
    const expected = Buffer.from(row?.token_hash ?? hashToken('no such account'), 'hex');
    const given = Buffer.from(hashToken(token), 'hex');
    const match = timingSafeEqual(expected, given);
    return row && match ? toAccount(row) : undefined;
  }

  /**
   * A new agent token for the account (and, asked for, a new trigger secret):
   * the old one stops working at once; the mail, the devices and the sync
   * state are untouched. Undefined when there is no such account.
   */
  async reissueToken(id: string, options: { triggerSecret?: boolean } = {}): Promise<{ token: string; triggerSecret: string } | undefined> {
    const account = await this.get(id);
    if (!account) return undefined;
    const token = newToken();
    const triggerSecret = options.triggerSecret ? newTriggerSecret() : account.triggerSecret;
    await this.db.run('UPDATE accounts SET token_hash = ?, trigger_secret = ? WHERE id = ?', [hashToken(token), triggerSecret, id]);
    return { token, triggerSecret };
  }

  async setOptions(id: string, options: Partial<AccountOptions>): Promise<void> {
    const current = await this.get(id);
    if (!current) throw new Error(`no account ${id}`);
    const next = { ...current, ...options };
    await this.db.run('UPDATE accounts SET "window" = ?, unread_first = ?, conflict_policy = ? WHERE id = ?', [next.window, next.unreadFirst ? 1 : 0, next.conflictPolicy, id]);
  }

  /**
   * Remove an account and everything of it: its phone mailbox, action lists,
   * sync state and log, devices with their sessions and codes, and stored
   * answers — every table refers to the account with ON DELETE CASCADE.
   * Returns false when there is no such account.
   */
  async remove(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM accounts WHERE id = ?', [id])) > 0;
  }
}
