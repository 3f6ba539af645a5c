/**
 * Which folder is the desktop's Trash, and which its Sent (issue 10), as a
 * pure choice over the server's LIST answer:
 *
 *   1. the user's setting (`imap.trashFolder`, `imap.sentFolder`): must exist;
 *   2. the folder the server flags \Trash / \Sent (SPECIAL-USE, RFC 6154);
 *   3. a well-known name, English or localized (below), preferring one in
 *      the personal namespace (Courier's "INBOX.Trash") and a top-level one;
 *   4. none: the agent creates one under the personal namespace prefix and
 *      says so (the sync summary, `doctor`, a warning in the log).
 *
 * Names are compared without case on the folder's last segment and on its
 * whole path (so "[Gmail]/Trash" and "INBOX.Papierkorb" both match).
 */

export type FolderChoiceHow = 'config' | 'special-use' | 'name' | 'created';

export interface FolderChoice {
  path: string;
  how: FolderChoiceHow;
}

export interface ListedFolder {
  path: string;
  name: string;
  delimiter: string;
  flags: Set<string>;
  /** Only from the server's own SPECIAL-USE/XLIST flags. */
  specialUse?: string;
}

export const WELL_KNOWN_NAMES = {
  trash: [
    'Trash', 'Deleted Items', 'Deleted Messages', 'Deleted', 'Bin', 'Trash Can',
    'Papierkorb', 'Gelöschte Elemente', 'Gelöschte Objekte', 'Gelöscht',
    'Corbeille', 'Éléments supprimés', 'Messages supprimés',
    'Elementos eliminados', 'Papelera', 'Eliminados',
    'Cestino', 'Posta eliminata', 'Elementi eliminati',
    'Prullenbak', 'Verwijderde items', 'Verwijderd',
    'Lixeira', 'Lixo', 'Itens Excluídos', 'Itens eliminados',
    'Papperskorgen', 'Borttagna objekt', 'Papirkurv', 'Slettede elementer', 'Slettet post', 'Roskakori', 'Poistetut',
    'Kosz', 'Elementy usunięte', 'Koš', 'Odstraněná pošta', 'Kuka', 'Törölt elemek',
    'Корзина', 'Удаленные', 'Удалённые', 'Кошик', 'Видалені',
    'ごみ箱', '削除済みアイテム', '已删除邮件', '已删除', '垃圾箱', '휴지통', 'Çöp Kutusu', 'Silinmiş Öğeler',
  ],
  sent: [
    'Sent', 'Sent Items', 'Sent Messages', 'Sent Mail',
    'Gesendet', 'Gesendete Objekte', 'Gesendete Elemente',
    'Envoyés', 'Éléments envoyés', 'Messages envoyés',
    'Enviados', 'Elementos enviados',
    'Inviata', 'Posta inviata', 'Elementi inviati',
    'Verzonden', 'Verzonden items',
    'Itens Enviados', 'Enviadas',
    'Skickat', 'Skickade objekt', 'Sendt', 'Sendte elementer', 'Sendt post', 'Lähetetyt',
    'Wysłane', 'Elementy wysłane', 'Odeslaná pošta', 'Odeslané', 'Elküldött elemek',
    'Отправленные', 'Надіслані',
    '送信済み', '送信済みアイテム', '已发送邮件', '已发送', '보낸편지함', 'Gönderilmiş Öğeler', 'Gönderilenler',
  ],
} as const;

const FLAG = { trash: '\\Trash', sent: '\\Sent' } as const;

/** Choose the folder for a role; undefined when nothing fits (the caller creates one and says so). */
export function chooseFolder(role: 'trash' | 'sent', folders: ListedFolder[], personalPrefix: string, configured?: string): FolderChoice | undefined {
  const selectable = folders.filter((f) => !f.flags.has('\\Noselect') && !f.flags.has('\\NonExistent') && f.path.toUpperCase() !== 'INBOX');
  if (configured !== undefined) {
    const found = selectable.find((f) => f.path === configured) ?? selectable.find((f) => f.path.toLowerCase() === configured.toLowerCase());
    if (!found) {
      const known = selectable.map((f) => f.path).join(', ');
      throw new Error(`imap.${role}Folder is "${configured}", which the server does not have (it has: ${known || 'no other folders'})`);
    }
    return { path: found.path, how: 'config' };
  }
  const flagged = selectable.filter((f) => f.specialUse === FLAG[role] || f.flags.has(FLAG[role]));
  if (flagged.length > 0) return { path: flagged.sort((a, b) => depth(a) - depth(b))[0]!.path, how: 'special-use' };
  const wanted = new Map<string, number>(WELL_KNOWN_NAMES[role].map((n, i) => [n.toLowerCase(), i]));
  const rank = (f: ListedFolder): [number, number, number] | undefined => {
    const byName = wanted.get(f.name.toLowerCase());
    const byPath = wanted.get(f.path.toLowerCase());
    const known = Math.min(byName ?? Infinity, byPath ?? Infinity);
    if (known === Infinity) return undefined;
    const inPersonal = personalPrefix === '' || f.path.startsWith(personalPrefix) ? 0 : 1;
    return [inPersonal, depth(f), known];
  };
  const candidates = selectable.flatMap((f) => {
    const r = rank(f);
    return r ? [{ f, r }] : [];
  });
  candidates.sort((a, b) => a.r[0] - b.r[0] || a.r[1] - b.r[1] || a.r[2] - b.r[2]);
  return candidates[0] ? { path: candidates[0].f.path, how: 'name' } : undefined;
}

function depth(f: ListedFolder): number {
  return f.delimiter ? f.path.split(f.delimiter).length - 1 : 0;
}
