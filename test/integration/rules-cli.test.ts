/**
 * The rules tool (`npm run rules`) end to end against DynamoDB Local, through runRulesCli with
 * captured output.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rulesTable } from '../../lib/tables.js';
import { runRulesCli } from '../../bin/local/rules-cli.js';
import { writeLocalState, localStatePath } from '../../bin/local/start.js';
import { createTables, startDynamoDb, type RunningDynamoDb } from '../../bin/local/dynamodb-local.js';

jest.setTimeout(20_000);

const table = `rules-cli-it-${randomUUID().slice(0, 8)}`;
let dynamoDb: RunningDynamoDb;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rules-cli-'));
  dynamoDb = await startDynamoDb();
  await createTables(dynamoDb.endpoint, [rulesTable], () => table);
});

afterAll(async () => {
  await dynamoDb?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Run = { code: number; stdout: string; stderr: string };

/** Run the tool as `npm run rules -- …` would, in `cwd` (a project root without a state file by default). */
const run = async (argv: string[], env: NodeJS.ProcessEnv = { DYNAMODB_ENDPOINT: dynamoDb.endpoint, RULES_TABLE: table }, cwd = dir): Promise<Run> => {
  let stdout = '';
  let stderr = '';
  const code = await runRulesCli(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: { INIT_CWD: dir, ...env },
    cwd,
  });
  return { code, stdout, stderr };
};

const writeJson = async (name: string, value: unknown): Promise<string> => {
  await writeFile(join(dir, name), JSON.stringify(value), 'utf8');
  return name;
};

const exampleRules = async (): Promise<unknown> => JSON.parse(await readFile(join(__dirname, '../../bin/local/example-rules.json'), 'utf8'));

describe('rules tool', () => {
  it('put stores the example rules as default, and get prints them back exactly', async () => {
    const document = await exampleRules();
    const file = await writeJson('store.json', document);

    const put = await run(['put', file]);
    expect(put).toMatchObject({ code: 0, stdout: 'Stored rules for scope default (12 field(s)).\n' });
    expect(put.stderr).toContain(`Using DynamoDB at ${dynamoDb.endpoint} (DYNAMODB_ENDPOINT), table ${table}`);

    const get = await run(['get', 'default']);
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toEqual(document);
    expect(get.stderr).toMatch(/Updated \d{4}-\d\d-\d\dT[\d:.]+Z by rules tool \(/);
  });

  it('put --scope stores an order scope; list shows default first, then the orders', async () => {
    const file = await writeJson('order.json', { expected_order_amount: 44800 });
    expect((await run(['put', file, '--scope', 'order#cli-2'])).code).toBe(0);
    expect((await run(['put', file, '--scope=order#cli-1'])).code).toBe(0);

    const list = await run(['list']);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n').filter(Boolean).map((line) => line.split('\t')[0])).toEqual(['default', 'order#cli-1', 'order#cli-2']);
    expect(list.stderr).toContain('3 scope(s).');
  });

  it('refuses an invalid file, printing every issue as scope: path: message, and writes nothing', async () => {
    const file = await writeJson('bad.json', {
      shipping_countries: ['SE', 'sweden'],
      min_order_amount: -1,
      colour: 'blue',
    });
    const put = await run(['put', file, '--scope', 'order#bad']);
    expect(put.code).toBe(1);
    expect(put.stdout).toBe('');
    const issues = put.stderr.split('\n').filter((line) => line.startsWith('order#bad: '));
    expect(issues.sort()).toEqual([
      'order#bad: (document): unknown field(s): colour',
      'order#bad: min_order_amount: must be at least 0',
      'order#bad: shipping_countries[1]: an ISO 3166 alpha-2 code in capitals, like "SE"',
    ]);
    expect((await run(['get', 'order#bad'])).code).toBe(1);
  });

  it('checks the file before choosing a DynamoDB, so a bad file fails the same offline', async () => {
    const file = await writeJson('offline.json', { block_po_boxes: 'yes' });
    const put = await run(['put', file], {});
    expect(put).toEqual({ code: 1, stdout: '', stderr: 'Not stored: the rules document has 1 problem(s):\ndefault: block_po_boxes: expected boolean\n' });
  });

  it('refuses a deny_redirect_url the URL parser would rewrite, naming the field', async () => {
    const file = await writeJson('redirect.json', { deny_redirect_url: 'https://shop.example\\@evil.example/denied' });
    const put = await run(['put', file], {});
    expect(put.code).toBe(1);
    expect(put.stderr).toMatch(/^default: deny_redirect_url: an https URL as the URL parser writes it/m);
  });

  it('refuses a file that is not JSON and a scope that is neither default nor order#<id>', async () => {
    const file = 'broken.json';
    await writeFile(join(dir, file), '{ "min_order_amount": ', 'utf8');
    const broken = await run(['put', file]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`${join(dir, file)} is not valid JSON`);

    const badScope = await run(['put', await writeJson('ok.json', {}), '--scope', 'orders#1']);
    expect(badScope).toMatchObject({ code: 1, stderr: 'orders#1: (scope): a scope is "default" or "order#<order_id>"\n' });
  });

  it('delete removes a scope once; get and delete of a missing scope exit 1', async () => {
    const file = await writeJson('gone.json', { max_quantity_per_line: 3 });
    expect((await run(['put', file, '--scope', 'order#gone'])).code).toBe(0);

    expect(await run(['delete', 'order#gone'])).toMatchObject({ code: 0, stdout: 'Deleted rules for scope order#gone.\n' });
    expect((await run(['delete', 'order#gone'])).code).toBe(1);
    const get = await run(['get', 'order#gone']);
    expect(get).toMatchObject({ code: 1, stdout: '' });
    expect(get.stderr).toContain('No rules stored for scope order#gone.');
  });

  it('schema prints the JSON Schema of a rules document without touching DynamoDB', async () => {
    const schema = await run(['schema'], {});
    expect(schema.code).toBe(0);
    const parsed = JSON.parse(schema.stdout) as { type: string; properties: Record<string, unknown>; additionalProperties: boolean };
    expect(parsed.type).toBe('object');
    expect(parsed.additionalProperties).toBe(false);
    expect(Object.keys(parsed.properties)).toEqual(expect.arrayContaining(['shipping_countries', 'tax', 'shipping_options', 'error_texts']));
    expect(schema.stderr).toBe('');
  });

  it('answers usage errors with exit 2', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(['frobnicate'])).stderr).toContain('unknown command "frobnicate"');
    expect((await run(['get'])).code).toBe(2);
    expect((await run(['list', '--scope', 'default'])).code).toBe(2);
  });
});

describe('rules tool: which DynamoDB', () => {
  it('uses the DynamoDB Local of a running npm start, found through .local/dynamodb.json', async () => {
    const root = await mkdtemp(join(tmpdir(), 'rules-cli-root-'));
    try {
      // This test process stands in for `npm start`: its pid is alive.
      await writeLocalState(localStatePath(root), { endpoint: dynamoDb.endpoint, rulesTable: table, pid: process.pid });
      const get = await run(['get', 'default'], {}, root);
      expect(get.code).toBe(0);
      expect(get.stderr).toContain(`Using local DynamoDB at ${dynamoDb.endpoint} (from npm start, pid ${process.pid}`);
      expect(get.stderr).toContain(`table ${table}`);
      expect(JSON.parse(get.stdout)).toEqual(await exampleRules());
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('ignores a state file whose npm start is gone, and without RULES_TABLE says how to set it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'rules-cli-root-'));
    try {
      await writeLocalState(localStatePath(root), { endpoint: dynamoDb.endpoint, rulesTable: table, pid: 99_999_999 });
      const list = await run(['list'], {}, root);
      expect(list.code).toBe(1);
      expect(list.stdout).toBe('');
      expect(list.stderr).toContain('(pid 99999999) is not running');
      expect(list.stderr).toContain('RULES_TABLE is not set');
      expect(list.stderr).toContain('--stack-name KlarnaServerless');
      expect(list.stderr).toContain("OutputKey=='RulesTableName'");
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('on AWS without RULES_TABLE reads the table name from the stack output RulesTableName', async () => {
    // Stand-ins reached through the SDK's own endpoint variables: a CloudFormation that knows the
    // stack (query protocol, XML), and DynamoDB Local as "AWS" DynamoDB.
    const describeCalls: string[] = [];
    const cloudFormation = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        describeCalls.push(body);
        response.writeHead(200, { 'content-type': 'text/xml' });
        response.end(
          '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>' +
            '<StackName>KlarnaServerless</StackName><StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-11-01T00:00:00Z</CreationTime>' +
            `<Outputs><member><OutputKey>ApiUrl</OutputKey><OutputValue>https://x</OutputValue></member><member><OutputKey>RulesTableName</OutputKey><OutputValue>${table}</OutputValue></member></Outputs>` +
            '</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeStacksResponse>',
        );
      });
    });
    await new Promise<void>((resolve) => cloudFormation.listen(0, '127.0.0.1', resolve));
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_REGION: 'eu-north-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL_CLOUDFORMATION: `http://127.0.0.1:${(cloudFormation.address() as AddressInfo).port}`,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoDb.endpoint,
    });
    try {
      const list = await run(['list'], {});
      expect(list.stderr).toContain(`Rules table ${table} from the "RulesTableName" output of stack KlarnaServerless.`);
      expect(list.stderr).toContain('AWS DynamoDB in eu-north-1');
      expect(list.code).toBe(0);
      expect(list.stdout).toContain('default');
      expect(describeCalls).toHaveLength(1);
      expect(describeCalls[0]).toContain('StackName=KlarnaServerless');
    } finally {
      process.env = saved;
      await new Promise((resolve) => cloudFormation.close(resolve));
    }
  });

  it('with DYNAMODB_ENDPOINT and no RULES_TABLE uses the local table name', async () => {
    const list = await run(['list'], { DYNAMODB_ENDPOINT: 'http://127.0.0.1:1' });
    expect(list.stderr).toContain('Using DynamoDB at http://127.0.0.1:1 (DYNAMODB_ENDPOINT), table klarna-local-rules');
    expect(list.code).toBe(1);
    expect(list.stderr).toContain('DynamoDB request failed');
  });
});
