/**
 * Config files as both programs read them (README "Configuration"): JSON,
 * checked against the program's schema (zod), every mistake named at once:
 *
 *   - a JSON syntax error by line and column (`config.json:3:15: ',' expected`);
 *   - an unknown key by its full name, with the nearest known one
 *     (`retention.trashDay is not a setting (did you mean retention.trashDays?)`);
 *   - a missing key by name (`listen.port is missing`);
 *   - a wrong value with what it must be;
 *   - a file that does not exist with the key that names it (`fileProblem`).
 *
 * Every problem is a line of one `TwinboxError('CONFIG')`, which the program
 * shell prints line by line (program.ts).
 */
import { readFileSync } from 'node:fs';
import { statSync } from 'node:fs';
import { parse as parseLenient, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { z } from 'zod';
import { TwinboxError } from '@twinbox/protocol';
import { didYouMean } from './nearest.js';

/** The file as JSON, or a CONFIG error naming the file (and the line and column of a syntax error). */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new TwinboxError('CONFIG', `cannot read ${what} ${path}: ${reason}`, { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new TwinboxError('CONFIG', `${what} ${path}:${syntaxErrorAt(text, (err as Error).message)}`, { cause: err });
  }
}

const JSON_ERRORS: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'not a number',
  PropertyNameExpected: 'a key in double quotes expected (no comma after the last entry)',
  ValueExpected: 'a value expected',
  ColonExpected: "':' expected",
  CommaExpected: "',' expected",
  CloseBraceExpected: "'}' expected",
  CloseBracketExpected: "']' expected",
  EndOfFileExpected: 'nothing may follow the end of the JSON value',
  InvalidCommentToken: 'JSON has no comments',
  UnexpectedEndOfComment: 'JSON has no comments',
  UnexpectedEndOfString: 'a string is not closed',
  UnexpectedEndOfNumber: 'a number is cut short',
  InvalidUnicode: 'a bad \\u escape',
  InvalidEscapeCharacter: 'a bad escape',
  InvalidCharacter: 'a control character in a string (write it as \\n, \\t, …)',
};

/** "LINE:COLUMN: what is wrong" for text JSON.parse refused (V8's own message is kept where the scanner finds nothing). */
export function syntaxErrorAt(text: string, fallback: string): string {
  const errors: ParseError[] = [];
  parseLenient(text, errors, { allowTrailingComma: false, disallowComments: true, allowEmptyContent: false });
  const first = errors[0];
  const offset = first?.offset ?? Number(/at position (\d+)/.exec(fallback)?.[1] ?? text.length);
  const before = text.slice(0, offset).split('\n');
  const line = before.length;
  const column = before.at(-1)!.length + 1;
  const what = first ? (JSON_ERRORS[printParseErrorCode(first.error)] ?? printParseErrorCode(first.error)) : text.trim() === '' ? 'the file is empty' : fallback.replace(/ in JSON at position \d+.*$/, '');
  return `${line}:${column}: ${what}`;
}

/** `a.b[2].c` */
export function keyName(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value = raw;
  for (const p of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[p];
  }
  return value;
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}

const KINDS: Record<string, string> = { string: 'a string', number: 'a number', int: 'a whole number', boolean: 'true or false', object: 'an object ({…})', array: 'a list ([…])' };

type JsonSchemaNode = { properties?: Record<string, JsonSchemaNode>; items?: JsonSchemaNode; anyOf?: JsonSchemaNode[]; oneOf?: JsonSchemaNode[] };

/** The keys the schema knows at `path` (for "did you mean"). */
function knownKeys(schema: JsonSchemaNode, path: readonly PropertyKey[]): string[] {
  let nodes = [schema];
  for (const p of path) {
    nodes = nodes.flatMap((n) => [n, ...(n.anyOf ?? []), ...(n.oneOf ?? [])]).flatMap((n) => (typeof p === 'number' ? (n.items ? [n.items] : []) : n.properties?.[String(p)] ? [n.properties[String(p)]!] : []));
  }
  return nodes.flatMap((n) => [n, ...(n.anyOf ?? []), ...(n.oneOf ?? [])]).flatMap((n) => Object.keys(n.properties ?? {}));
}

/** One line per problem the schema found in `raw`, in words (the key first). */
export function schemaProblems(schema: z.ZodType, raw: unknown): string[] {
  const result = schema.safeParse(raw);
  if (result.success) return [];
  const json = z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as JsonSchemaNode;
  return result.error.issues.flatMap((issue) => {
    const key = keyName(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(json, issue.path);
      return issue.keys.map((k) => {
        const full = keyName([...issue.path, k]);
        // A key of another branch of a union (a postgres setting under a sqlite store) is known, just not here: no "did you mean" itself.
        return `${full} is not a setting${didYouMean(k, known.filter((n) => n !== k), (n) => keyName([...issue.path, n]))}`;
      });
    }
    const value = valueAt(raw, issue.path);
    if (issue.code === 'invalid_type' && value === undefined) return [`${key || 'the file'} is missing (${KINDS[issue.expected] ?? issue.expected})`];
    if (issue.code === 'invalid_type') return [`${key || 'the file'} must be ${KINDS[issue.expected] ?? issue.expected}, not ${shown(value)}`];
    if (issue.code === 'invalid_value') return [`${key} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, not ${shown(value)}`];
    // The schema's own words ("must be …"), written to follow the key.
    return [`${key} ${issue.message.startsWith('Invalid') || issue.message.startsWith('Too') ? `is not valid (${issue.message})` : issue.message}${value !== undefined && issue.code !== 'custom' ? `, not ${shown(value)}` : ''}`];
  });
}

/** A file the config names must exist: the problem in words, with the key that names it. */
export function fileProblem(key: string, path: string, kind: 'file' | 'folder' = 'file'): string | undefined {
  try {
    const stat = statSync(path);
    if (kind === 'file' && !stat.isFile()) return `${key} names ${path}, which is not a file`;
    if (kind === 'folder' && !stat.isDirectory()) return `${key} needs the folder ${path}, which is not a folder`;
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return kind === 'file' ? `${key} names ${path}, which does not exist` : `${key} needs the folder ${path}, which does not exist`;
    return `${key} names ${path}, which cannot be read (${code ?? (err as Error).message})`;
  }
}

/** All the problems of a config as one CONFIG error, a line each (`what path: problem`). */
export function configError(what: string, path: string, problems: string[]): TwinboxError {
  return new TwinboxError('CONFIG', problems.map((p) => `${what} ${path}: ${p}`).join('\n'));
}

/** Read, parse and check a config file; throws every problem at once. */
export function loadConfigFile<S extends z.ZodType>(schema: S, path: string, what: string): z.output<S> {
  const raw = readJsonFile(path, what);
  const problems = schemaProblems(schema, raw);
  if (problems.length > 0) throw configError(what, path, problems);
  return schema.parse(raw);
}
