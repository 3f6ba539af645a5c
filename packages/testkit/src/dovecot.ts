/**
 * A private Dovecot (Debian's package) for tests and the demo: all of its
 * files in a temp dir, IMAP and LMTP on 127.0.0.1 ports it picks, running in
 * the foreground under our control. As root it drops to nobody:nogroup (its
 * own checks refuse uid 0 for mail); as an ordinary user it runs as that user.
 * Stopped by SIGTERM to its pid (restart waits for the exit; stop does not,
 * and removes its files once it has exited).
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { IMAP_PROFILES, type ImapProfile } from './imap-profiles.js';
import { dirname, join } from 'node:path';

export interface DovecotUser {
  name: string;
  password: string;
}

export interface Dovecot {
  host: string;
  imapPort: number;
  lmtpPort: number;
  dir: string;
  users: DovecotUser[];
  /** The kind of server it poses as. */
  profile: ImapProfile;
  pid: number;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /**
   * Put many messages into a folder at once, as files (an APPEND each would take minutes for 100,000).
   * `Trash` is the profile's Trash; any other name is a folder by that path (created if missing).
   */
  writeMaildir(user: string, folder: string, messages: { raw: Buffer; date: Date; seen?: boolean; flagged?: boolean }[]): void;
  /** Make Dovecot forget INBOX's UIDs (same messages, new UIDVALIDITY), as after a mailbox rebuild. */
  resetInboxUidValidity(user: string): Promise<void>;
}

/**
 * A port for a test server to listen on later. Picked at random below
 * Linux's ephemeral range (32768–60999), which outgoing connections draw their
 * local ports from: a port chosen there (as `listen(0)` would) may be taken by
 * some connection's local end before the server binds it. Checked free by
 * binding it once.
 */
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    // Never the same port twice in one process: two picked before either is bound (IMAP and LMTP) must differ.
    if (handedOut.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) {
      handedOut.add(port);
      return port;
    }
    if (attempt > 50) throw new Error('no free port found for a test server');
  }
}

async function waitForGreeting(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.setTimeout(1000);
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('* OK'));
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
      socket.connect(port, '127.0.0.1');
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`Dovecot did not greet on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function identity(): { uid: number; gid: number; user: string; group: string } {
  const me = userInfo();
  if (me.uid !== 0) {
    const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
    return { uid: me.uid, gid: me.gid, user: me.username, group };
  }
  const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim());
  const group = execFileSync('id', ['-gn', 'nobody'], { encoding: 'utf8' }).trim();
  return { uid, gid, user: 'nobody', group };
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

/** The personal namespace as the profile shapes it: prefix, separator, Trash/Sent names and their special use. */
function namespace(profile: ImapProfile): string {
  const local = (path: string) => path.slice(profile.prefix.length);
  const use = (flag: string) => (profile.specialUse ? `special_use = ${flag}\n    ` : '');
  const drafts = profile.specialUse ? '\n  mailbox Drafts {\n    special_use = \\Drafts\n    auto = subscribe\n  }' : '';
  return `namespace inbox {
  inbox = yes
  prefix = ${profile.prefix}
  separator = ${profile.separator}
  mailbox "${local(profile.trash)}" {
    ${use('\\Trash')}auto = subscribe
  }
  mailbox "${local(profile.sent)}" {
    ${use('\\Sent')}auto = subscribe
  }${drafts}
}`;
}

function config(dir: string, who: ReturnType<typeof identity>, imapPort: number, lmtpPort: number, profile: ImapProfile, extra: string): string {
  return `
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
info_log_path = ${dir}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = ${who.user}
default_internal_group = ${who.group}
default_login_user = ${who.user}
first_valid_uid = 1
auth_username_format = %Ln
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n ${dir}/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%n ${dir}/passwd
  default_fields = uid=${who.user} gid=${who.group} home=${dir}/home/%n
}
mail_location = maildir:~/Maildir
${namespace(profile)}
${profile.capability ? `imap_capability = ${profile.capability}` : ''}
# Large mailboxes (the benchmarks go to a million messages) need more than the default 256 MB per IMAP process.
service imap {
  vsz_limit = 2G
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${imapPort}
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${lmtpPort}
  }
  unix_listener lmtp {
    mode = 0600
  }
}
service anvil {
  chroot =
}
service stats {
  unix_listener stats-reader {
    mode = 0600
  }
  unix_listener stats-writer {
    mode = 0600
  }
}
${extra}
`;
}

/**
 * Settings a test adds to the configuration: a server that refuses some
 * messages as real ones do (DOVECOT_REFUSES_LARGE_MAIL).
 */
export interface DovecotOptions {
  extraConfig?: string;
  /** The IMAP port on 127.0.0.1 (default: a free one). */
  imapPort?: number;
}

/** Dovecot's quota plugin refusing any message above `bytes` (APPEND answers NO [LIMIT]): a desktop server that will not take one message. */
export function dovecotRefusesMailOver(bytes: number): DovecotOptions {
  return {
    extraConfig: `mail_plugins = $mail_plugins quota
plugin {
  quota = count:User quota
  quota_vsizes = yes
  quota_max_mail_size = ${bytes}
}`,
  };
}

export async function startDovecot(
  users: DovecotUser[] = [{ name: 'user1', password: 'secret1' }],
  profile: ImapProfile = IMAP_PROFILES.full,
  options: DovecotOptions = {},
): Promise<Dovecot> {
  const dir = mkdtempSync(join(tmpdir(), 'twinbox-dovecot-'));
  const who = identity();
  for (const sub of ['run', 'state', 'home']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'passwd'), users.map((u) => `${u.name}:{PLAIN}${u.password}::::::`).join('\n') + '\n');
  let imapPort = options.imapPort ?? (await freePort());
  let lmtpPort = await freePort();
  const writeConfig = () => {
    writeFileSync(join(dir, 'dovecot.conf'), config(dir, who, imapPort, lmtpPort, profile, options.extraConfig ?? ''));
    chmodSync(dir, 0o755);
    chownTree(dir, who.uid, who.gid);
  };
  writeConfig();

  let child: ChildProcess;
  const launch = async () => {
    const asOther = userInfo().uid === 0;
    child = spawn('dovecot', ['-F', '-c', join(dir, 'dovecot.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(asOther ? { uid: who.uid, gid: who.gid } : {}),
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`dovecot exited (${code}): ${stderr}`))));
    await Promise.race([waitForGreeting(imapPort, 10_000), exited]);
  };
  const stop = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(timer);
  };
  // Test files run side by side: a port found free may be taken by another process before Dovecot binds it.
  // Then Dovecot exits at once, saying so; new ports (unless the caller chose the IMAP port) and again.
  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      break;
    } catch (err) {
      const taken = /Address already in use|duplicate listener/.test((err as Error).message);
      if (!taken || attempt >= 3) throw err;
      if (options.imapPort === undefined) imapPort = await freePort();
      lmtpPort = await freePort();
      writeConfig();
    }
  }
  return {
    host: '127.0.0.1',
    imapPort,
    lmtpPort,
    dir,
    users,
    profile,
    get pid() {
      return child.pid!;
    },
    stop: async () => {
      // SIGTERM, and clean up once it has exited, without waiting: Dovecot takes about a second to
      // stop, and nothing else uses its ports or files (each instance has its own).
      // Dovecot's log process may still write for a moment after the master exits: retry, and never throw from a listener.
      const remove = () => {
        try {
          rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
        } catch {
          // A temp dir left behind is not worth failing a test for.
        }
      };
      if (child.exitCode !== null || child.signalCode !== null) return remove();
      child.once('exit', remove);
      child.kill('SIGTERM');
    },
    restart: async () => {
      await stop();
      await launch();
    },
    writeMaildir: (user: string, folder: string, messages: { raw: Buffer; date: Date; seen?: boolean; flagged?: boolean }[]) => {
      // Maildir++: INBOX is the top directory, other folders are ".Name" (hierarchy with dots); the file's mtime is the INTERNALDATE.
      const path = folder === 'Trash' ? profile.trash : folder.startsWith(profile.prefix) ? folder : profile.prefix + folder;
      const local = path.slice(profile.prefix.length).split(profile.separator).join('.');
      const home = join(dir, 'home', user);
      const target = join(home, 'Maildir', ...(folder === 'INBOX' ? [] : ['.' + local]), 'cur');
      mkdirSync(target, { recursive: true });
      for (const sub of ['new', 'tmp']) mkdirSync(join(dirname(target), sub), { recursive: true });
      // The folders on the way belong to Dovecot's user, and each new file: not the whole tree again (a million files).
      for (let d = target; d.startsWith(home); d = dirname(d)) chownSync(d, who.uid, who.gid);
      for (const sub of ['new', 'tmp']) chownSync(join(dirname(target), sub), who.uid, who.gid);
      const stamp = Date.now();
      messages.forEach((m, i) => {
        // Maildir info flags in ASCII order (F before S).
        const file = join(target, `${Math.floor(m.date.getTime() / 1000)}.M${stamp}P${i}.twinbox-test:2,${m.flagged ? 'F' : ''}${m.seen ? 'S' : ''}`);
        writeFileSync(file, m.raw);
        utimesSync(file, m.date, m.date);
        chownSync(file, who.uid, who.gid);
      });
    },
    resetInboxUidValidity: async (user: string) => {
      await stop();
      const maildir = join(dir, 'home', user, 'Maildir');
      for (const entry of readdirSync(maildir)) if (entry.startsWith('dovecot')) rmSync(join(maildir, entry), { recursive: true, force: true });
      await launch();
    },
  };
}
