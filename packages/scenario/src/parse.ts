/**
 * Reads a scenario file into a `Scenario`, or throws ScenarioFileError with
 * the line and the reason. It walks the YAML syntax tree (not plain JS
 * values) so every message can point at its line. Anything the format does
 * not define — an unknown key, step or operation — is an error, never ignored:
 * a scenario must not pass because part of it was skipped.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type YAMLMap } from 'yaml';
import {
  LABEL_OPS,
  LIST_KEYS,
  ScenarioFileError,
  type Expectation,
  type LabelOp,
  type ListKey,
  type MessageSpec,
  type Scenario,
  type SendSpec,
  type Side,
  type Step,
} from './model.js';

const LABEL = /^[A-Za-z0-9_-]+$/;
const MESSAGE_KEYS = ['label', 'date', 'from', 'to', 'subject', 'size', 'seen', 'flagged'] as const;

class Reader {
  private readonly created = new Map<string, number>();

  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  line(node: Node | null | undefined, fallback = 1): number {
    return node?.range ? this.lines.linePos(node.range[0]).line : fallback;
  }

  fail(node: Node | null | undefined, reason: string, fallback = 1): never {
    throw new ScenarioFileError(this.file, this.line(node, fallback), reason);
  }

  map(node: Node | null | undefined, what: string, fallback = 1): YAMLMap {
    if (!isMap(node)) this.fail(node, `${what} must be a mapping`, fallback);
    return node;
  }

  /** The entries of a mapping, checked against the allowed and the required keys. */
  entries(map: YAMLMap, what: string, allowed: readonly string[], required: readonly string[] = []): Map<string, { value: Node | null; line: number }> {
    const out = new Map<string, { value: Node | null; line: number }>();
    for (const pair of map.items) {
      const keyNode = pair.key as Node | null;
      const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
      if (key === undefined) this.fail(keyNode, `${what}: keys must be plain names`, this.line(map));
      if (!allowed.includes(key)) this.fail(keyNode, `${what}: unknown key "${key}" (allowed: ${allowed.join(', ')})`);
      out.set(key, { value: (pair.value as Node | null) ?? null, line: this.line(keyNode) });
    }
    for (const key of required) if (!out.has(key)) this.fail(map, `${what}: "${key}" is required`);
    return out;
  }

  scalar(node: Node | null, what: string, line: number): unknown {
    if (!isScalar(node)) this.fail(node, `${what} must be a single value`, line);
    return node.value;
  }

  string(node: Node | null, what: string, line: number): string {
    const v = this.scalar(node, what, line);
    if (typeof v !== 'string' || v === '') this.fail(node, `${what} must be a non-empty string`, line);
    return v;
  }

  int(node: Node | null, what: string, line: number, min: number): number {
    const v = this.scalar(node, what, line);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(node, `${what} must be an integer ≥ ${min}`, line);
    return v;
  }

  bool(node: Node | null, what: string, line: number): boolean {
    const v = this.scalar(node, what, line);
    if (typeof v !== 'boolean') this.fail(node, `${what} must be true or false`, line);
    return v;
  }

  date(node: Node | null, what: string, line: number): Date {
    const v = this.scalar(node, what, line);
    const date = typeof v === 'string' ? new Date(v) : v instanceof Date ? v : undefined;
    if (!date || Number.isNaN(date.getTime())) this.fail(node, `${what} must be a date and time, like 2024-03-01T10:00:00Z`, line);
    return date;
  }

  label(node: Node | null, what: string, line: number): string {
    const label = this.string(node, what, line);
    if (!LABEL.test(label)) this.fail(node, `${what} "${label}" may hold only letters, digits, - and _`, line);
    return label;
  }

  /** A label used by a step or an expectation: it must have been created before. */
  known(node: Node | null, what: string, line: number): string {
    const label = this.label(node, what, line);
    if (!this.created.has(label)) this.fail(node, `${what}: label "${label}" was never created before this point`, line);
    return label;
  }

  create(label: string, line: number): void {
    const first = this.created.get(label);
    if (first !== undefined) throw new ScenarioFileError(this.file, line, `label "${label}" was created already (line ${first})`);
    this.created.set(label, line);
  }

  message(node: Node | null, what: string, line: number, extraKeys: readonly string[] = [], extraRequired: readonly string[] = []): { spec: MessageSpec; entries: Map<string, { value: Node | null; line: number }> } {
    const map = this.map(node, what, line);
    const e = this.entries(map, what, [...MESSAGE_KEYS, ...extraKeys], ['label', ...extraRequired]);
    const at = (k: string) => e.get(k)!;
    const spec: MessageSpec = { label: this.label(at('label').value, `${what} label`, at('label').line), line: this.line(map, line) };
    if (e.has('date')) spec.date = this.date(at('date').value, `${what} date`, at('date').line);
    for (const k of ['from', 'to', 'subject'] as const) if (e.has(k)) spec[k] = this.string(at(k).value, `${what} ${k}`, at(k).line);
    if (e.has('size')) spec.size = this.int(at('size').value, `${what} size`, at('size').line, 0);
    for (const k of ['seen', 'flagged'] as const) if (e.has(k)) spec[k] = this.bool(at(k).value, `${what} ${k}`, at(k).line);
    return { spec, entries: e };
  }

  messageList(node: Node | null, what: string, line: number): MessageSpec[] {
    if (node === null) return [];
    if (!isSeq(node)) this.fail(node, `${what} must be a list of messages`, line);
    return node.items.map((item, i) => this.message(item as Node, `${what}[${i}]`, this.line(node)).spec);
  }

  labelList(node: Node | null, what: string, line: number): string[] {
    if (node === null) return [];
    if (!isSeq(node)) this.fail(node, `${what} must be a list of labels`, line);
    return node.items.map((item) => this.known(item as Node, what, this.line(node)));
  }

  labelMap(node: Node | null, what: string, line: number): Record<string, boolean> {
    const map = this.map(node, what, line);
    const out: Record<string, boolean> = {};
    for (const pair of map.items) {
      const key = pair.key as Node | null;
      const label = this.known(key, what, this.line(map));
      out[label] = this.bool((pair.value as Node | null) ?? null, `${what}.${label}`, this.line(key));
    }
    return out;
  }
}

function parseExpectation(r: Reader, node: Node | null, line: number): Expectation {
  const e = r.entries(r.map(node, 'expect', line), 'expect', [...LIST_KEYS, 'seen', 'flagged', 'smtpDelivered', 'window']);
  const expectation: Expectation = { lists: {} };
  for (const [key, { value, line: l }] of e) {
    if ((LIST_KEYS as readonly string[]).includes(key)) expectation.lists[key as ListKey] = r.labelList(value, `expect ${key}`, l);
    else if (key === 'seen' || key === 'flagged') expectation[key] = r.labelMap(value, `expect ${key}`, l);
    else if (key === 'smtpDelivered') expectation.smtpDelivered = r.labelList(value, 'expect smtpDelivered', l);
    else if (r.string(value, 'expect window', l) !== 'ok') r.fail(value, 'expect window: the only value is "ok"', l);
    else expectation.window = 'ok';
  }
  if (e.size === 0) r.fail(node, 'expect: nothing to check', line);
  return expectation;
}

function parseSideStep(r: Reader, side: Side, node: Node | null, line: number): Step {
  const ops = side === 'desktop' ? ['deliver', ...LABEL_OPS] : ['deliver', ...LABEL_OPS, 'send', 'syncNow'];
  const map = r.map(node, `${side} step`, line);
  if (map.items.length !== 1) r.fail(map, `a ${side} step has exactly one operation (${ops.join(', ')})`);
  const e = r.entries(map, `${side} step`, ops);
  const [op, { value, line: l }] = [...e][0]!;
  if (op === 'deliver') {
    const { spec } = r.message(value, `${side} deliver`, l);
    r.create(spec.label, l);
    return { kind: 'deliver', side, message: spec, line: l };
  }
  if (op === 'send') {
    const { spec, entries } = r.message(value, 'phone send', l, ['viaSync'], ['to']);
    const viaSync = entries.has('viaSync') ? r.bool(entries.get('viaSync')!.value, 'phone send viaSync', entries.get('viaSync')!.line) : false;
    r.create(spec.label, l);
    const send: SendSpec = { ...spec, viaSync };
    return { kind: 'send', message: send, line: l };
  }
  if (op === 'syncNow') {
    if (r.bool(value, 'phone syncNow', l) !== true) r.fail(value, 'phone syncNow must be true', l);
    return { kind: 'syncNow', line: l };
  }
  return { kind: 'labelOp', side, op: op as LabelOp, label: r.known(value, `${side} ${op}`, l), line: l };
}

function parseStep(r: Reader, node: Node | null, seqLine: number): Step {
  const line = r.line(node, seqLine);
  if (isScalar(node)) {
    if (node.value === 'sync') return { kind: 'sync', line };
    r.fail(node, `unknown step "${String(node.value)}"`);
  }
  const map = r.map(node, 'step', line);
  if (map.items.length !== 1) r.fail(map, 'a step has exactly one key: sync, desktop, phone, waitForSync, expect, crash or restartImap');
  const e = r.entries(map, 'step', ['sync', 'desktop', 'phone', 'waitForSync', 'expect', 'crash', 'restartImap']);
  const [kind, { value, line: l }] = [...e][0]!;
  switch (kind) {
    case 'sync':
      if (value !== null && !(isScalar(value) && (value.value === true || value.value === null))) r.fail(value, 'sync takes no options', l);
      return { kind: 'sync', line: l };
    case 'desktop':
    case 'phone':
      return parseSideStep(r, kind, value, l);
    case 'waitForSync': {
      if (value === null || (isScalar(value) && value.value === null)) return { kind: 'waitForSync', timeoutMs: 10_000, line: l };
      const w = r.entries(r.map(value, 'waitForSync', l), 'waitForSync', ['timeoutMs']);
      const t = w.get('timeoutMs');
      return { kind: 'waitForSync', timeoutMs: t ? r.int(t.value, 'waitForSync timeoutMs', t.line, 1) : 10_000, line: l };
    }
    case 'expect':
      return { kind: 'expect', expectation: parseExpectation(r, value, l), line: l };
    case 'crash': {
      const c = r.entries(r.map(value, 'crash', l), 'crash', ['who', 'during', 'at'], ['who']);
      const who = r.string(c.get('who')!.value, 'crash who', c.get('who')!.line);
      if (who !== 'agent' && who !== 'server') r.fail(c.get('who')!.value, 'crash who must be agent or server');
      if (c.has('during') && r.string(c.get('during')!.value, 'crash during', c.get('during')!.line) !== 'sync') r.fail(c.get('during')!.value, 'crash during: the only value is "sync"');
      let at: 'random' | number = 'random';
      const atEntry = c.get('at');
      if (atEntry) {
        const raw = r.scalar(atEntry.value, 'crash at', atEntry.line);
        at = raw === 'random' ? 'random' : r.int(atEntry.value, 'crash at (random or a frame number)', atEntry.line, 1);
      }
      return { kind: 'crash', who, at, line: l };
    }
    default:
      if (r.bool(value, 'restartImap', l) !== true) r.fail(value, 'restartImap must be true', l);
      return { kind: 'restartImap', line: l };
  }
}

export function parseScenario(file: string, text: string): Scenario {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first) throw new ScenarioFileError(file, lines.linePos(first.pos[0]).line, `not valid YAML: ${first.message.split('\n')[0]}`);
  const r: Reader = new Reader(file, lines);
  const top = r.entries(r.map(doc.contents as Node | null, 'the scenario'), 'the scenario', ['name', 'window', 'options', 'desktop', 'phone', 'steps'], ['name', 'window', 'steps']);
  const get = (k: string) => top.get(k);

  const options = { unreadFirst: false, conflictPolicy: 'desktop' as 'desktop' | 'phone' };
  const o = get('options');
  if (o) {
    const e = r.entries(r.map(o.value, 'options', o.line), 'options', ['unreadFirst', 'conflictPolicy']);
    if (e.has('unreadFirst')) options.unreadFirst = r.bool(e.get('unreadFirst')!.value, 'options.unreadFirst', e.get('unreadFirst')!.line);
    if (e.has('conflictPolicy')) {
      const p = r.string(e.get('conflictPolicy')!.value, 'options.conflictPolicy', e.get('conflictPolicy')!.line);
      if (p !== 'desktop' && p !== 'phone') r.fail(e.get('conflictPolicy')!.value, 'options.conflictPolicy must be desktop or phone');
      options.conflictPolicy = p;
    }
  }

  const desktop = { inbox: [] as MessageSpec[], trash: [] as MessageSpec[], sent: [] as MessageSpec[] };
  const d = get('desktop');
  if (d) {
    const e = r.entries(r.map(d.value, 'desktop', d.line), 'desktop', ['inbox', 'trash', 'sent']);
    for (const folder of ['inbox', 'trash', 'sent'] as const) {
      const f = e.get(folder);
      if (f) desktop[folder] = r.messageList(f.value, `desktop.${folder}`, f.line);
    }
  }
  const phone = { inbox: [] as MessageSpec[] };
  const p = get('phone');
  if (p) {
    const e = r.entries(r.map(p.value, 'phone', p.line), 'phone', ['inbox']);
    const f = e.get('inbox');
    if (f) phone.inbox = r.messageList(f.value, 'phone.inbox', f.line);
  }
  // Initial labels: unique on each side; one label on both sides is one message present on both.
  const desktopLabels = [...desktop.inbox, ...desktop.trash, ...desktop.sent];
  for (const m of desktopLabels) r.create(m.label, m.line);
  const shared = new Set(desktopLabels.map((m) => m.label));
  const phoneSeen = new Set<string>();
  for (const m of phone.inbox) {
    if (phoneSeen.has(m.label)) throw new ScenarioFileError(file, m.line, `label "${m.label}" is twice in phone.inbox`);
    phoneSeen.add(m.label);
    if (!shared.has(m.label)) r.create(m.label, m.line);
  }

  const window = r.int(get('window')!.value, 'window', get('window')!.line, 1);
  const stepsEntry = get('steps')!;
  if (!isSeq(stepsEntry.value)) r.fail(stepsEntry.value, 'steps must be a list', stepsEntry.line);
  const steps = stepsEntry.value.items.map((item) => parseStep(r, item as Node, stepsEntry.line));
  if (steps.length === 0) r.fail(stepsEntry.value, 'steps must not be empty', stepsEntry.line);
  return { file, name: r.string(get('name')!.value, 'name', get('name')!.line), window, options, desktop, phone, steps };
}

