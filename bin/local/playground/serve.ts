/**
 * The checkout playground `npm start` serves at `/`: a page (bin/local/playground/page, bundled
 * with esbuild on first request) and the small JSON API it calls. Local only: the CDK stack never
 * deploys any of this.
 *
 * - `POST /playground/api/callbacks/{callback}` `{order_id, order}`: builds the API Gateway event
 *   Klarna's POST would become (with the local callback token, which never reaches the page) and
 *   runs the route's real handler; answers its status, Location and body, plus the decision and
 *   reason code the handler logged.
 * - `/playground/api/rules…`: the schema `npm run rules -- schema` prints, one scope read, checked
 *   and written with the rules tool's own functions (parseRulesDocument, getRules, putRules);
 *   `…/rules/history` the scope's versions and `…/rules/restore` a rollback, as the rules tool's
 *   `history` and `rollback` do them (bin/local/rules-history.ts).
 * - `GET /playground/api/orders`: the example orders (./orders.ts).
 * - The orders panel (issue 24): `GET /playground/api/recorded-orders` lists the orders table,
 *   `POST /playground/api/push {order_id}` runs Klarna's push through the real handler (with the
 *   token, which never reaches the page), `GET /playground/api/events?order_id=` the events the
 *   local bus received. The commands themselves go to the open `/orders/…` routes of `npm start`.
 *
 * The API changes local state and spends the callback token, so it only answers this page: the
 * Host must be this loopback server (no DNS rebinding) and a write must be a same-origin JSON
 * request (a form on another site cannot send one without a CORS preflight, which gets no answer).
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { parseRulesDocument, rulesJsonSchema } from '../../../functions/kco/rules.js';
import { createDocumentClient, createDynamoDbClient } from '../../../functions/shared/dynamodb.js';
import { getRules, isRulesScope, putRules } from '../../../functions/shared/rules-store.js';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { diffDocuments, formatChanges } from '../../../functions/rules/diff.js';
import { rollbackScope, scopeVersions, type HistoryDeps } from '../rules-history.js';
import { functions, kcoCallbacks } from '../../../lib/routes.js';
import type { BusEvent } from '../fake-eventbridge.js';
import { kcoCallbackEvent, lambdaContext, loadHandler, readBody, type ExtraHandler } from '../server.js';
import { installDecisionTap, withDecisionLog } from './decision-log.js';
import { playgroundOrders } from './orders.js';
import { runInvocation } from '../invocation.js';

export type PlaygroundOptions = {
  /** A callback token the handlers accept. */
  token: string;
  /** DynamoDB endpoint and rules table the handlers use. */
  endpoint: string;
  rulesTable: string;
  /** The rules history the local rules checker writes (npm start reads the rules table's stream). */
  rulesHistoryTable: string;
  /** The orders table, for the orders panel's list. */
  ordersTable?: string;
  /** The events the local bus received, for the orders panel. */
  events?: () => readonly BusEvent[];
};

export type Playground = { handle: ExtraHandler; close(): Promise<void> };

const PAGE_DIR = 'bin/local/playground/page';

// The OSM preview's HTML inherits this policy (srcdoc): it may load images from loopback (the
// local OSM stand-in's impression beacon) but nothing from the internet, and run no script.
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: http://127.0.0.1:*",
  "frame-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

const sendJson = (response: ServerResponse, status: number, value: unknown): true => {
  response.writeHead(status, { ...COMMON_HEADERS, 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(value));
  return true;
};

const sendText = (response: ServerResponse, contentType: string, body: string): true => {
  response.writeHead(200, { ...COMMON_HEADERS, 'content-type': contentType, 'content-security-policy': PAGE_CSP });
  response.end(body);
  return true;
};

class BadRequest extends Error {
  override name = 'BadRequest';
}

const readJson = async (request: IncomingMessage): Promise<unknown> => {
  const body = await readBody(request);
  if (body === 'too_large') throw new BadRequest('the request is too large');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadRequest('the request body is not JSON');
  }
};

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Only this page on this server: right Host, and for writes a same-origin JSON request. */
const refusal = (request: IncomingMessage): string | undefined => {
  const port = request.socket.localPort;
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  if (!hosts.includes(request.headers.host ?? '')) return 'the playground answers only on its own loopback address';
  if (request.method === 'GET') return undefined;
  const origin = request.headers.origin;
  if (origin !== undefined && !hosts.some((host) => origin === `http://${host}`)) return 'cross-origin requests are refused';
  if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) return 'send JSON (content-type: application/json)';
  return undefined;
};

export const createPlayground = (options: PlaygroundOptions): Playground => {
  const client = createDocumentClient(options.endpoint);
  const plain = createDynamoDbClient(options.endpoint);
  const historyDeps: HistoryDeps = { client, plain, table: options.rulesTable, historyTable: options.rulesHistoryTable };
  const untap = installDecisionTap();
  let bundle: Promise<string> | undefined;

  // esbuild is a devDependency, like everything `npm start` runs: loaded only when the page is.
  const app = (): Promise<string> =>
    (bundle ??= import('esbuild')
      .then((esbuild) =>
        esbuild.build({
          entryPoints: [resolve(process.cwd(), PAGE_DIR, 'main.ts')],
          bundle: true,
          write: false,
          format: 'esm',
          target: 'es2022',
          sourcemap: 'inline',
          logLevel: 'silent',
        }),
      )
      .then((result) => result.outputFiles[0]?.text ?? '')
      .catch((error: unknown) => {
        bundle = undefined; // A fixed page builds on the next load.
        throw error;
      }));

  const callback = async (name: string, request: IncomingMessage, response: ServerResponse): Promise<true> => {
    const route = kcoCallbacks.find((c) => c.callback === name);
    if (!route) return sendJson(response, 404, { error: `no callback ${name}` });
    const input = await readJson(request);
    if (!isObject(input) || typeof input.order_id !== 'string' || !isObject(input.order)) {
      throw new BadRequest('send {"order_id": "…", "order": {…}}');
    }
    const event = kcoCallbackEvent(name, input.order_id, JSON.stringify(input.order), { token: options.token });
    const handler = await loadHandler(route.fn.entry);
    const { value: result, decision } = await withDecisionLog(() => {
      const context = lambdaContext(route.fn.id);
      return runInvocation(context, () => handler(event, context));
    });
    const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
    return sendJson(response, 200, {
      callback: name,
      status: result.statusCode,
      ...(headers.location ? { location: headers.location } : {}),
      body: result.body,
      ...(decision ? { decision } : {}),
    });
  };

  const rules = async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<true> => {
    const scope = url.searchParams.get('scope') ?? '';
    if (!isRulesScope(scope)) return sendJson(response, 400, { error: 'a scope is "default" or "order#<order_id>"' });
    if (request.method === 'GET') {
      const stored = await getRules(client, options.rulesTable, scope);
      return sendJson(response, 200, {
        scope,
        stored: stored !== undefined,
        document: stored?.document ?? {},
        issues: stored && !stored.parsed.ok ? stored.parsed.issues : [],
        ...(stored?.updatedAt ? { updated_at: stored.updatedAt } : {}),
        ...(stored?.updatedBy ? { updated_by: stored.updatedBy } : {}),
      });
    }
    const input = await readJson(request);
    if (!isObject(input) || !('document' in input)) throw new BadRequest('send {"document": {…}}');
    if (request.method === 'POST') {
      // Check only: the very parse the rules tool and the callbacks use.
      const parsed = parseRulesDocument(scope, input.document);
      return sendJson(response, 200, parsed.ok ? { ok: true, issues: [] } : { ok: false, issues: parsed.issues });
    }
    if (request.method === 'PUT') {
      const stored = await putRules(client, options.rulesTable, scope, input.document, { updatedBy: 'playground' });
      return sendJson(response, stored.ok ? 200 : 422, stored.ok ? { ok: true, issues: [] } : { ok: false, issues: stored.issues });
    }
    return sendJson(response, 405, { error: 'GET, POST (check) or PUT (save)' });
  };

  const recordedOrders = async (response: ServerResponse): Promise<true> => {
    if (!options.ordersTable) return sendJson(response, 200, []);
    const output = await client.send(
      new ScanCommand({
        TableName: options.ordersTable,
        ProjectionExpression: 'order_id, #status, fraud_status, order_amount, purchase_currency, recorded_at',
        ExpressionAttributeNames: { '#status': 'status' },
        Limit: 200,
      }),
    );
    const items = (output.Items ?? []).sort((a, b) => String(b.recorded_at).localeCompare(String(a.recorded_at)));
    return sendJson(response, 200, items);
  };

  const push = async (request: IncomingMessage, response: ServerResponse): Promise<true> => {
    const input = await readJson(request);
    if (!isObject(input) || typeof input.order_id !== 'string' || !/^[A-Za-z0-9._~-]{1,128}$/.test(input.order_id)) throw new BadRequest('send {"order_id": "…"}');
    const handler = await loadHandler(functions.orderPush.entry);
    const result = await handler(kcoCallbackEvent('push', input.order_id, null, { token: options.token, headers: {} }), lambdaContext(functions.orderPush.id));
    return sendJson(response, 200, { status: result.statusCode, body: result.body });
  };

  const events = (response: ServerResponse, url: URL): true => {
    const orderId = url.searchParams.get('order_id');
    const all = options.events?.() ?? [];
    return sendJson(
      response,
      200,
      all.filter((event) => orderId === null || event.detail.order_id === orderId).map((event) => ({ detail_type: event.detailType, source: event.source, detail: event.detail })),
    );
  };

  /** The scope's versions, newest first, each with what it changed from the one before. */
  const history = async (response: ServerResponse, url: URL): Promise<true> => {
    const scope = url.searchParams.get('scope') ?? '';
    if (!isRulesScope(scope)) return sendJson(response, 400, { error: 'a scope is "default" or "order#<order_id>"' });
    const { versions, lagging } = await scopeVersions(historyDeps, scope);
    return sendJson(response, 200, {
      scope,
      ...(lagging ? { lagging } : {}),
      versions: versions.map((v, i) => {
        const older = versions[i + 1];
        return {
          version: v.version,
          current: v.current,
          present: v.present,
          valid: v.present && v.parsed?.ok === true,
          issues: v.parsed && !v.parsed.ok ? v.parsed.issues : [],
          ...(v.updatedAt ? { updated_at: v.updatedAt } : {}),
          ...(v.updatedBy ? { updated_by: v.updatedBy } : {}),
          ...(v.replacedAt ? { replaced_at: v.replacedAt } : {}),
          changes: older ? formatChanges(diffDocuments(older.present ? older.document : {}, v.present ? v.document : {}), 80) : [],
        };
      }),
    });
  };

  const restore = async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<true> => {
    const scope = url.searchParams.get('scope') ?? '';
    if (!isRulesScope(scope)) return sendJson(response, 400, { error: 'a scope is "default" or "order#<order_id>"' });
    const input = await readJson(request);
    if (!isObject(input) || !Number.isInteger(input.version)) throw new BadRequest('send {"version": <number>}');
    const result = await rollbackScope(historyDeps, scope, input.version as number, 'playground');
    return sendJson(response, result.ok ? 200 : 422, result.ok ? result : { ...result, issues: 'issues' in result ? result.issues : [] });
  };

  const route = async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> => {
    const { pathname } = url;
    const get = request.method === 'GET';
    if (get && (pathname === '/' || pathname === '/index.html')) {
      return sendText(response, 'text/html; charset=utf-8', await readFile(resolve(process.cwd(), PAGE_DIR, 'index.html'), 'utf8'));
    }
    if (get && pathname === '/playground/styles.css') {
      return sendText(response, 'text/css; charset=utf-8', await readFile(resolve(process.cwd(), PAGE_DIR, 'styles.css'), 'utf8'));
    }
    if (get && pathname === '/playground/app.js') return sendText(response, 'text/javascript; charset=utf-8', await app());
    if (get && pathname === '/playground/api/orders') return sendJson(response, 200, playgroundOrders());
    if (get && pathname === '/playground/api/rules/schema') return sendJson(response, 200, rulesJsonSchema());
    if (pathname === '/playground/api/rules') return rules(request, response, url);
    if (get && pathname === '/playground/api/recorded-orders') return recordedOrders(response);
    if (get && pathname === '/playground/api/events') return events(response, url);
    if (request.method === 'POST' && pathname === '/playground/api/push') return push(request, response);
    if (get && pathname === '/playground/api/rules/history') return history(response, url);
    if (request.method === 'POST' && pathname === '/playground/api/rules/restore') return restore(request, response, url);
    const match = /^\/playground\/api\/callbacks\/([a-z_]+)$/.exec(pathname);
    if (match?.[1] && request.method === 'POST') return callback(match[1], request, response);
    return false;
  };

  return {
    handle: async (request, response, url) => {
      if (!isPlaygroundPath(url.pathname)) return false;
      const refused = refusal(request);
      if (refused) return sendJson(response, 403, { error: refused });
      try {
        return await route(request, response, url);
      } catch (error) {
        if (error instanceof BadRequest) return sendJson(response, 400, { error: error.message });
        throw error; // The server answers 502 and logs the error's name.
      }
    },
    close: async () => {
      untap();
      client.destroy();
      plain.destroy();
    },
  };
};

/** The paths the playground serves; anything else stays the server's 404. */
const isPlaygroundPath = (path: string): boolean => path === '/' || path === '/index.html' || path.startsWith('/playground/');
