/**
 * A stand-in for the AWS Parameters and Secrets Lambda Extension on 127.0.0.1 (a free port, given
 * to the functions as PARAMETERS_SECRETS_EXTENSION_HTTP_PORT): `GET /secretsmanager/get?secretId=…`
 * with the container's session token in `X-Aws-Parameters-Secrets-Token`, answered with
 * GetSecretValue's JSON as the extension relays it from Secrets Manager. A request without the
 * token, or with another one, is refused 401 (the extension's guard against request forgery); an
 * unknown secret 400, as Secrets Manager's ResourceNotFoundException comes through.
 * Per request it can answer the stored value, fail (500), hang (accept and never answer, until
 * close()), answer a SecretString that is not JSON, or a body that is not even JSON; and every
 * answer can come late (`setLatency`: the extension's own round trip to Secrets Manager). It
 * counts requests and those still hanging.
 */
import type { ServerResponse } from 'node:http';
import { startLoopbackServer } from './loopback-server.js';

/** What the next requests get. */
export type FakeSecretsBehaviour = 'answer' | 'error' | 'hang' | 'not_json_secret' | 'garbage';

export type FakeSecretsExtension = {
  /** The port to put in PARAMETERS_SECRETS_EXTENSION_HTTP_PORT. */
  readonly port: number;
  /** The token to put in AWS_SESSION_TOKEN: the only one this stand-in accepts. */
  readonly sessionToken: string;
  /** Secret reads received (any behaviour, refused ones too), in all or for one secret id. */
  readonly calls: (secretId?: string) => number;
  /** Requests accepted and not answered yet (behaviour `hang`), in all or for one secret id. */
  readonly hanging: (secretId?: string) => number;
  /** The SecretString answered for a secret id (an ARN); unknown ids get 400. */
  setSecret(secretId: string, secretString: string): void;
  setBehaviour(behaviour: FakeSecretsBehaviour): void;
  /** Every answer waits this long first (default 0). */
  setLatency(ms: number): void;
  /** Keep every answer back from now on, until `release()` sends them (in order) and stops holding. */
  hold(): void;
  release(): void;
  close(): Promise<void>;
};

export const FAKE_SESSION_TOKEN = 'fake-session-token';

export const startFakeSecretsExtension = async (): Promise<FakeSecretsExtension> => {
  const secrets = new Map<string, string>();
  const held = new Map<ServerResponse, string | null>();
  let behaviour: FakeSecretsBehaviour = 'answer';
  let latencyMs = 0;
  let holding: (() => void)[] | undefined;
  let calls = 0;
  const callsById = new Map<string, number>();

  const sendNow = (response: ServerResponse, status: number, body: unknown): void => {
    if (response.destroyed) return;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    response.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
    response.end(text);
  };
  const send = (response: ServerResponse, status: number, body: unknown): void => {
    const answer = (): void => {
      if (latencyMs === 0) sendNow(response, status, body);
      else setTimeout(() => sendNow(response, status, body), latencyMs);
    };
    if (holding) holding.push(answer);
    else answer();
  };

  const loopback = await startLoopbackServer('fake Parameters and Secrets extension', (request, response) => {
    request.resume();
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method !== 'GET' || url.pathname !== '/secretsmanager/get') return sendNow(response, 404, 'not found');
    calls += 1;
    const secretId = url.searchParams.get('secretId');
    if (secretId !== null) callsById.set(secretId, (callsById.get(secretId) ?? 0) + 1);
    if (request.headers['x-aws-parameters-secrets-token'] !== FAKE_SESSION_TOKEN) return send(response, 401, 'unauthorized');
    switch (behaviour) {
      case 'hang':
        held.set(response, secretId);
        response.on('close', () => held.delete(response));
        return;
      case 'error':
        return send(response, 500, 'internal error');
      case 'garbage':
        return send(response, 200, '<html>not the protocol</html>');
      default:
    }
    const value = secretId === null ? undefined : secrets.get(secretId);
    if (secretId === null || value === undefined) {
      return send(response, 400, "ResourceNotFoundException: Secrets Manager can't find the specified secret.");
    }
    send(response, 200, {
      ARN: secretId,
      Name: secretId.split(':').at(-1) ?? secretId,
      // Not JSON, yet holding the whole value: a log line that quotes it would leak it.
      SecretString: behaviour === 'not_json_secret' ? `tokens = ${value}` : value,
      VersionId: 'v1',
      VersionStages: ['AWSCURRENT'],
      CreatedDate: '2025-12-02T00:00:00Z',
    });
  });
  return {
    port: Number(new URL(loopback.url).port),
    sessionToken: FAKE_SESSION_TOKEN,
    calls: (secretId) => (secretId === undefined ? calls : (callsById.get(secretId) ?? 0)),
    hanging: (secretId) => [...held.values()].filter((id) => secretId === undefined || id === secretId).length,
    setSecret: (secretId, secretString) => void secrets.set(secretId, secretString),
    setBehaviour: (next) => void (behaviour = next),
    setLatency: (ms) => void (latencyMs = Math.max(0, ms)),
    hold: () => void (holding ??= []),
    release: () => {
      const held = holding ?? [];
      holding = undefined;
      for (const answer of held) answer();
    },
    close: () => loopback.close(),
  };
};
