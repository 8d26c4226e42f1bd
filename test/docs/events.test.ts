/**
 * Every order event the backend emits validates against its documented JSON Schema
 * (docs/events/<detail-type in kebab-case>.schema.json, `title` = the detail-type). The events
 * are the real ones: orders pushed and notified through `npm start`'s service (DynamoDB Local,
 * the orders table's stream, the real publisher) and caught on the loopback EventBridge.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as ts from 'typescript';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { exampleOmOrder, startFakeOrderManagement, type FakeOrderManagement } from '../../bin/local/fake-order-management.js';
import type { BusEvent } from '../../bin/local/fake-eventbridge.js';
import { startLocal, type LocalService } from '../../bin/local/start.js';
import { createDocumentClient } from '../../functions/shared/dynamodb.js';
import { putRules } from '../../functions/shared/rules-store.js';
import { waitFor } from '../support/wait-for.js';
import { root } from './markdown.js';

jest.setTimeout(90_000);

const schemaDir = join(root, 'docs/events');
export const schemaFileFor = (detailType: string): string =>
  `${detailType
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')}.schema.json`;

const schemas = readdirSync(schemaDir)
  .filter((name) => name.endsWith('.schema.json'))
  .map((name) => ({ name, schema: JSON.parse(readFileSync(join(schemaDir, name), 'utf8')) as { title?: string } }));

const sourceFiles = (dir: string): string[] =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });

/** The detail-types the functions declare: string values of constants named like `eventTypes` or `detailTypes`. */
const declaredDetailTypes = (): string[] => {
  const found = new Set<string>();
  for (const file of sourceFiles('functions')) {
    const source = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
    const collect = (node: ts.Node): void => {
      if (ts.isStringLiteral(node) && /^[A-Z]/.test(node.text)) found.add(node.text);
      else if (!ts.isPropertyAssignment(node) || !ts.isComputedPropertyName(node.name)) ts.forEachChild(node, collect);
    };
    const visit = (node: ts.Node): void => {
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && /(event|detail)_?types?$/i.test(node.name.text) && node.initializer) collect(node.initializer);
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return [...found];
};

// strictRequired off: `anyOf: [{ required: [a] }, { required: [b] }]` names properties defined beside it.
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
// The formats the schemas use, checked as RFC 3339 / 4122 write them (no second package for five patterns).
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
ajv.addFormat('uri', /^[a-z][a-z0-9+.-]*:[^\s]*$/i);
ajv.addFormat('email', /^[^\s@]+@[^\s@]+$/);

describe('the schemas', () => {
  it.each(schemas.map((s) => [s.name, s.schema] as const))('%s is a valid draft 2020-12 schema named after its detail-type', (name, schema) => {
    expect(ajv.validateSchema(schema)).toBe(true);
    expect(schemaFileFor(schema.title ?? '')).toBe(name);
  });

  it('every detail-type the code declares has its schema', () => {
    const declared = declaredDetailTypes();
    expect(declared).toEqual(expect.arrayContaining(['Order Recorded', 'Order Acknowledged']));
    const missing = declared.filter((type) => !existsSync(join(schemaDir, schemaFileFor(type))));
    expect(missing).toEqual([]);
  });
});

const commandLife = ['Order Captured', 'Order Refunded', 'Command Refused', 'Authorization Extended', 'Authorization Released'];

describe('the events emitted', () => {
  const caught: BusEvent[] = [];
  let om: FakeOrderManagement;
  let service: LocalService;
  const saved = { ...process.env };

  beforeAll(async () => {
    om = await startFakeOrderManagement();
    process.env.KCO_API_BASE_URL = om.url;
    process.env.DYNAMODB_REQUEST_TIMEOUT_MS = '5000';
    service = await startLocal({ port: 0, tablePrefix: 'docs-events', onOrderEvent: (event) => caught.push(event) });
    const client = createDocumentClient(service.endpoint);
    // This order was agreed at another amount: it is set aside for review.
    const stored = await putRules(client, service.tableNames.RULES_TABLE!, 'order#docs-review', { expected_order_amount: 1 }, { updatedBy: 'docs test' });
    client.destroy();
    if (!stored.ok) throw new Error('order scope refused');

    const post = (orderId: string, route: 'push' | 'notification', body = '') =>
      fetch(`${service.url}/kco/orders/${orderId}/${route}?token=${service.token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    om.putOrder(exampleOmOrder('docs-ok'));
    om.putOrder(exampleOmOrder('docs-review'));
    om.putOrder(exampleOmOrder('docs-fraud', { fraud_status: 'PENDING' }));
    om.putOrder(exampleOmOrder('docs-commands', { expires_at: new Date(Date.now() + 20 * 86_400_000).toISOString() }));
    for (const id of ['docs-ok', 'docs-review', 'docs-fraud', 'docs-commands']) expect((await post(id, 'push')).status).toBe(200);
    om.updateOrder('docs-fraud', { fraud_status: 'ACCEPTED' });
    expect((await post('docs-fraud', 'notification', JSON.stringify({ order_id: 'docs-fraud', event_type: 'FRAUD_RISK_ACCEPTED' }))).status).toBe(200);
    // Recorded, Acknowledged, Needs Review, Fraud Status Changed: through the stream (other
    // events, the rules checker's, come on the same bus).
    const orderLife = ['Order Recorded', 'Order Acknowledged', 'Order Needs Review', 'Order Fraud Status Changed'];
    await waitFor(() => orderLife.every((type) => caught.some((event) => event.detailType === type)), 3000);

    // The shop's commands on an acknowledged order (open routes under npm start): their events
    // come from the ledger table's stream onto the same bus.
    const command = async (route: string, body: unknown): Promise<number> =>
      (await fetch(`${service.url}/orders/docs-commands/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status;
    expect(await command('captures', { command_id: 'docs-capture', lines: [{ reference: 'TSHIRT-1', quantity: 1 }] })).toBe(201);
    expect(await command('refunds', { command_id: 'docs-refund' })).toBe(201);
    expect(await command('cancel', { command_id: 'docs-cancel' })).toBe(409);
    expect(await command('extend', { command_id: 'docs-extend' })).toBe(200);
    expect(await command('release', { command_id: 'docs-release' })).toBe(200);
    await waitFor(() => commandLife.every((type) => caught.some((event) => event.detailType === type)), 5000);
  });

  afterAll(async () => {
    await service?.stop();
    await om?.close();
    process.env = saved;
  });

  it('cover the commands: captured, refunded, refused, extended, released', () => {
    expect([...new Set(caught.map((event) => event.detailType))]).toEqual(expect.arrayContaining(commandLife));
  });

  it('cover the order’s life: recorded, acknowledged, set aside for review, fraud status moved', () => {
    expect([...new Set(caught.map((event) => event.detailType))]).toEqual(
      expect.arrayContaining(['Order Recorded', 'Order Acknowledged', 'Order Needs Review', 'Order Fraud Status Changed']),
    );
  });

  it('each validate against the schema of their detail-type', () => {
    const problems: string[] = [];
    for (const event of caught) {
      const file = join(schemaDir, schemaFileFor(event.detailType));
      if (!existsSync(file)) {
        problems.push(`${event.detailType}: no ${file}`);
        continue;
      }
      const validate = ajv.getSchema(file) ?? (ajv.addSchema(JSON.parse(readFileSync(file, 'utf8')) as object, file), ajv.getSchema(file)!);
      if (!validate(event.detail)) problems.push(`${event.detailType} ${String(event.detail.order_id)}: ${ajv.errorsText(validate.errors)}`);
    }
    expect(problems).toEqual([]);
  });

  it('are refused by the schema when a field is not documented', () => {
    const [first] = caught;
    const file = join(schemaDir, schemaFileFor(first!.detailType));
    const validate = ajv.getSchema(file)!;
    expect(validate({ ...first!.detail, undocumented: true })).toBe(false);
  });
});
