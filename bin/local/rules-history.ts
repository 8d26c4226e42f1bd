/**
 * A scope's versions, what changed, and putting an earlier one back: for the rules tool's
 * `history`, `diff` and `rollback` and for the playground's history. The versions are the rules
 * checker's (functions/rules/history-store.ts): the current item is the scope's latest version,
 * the history table holds the ones it replaced.
 *
 * A rollback is an ordinary write through the rules tool's own `putRules` (the callbacks' parse
 * first; nothing invalid is stored): the checker records it as a new version, so history is never
 * rewritten.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ParsedRules, RulesIssue } from '../../functions/kco/rules.js';
import { getRules, putRules, type RulesWriteClient } from '../../functions/shared/rules-store.js';
import { diffDocuments, formatChanges } from '../../functions/rules/diff.js';
import { readHistory, type HistoryEntry, type RecordedHead } from '../../functions/rules/history-store.js';

export type HistoryDeps = {
  client: RulesWriteClient;
  plain: Pick<DynamoDBClient, 'send'>;
  table: string;
  historyTable: string;
};

/** One version of a scope, the current one or one it replaced. */
export type ScopeVersion = {
  version: number;
  current: boolean;
  /** False: this version was a deletion (no item). */
  present: boolean;
  document?: Record<string, unknown>;
  parsed?: ParsedRules;
  updatedAt?: string;
  updatedBy?: string;
  /** When it was replaced (not for the current version). */
  replacedAt?: string;
};

export type ScopeVersions = {
  scope: string;
  /** Newest first; the current version first of all (absent when nothing was ever stored). */
  versions: ScopeVersion[];
  /** Set when the table and the history disagree: the checker has not recorded the latest write yet. */
  lagging?: string;
};

const fromEntry = (entry: HistoryEntry): ScopeVersion => ({
  version: entry.version,
  current: false,
  present: entry.image !== undefined,
  replacedAt: entry.replacedAt,
  ...(entry.image
    ? {
        document: entry.image.document,
        parsed: entry.image.parsed,
        ...(entry.image.updatedAt ? { updatedAt: entry.image.updatedAt } : {}),
        ...(entry.image.updatedBy ? { updatedBy: entry.image.updatedBy } : {}),
      }
    : {}),
});

const lagOf = (head: RecordedHead | undefined, present: boolean): string | undefined =>
  head && head.present !== present
    ? `The history says the scope is ${head.present ? 'stored' : 'deleted'} but the table says otherwise: the rules checker has not recorded the latest write yet (is it running? npm start runs it locally).`
    : undefined;

/** The scope's current version (from the table) and the versions it replaced (from the history). */
export const scopeVersions = async (deps: HistoryDeps, scope: string): Promise<ScopeVersions> => {
  const [stored, history] = await Promise.all([getRules(deps.client, deps.table, scope), readHistory(deps.plain, deps.historyTable, scope)]);
  const versions = history.entries.map(fromEntry);
  const currentNumber = history.head?.latestVersion ?? (stored ? 1 : undefined);
  if (currentNumber !== undefined) {
    versions.unshift({
      version: currentNumber,
      current: true,
      present: stored !== undefined,
      ...(stored
        ? {
            document: stored.document,
            parsed: stored.parsed,
            ...(stored.updatedAt ? { updatedAt: stored.updatedAt } : {}),
            ...(stored.updatedBy ? { updatedBy: stored.updatedBy } : {}),
          }
        : {}),
    });
  }
  const lagging = lagOf(history.head, stored !== undefined);
  return { scope, versions, ...(lagging ? { lagging } : {}) };
};

export type RollbackResult =
  | { ok: true; restored: number; replaced: number }
  | { ok: false; reason: 'nothing_to_restore' | 'not_found' | 'current' | 'deleted_version'; message: string }
  | { ok: false; reason: 'invalid'; message: string; issues: RulesIssue[] };

/**
 * Store `version` (default: the newest earlier version that validates) again, through putRules.
 * Refused: the current version itself, a version that was a deletion, one that does not validate.
 */
export const rollbackScope = async (deps: HistoryDeps, scope: string, version: number | undefined, updatedBy: string): Promise<RollbackResult> => {
  const { versions } = await scopeVersions(deps, scope);
  const current = versions.find((v) => v.current);
  const earlier = versions.filter((v) => !v.current);
  const chosen = version === undefined ? earlier.find((v) => v.present && v.parsed?.ok) : versions.find((v) => v.version === version);
  if (!chosen) {
    return version === undefined
      ? { ok: false, reason: 'nothing_to_restore', message: `No earlier valid version of ${scope} is in the history.` }
      : { ok: false, reason: 'not_found', message: `Version ${version} of ${scope} is not in the history (it may have expired).` };
  }
  if (chosen.current) return { ok: false, reason: 'current', message: `Version ${chosen.version} is the current version of ${scope}.` };
  if (!chosen.present || !chosen.document) {
    return { ok: false, reason: 'deleted_version', message: `Version ${chosen.version} of ${scope} was a deletion: use \`npm run rules -- delete ${scope}\` for that.` };
  }
  const written = await putRules(deps.client, deps.table, scope, chosen.document, { updatedBy: `${updatedBy}, rollback to version ${chosen.version}` });
  if (!written.ok) return { ok: false, reason: 'invalid', message: `Version ${chosen.version} of ${scope} does not validate; not restored.`, issues: written.issues };
  return { ok: true, restored: chosen.version, replaced: current?.version ?? 0 };
};

export type HistoryCommand = { command: 'history'; scope: string } | { command: 'diff' | 'rollback'; scope: string; version?: number };

type Io = { stdout(text: string): void; stderr(text: string): void };

const stateOf = (v: ScopeVersion): string =>
  !v.present ? 'deleted' : v.parsed?.ok ? 'valid' : `INVALID (${v.parsed?.issues.length ?? 0} problem(s): callbacks fail closed)`;

const describe = (scope: string, v: ScopeVersion | undefined): string =>
  v ? `${scope} version ${v.version}${v.current ? ' (current)' : v.replacedAt ? ` (replaced ${v.replacedAt})` : ''}${v.present ? '' : ', deleted'}` : `${scope} (nothing)`;

/** `history`, `diff`, `rollback` of the rules tool; resolves to the exit code. */
export const runHistoryCommand = async (command: HistoryCommand, deps: HistoryDeps & Io & { updatedBy: string }): Promise<number> => {
  const { scope } = command;
  if (command.command === 'rollback') {
    const result = await rollbackScope(deps, scope, command.version, deps.updatedBy);
    if (!result.ok) {
      deps.stderr(`${result.message}\n`);
      if (result.reason === 'invalid') for (const issue of result.issues) deps.stderr(`${issue.scope}: ${issue.path}: ${issue.message}\n`);
      return 1;
    }
    deps.stdout(`Restored version ${result.restored} of ${scope} as a new version (it replaces version ${result.replaced}; the history keeps both).\n`);
    return 0;
  }

  const { versions, lagging } = await scopeVersions(deps, scope);
  if (lagging) deps.stderr(`Note: ${lagging}\n`);
  if (versions.length === 0) {
    deps.stderr(`No rules stored for ${scope} and no history.\n`);
    return 1;
  }

  if (command.command === 'history') {
    deps.stdout(`${['version', 'state', 'written', 'by', 'replaced'].join('\t')}\n`);
    for (const v of versions) {
      deps.stdout(`${[String(v.version) + (v.current ? ' (current)' : ''), stateOf(v), v.updatedAt ?? '-', v.updatedBy ?? '-', v.replacedAt ?? '-'].join('\t')}\n`);
    }
    deps.stderr(`${versions.length} version(s) of ${scope}; earlier ones expire from the history after its retention (90 days unless configured).\n`);
    return 0;
  }

  const current = versions.find((v) => v.current);
  const fromVersion = command.version ?? (current ? current.version - 1 : undefined);
  const from = versions.find((v) => v.version === fromVersion);
  if (!from) {
    deps.stderr(`Version ${String(fromVersion)} of ${scope} is not in the history (it may have expired, or there is no earlier version).\n`);
    return 1;
  }
  deps.stdout(`--- ${describe(scope, from)}\n+++ ${describe(scope, current)}\n`);
  // A deletion compares as an empty document: every field removed (or added back).
  const changes = diffDocuments(from.present ? from.document : {}, current?.present ? current.document : {});
  if (changes.length === 0) deps.stdout('(no change to the rules)\n');
  for (const line of formatChanges(changes)) deps.stdout(`${line}\n`);
  if (current?.parsed && !current.parsed.ok) {
    deps.stdout(`The current version does not validate:\n`);
    for (const issue of current.parsed.issues) deps.stdout(`  ${issue.path}: ${issue.message}\n`);
  }
  return 0;
};
