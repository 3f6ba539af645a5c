import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TwinboxError } from '@twinbox/protocol';
import { fileProblem, loadConfigFile, readJsonFile, schemaProblems, syntaxErrorAt } from './config-file.js';

const schema = z.strictObject({
  database: z.string(),
  listen: z.strictObject({ host: z.string().optional(), port: z.number().int().min(0).max(65535) }),
  retention: z.strictObject({ trashDays: z.number().int().min(0, 'must be a whole number ≥ 0').optional(), sentDays: z.number().optional() }).optional(),
  mode: z.enum(['a', 'b']).optional(),
  schedule: z.string().refine((v) => v !== 'every day', 'is not a cron expression (or "off")').optional(),
});

describe('config files', () => {
  it('names a JSON syntax error by line and column', () => {
    expect(syntaxErrorAt('{\n  "a": 1,\n}', '')).toBe('3:1: a key in double quotes expected (no comma after the last entry)');
    expect(syntaxErrorAt('{\n  "a": 1\n  "b": 2\n}', '')).toBe("3:3: ',' expected");
    expect(syntaxErrorAt('{"a": tru}', '')).toMatch(/^1:7: /);
    expect(syntaxErrorAt('', 'Unexpected end of JSON input')).toMatch(/^1:1: /);
  });

  it('reads a file, or says it cannot, as CONFIG', () => {
    const dir = mkdtempSync(join(tmpdir(), 'twinbox-cli-'));
    writeFileSync(join(dir, 'bad.json'), '{\n  "database": "x",\n  "listen": { "port": 1 },\n}\n');
    const err = (() => {
      try {
        readJsonFile(join(dir, 'bad.json'), 'server config');
      } catch (e) {
        return e as TwinboxError;
      }
    })();
    expect(err).toBeInstanceOf(TwinboxError);
    expect(err!.code).toBe('CONFIG');
    expect(err!.message).toBe(`server config ${join(dir, 'bad.json')}:4:1: a key in double quotes expected (no comma after the last entry)`);
    expect(() => readJsonFile(join(dir, 'none.json'), 'agent config')).toThrow(/cannot read agent config .*none\.json: no such file/);
  });

  it('names unknown keys with the nearest known one, missing keys, and wrong values — all at once', () => {
    const problems = schemaProblems(schema, { database: 1, listen: { prot: 8443 }, retention: { trashDay: 3 }, scheduel: '*/5 * * * *', mode: 'c', schedule: 'every day' });
    expect(problems).toEqual(
      expect.arrayContaining([
        'database must be a string, not 1',
        'listen.port is missing (a number)',
        'listen.prot is not a setting (did you mean listen.port?)',
        'retention.trashDay is not a setting (did you mean retention.trashDays?)',
        'scheduel is not a setting (did you mean schedule?)',
        'mode must be one of "a", "b", not "c"',
        'schedule is not a cron expression (or "off")',
      ]),
    );
    expect(problems).toHaveLength(7);
    expect(schemaProblems(schema, { database: 'x', listen: { port: 1 }, retention: { trashDays: -1 } })).toEqual(['retention.trashDays must be a whole number ≥ 0, not -1']);
    expect(schemaProblems(schema, { database: 'x', listen: { port: 1 }, colour: 'red' })).toEqual(['colour is not a setting']);
  });

  it('loads a good file and throws every problem of a bad one as one CONFIG error, a line each', () => {
    const dir = mkdtempSync(join(tmpdir(), 'twinbox-cli-'));
    writeFileSync(join(dir, 'good.json'), JSON.stringify({ database: 'x', listen: { port: 1 } }));
    expect(loadConfigFile(schema, join(dir, 'good.json'), 'server config')).toEqual({ database: 'x', listen: { port: 1 } });
    writeFileSync(join(dir, 'two.json'), JSON.stringify({ listen: { port: 1 }, scheduel: 'x' }));
    expect(() => loadConfigFile(schema, join(dir, 'two.json'), 'server config')).toThrow(
      new TwinboxError('CONFIG', [`server config ${join(dir, 'two.json')}: database is missing (a string)`, `server config ${join(dir, 'two.json')}: scheduel is not a setting (did you mean schedule?)`].join('\n')),
    );
  });

  it('names a file that does not exist with the key that points at it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'twinbox-cli-'));
    expect(fileProblem('tls.cert', join(dir, 'cert.pem'))).toBe(`tls.cert names ${join(dir, 'cert.pem')}, which does not exist`);
    expect(fileProblem('tls.cert', dir)).toBe(`tls.cert names ${dir}, which is not a file`);
    expect(fileProblem('database', dir, 'folder')).toBeUndefined();
  });
});
