/**
 * Callback tokens from AWS Secrets Manager, as deployed: the real SDK client talks to a loopback
 * stand-in for Secrets Manager (AWS_ENDPOINT_URL_SECRETS_MANAGER), which counts GetSecretValue
 * calls and can fail on demand.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

let server: Server;
let calls = 0;
let failing = false;
let secretString = JSON.stringify({ tokens: ['first-token', 'second-token'] });
const savedEnv = { ...process.env };

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      calls += 1;
      const target = request.headers['x-amz-target'];
      if (failing || target !== 'secretsmanager.GetSecretValue') {
        response.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify({ __type: 'InternalServiceError', message: 'down' }));
        return;
      }
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify({ ARN: SecretId, Name: 'KcoCallbackTokens', SecretString: secretString, VersionId: 'v1' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    AWS_REGION: 'eu-north-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    SECRETS_CACHE_SECONDS: '300',
  });
  delete process.env.KCO_CALLBACK_TOKENS;
  process.env.KCO_CALLBACK_TOKENS_SECRET_ARN = 'arn:aws:secretsmanager:eu-north-1:123456789012:secret:KcoCallbackTokens-AbCdEf';
});

afterAll(async () => {
  process.env = savedEnv;
  await new Promise((resolve) => server.close(resolve));
});

const loadSecrets = () => {
  let module: typeof import('../../functions/shared/secrets.js') | undefined;
  jest.isolateModules(() => {
    module = jest.requireActual<typeof import('../../functions/shared/secrets.js')>('../../functions/shared/secrets.js');
  });
  return module!;
};

it('reads the tokens once per container and serves them from memory within SECRETS_CACHE_SECONDS', async () => {
  const { callbackTokens } = loadSecrets();
  calls = 0;
  expect(await callbackTokens()).toEqual(['first-token', 'second-token']);
  expect(await callbackTokens()).toEqual(['first-token', 'second-token']);
  expect(calls).toBe(1);
});

it('picks up a rotated secret after the cache time, and keeps the last good tokens when a refresh fails', async () => {
  const { readSecretJson } = loadSecrets();
  const arn = process.env.KCO_CALLBACK_TOKENS_SECRET_ARN!;
  let now = 1_000_000;
  const clock = () => now;
  calls = 0;
  expect(await readSecretJson(arn, clock)).toEqual({ tokens: ['first-token', 'second-token'] });

  secretString = JSON.stringify({ tokens: ['second-token', 'third-token'] });
  now += 299_000;
  expect(await readSecretJson(arn, clock)).toEqual({ tokens: ['first-token', 'second-token'] });
  expect(calls).toBe(1);
  now += 2_000;
  expect(await readSecretJson(arn, clock)).toEqual({ tokens: ['second-token', 'third-token'] });
  expect(calls).toBe(2);

  failing = true;
  now += 301_000;
  expect(await readSecretJson(arn, clock)).toEqual({ tokens: ['second-token', 'third-token'] });
  failing = false;
  expect(await readSecretJson(arn, clock)).toEqual({ tokens: ['second-token', 'third-token'] });
});

it('a first read that fails is not cached: the next call asks again', async () => {
  const { callbackTokens } = loadSecrets();
  failing = true;
  await expect(callbackTokens()).rejects.toThrow();
  failing = false;
  expect(await callbackTokens()).toEqual(['second-token', 'third-token']);
});
