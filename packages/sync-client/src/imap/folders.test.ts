import { describe, expect, it } from 'vitest';
import { chooseFolder, type ListedFolder } from './folders.js';

const folder = (path: string, delimiter = '/', specialUse?: string, flags: string[] = []): ListedFolder => ({
  path, name: path.split(delimiter).at(-1)!, delimiter, flags: new Set(flags), ...(specialUse ? { specialUse } : {}),
});

describe('chooseFolder', () => {
  it('the user setting first, and it must exist', () => {
    const folders = [folder('Trash', '/', '\\Trash'), folder('Company/Deleted')];
    expect(chooseFolder('trash', folders, '', 'Company/Deleted')).toEqual({ path: 'Company/Deleted', how: 'config' });
    expect(() => chooseFolder('trash', folders, '', 'Nope')).toThrow(/imap.trashFolder is "Nope", which the server does not have \(it has: Trash, Company\/Deleted\)/);
  });

  it('then SPECIAL-USE, whatever the name', () => {
    expect(chooseFolder('sent', [folder('Sent Items'), folder('[Gmail]/Sent Mail', '/', '\\Sent')], '')).toEqual({ path: '[Gmail]/Sent Mail', how: 'special-use' });
  });

  it('then a well-known name: Exchange, localized, Courier-style under INBOX., Gmail paths', () => {
    expect(chooseFolder('trash', [folder('Deleted Items'), folder('Sent Items')], '')).toEqual({ path: 'Deleted Items', how: 'name' });
    expect(chooseFolder('trash', [folder('Papierkorb'), folder('Gesendete Objekte')], '')).toEqual({ path: 'Papierkorb', how: 'name' });
    expect(chooseFolder('sent', [folder('Papierkorb'), folder('Gesendete Objekte')], '')).toEqual({ path: 'Gesendete Objekte', how: 'name' });
    expect(chooseFolder('trash', [folder('INBOX', '.'), folder('INBOX.Trash', '.'), folder('INBOX.Sent', '.')], 'INBOX.')).toEqual({ path: 'INBOX.Trash', how: 'name' });
    expect(chooseFolder('trash', [folder('Elementos eliminados'), folder('Archive/Trash')], '')).toEqual({ path: 'Elementos eliminados', how: 'name' });
    expect(chooseFolder('trash', [folder('Projects/Trash'), folder('Trash')], '')).toEqual({ path: 'Trash', how: 'name' });
  });

  it('nothing that fits: undefined (the caller creates one and says so); \\Noselect folders never count', () => {
    expect(chooseFolder('trash', [folder('Archive'), folder('Trash', '/', undefined, ['\\Noselect'])], '')).toBeUndefined();
  });
});
