/**
 * `twinbox-server store migrate --to postgres://…`: the server's SQLite
 * database into PostgreSQL (store/copy-store.ts says how, and why it is safe
 * to run again), for a deployment that grows to several nodes
 * (docs/scaling.md). The server must be stopped: what it wrote during the
 * copy would not be in it. Then the config's `store` names the database.
 */
import { required, UsageError } from '@twinbox/cli';
import { loadConfig, redactUrl } from '../config.js';
import { copyStore } from '../store/copy-store.js';
import { ServerStore } from '../store/index.js';
import type { CommandValues } from './shared.js';

export async function storeMigrate(values: CommandValues & { to?: string }): Promise<void> {
  const config = loadConfig(required(values, 'config', 'store migrate'));
  // The URL holds a password: from the environment (TWINBOX_MIGRATE_TO), kept off the command line `ps` shows, or --to.
  const to = values.to ?? process.env.TWINBOX_MIGRATE_TO;
  if (!to) throw new UsageError('give the PostgreSQL database: TWINBOX_MIGRATE_TO=postgres://… in the environment (or --to)', 'store migrate');
  if (!/^postgres(ql)?:\/\//.test(to)) throw new UsageError('--to must be a postgres:// URL', 'store migrate');
  if (config.store.kind !== 'sqlite') throw new Error(`this server already stores in PostgreSQL (${redactUrl(config.store.url)}): nothing to migrate`);
  const source = await ServerStore.open(config.store);
  try {
    const target = await ServerStore.open(to);
    try {
      const report = await copyStore(source, target, (line) => {
        if (!values.json) console.error(`store migrate: ${line}`);
      });
      if (values.json) return void console.log(JSON.stringify({ to: redactUrl(to), ...report }));
      const rows = report.tables.reduce((n, t) => n + t.rows, 0);
      console.log(
        report.outcome === 'copied'
          ? `copied ${rows} rows in ${report.tables.length} tables to ${redactUrl(to)}; counts and digests verified`
          : `${redactUrl(to)} already holds this database (${rows} rows, counts and digests verified): nothing copied`,
      );
      console.log(`now point the config at it: "store": { "kind": "postgres", "url": "…" } (or DATABASE_URL), and start the server`);
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
