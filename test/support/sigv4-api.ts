/**
 * A loopback stand-in for a deployed API's IAM-authorized routes: API Gateway's stage in the path
 * (`/{stage}/…`) and its SigV4 check, in front of a real server (npm start's) or, without one, an
 * echo. The check re-signs the request it got, with the credentials it knows and the request's own
 * X-Amz-Date, by the same library (@smithy/signature-v4), and compares the Authorization headers:
 * a missing, foreign, stale or altered signature is answered 403 with API Gateway's message.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { startLoopbackServer } from '../../bin/local/loopback-server.js';

export type SigV4Api = {
  /** The stage's base URL, as a deployed stack's ApiUrl output (`http://127.0.0.1:PORT/prod`). */
  readonly url: string;
  /** Each request's method, path (without the stage) and the status it was answered. */
  readonly seen: { method: string; path: string; status: number }[];
  close(): Promise<void>;
};

type Known = { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

const bodyOf = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

const parseAmzDate = (value: string): Date | undefined => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))) : undefined;
};

/** Why API Gateway would refuse the request (403), or undefined when the signature is ours. */
const refusal = async (request: IncomingMessage, body: string, known: Known, region: string): Promise<string | undefined> => {
  const authorization = request.headers.authorization;
  if (authorization === undefined) return 'Missing Authentication Token';
  const parts = AUTHORIZATION.exec(authorization);
  const date = parseAmzDate(String(request.headers['x-amz-date'] ?? ''));
  if (!parts || !date) return 'Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.';
  const [, accessKeyId, , signedRegion, service, signedHeaders] = parts;
  if (accessKeyId !== known.accessKeyId) return 'The security token included in the request is invalid.';
  if (signedRegion !== region || service !== 'execute-api') return `Credential should be scoped to a valid region and to the service execute-api.`;
  if (Math.abs(Date.now() - date.getTime()) > 5 * 60_000) return 'Signature expired';
  const names = (signedHeaders ?? '').split(';');
  if (!names.includes('host')) return "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.";
  const headers: Record<string, string> = {};
  for (const name of names) headers[name] = String(request.headers[name] ?? '');
  // The body's hash is the stand-in's own, never the client's word for it (an altered body fails).
  if ('x-amz-content-sha256' in headers) {
    const hash = new Sha256();
    hash.update(Buffer.from(body, 'utf8'));
    headers['x-amz-content-sha256'] = Buffer.from(await hash.digest()).toString('hex');
  }
  const url = new URL(request.url ?? '/', `http://${String(request.headers.host)}`);
  const query: Record<string, string> = Object.fromEntries(url.searchParams);
  const signer = new SignatureV4({ service: 'execute-api', region, credentials: known, sha256: Sha256 });
  const expected = await signer.sign(
    { method: request.method ?? 'GET', protocol: 'http:', hostname: url.hostname, path: url.pathname, query, headers, ...(body ? { body } : {}) },
    { signingDate: date },
  );
  return expected.headers.authorization === authorization
    ? undefined
    : 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.';
};

export const startSigV4Api = async (options: { credentials: Known; region: string; stage?: string; forwardTo?: string }): Promise<SigV4Api> => {
  const stage = options.stage ?? 'prod';
  const seen: SigV4Api['seen'] = [];
  const answer = (response: ServerResponse, status: number, body: string, path: string, method: string): void => {
    seen.push({ method, path, status });
    response.writeHead(status, { 'content-type': 'application/json' }).end(body);
  };
  const server = await startLoopbackServer('sigv4 api stand-in', (request, response) => {
    void (async () => {
      const method = request.method ?? 'GET';
      const body = await bodyOf(request);
      const url = new URL(request.url ?? '/', 'http://stand-in');
      const path = url.pathname.startsWith(`/${stage}/`) ? url.pathname.slice(stage.length + 1) : url.pathname;
      const refused = await refusal(request, body, options.credentials, options.region);
      if (refused !== undefined) return answer(response, 403, JSON.stringify({ message: refused }), path, method);
      if (!options.forwardTo) return answer(response, 200, JSON.stringify({ method, path, body }), path, method);
      const forwarded = await fetch(`${options.forwardTo}${path}${url.search}`, {
        method,
        headers: { 'content-type': String(request.headers['content-type'] ?? 'application/json') },
        ...(body ? { body } : {}),
      });
      answer(response, forwarded.status, await forwarded.text(), path, method);
    })().catch((error: unknown) => answer(response, 500, JSON.stringify({ message: String(error) }), request.url ?? '', request.method ?? ''));
  });
  return { url: `${server.url}/${stage}`, seen, close: () => server.close() };
};
