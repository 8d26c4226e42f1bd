/**
 * The rules editor. Its fields come from the JSON Schema `npm run rules -- schema` prints (so a
 * new rules field shows up by itself); the checking is the server's: the very parse the rules
 * tool and the callbacks use. This page only reads JSON typed into a field, and shows each problem
 * at the field it names. Saving goes through the rules tool's own write, which refuses an invalid
 * document: nothing invalid is stored.
 */
import { api, byId, debounce, el, isObject } from './dom.js';

type JsonSchema = {
  type?: string | string[];
  description?: string;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
};
type Issue = { scope: string; path: string; message: string };
type Stored = { scope: string; stored: boolean; document: Record<string, unknown>; issues: Issue[]; updated_at?: string; updated_by?: string };
type Checked = { ok: boolean; issues: Issue[] };
type Version = {
  version: number;
  current: boolean;
  present: boolean;
  valid: boolean;
  issues: Issue[];
  updated_at?: string;
  updated_by?: string;
  replaced_at?: string;
  changes: string[];
};
type History = { scope: string; versions: Version[]; lagging?: string };
type Restored = { ok: boolean; restored?: number; message?: string; issues?: Issue[] };

type Kind = 'boolean' | 'integer' | 'enum' | 'string' | 'json';
type Field = { name: string; kind: Kind; control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement; error: HTMLElement };

const NOT_SET = '';
const fields: Field[] = [];
/** Fields of a stored document the schema does not know: kept, so the check reports them. */
let unknownFields: Record<string, unknown> = {};
let scopeOf: () => string = () => 'default';

const kindOf = (schema: JsonSchema): Kind => {
  if (schema.type === 'boolean') return 'boolean';
  if (schema.type === 'integer' || schema.type === 'number') return 'integer';
  if (schema.type === 'string') return Array.isArray(schema.enum) ? 'enum' : 'string';
  return 'json';
};

const buildField = (name: string, schema: JsonSchema): HTMLElement => {
  const kind = kindOf(schema);
  const id = `rules-field-${name}`;
  const errorId = `${id}-error`;
  const helpId = `${id}-help`;
  const described = [schema.description ? helpId : undefined, errorId].filter(Boolean).join(' ');
  let control: Field['control'];
  if (kind === 'boolean' || kind === 'enum') {
    const values = kind === 'boolean' ? ['true', 'false'] : (schema.enum ?? []).map(String);
    control = el('select', { id, 'aria-describedby': described }, el('option', { value: NOT_SET }, '(not set)'), ...values.map((v) => el('option', { value: v }, v)));
  } else if (kind === 'json') {
    control = el('textarea', { id, rows: '3', spellcheck: 'false', 'aria-describedby': described, placeholder: '(not set) JSON' });
  } else {
    control = el('input', { id, type: 'text', autocomplete: 'off', 'aria-describedby': described, ...(kind === 'integer' ? { inputmode: 'numeric' } : {}) });
  }
  const error = el('p', { id: errorId, class: 'error' });
  fields.push({ name, kind, control, error });
  const edited = (): void => {
    byId('rules-status').textContent = ''; // "Saved" no longer describes what the form shows
    scheduleCheck();
  };
  control.addEventListener('input', edited);
  control.addEventListener('change', edited);
  return el('div', { class: 'field' }, el('label', { for: id }, name), schema.description ? el('p', { id: helpId, class: 'help' }, schema.description) : null, control, error);
};

const showValue = (field: Field, value: unknown): void => {
  if (value === undefined) field.control.value = NOT_SET;
  else if (field.kind === 'json') {
    field.control.value = JSON.stringify(value, null, 2);
    (field.control as HTMLTextAreaElement).rows = Math.min(8, Math.max(2, field.control.value.split('\n').length));
  } else field.control.value = String(value);
};

/** The document the form describes, or the fields whose JSON does not parse. */
const collect = (): { document: Record<string, unknown>; unreadable: Issue[] } => {
  const document: Record<string, unknown> = { ...unknownFields };
  const unreadable: Issue[] = [];
  for (const field of fields) {
    const raw = field.control.value.trim();
    if (raw === NOT_SET) continue;
    if (field.kind === 'boolean') document[field.name] = raw === 'true';
    // A number when it reads as one; anything else goes as typed and the schema says what is wrong.
    else if (field.kind === 'integer') document[field.name] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
    else if (field.kind === 'json') {
      try {
        document[field.name] = JSON.parse(raw) as unknown;
      } catch (error) {
        unreadable.push({ scope: scopeOf(), path: field.name, message: `not valid JSON (${error instanceof Error ? error.message : 'parse error'})` });
      }
    } else document[field.name] = raw;
  }
  return { document, unreadable };
};

/** `shipping_options[0].price` belongs to the field `shipping_options`. */
const fieldOf = (path: string): Field | undefined => fields.find((f) => f.name === path.split(/[.[]/)[0]);

const showIssues = (issues: readonly Issue[]): void => {
  for (const field of fields) {
    field.error.textContent = '';
    field.control.removeAttribute('aria-invalid');
  }
  const elsewhere: string[] = [];
  for (const issue of issues) {
    const field = fieldOf(issue.path);
    if (!field) {
      elsewhere.push(`${issue.path}: ${issue.message}`);
      continue;
    }
    field.control.setAttribute('aria-invalid', 'true');
    const text = issue.path === field.name ? issue.message : `${issue.path}: ${issue.message}`;
    field.error.textContent = field.error.textContent ? `${field.error.textContent}; ${text}` : text;
  }
  const problems = byId('rules-problems');
  problems.replaceChildren(
    ...(issues.length ? [el('p', {}, `${issues.length} problem(s) against the rules schema; nothing is saved until they are fixed.`)] : []),
    ...elsewhere.map((line) => el('p', {}, line)),
  );
};

let checks = 0;
const check = async (): Promise<Checked> => {
  const mine = (checks += 1);
  const { document, unreadable } = collect();
  const result: Checked = unreadable.length
    ? { ok: false, issues: unreadable }
    : (await api<Checked>(`/playground/api/rules?scope=${encodeURIComponent(scopeOf())}`, { method: 'POST', body: { document } })).body;
  if (mine === checks) showIssues(result.issues); // an older answer must not overwrite a newer one
  return result;
};
const scheduleCheck = debounce(400, () => {
  void check().catch((error: unknown) => (byId('rules-status').textContent = `Check failed: ${String(error)}`));
});

/** The scope's versions, newest first; an earlier valid one has a button that restores it. */
const showHistory = (history: History): void => {
  byId('rules-history').replaceChildren(
    ...history.versions.map((v) =>
      el(
        'li',
        { 'data-version': String(v.version) },
        el('strong', {}, `Version ${v.version}${v.current ? ' (current)' : ''}: `),
        el('span', { class: v.present && !v.valid ? 'invalid' : undefined }, !v.present ? 'deleted' : v.valid ? 'valid' : `invalid (${v.issues.map((i) => `${i.path}: ${i.message}`).join('; ')})`),
        el(
          'p',
          { class: 'help' },
          [v.updated_at ? `written ${v.updated_at}${v.updated_by ? ` by ${v.updated_by}` : ''}` : 'written directly to the table', v.replaced_at ? `replaced ${v.replaced_at}` : ''].filter(Boolean).join(', '),
        ),
        v.changes.length ? el('ul', { class: 'changes', 'aria-label': `What version ${v.version} changed` }, ...v.changes.map((line) => el('li', {}, line))) : null,
        !v.current && v.present && v.valid ? restoreButton(v.version) : null,
      ),
    ),
  );
  byId('rules-history-note').textContent = history.lagging ?? (history.versions.length ? '' : 'Nothing stored for this scope yet.');
};

const loadHistory = async (): Promise<History> => {
  const { body } = await api<History>(`/playground/api/rules/history?scope=${encodeURIComponent(scopeOf())}`);
  showHistory(body);
  return body;
};

/**
 * The local checker records a write a moment after it lands (it reads the table's stream, as the
 * deployed one does): ask again until the history shows a newer current version, a few seconds at most.
 */
const followHistory = async (after: number): Promise<void> => {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const history = await loadHistory();
    if ((history.versions.find((v) => v.current)?.version ?? 0) > after) return;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
};

const currentVersion = (): number => Number(document.querySelector('#rules-history > li:first-child')?.getAttribute('data-version') ?? '0');

const restoreButton = (version: number): HTMLButtonElement => {
  const button = el('button', { type: 'button', class: 'restore', 'data-version': String(version) }, `Restore version ${version}`);
  button.addEventListener('click', () => void restore(version).catch((error: unknown) => (byId('rules-status').textContent = `Restore failed: ${String(error)}`)));
  return button;
};

const restore = async (version: number): Promise<void> => {
  const before = currentVersion();
  const { status, body } = await api<Restored>(`/playground/api/rules/restore?scope=${encodeURIComponent(scopeOf())}`, { method: 'POST', body: { version } });
  if (status !== 200) {
    byId('rules-status').textContent = `Not restored: ${body.message ?? 'refused'}`;
    return;
  }
  await loadRules();
  byId('rules-status').textContent = `Restored version ${version} of ${scopeOf()} as a new version.`;
  await followHistory(before);
};

export const loadRules = async (): Promise<void> => {
  const scope = scopeOf();
  const { body } = await api<Stored>(`/playground/api/rules?scope=${encodeURIComponent(scope)}`);
  const known = new Set(fields.map((f) => f.name));
  unknownFields = Object.fromEntries(Object.entries(body.document).filter(([key]) => !known.has(key)));
  for (const field of fields) showValue(field, body.document[field.name]);
  byId('rules-stored').textContent = body.stored
    ? `Stored for ${scope}${body.updated_at ? `, updated ${body.updated_at}` : ''}${body.updated_by ? ` by ${body.updated_by}` : ''}.`
    : `Nothing stored for ${scope}: ${scope === 'default' ? 'callbacks fail closed without rules' : 'the default rules apply as they are'}.`;
  byId('rules-status').textContent = '';
  showIssues(body.issues);
  await loadHistory();
};

const save = async (): Promise<void> => {
  const status = byId('rules-status');
  const checked = await check();
  if (!checked.ok) {
    status.textContent = `Not saved: ${checked.issues.length} problem(s).`;
    return;
  }
  const { document } = collect();
  const before = currentVersion();
  const { status: code, body } = await api<Checked>(`/playground/api/rules?scope=${encodeURIComponent(scopeOf())}`, { method: 'PUT', body: { document } });
  showIssues(body.issues);
  status.textContent = code === 200 ? `Saved ${scopeOf()} to the local DynamoDB.` : `Not saved: ${body.issues.length} problem(s).`;
  if (code === 200) await followHistory(before);
};

export const initRules = async (scope: () => string): Promise<void> => {
  scopeOf = scope;
  const { body: schema } = await api<JsonSchema>('/playground/api/rules/schema');
  const container = byId('rules-fields');
  container.replaceChildren(...Object.entries(isObject(schema.properties) ? schema.properties : {}).map(([name, property]) => buildField(name, property)));
  byId('rules-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void save().catch((error: unknown) => (byId('rules-status').textContent = `Save failed: ${String(error)}`));
  });
  byId('rules-scope').addEventListener('change', () => void loadRules());
  byId('rules-reload').addEventListener('click', () => void loadRules());
  await loadRules();
};
