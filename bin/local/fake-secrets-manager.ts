/**
 * A stand-in for AWS Secrets Manager on 127.0.0.1 (a free port) that answers `GetSecretValue` as
 * the JSON 1.1 protocol does, for the SDK pointed at it with `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
 * Per request it can answer the stored value, fail (500 InternalServiceError), hang (accept and
 * never answer, until close()), answer a SecretString that is not JSON, or a body that is not
 * even the protocol's JSON; and every answer can come late (`setLatency`, as a real network's
 * round trip). It counts requests and those still hanging.
 */
import type { ServerResponse } from 'node:http';
import { startLoopbackServer } from './loopback-server.js';

/** What the next requests get. */
export type FakeSecretsBehaviour = 'answer' | 'error' | 'hang' | 'not_json_secret' | 'garbage';

export type FakeSecretsManager = {
  readonly url: string;
  /** GetSecretValue requests received (any behaviour), in all or for one secret id. */
  readonly calls: (secretId?: string) => number;
  /** Requests accepted and not answered yet (behaviour `hang`), in all or for one secret id. */
  readonly hanging: (secretId?: string) => number;
  /** The SecretString answered for a secret id (an ARN); unknown ids get ResourceNotFoundException. */
  setSecret(secretId: string, secretString: string): void;
  setBehaviour(behaviour: FakeSecretsBehaviour): void;
  /** Every answer waits this long first (default 0). */
  setLatency(ms: number): void;
  /** Keep every answer back from now on, until `release()` sends them (in order) and stops holding. */
  hold(): void;
  release(): void;
  close(): Promise<void>;
};

const AMZ_JSON = { 'content-type': 'application/x-amz-json-1.1' };

export const startFakeSecretsManager = async (): Promise<FakeSecretsManager> => {
  const secrets = new Map<string, string>();
  const held = new Map<ServerResponse, unknown>();
  let behaviour: FakeSecretsBehaviour = 'answer';
  let latencyMs = 0;
  let holding: (() => void)[] | undefined;
  let calls = 0;
  const callsById = new Map<string, number>();

  const sendNow = (response: ServerResponse, status: number, body: unknown): void => {
    if (response.destroyed) return;
    response.writeHead(status, AMZ_JSON);
    response.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const send = (response: ServerResponse, status: number, body: unknown): void => {
    const answer = (): void => {
      if (latencyMs === 0) sendNow(response, status, body);
      else setTimeout(() => sendNow(response, status, body), latencyMs);
    };
    if (holding) holding.push(answer);
    else answer();
  };

  const loopback = await startLoopbackServer('fake Secrets Manager', (request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    request.on('end', () => {
      calls += 1;
      let secretId: unknown;
      try {
        secretId = (JSON.parse(text) as { SecretId?: unknown }).SecretId;
      } catch {
        secretId = undefined;
      }
      if (typeof secretId === 'string') callsById.set(secretId, (callsById.get(secretId) ?? 0) + 1);
      if (request.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
        return send(response, 400, { __type: 'UnknownOperationException', message: 'only GetSecretValue' });
      }
      switch (behaviour) {
        case 'hang':
          held.set(response, secretId);
          response.on('close', () => held.delete(response));
          return;
        case 'error':
          return send(response, 500, { __type: 'InternalServiceError', message: 'fake failure' });
        case 'garbage':
          return send(response, 200, '<html>not the protocol</html>');
        default:
      }
      const value = typeof secretId === 'string' ? secrets.get(secretId) : undefined;
      if (typeof secretId !== 'string' || value === undefined) {
        return send(response, 400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
      }
      const name = secretId.split(':').at(-1) ?? secretId;
      send(response, 200, {
        ARN: secretId,
        Name: name,
        // Not JSON, yet holding the whole value: a log line that quotes it would leak it.
        SecretString: behaviour === 'not_json_secret' ? `tokens = ${value}` : value,
        VersionId: 'v1',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: 1_764_633_600,
      });
    });
  });
  return {
    url: loopback.url,
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
