/**
 * The local API: an HTTP server on loopback that turns each request into the API Gateway (REST,
 * proxy integration) event the Lambda would receive and calls the very same handler module, found
 * through the one route table in lib/routes.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { commandRoutes, routes as callbackAndOsmRoutes, type CommandRouteDefinition } from '../../lib/routes.js';

/** What the local server needs of a route: method, path and the handler module. */
type RouteDefinition = CommandRouteDefinition;
/** Every route of lib/routes.ts; the command routes are open here (IAM only when deployed). */
const allRoutes: readonly RouteDefinition[] = [...callbackAndOsmRoutes, ...commandRoutes];
import { runInvocation } from './invocation.js';

/** API Gateway's own payload limit; our handlers apply their smaller one. */
const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

type LambdaHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

type CompiledRoute = { route: RouteDefinition; pattern: RegExp; params: string[] };

const compile = (route: RouteDefinition): CompiledRoute => {
  const params: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (!param?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      params.push(param[1]);
      return '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}$`), params };
};

export type LocalServer = { readonly url: string; readonly server: Server; close(): Promise<void> };

/** Serves paths the route table does not know (the playground); false: not mine, answer 404. */
export type ExtraHandler = (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<boolean>;

/** A route's handler module, imported once per process as a Lambda container would. */
export const loadHandler = (() => {
  const loaded = new Map<string, Promise<LambdaHandler>>();
  return (entry: string): Promise<LambdaHandler> => {
    let handler = loaded.get(entry);
    if (!handler) {
      handler = import(pathToFileURL(resolve(process.cwd(), entry)).href).then((module: { handler?: unknown }) => {
        if (typeof module.handler !== 'function') throw new Error(`${entry} does not export a handler`);
        return module.handler as LambdaHandler;
      });
      loaded.set(entry, handler);
    }
    return handler;
  };
})();

/** The request body, or 'too_large' past API Gateway's limit (the rest is read and dropped). */
export const readBody = (request: IncomingMessage): Promise<Buffer | 'too_large'> =>
  new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > API_GATEWAY_MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => resolveBody(tooLarge ? 'too_large' : Buffer.concat(chunks)));
    request.on('error', reject);
  });

const singleValues = (headers: IncomingMessage['headers']): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
};

export type EventInput = {
  method: string;
  /** The route's path template, e.g. `/kco/orders/{order_id}/validation`. */
  resource: string;
  path: string;
  pathParameters?: Record<string, string> | null;
  query?: Record<string, string> | null;
  headers?: Record<string, string>;
  body?: string | null;
  sourceIp?: string;
  protocol?: string;
};

/** The API Gateway REST proxy event Lambda receives for a request (also used by tests and the soak). */
export const apiGatewayEvent = (input: EventInput): APIGatewayProxyEvent => {
  const headers = input.headers ?? {};
  const query = input.query && Object.keys(input.query).length ? input.query : null;
  return {
    resource: input.resource,
    path: input.path,
    httpMethod: input.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: query,
    multiValueQueryStringParameters: query ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]])) : null,
    pathParameters: input.pathParameters ?? null,
    stageVariables: null,
    isBase64Encoded: false,
    body: input.body ?? null,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      authorizer: undefined,
      protocol: input.protocol ?? 'HTTP/1.1',
      httpMethod: input.method,
      identity: { sourceIp: input.sourceIp ?? '127.0.0.1', userAgent: headers['user-agent'] ?? null } as APIGatewayProxyEvent['requestContext']['identity'],
      path: `/local${input.path}`,
      stage: 'local',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: input.resource,
    },
  };
};

/** The event Klarna's POST to one KCO callback becomes. */
export const kcoCallbackEvent = (
  callback: string,
  orderId: string,
  body: string | null,
  { token, headers = { 'content-type': 'application/json' } }: { token?: string | null; headers?: Record<string, string> } = {},
): APIGatewayProxyEvent =>
  apiGatewayEvent({
    method: 'POST',
    resource: `/kco/orders/{order_id}/${callback}`,
    path: `/kco/orders/${encodeURIComponent(orderId)}/${callback}`,
    pathParameters: { order_id: orderId },
    query: token === undefined || token === null ? null : { token },
    headers,
    body,
  });

/** Path parameters decoded as API Gateway decodes them; undefined when one is not valid percent-encoding. */
const decodePathValues = (values: readonly string[]): string[] | undefined => {
  try {
    return values.map((value) => decodeURIComponent(value));
  } catch {
    return undefined;
  }
};

const toEvent = (request: IncomingMessage, url: URL, match: CompiledRoute, values: string[], body: Buffer): APIGatewayProxyEvent => {
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) query[key] = value;
  return apiGatewayEvent({
    method: request.method ?? 'GET',
    resource: match.route.path,
    path: url.pathname,
    pathParameters: match.params.length
      ? Object.fromEntries(match.params.map((name, i) => [name, values[i] ?? '']))
      : null,
    query,
    headers: singleValues(request.headers),
    body: body.length > 0 ? body.toString('utf8') : null,
    ...(request.socket.remoteAddress ? { sourceIp: request.socket.remoteAddress } : {}),
    protocol: `HTTP/${request.httpVersion}`,
  });
};

/** A Lambda context with a 5 s budget, as the stack's functions get at most. */
export const lambdaContext = (functionName: string): Context => {
  const started = Date.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, 5000 - (Date.now() - started)),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

const send = (response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(body);
};

/** Serve the route table on 127.0.0.1:`port` (0 for a free one). */
export const startLocalServer = async ({
  port = 0,
  routes = allRoutes,
  extra,
}: { port?: number; routes?: readonly RouteDefinition[]; extra?: ExtraHandler } = {}): Promise<LocalServer> => {
  const compiled = routes.map(compile);
  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const candidates = compiled
        .map((c) => ({ c, m: c.pattern.exec(url.pathname) }))
        .filter((x): x is { c: CompiledRoute; m: RegExpExecArray } => x.m !== null);
      if (candidates.length === 0) {
        if (extra && (await extra(request, response, url))) return;
        return send(response, 404, JSON.stringify({ message: 'Not Found' }));
      }
      const found = candidates.find(({ c }) => c.route.method === request.method);
      // API Gateway answers a known path with an unknown method with 403 "Missing Authentication Token".
      if (!found) return send(response, 403, JSON.stringify({ message: 'Missing Authentication Token' }));
      const values = decodePathValues(found.m.slice(1));
      // A path that is not valid percent-encoding is the caller's error, not a failed Lambda.
      if (!values) return send(response, 400, JSON.stringify({ message: 'Bad Request' }));
      const body = await readBody(request);
      if (body === 'too_large') return send(response, 413, JSON.stringify({ message: 'Request Too Long' }));
      const event = toEvent(request, url, found.c, values, body);
      const handler = await loadHandler(found.c.route.fn.entry);
      const context = lambdaContext(found.c.route.fn.id);
      const result = await runInvocation(context, () => handler(event, context));
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = String(v);
      for (const [k, v] of Object.entries(result.multiValueHeaders ?? {})) headers[k.toLowerCase()] = v.map(String).join(', ');
      const payload = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body;
      response.writeHead(result.statusCode, headers);
      response.end(payload);
    })().catch((error: unknown) => {
      // As API Gateway does when a Lambda fails: a bare 502, no details to the caller.
      console.error('local server: handler failed:', error instanceof Error ? error.name : typeof error);
      if (!response.headersSent) send(response, 502, JSON.stringify({ message: 'Internal server error' }));
      else response.end();
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolveListen());
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://127.0.0.1:${actualPort}`,
    server,
    close: () =>
      new Promise((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
};
