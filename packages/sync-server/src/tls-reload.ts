/**
 * Certificates renewed without a restart (docs/trust.md): the server looks
 * at its key and certificate files every second (and at once on SIGHUP);
 * when they change and hold a key and certificate that belong together, new
 * TLS connections — HTTPS, the sync endpoint, inbound SMTP's STARTTLS — get
 * the new ones, and connections already open keep theirs. A renewal written
 * file by file (the key before its certificate) is taken once both are
 * written; until then the certificate in use stays.
 *
 * A new key is logged as a warning: agents that pinned only the old key
 * refuse the server until they run `twinbox-agent repin` (those holding the
 * backup pin of this key do not).
 */
import { unwatchFile, watchFile } from 'node:fs';
import type { Logger } from '@twinbox/protocol';
import { readTlsMaterial, type TlsMaterial } from './tls.js';

/** How often the files are looked at (a stat each). */
const INTERVAL_MS = 1000;
/** A change is read this long after the last one seen (a renewal writes two files). */
const SETTLE_MS = 300;

export interface TlsReloader {
  /** Read the files now; true if a new certificate is in use. */
  reload(): boolean;
  close(): void;
}

export function watchTlsFiles(files: { key: string; cert: string }, initial: TlsMaterial, apply: (next: TlsMaterial) => void, log: Logger): TlsReloader {
  let current = initial;
  let timer: NodeJS.Timeout | undefined;
  const reload = (): boolean => {
    let next: TlsMaterial;
    try {
      next = readTlsMaterial(files);
    } catch (err) {
      log.warn('TLS files changed but are not a key and its certificate (yet): the certificate in use stays', { error: (err as Error).message });
      return false;
    }
    if (next.cert.equals(current.cert) && next.key.equals(current.key)) return false;
    apply(next);
    const fields = { pin: next.pin, validTo: new Date(next.validTo).toISOString(), previousPin: current.pin };
    if (next.pin === current.pin) log.info('TLS certificate reloaded (same key: paired agents go on)', fields);
    else log.warn('TLS certificate reloaded with a NEW key: agents without its pin refuse the server until `twinbox-agent repin`', fields);
    current = next;
    return true;
  };
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(reload, SETTLE_MS);
    timer.unref();
  };
  for (const path of [files.key, files.cert]) watchFile(path, { interval: INTERVAL_MS, persistent: false }, changed);
  return {
    reload,
    close: () => {
      clearTimeout(timer);
      for (const path of [files.key, files.cert]) unwatchFile(path, changed);
    },
  };
}
