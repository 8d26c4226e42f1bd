/**
 * The operator's orders tool (`npm run orders -- <command>`), as a function of argv and io so tests
 * can run it. `list` reads the orders table; every other command goes through the same HTTP routes
 * the shop uses (lib/routes.ts `commandRoutes`), so it books exactly as the shop would.
 *
 * Which API: `--url URL`, else ORDERS_API_URL, else the running `npm start` (its state file
 * `.local/dynamodb.json`). A deployed API's command routes are IAM-authorized: requests to a URL
 * given with --url / ORDERS_API_URL are signed with SigV4 (service execute-api, the region from
 * the URL or AWS_REGION, the AWS SDK's default credentials; bin/local/signed-fetch.ts), except to
 * a loopback address (npm start, whose routes are open); `--sign` / `--no-sign` decide otherwise.
 * Against AWS without an API (no API found, EVENT_BUS_NAME, ORDERS_TABLE and ORDER_LEDGER_TABLE
 * set, the usual AWS credentials): a command is put on the order bus as the shop would put it,
 * and its booking is read back from the ledger; `show` reads the tables. Which table for `list`:
 * DYNAMODB_ENDPOINT + ORDERS_TABLE, else the running `npm start`, else AWS with ORDERS_TABLE.
 */
import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbCommandLedgerStore } from '../../functions/orders/command-ledger-store.js';
import { viewOf } from '../../functions/orders/commands/view.js';
import { eventBridgeBus } from '../../functions/orders/handlers/publish-events.js';
import { DynamoDbOrdersStore } from '../../functions/orders/orders-store.js';
import { createDocumentClient } from '../../functions/shared/dynamodb.js';
import { ordersTable } from '../../lib/tables.js';
import { regionOfApiUrl, signedFetch, type Fetch, type SignerCredentials } from './signed-fetch.js';
import { isProcessAlive, localStatePath, localTableName, readLocalState } from './start.js';

export type OrdersCliIo = {
  stdout(text: string): void;
  stderr(text: string): void;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** What signs requests to a deployed API. @default the AWS SDK's default credential chain */
  credentials?: SignerCredentials;
};

const USAGE = `Usage: npm run orders -- <command> [options]

  list                                   the recorded orders (id, status, fraud status, amount)
  show ORDER_ID                          the order, its captures and refunds, totals, may_ship, expires_at
  capture ORDER_ID [--lines REF:QTY,...] [--amount N] [--reference R] [--command-id ID]
                                         without --lines and --amount: everything still authorized
  refund ORDER_ID [--lines REF:QTY,...] [--amount N] [--reference R] [--command-id ID]
                                         without --lines and --amount: everything captured and not refunded
  cancel | release | extend ORDER_ID [--command-id ID]

  --url URL      the API (default: ORDERS_API_URL, else the running npm start); a deployed
                 API's URL is the stack output ApiUrl (…execute-api.REGION.amazonaws.com/prod)
  --sign, --no-sign
                 sign requests with SigV4 (AWS credentials as the AWS CLI finds them, region
                 from the URL or AWS_REGION) or not; default: signed unless the API is npm start
                 or another loopback address
  --command-id   the command's id (default: a new one, printed, so the command can be repeated)
Amounts are integers in minor units (12900 = 129.00).
`;

type Options = { positional: string[]; flags: Map<string, string> };

/** Flags without a value. */
const SWITCHES = new Set(['--sign', '--no-sign']);

const parseArgs = (argv: readonly string[]): Options | string => {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (SWITCHES.has(arg)) flags.set(arg.slice(2), 'true');
    else if (arg.startsWith('--')) {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) return `${arg} needs a value`;
      flags.set(arg.slice(2), value);
      i += 1;
    } else positional.push(arg);
  }
  return { positional, flags };
};

const linesOf = (text: string): { reference: string; quantity: number }[] | string => {
  const lines: { reference: string; quantity: number }[] = [];
  for (const part of text.split(',')) {
    const at = part.lastIndexOf(':');
    const reference = at > 0 ? part.slice(0, at) : '';
    const quantity = Number(part.slice(at + 1));
    if (reference === '' || !Number.isInteger(quantity) || quantity < 1) return `--lines: "${part}" is not REFERENCE:QUANTITY`;
    lines.push({ reference, quantity });
  }
  return lines;
};

type Api = { url: string; fromNpmStart: boolean };

const apiUrl = async (flags: Map<string, string>, env: NodeJS.ProcessEnv, cwd: string, stderr: (t: string) => void): Promise<Api | undefined> => {
  const explicit = flags.get('url') ?? env.ORDERS_API_URL?.trim();
  if (explicit) return { url: explicit.replace(/\/$/, ''), fromNpmStart: false };
  const state = await readLocalState(localStatePath(cwd));
  if (state?.url && isProcessAlive(state.pid)) {
    stderr(`API ${state.url} (from npm start, pid ${state.pid}).\n`);
    return { url: state.url, fromNpmStart: true };
  }
  return undefined;
};

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether (and for which region) requests to the API are signed: npm start's routes are open (its
 * banner says so); a deployed API's are IAM-authorized, so a request there is signed (SigV4) or
 * refused 403. A string: why it cannot be signed.
 */
export const signingOf = (
  url: string,
  fromNpmStart: boolean,
  flags: ReadonlyMap<string, string>,
  env: NodeJS.ProcessEnv,
): { sign: false } | { sign: true; region: string } | string => {
  const sign = flags.has('sign') ? true : flags.has('no-sign') ? false : !fromNpmStart && !LOOPBACK.has(new URL(url).hostname);
  if (!sign) return { sign: false };
  const region = regionOfApiUrl(url) ?? (env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim());
  return region ? { sign: true, region } : `${url} names no region (not an execute-api URL): set AWS_REGION to the API's region to sign the requests.`;
};

const fetcherFor = (api: Api, flags: Map<string, string>, io: OrdersCliIo, env: NodeJS.ProcessEnv): Fetch | string => {
  const signing = signingOf(api.url, api.fromNpmStart, flags, env);
  if (typeof signing === 'string') return signing;
  if (!signing.sign) return (url, init) => fetch(url, init);
  io.stderr(`Signing requests (SigV4, execute-api, ${signing.region}).\n`);
  return signedFetch({ region: signing.region, ...(io.credentials ? { credentials: io.credentials } : {}) });
};

/** Why a signed call did not go out: no credentials, most often; never a stack trace. */
const signingFailure = (error: unknown): string => {
  const name = (error as { name?: string } | undefined)?.name ?? '';
  const message = error instanceof Error ? error.message : String(error);
  return name === 'CredentialsProviderError' || /credential/i.test(message)
    ? `No AWS credentials to sign with (${message}). Set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, as for the AWS CLI.`
    : `The request could not be made: ${message}`;
};

const DETAIL_TYPES = { capture: 'Capture Order', refund: 'Refund Order', cancel: 'Cancel Order', release: 'Release Authorization', extend: 'Extend Authorization' } as const;
const BOOKING_WAIT_MS = 20_000;

/** AWS without the API: the tables for `show`, the bus for commands, the ledger for their answer. */
const viaAws = async (
  command: 'show' | keyof typeof DETAIL_TYPES,
  orderId: string,
  body: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  io: OrdersCliIo,
): Promise<number> => {
  const ordersTableName = env.ORDERS_TABLE?.trim();
  const ledgerTableName = env.ORDER_LEDGER_TABLE?.trim();
  const busName = env.EVENT_BUS_NAME?.trim();
  if (!ordersTableName || !ledgerTableName || (command !== 'show' && !busName)) {
    io.stderr(
      'No API found (npm start is not running, no --url / ORDERS_API_URL). For AWS set ORDERS_TABLE, ORDER_LEDGER_TABLE and EVENT_BUS_NAME\n' +
        '(stack outputs OrdersTableName, OrderLedgerTableName, OrderEventBusName) with AWS credentials.\n',
    );
    return 1;
  }
  const client = createDocumentClient(env.DYNAMODB_ENDPOINT?.trim() || undefined);
  try {
    const orders = new DynamoDbOrdersStore(client, ordersTableName);
    const ledger = new DynamoDbCommandLedgerStore(client, ledgerTableName, 0);
    if (command === 'show') {
      const order = await orders.get(orderId);
      if (!order) {
        io.stderr(`No order ${orderId} in ${ordersTableName}.\n`);
        return 1;
      }
      io.stdout(`${JSON.stringify(viewOf(order, await ledger.ledger(orderId), await ledger.entries(orderId), Date.now()), null, 2)}\n`);
      return 0;
    }
    // EVENTBRIDGE_ENDPOINT: a local stand-in (tests); else EventBridge itself.
    const put = await eventBridgeBus(env.EVENTBRIDGE_ENDPOINT?.trim() || undefined).put([
      { Source: 'klarna-serverless.operator', DetailType: DETAIL_TYPES[command], Detail: JSON.stringify({ order_id: orderId, ...body }), EventBusName: busName },
    ]);
    if (put.some((result) => result.kind !== 'ok')) {
      io.stderr('The bus refused the event.\n');
      return 1;
    }
    io.stderr(`"${DETAIL_TYPES[command]}" put on ${String(busName)}; waiting for its booking…\n`);
    const until = Date.now() + BOOKING_WAIT_MS;
    while (Date.now() < until) {
      const booked = await ledger.command(orderId, String(body.command_id));
      if (booked) {
        io.stdout(`${JSON.stringify(booked.answer.body, null, 2)}\n`);
        return 0;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    io.stderr(`Not booked within ${BOOKING_WAIT_MS / 1000} s: it was refused or Klarna is unreachable (see the Command Refused / Command Failed events and the logs); repeating it with the same --command-id is safe.\n`);
    return 1;
  } finally {
    client.destroy();
  }
};

const ROUTES = { capture: 'captures', refund: 'refunds', cancel: 'cancel', release: 'release', extend: 'extend' } as const;

export const runOrdersCli = async (argv: readonly string[], io: OrdersCliIo): Promise<number> => {
  const env = io.env ?? process.env;
  const cwd = io.cwd ?? process.cwd();
  const parsed = parseArgs(argv);
  if (typeof parsed === 'string') {
    io.stderr(`${parsed}\n\n${USAGE}`);
    return 2;
  }
  const [command, orderId] = parsed.positional;

  if (command === 'list') {
    const endpoint = env.DYNAMODB_ENDPOINT?.trim();
    const state = endpoint ? undefined : await readLocalState(localStatePath(cwd));
    const localEndpoint = endpoint ?? (state && isProcessAlive(state.pid) ? state.endpoint : undefined);
    const table = env.ORDERS_TABLE?.trim() || (localEndpoint ? localTableName(ordersTable) : undefined);
    if (!table) {
      io.stderr('No orders table: start `npm start`, or set ORDERS_TABLE (and DYNAMODB_ENDPOINT for a local DynamoDB).\n');
      return 1;
    }
    const client = createDocumentClient(localEndpoint);
    try {
      const items: Record<string, unknown>[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const output = await client.send(
          new ScanCommand({
            TableName: table,
            ProjectionExpression: 'order_id, #status, fraud_status, order_amount, purchase_currency, recorded_at',
            ExpressionAttributeNames: { '#status': 'status' },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        items.push(...(output.Items ?? []));
        start = output.LastEvaluatedKey;
      } while (start);
      items.sort((a, b) => String(b.recorded_at).localeCompare(String(a.recorded_at)));
      for (const item of items) {
        io.stdout(`${String(item.order_id)}\t${String(item.status)}\t${String(item.fraud_status)}\t${String(item.order_amount)} ${String(item.purchase_currency)}\t${String(item.recorded_at)}\n`);
      }
      io.stderr(`${items.length} order(s) in ${table}.\n`);
      return 0;
    } finally {
      client.destroy();
    }
  }

  if (command === undefined || orderId === undefined || !(command === 'show' || command in ROUTES)) {
    io.stderr(USAGE);
    return command === undefined || command === 'help' ? 0 : 2;
  }
  const api = await apiUrl(parsed.flags, env, cwd, io.stderr);
  const fetcher = api ? fetcherFor(api, parsed.flags, io, env) : undefined;
  if (typeof fetcher === 'string') {
    io.stderr(`${fetcher}\n`);
    return 1;
  }
  const base = api?.url;
  const path = `/orders/${encodeURIComponent(orderId)}`;
  const call = async (url: string, init?: Parameters<Fetch>[1]): Promise<Response | undefined> => {
    try {
      return await (fetcher as Fetch)(url, init);
    } catch (error) {
      io.stderr(`${signingFailure(error)}\n`);
      return undefined;
    }
  };

  let response: Response | undefined;
  if (command === 'show') {
    if (!base) return viaAws('show', orderId, {}, env, io);
    response = await call(`${base}${path}`);
  } else {
    const body: Record<string, unknown> = { command_id: parsed.flags.get('command-id') ?? `cli-${randomUUID()}` };
    const lines = parsed.flags.get('lines');
    const amount = parsed.flags.get('amount');
    const reference = parsed.flags.get('reference');
    if (command === 'capture' || command === 'refund') {
      if (lines !== undefined) {
        const parsedLines = linesOf(lines);
        if (typeof parsedLines === 'string') {
          io.stderr(`${parsedLines}\n`);
          return 2;
        }
        body.lines = parsedLines;
      }
      if (amount !== undefined) {
        if (!/^\d+$/.test(amount)) {
          io.stderr('--amount: an integer in minor units\n');
          return 2;
        }
        body.amount = Number(amount);
      }
      if (reference !== undefined) body.reference = reference;
    }
    io.stderr(`command_id ${String(body.command_id)} (repeat with --command-id to get the same answer)\n`);
    if (!base) return viaAws(command as keyof typeof DETAIL_TYPES, orderId, body, env, io);
    response = await call(`${base}${path}/${ROUTES[command as keyof typeof ROUTES]}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }
  if (!response) return 1;
  const text = await response.text();
  let pretty = text;
  try {
    pretty = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // Not JSON: print as it came.
  }
  io.stdout(`${pretty}\n`);
  if (response.status === 403 && !api?.fromNpmStart) {
    io.stderr(`HTTP 403: the API refused the caller. A deployed API's command routes want SigV4 from an identity allowed execute-api:Invoke on them (grantCommands; docs/orders-and-events.md).\n`);
  } else if (response.status >= 400) io.stderr(`HTTP ${response.status}\n`);
  return response.status < 400 ? 0 : 1;
};
