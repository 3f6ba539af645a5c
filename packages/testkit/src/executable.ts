import { accessSync, constants } from 'node:fs';

/** Whether `path` is a file this process may run (a program found but not executable does not count). */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
