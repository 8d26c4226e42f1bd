/**
 * The rules tool (`npm run rules -- <command>`), as a function of argv and io so tests can run it.
 *
 * Which DynamoDB, in this order:
 *   1. DYNAMODB_ENDPOINT when set (table: RULES_TABLE, else the local name `klarna-local-rules`);
 *   2. the local one of a running `npm start`, found through its state file `.local/dynamodb.json`
 *      (used only while the process that wrote it is alive);
 *   3. AWS, with the usual AWS environment (AWS_REGION, AWS_PROFILE, …) and RULES_TABLE, or else the
 *      `RulesTableName` output of the deployed stack (`KlarnaServerless`, or KLARNA_STACK_NAME).
 * It always says on stderr which one and which table.
 */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseRulesDocument, rulesJsonSchema, type RulesIssue } from '../../functions/kco/rules.js';
import { deleteRules, getRules, isRulesScope, listScopes, putRules } from '../../functions/shared/rules-store.js';
import { rulesHistoryTable, rulesTable } from '../../lib/tables.js';
import { runHistoryCommand, type HistoryCommand } from './rules-history.js';
import { isProcessAlive, localStatePath, localTableName, readLocalState } from './start.js';

export type RulesCliIo = {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Environment to decide the target from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Project root, where `.local/dynamodb.json` lives (default: process.cwd(), where npm runs scripts). */
  cwd?: string;
};

export const STACK_NAME = 'KlarnaServerless';
export const RULES_TABLE_OUTPUT = 'RulesTableName';
export const RULES_HISTORY_TABLE_OUTPUT = 'RulesHistoryTableName';

const USAGE = `Usage: npm run rules -- <command>

  put FILE.json [--scope SCOPE]   validate FILE.json and store it (scope: "default" unless given)
  get SCOPE                       print the rules stored for SCOPE
  list                            list the stored scopes
  delete SCOPE                    delete the rules of SCOPE
  schema                          print the JSON Schema of a rules document
  history SCOPE                   list SCOPE's versions: the current one and those it replaced
  diff SCOPE [VERSION]            what changed from VERSION (default: the previous one) to the current
  rollback SCOPE [--to VERSION]   store VERSION again (default: the newest earlier valid one), checked
                                  as by put, as a new version: the history is never rewritten

Scopes: "default" (store-wide) and "order#<order_id>" (one order; its fields win).
DynamoDB: DYNAMODB_ENDPOINT if set; else the one of a running \`npm start\`; else AWS
(AWS_REGION / AWS_PROFILE, table from RULES_TABLE or the stack output RulesTableName; the
history from RULES_HISTORY_TABLE or the stack output RulesHistoryTableName).
`;

/** Exit codes: 0 done, 1 failed (bad input, not found, DynamoDB error), 2 usage error. */
type ExitCode = 0 | 1 | 2;

type Target = {
  description: string;
  table: string;
  client: DynamoDBDocumentClient;
  /** The rules history (history, diff, rollback); undefined where it could not be found. */
  historyTable?: string;
  /** The same connection without the document client's conversions (the history keeps raw images). */
  plain: DynamoDBClient;
};

const formatIssue = (issue: RulesIssue): string => `${issue.scope}: ${issue.path}: ${issue.message}`;

const clientsFor = (endpoint: string | undefined, env: NodeJS.ProcessEnv): { client: DynamoDBDocumentClient; plain: DynamoDBClient } => {
  // A person is waiting, not Klarna: more patience than the Lambda's client, still bounded.
  const base = {
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 2000, requestTimeout: 10_000 },
  };
  const client =
    endpoint === undefined
      ? new DynamoDBClient(base)
      : new DynamoDBClient({
          ...base,
          endpoint,
          region: env.AWS_REGION ?? 'eu-north-1',
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
          maxAttempts: 1,
        });
  return { client: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }), plain: client };
};

const stackName = (env: NodeJS.ProcessEnv): string => env.KLARNA_STACK_NAME?.trim() || STACK_NAME;

/**
 * The rules and history tables' names from the deployed stack's outputs, when an AWS region is
 * configured; undefined (with a line saying why) when they cannot be read.
 */
const tablesFromStack = async (env: NodeJS.ProcessEnv, stderr: (text: string) => void): Promise<{ table?: string; history?: string } | undefined> => {
  // Loaded only here: the local paths never need the CloudFormation client.
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const cloudFormation = new CloudFormationClient({ maxAttempts: 2 });
  try {
    await cloudFormation.config.region();
  } catch {
    cloudFormation.destroy();
    return undefined; // No region: AWS is not configured here at all.
  }
  const name = stackName(env);
  try {
    const out = await cloudFormation.send(new DescribeStacksCommand({ StackName: name }), { abortSignal: AbortSignal.timeout(10_000) });
    const outputs = out.Stacks?.[0]?.Outputs ?? [];
    const table = outputs.find((o) => o.OutputKey === RULES_TABLE_OUTPUT)?.OutputValue;
    const history = outputs.find((o) => o.OutputKey === RULES_HISTORY_TABLE_OUTPUT)?.OutputValue;
    if (table) stderr(`Rules table ${table} from the "${RULES_TABLE_OUTPUT}" output of stack ${name}.\n`);
    return { ...(table ? { table } : {}), ...(history ? { history } : {}) };
  } catch (error) {
    stderr(`Could not read stack ${name}: ${error instanceof Error ? error.name : 'error'}.\n`);
    return undefined;
  } finally {
    cloudFormation.destroy();
  }
};

const resolveTarget = async (
  io: Required<Pick<RulesCliIo, 'stderr'>> & { env: NodeJS.ProcessEnv; cwd: string; needsHistory: boolean },
): Promise<Target | undefined> => {
  const { env } = io;
  const endpoint = env.DYNAMODB_ENDPOINT?.trim();
  const tableFromEnv = env.RULES_TABLE?.trim();
  const historyFromEnv = env.RULES_HISTORY_TABLE?.trim();
  if (endpoint) {
    const table = tableFromEnv || localTableName(rulesTable);
    const historyTable = historyFromEnv || localTableName(rulesHistoryTable);
    return { description: `DynamoDB at ${endpoint} (DYNAMODB_ENDPOINT)`, table, historyTable, ...clientsFor(endpoint, env) };
  }

  const stateFile = localStatePath(io.cwd);
  const state = await readLocalState(stateFile);
  if (state && isProcessAlive(state.pid)) {
    return {
      description: `local DynamoDB at ${state.endpoint} (from npm start, pid ${state.pid}, ${stateFile})`,
      table: state.rulesTable,
      historyTable: state.rulesHistoryTable ?? localTableName(rulesHistoryTable),
      ...clientsFor(state.endpoint, env),
    };
  }
  if (state) io.stderr(`Ignoring ${stateFile}: the npm start that wrote it (pid ${state.pid}) is not running.\n`);

  // The stack's outputs only for what the environment does not say (put/get/list/delete need no history).
  const fromStack = tableFromEnv && (historyFromEnv || !io.needsHistory) ? undefined : await tablesFromStack(env, io.stderr);
  const table = tableFromEnv || fromStack?.table;
  const historyTable = historyFromEnv || fromStack?.history;
  if (!table) {
    io.stderr(
      'No local DynamoDB found (npm start is not running and DYNAMODB_ENDPOINT is not set), RULES_TABLE is not set,\n' +
        `and the "${RULES_TABLE_OUTPUT}" output of the "${stackName(env)}" stack could not be read (AWS_REGION and credentials needed).\n` +
        "For AWS, set RULES_TABLE to the rules table's name, e.g.:\n" +
        `  export RULES_TABLE=$(aws cloudformation describe-stacks --stack-name ${stackName(env)} \\\n` +
        `    --query "Stacks[0].Outputs[?OutputKey=='${RULES_TABLE_OUTPUT}'].OutputValue" --output text)\n` +
        'For the local service, start it first with `npm start`.\n',
    );
    return undefined;
  }
  const { client, plain } = clientsFor(undefined, env);
  let region: string;
  try {
    region = await client.config.region();
  } catch {
    client.destroy();
    io.stderr('No AWS region configured: set AWS_REGION (or AWS_PROFILE with a region) to reach the rules table on AWS.\n');
    return undefined;
  }
  const profile = env.AWS_PROFILE ? `, profile ${env.AWS_PROFILE}` : '';
  return { description: `AWS DynamoDB in ${region}${profile}`, table, client, plain, ...(historyTable ? { historyTable } : {}) };
};

/** `--scope S` / `--scope=S` and `--to V` / `--to=V` anywhere after the command; the rest are positional. */
const parseArgs = (args: string[]): { positional: string[]; scope?: string; to?: string; error?: string } => {
  const positional: string[] = [];
  const options: { scope?: string; to?: string } = {};
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] as string;
    const option = (['scope', 'to'] as const).find((name) => arg === `--${name}` || arg.startsWith(`--${name}=`));
    if (option) {
      const inline = arg.startsWith(`--${option}=`) ? arg.slice(option.length + 3) : undefined;
      const value = inline ?? args[i + 1];
      if (value === undefined) return { positional, error: `--${option} needs a value` };
      options[option] = value;
      if (inline === undefined) i += 1;
    } else if (arg.startsWith('--')) {
      return { positional, error: `unknown option ${arg}` };
    } else {
      positional.push(arg);
    }
  }
  return { positional, ...options };
};

const whoAmI = (env: NodeJS.ProcessEnv): string => {
  try {
    return `rules tool (${userInfo().username})`;
  } catch {
    return `rules tool (${env.USER ?? 'unknown'})`;
  }
};

const reportInvalid = (io: RulesCliIo, issues: readonly RulesIssue[]): ExitCode => {
  io.stderr(`Not stored: the rules document has ${issues.length} problem(s):\n`);
  for (const issue of issues) io.stderr(`${formatIssue(issue)}\n`);
  return 1;
};

const usageError = (io: RulesCliIo, message: string): ExitCode => {
  io.stderr(`${message}\n\n${USAGE}`);
  return 2;
};

/** Run the rules tool; resolves to the process exit code. */
export const runRulesCli = async (argv: readonly string[], io: RulesCliIo): Promise<number> => {
  const env = io.env ?? process.env;
  const cwd = io.cwd ?? process.cwd();
  const [command, ...rest] = argv;
  const args = parseArgs(rest);
  if (args.error) return usageError(io, args.error);
  const { positional } = args;

  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout(USAGE);
      return command === undefined ? 2 : 0;
    case 'schema':
      if (positional.length > 0) return usageError(io, 'schema takes no arguments');
      io.stdout(`${JSON.stringify(rulesJsonSchema(), null, 2)}\n`);
      return 0;
    case 'put':
    case 'get':
    case 'list':
    case 'delete':
    case 'history':
    case 'diff':
    case 'rollback':
      break;
    default:
      return usageError(io, `unknown command "${command}"`);
  }

  const expected = command === 'list' ? [0] : command === 'diff' ? [1, 2] : [1];
  if (!expected.includes(positional.length)) {
    return usageError(
      io,
      command === 'list' ? 'list takes no arguments' : command === 'put' ? 'put needs one FILE.json' : command === 'diff' ? 'diff needs a SCOPE and at most one VERSION' : `${command} needs one SCOPE`,
    );
  }
  if (args.scope !== undefined && command !== 'put') return usageError(io, `--scope is for put; ${command} takes the scope as its argument`);
  if (args.to !== undefined && command !== 'rollback') return usageError(io, `--to is for rollback`);
  const versionArg = command === 'diff' ? positional[1] : args.to;
  if (versionArg !== undefined && !/^[1-9]\d{0,9}$/.test(versionArg)) return usageError(io, `a VERSION is a number from 1, as history lists them; got "${versionArg}"`);

  // Check the input before talking to any DynamoDB: a bad file fails the same everywhere, offline too.
  let document: unknown;
  let scope: string | undefined;
  if (command === 'put') {
    // npm runs scripts in the project root; INIT_CWD is where the user typed the command.
    const file = resolve(env.INIT_CWD ?? cwd, positional[0] as string);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      io.stderr(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`);
      return 1;
    }
    try {
      document = JSON.parse(text);
    } catch (error) {
      io.stderr(`${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    }
    scope = args.scope ?? 'default';
  } else if (command !== 'list') {
    scope = positional[0] as string;
  }
  if (scope !== undefined && !isRulesScope(scope)) {
    io.stderr(`${scope}: (scope): a scope is "default" or "order#<order_id>"\n`);
    return 1;
  }
  if (command === 'put') {
    const parsed = parseRulesDocument(scope as string, document);
    if (!parsed.ok) return reportInvalid(io, parsed.issues);
  }

  const needsHistory = command === 'history' || command === 'diff' || command === 'rollback';
  const target = await resolveTarget({ stderr: io.stderr, env, cwd, needsHistory });
  if (!target) return 1;
  io.stderr(`Using ${target.description}, table ${target.table}\n`);
  const { client, table } = target;

  try {
    if (needsHistory) {
      if (!target.historyTable) {
        io.stderr(`The rules history table is not known: set RULES_HISTORY_TABLE (the stack output ${RULES_HISTORY_TABLE_OUTPUT}).\n`);
        return 1;
      }
      const historyCommand: HistoryCommand =
        command === 'history'
          ? { command, scope: scope as string }
          : { command, scope: scope as string, ...(versionArg === undefined ? {} : { version: Number(versionArg) }) };
      return await runHistoryCommand(historyCommand, {
        client,
        plain: target.plain,
        table,
        historyTable: target.historyTable,
        updatedBy: whoAmI(env),
        stdout: io.stdout,
        stderr: io.stderr,
      });
    }
    switch (command) {
      case 'put': {
        const result = await putRules(client, table, scope as string, document, { updatedBy: whoAmI(env) });
        if (!result.ok) return reportInvalid(io, result.issues);
        io.stdout(`Stored rules for scope ${scope as string} (${Object.keys(result.rules).length} field(s)).\n`);
        return 0;
      }
      case 'get': {
        const stored = await getRules(client, table, scope as string);
        if (!stored) {
          io.stderr(`No rules stored for scope ${scope as string}.\n`);
          return 1;
        }
        io.stdout(`${JSON.stringify(stored.document, null, 2)}\n`);
        if (stored.updatedAt) io.stderr(`Updated ${stored.updatedAt}${stored.updatedBy ? ` by ${stored.updatedBy}` : ''}.\n`);
        if (!stored.parsed.ok) {
          io.stderr(`Warning: this document does not validate; callbacks using it fail closed:\n`);
          for (const issue of stored.parsed.issues) io.stderr(`${formatIssue(issue)}\n`);
        }
        return 0;
      }
      case 'list': {
        const scopes = await listScopes(client, table);
        for (const entry of scopes) {
          io.stdout(`${[entry.scope, entry.updatedAt ?? '-', entry.updatedBy ?? '-'].join('\t')}\n`);
        }
        io.stderr(`${scopes.length} scope(s).\n`);
        return 0;
      }
      case 'delete': {
        const deleted = await deleteRules(client, table, scope as string);
        if (!deleted) {
          io.stderr(`No rules stored for scope ${scope as string}; nothing deleted.\n`);
          return 1;
        }
        io.stdout(`Deleted rules for scope ${scope as string}.\n`);
        return 0;
      }
    }
  } catch (error) {
    const name = error instanceof Error ? error.name : typeof error;
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`DynamoDB request failed (${target.description}, table ${table}): ${name}: ${message}\n`);
    if (name === 'ResourceNotFoundException') io.stderr(`Table ${table} does not exist there: check RULES_TABLE.\n`);
    return 1;
  } finally {
    client.destroy();
  }
  return 1;
};
