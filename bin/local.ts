/**
 * `npm start`: the local service. DynamoDB Local in memory, the tables, the example rules and the
 * API on http://127.0.0.1:${PORT:-3000}, serving the same handlers the Lambdas run.
 * The logic lives in bin/local/start.ts; this prints, and stops everything on Ctrl-C / SIGTERM.
 */
import { merchantUrls } from '../lib/routes.js';
import { intEnv, optionalEnv } from '../functions/shared/config.js';
import { EXAMPLE_ORDER_ID, localStatePath, startLocal } from './local/start.js';
import type { BusEvent } from './local/fake-eventbridge.js';
import { formatOrderEvent } from './local/print-event.js';
import { prepareInvocations } from './local/invocation.js';

// Before the first AWS SDK request: each function's log lines keep their own name and request id.
prepareInvocations();

const fail = (message: string): never => {
  process.stderr.write(`\n${message}\n`);
  process.exit(1);
};

let port = 3000;
let dynamoDbPort: number | undefined;
try {
  port = intEnv('PORT', 3000, { min: 0, max: 65_535 });
  const requested = optionalEnv('DYNAMODB_PORT');
  dynamoDbPort = requested === undefined ? undefined : intEnv('DYNAMODB_PORT', 0, { min: 1, max: 65_535 });
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}

const stateFile = localStatePath(process.cwd());
const external = optionalEnv('DYNAMODB_ENDPOINT') !== undefined;
process.stdout.write(external ? 'Starting the local service (DynamoDB from DYNAMODB_ENDPOINT)…\n' : 'Starting DynamoDB Local and the local service…\n');

// Rules events (the rules checker read a write from the rules table's stream): which scope,
// which version, and for a rejection each field and what is wrong with it.
const printRulesEvent = (event: BusEvent): void => {
  const { scope, version, change, changed_fields, problem, issues, issue_count } = event.detail as {
    scope?: string;
    version?: number;
    change?: string;
    changed_fields?: string[];
    problem?: string;
    issues?: { path: string; message: string }[];
    issue_count?: number;
  };
  const head = `event ${event.source} "${event.detailType}" scope ${String(scope)} version ${String(version)}`;
  const lines =
    event.detailType === 'Rules Rejected'
      ? [
          `${head}: ${String(problem)}, ${String(issue_count)} problem(s): callbacks for this scope fail closed until it is fixed`,
          ...(issues ?? []).map((issue) => `  ${issue.path}: ${issue.message}`),
          `  Undo: npm run rules -- rollback ${String(scope)}   (history: npm run rules -- history ${String(scope)})`,
        ]
      : [`${head}: ${String(change)}${changed_fields?.length ? `, fields ${changed_fields.join(', ')}` : ''}`];
  process.stdout.write(`${lines.join('\n')}\n`);
};

// Order events as the shop's EventBridge rule would receive them, personal data masked.
const printEvent = (event: BusEvent): void => {
  if (event.detailType.startsWith('Rules ')) return printRulesEvent(event);
  process.stdout.write(formatOrderEvent(event));
};

const starting = startLocal({ port, ...(dynamoDbPort === undefined ? {} : { dynamoDbPort }), stateFile, onOrderEvent: printEvent }).catch(
  (error: unknown) => fail(error instanceof Error ? error.message : String(error)),
);

// Signals are handled from the start: one that comes while DynamoDB Local (a Java process of its
// own) is starting stops it too, once startLocal has returned what it started.
let stopping = false;
const shutdown = (signal: NodeJS.Signals): void => {
  if (stopping) {
    process.stderr.write(`${signal} again: exiting now.\n`);
    process.exit(1);
  }
  stopping = true;
  process.stdout.write(`\n${signal}: stopping…\n`);
  starting
    .then((service) => service.stop())
    .then(
      () => process.exit(0),
      (error: unknown) => fail(`Stopping failed: ${error instanceof Error ? error.message : String(error)}`),
    );
};
// `on`, not `once`: a second Ctrl-C while stopping exits at once.
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

const service = await starting;

const urls = merchantUrls(service.url, service.token);
const width = Math.max(...Object.keys(urls).map((k) => k.length));
const lines = [
  '',
  `Klarna merchant backend, local: ${service.url}`,
  `Checkout playground (try the callbacks, rules and On-site messaging in a browser): ${service.url}/`,
  '',
  service.dynamoDbOwned
    ? `DynamoDB Local: ${service.endpoint} (in memory: everything is gone when this stops)`
    : `DynamoDB: ${service.endpoint} (DYNAMODB_ENDPOINT)`,
  `Tables: ${Object.entries(service.tableNames).map(([envVar, name]) => `${name} (${envVar})`).join(', ')}`,
  '',
  'Klarna Checkout merchant_urls to configure (checkout.order.id is filled in by Klarna):',
  ...Object.entries(urls).map(([callback, url]) => `  ${callback.padEnd(width)}  ${url}`),
  service.tokenFromDefault
    ? `  The token is the built-in local default "${service.token}"; set KCO_CALLBACK_TOKENS to use your own.`
    : '  The token is the first one of KCO_CALLBACK_TOKENS.',
  '',
  `Merchant rules: seeded ${service.seeded.map((s) => `"${s.scope}" from ${s.file}`).join(' and ') || 'nothing'}.`,
  'Edit them with the rules tool (it finds this DynamoDB Local through .local/dynamodb.json):',
  '  npm run rules -- list',
  '  npm run rules -- get default > my-rules.json',
  '  npm run rules -- put my-rules.json [--scope "order#<order_id>"]',
  '  npm run rules -- schema',
  '  npm run rules -- history default   |   diff default [VERSION]   |   rollback default [--to VERSION]',
  'Every write to the rules table (the tool, the playground, any direct write) is checked as it lands; a rejection is printed here.',
  'To try a US sales-tax store instead (replaces "default"): npm run rules -- put bin/local/example-us-rules.json',
  '',
  service.osmStandIn
    ? `On-site messaging (/osm/...): served from a local stand-in for Klarna's OSM API at ${service.osmStandIn}.\n` +
      '  For Klarna itself set OSM_CLIENT_ID (playground by default) or OSM_BASE_URL.'
    : `On-site messaging (/osm/...): Klarna's OSM API at ${optionalEnv('OSM_BASE_URL') ?? `${optionalEnv('OSM_REGION') ?? 'eu'} ${optionalEnv('OSM_ENVIRONMENT') ?? 'playground'}`}.`,
  `  curl '${service.url}/osm/placements/credit-promotion-badge?locale=en-US&purchase_amount=12900'`,
  '',
  service.orderManagementStandIn
    ? `Orders (push, notification): Order Management from a local stand-in at ${service.orderManagementStandIn}; it knows "${EXAMPLE_ORDER_ID}".\n` +
      '  For Kustom or Klarna set KCO_API_USERNAME/KCO_API_PASSWORD or KCO_API_KEY (KCO_API_PROVIDER, KCO_API_REGION, KCO_API_ENVIRONMENT) or KCO_API_BASE_URL.'
    : `Orders (push, notification): Order Management at ${optionalEnv('KCO_API_BASE_URL') ?? `${optionalEnv('KCO_API_PROVIDER') ?? 'kustom'} ${optionalEnv('KCO_API_ENVIRONMENT') ?? 'playground'}`}.`,
  `  Order events are printed here as they are published. Try: curl -X POST '${urls.push?.replace('{checkout.order.id}', EXAMPLE_ORDER_ID) ?? ''}'`,
  '',
  `Order commands (${service.url}/orders/{order_id}/captures, refunds, cancel, release, extend; GET /orders/{order_id}): open here WITHOUT authorization;`,
  '  deployed, they need IAM (SigV4) granted by grantCommands. Or put "Capture Order" … events on the bus. Operator tool: npm run orders -- list',
  `  curl -X POST -H 'content-type: application/json' -d '{"command_id":"ship-1"}' '${service.url}/orders/${EXAMPLE_ORDER_ID}/captures'`,
  '',
  'Ctrl-C stops the service and DynamoDB Local.',
  '',
];
if (!stopping) process.stdout.write(lines.join('\n'));
