/**
 * Secrets as deployed: our extension client talks to a loopback stand-in for the AWS Parameters
 * and Secrets Lambda Extension (bin/local/fake-secrets-extension.ts, on the port given by
 * PARAMETERS_SECRETS_EXTENSION_HTTP_PORT) that answers, refuses, fails, hangs and answers values
 * that are not JSON. Time is an injected clock; every
 * test sets the stand-in's behaviour and its own secret, so the tests pass in any order.
 */
import { randomUUID } from 'node:crypto';
import { startFakeSecretsExtension, type FakeSecretsExtension } from '../../bin/local/fake-secrets-extension.js';
import { apiGatewayEvent, kcoCallbackEvent, lambdaContext } from '../../bin/local/server.js';
import { logger } from '../../functions/shared/log.js';
import {
  SecretUnavailable,
  cachedSecret,
  extensionFetcher,
  parseCallbackTokens,
  type SecretCacheOptions,
  type SecretFetcher,
} from '../../functions/shared/secrets.js';
import { loadKcoHandlers } from '../support/kco-handlers.js';
import { waitFor } from '../support/wait-for.js';

let fake: FakeSecretsExtension;
// Short limits keep a hanging stand-in cheap; the production values are larger (see secrets.ts).
let fetchSecret: SecretFetcher;
const savedEnv = { ...process.env };

beforeAll(async () => {
  fake = await startFakeSecretsExtension();
  Object.assign(process.env, { PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(fake.port), AWS_SESSION_TOKEN: fake.sessionToken });
  fetchSecret = extensionFetcher({ port: fake.port, requestTimeoutMs: 150, deadlineMs: 400, sessionToken: () => fake.sessionToken });
});

beforeEach(() => fake.setBehaviour('answer'));

afterAll(async () => {
  process.env = savedEnv;
  await fake.close();
});

/** A secret of its own for each test: nothing one test stores or caches reaches another. */
const newSecret = (value: unknown): string => {
  const arn = `arn:aws:secretsmanager:eu-north-1:123456789012:secret:Test${randomUUID().slice(0, 8)}-AbCdEf`;
  fake.setSecret(arn, typeof value === 'string' ? value : JSON.stringify(value));
  return arn;
};

const clock = () => {
  const state = { now: 1_000_000 };
  return { state, now: () => state.now };
};
const options = (now: () => number): SecretCacheOptions => ({ fetch: (arn) => fetchSecret(arn), refreshAfterMs: 300_000, maxAgeMs: 3_600_000, now });

/** Log lines written while `run` runs, as text. */
const logsOf = async (run: () => Promise<unknown>): Promise<string> => {
  const written: string[] = [];
  const spies = [process.stdout, process.stderr].map((stream) =>
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }),
  );
  logger.setLogLevel('DEBUG');
  try {
    await run();
  } finally {
    logger.setLogLevel('SILENT');
    for (const spy of spies) spy.mockRestore();
  }
  return written.join('');
};

describe('reading and caching', () => {
  it('a first call that waited on a failed load-time read reads again only within the one bound both share', async () => {
    const arn = newSecret({ tokens: ['a-token'] });
    fake.setBehaviour('hang');
    const deadlines: (number | undefined)[] = [];
    const read = cachedSecret(arn, parseCallbackTokens, {
      ...options(Date.now),
      fetch: (secretArn, deadlineAt) => {
        deadlines.push(deadlineAt);
        return fetchSecret(secretArn, deadlineAt);
      },
      callBoundMs: 400,
    });
    read.prefetch();
    const called = Date.now();
    await expect(read()).rejects.toThrow(SecretUnavailable);
    // The load-time read had the fetcher's own deadline; the call's read only what was left of
    // the 400 ms since the call began (not 400 ms more).
    expect(deadlines).toHaveLength(2);
    expect(deadlines[0]).toBeUndefined();
    expect(deadlines[1]).toBeGreaterThanOrEqual(called + 400);
    expect(deadlines[1]).toBeLessThanOrEqual(called + 400 + 50);
  });

  it('reads a secret once and serves it from memory until the refresh time', async () => {
    const arn = newSecret({ tokens: ['first-token', 'second-token'] });
    const { state, now } = clock();
    const read = cachedSecret(arn, parseCallbackTokens, options(now));
    const before = fake.calls(arn);
    expect(await read()).toEqual(['first-token', 'second-token']);
    state.now += 299_999;
    expect(await read()).toEqual(['first-token', 'second-token']);
    expect(fake.calls(arn) - before).toBe(1);
  });

  it('says it is ready (answers without waiting) exactly while a read value may serve: not before the first read, not past the maximum age', async () => {
    const arn = newSecret({ tokens: ['a-token'] });
    const { state, now } = clock();
    const read = cachedSecret(arn, parseCallbackTokens, options(now));
    expect(read.ready()).toBe(false);
    const pending = read();
    expect(read.ready()).toBe(false);
    await pending;
    expect(read.ready()).toBe(true);
    // Past the refresh time it still serves (and refreshes behind); only the maximum age ends that.
    fake.setBehaviour('error');
    state.now += 3_599_999;
    expect(read.ready()).toBe(true);
    state.now += 1;
    expect(read.ready()).toBe(false);
  });

  it('after the refresh time serves the cached value at once and picks up the new one from a background refresh', async () => {
    const arn = newSecret({ tokens: ['old-token'] });
    const { state, now } = clock();
    const read = cachedSecret(arn, parseCallbackTokens, options(now));
    expect(await read()).toEqual(['old-token']);
    fake.setSecret(arn, JSON.stringify({ tokens: ['new-token', 'old-token'] }));
    state.now += 300_000;
    const before = fake.calls(arn);
    // Served from the cache; the refresh runs beside it (one request for both calls).
    expect(await Promise.all([read(), read()])).toEqual([['old-token'], ['old-token']]);
    await waitFor(async () => (await read()).includes('new-token'));
    expect(await read()).toEqual(['new-token', 'old-token']);
    expect(fake.calls(arn) - before).toBe(1);
  });

  it('concurrent first reads share one request', async () => {
    const arn = newSecret({ tokens: ['only-token'] });
    const read = cachedSecret(arn, parseCallbackTokens, options(clock().now));
    const before = fake.calls(arn);
    expect(await Promise.all([read(), read(), read()])).toEqual([['only-token'], ['only-token'], ['only-token']]);
    expect(fake.calls(arn) - before).toBe(1);
  });
});

describe('when Secrets Manager fails', () => {
  it('a first read that fails is not cached: it rejects, and the next call asks again', async () => {
    const arn = newSecret({ tokens: ['a-token'] });
    const read = cachedSecret(arn, parseCallbackTokens, options(clock().now));
    fake.setBehaviour('error');
    await expect(read()).rejects.toBeInstanceOf(SecretUnavailable);
    fake.setBehaviour('answer');
    expect(await read()).toEqual(['a-token']);
  });

  it('a first read against a Secrets Manager that never answers gives up at the deadline', async () => {
    const arn = newSecret({ tokens: ['a-token'] });
    const read = cachedSecret(arn, parseCallbackTokens, options(clock().now));
    fake.setBehaviour('hang');
    const before = fake.calls(arn);
    await expect(read()).rejects.toBeInstanceOf(SecretUnavailable);
    // Each attempt was abandoned at its own timeout (150 ms), the second within the deadline.
    expect(fake.calls(arn) - before).toBe(2);
  });

  it('a hanging refresh never holds a caller: the last good value answers while the request hangs', async () => {
    const arn = newSecret({ tokens: ['good-token'] });
    const { state, now } = clock();
    const read = cachedSecret(arn, parseCallbackTokens, options(now));
    expect(await read()).toEqual(['good-token']);
    fake.setBehaviour('hang');
    state.now += 600_000;
    expect(fake.hanging(arn)).toBe(0);
    expect(await read()).toEqual(['good-token']);
    // The answer came while the refresh was still waiting on the stand-in.
    await waitFor(() => fake.hanging(arn) > 0);
    expect(await read()).toEqual(['good-token']);
  });

  it.each(['error', 'hang', 'not_json_secret', 'garbage'] as const)(
    'a refresh that meets %s keeps the last good value up to the maximum age, then fails closed',
    async (behaviour) => {
      const arn = newSecret({ tokens: ['good-token'] });
      const { state, now } = clock();
      const read = cachedSecret(arn, parseCallbackTokens, options(now));
      expect(await read()).toEqual(['good-token']);
      fake.setBehaviour(behaviour);
      state.now += 3_599_999;
      expect(await read()).toEqual(['good-token']);
      state.now += 1;
      await expect(read()).rejects.toBeInstanceOf(SecretUnavailable);
      // Secrets Manager is back: the next read succeeds and starts a new maximum age.
      fake.setBehaviour('answer');
      expect(await read()).toEqual(['good-token']);
      state.now += 3_599_999;
      fake.setBehaviour(behaviour);
      expect(await read()).toEqual(['good-token']);
    },
  );
});

describe('a read started early (prefetch)', () => {
  it('serves the first call from the read it started, with no second request', async () => {
    const arn = newSecret({ tokens: ['early-token'] });
    const read = cachedSecret(arn, parseCallbackTokens, options(clock().now));
    fake.hold();
    read.prefetch();
    read.prefetch();
    const first = read();
    await waitFor(() => fake.calls(arn) === 1);
    fake.release();
    expect(await first).toEqual(['early-token']);
    expect(read.ready()).toBe(true);
    expect(fake.calls(arn)).toBe(1);
  });

  it('logs nothing when it fails, and the first call reads again (and logs its own failure)', async () => {
    const arn = newSecret({ tokens: ['a-token'] });
    const read = cachedSecret(arn, parseCallbackTokens, options(clock().now));
    fake.setBehaviour('not_json_secret');
    const quiet = await logsOf(async () => {
      read.prefetch();
      await waitFor(() => fake.calls(arn) === 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
    expect(quiet).toBe('');
    expect(read.ready()).toBe(false);
    const loud = await logsOf(async () => {
      await expect(read()).rejects.toBeInstanceOf(SecretUnavailable);
    });
    expect(loud).toContain('secret is not the expected JSON');
    fake.setBehaviour('answer');
    expect(await read()).toEqual(['a-token']);
    expect(fake.calls(arn)).toBe(3);
  });

  it('does nothing once a value is known', async () => {
    const arn = newSecret({ tokens: ['a-token'] });
    const read = cachedSecret(arn, parseCallbackTokens, options(clock().now));
    expect(await read()).toEqual(['a-token']);
    read.prefetch();
    expect(await read()).toEqual(['a-token']);
    expect(fake.calls(arn)).toBe(1);
  });
});

describe('the extension client', () => {
  it('sends the session token and asks for the secret by its ARN', async () => {
    const arn = newSecret({ tokens: ['a-token'] });
    expect(JSON.parse((await fetchSecret(arn)) ?? '')).toEqual({ tokens: ['a-token'] });
    expect(fake.calls(arn)).toBe(1);
  });

  it.each([
    ['a wrong session token (401)', () => extensionFetcher({ port: fake.port, requestTimeoutMs: 150, deadlineMs: 400, sessionToken: () => 'another-token' }), 401],
    ['no session token (401)', () => extensionFetcher({ port: fake.port, requestTimeoutMs: 150, deadlineMs: 400, sessionToken: () => undefined }), 401],
    ['an unknown secret (400)', () => fetchSecret, 400],
  ] as const)('rejects %s with the status alone and does not ask again', async (_name, fetcher, status) => {
    const arn = status === 400 ? 'arn:aws:secretsmanager:eu-north-1:123456789012:secret:Unknown-AbCdEf' : newSecret({ tokens: ['a-token'] });
    const before = fake.calls(arn);
    await expect(fetcher()(arn)).rejects.toThrow(`the Parameters and Secrets extension answered ${status}`);
    expect(fake.calls(arn) - before).toBe(1);
  });

  it('asks a second time after a 500, within the deadline', async () => {
    const arn = newSecret({ tokens: ['a-token'] });
    fake.setBehaviour('error');
    await expect(fetchSecret(arn)).rejects.toThrow('the Parameters and Secrets extension answered 500');
    expect(fake.calls(arn)).toBe(2);
  });

  it('rejects a body that is not JSON with a fixed text that quotes none of it', async () => {
    const arn = newSecret({ tokens: ['a-token'] });
    fake.setBehaviour('garbage');
    const failure = await fetchSecret(arn).catch((error: unknown) => error);
    expect((failure as Error).message).toBe('the Parameters and Secrets extension answered a body that is not JSON');
  });

  it('rejects at once when nothing listens on the port (no extension in the function)', async () => {
    const closed = await startFakeSecretsExtension();
    await closed.close();
    const fetcher = extensionFetcher({ port: closed.port, requestTimeoutMs: 150, deadlineMs: 400, sessionToken: () => fake.sessionToken });
    await expect(fetcher('arn:aws:secretsmanager:eu-north-1:123456789012:secret:Any-AbCdEf')).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('a value that is not the expected JSON', () => {
  const leaked = 'tok-3f9a1c77e2b04d5a';

  it.each([
    ['not JSON at all', 'not_json_secret', { tokens: [leaked] }],
    ['JSON without a tokens list', 'answer', { token: leaked }],
    ['a tokens list with a number in it', 'answer', { tokens: [leaked, 42] }],
  ] as const)('(%s) logs a fixed message naming the secret and no part of the value', async (_name, behaviour, value) => {
    const arn = newSecret(value);
    const read = cachedSecret(arn, parseCallbackTokens, options(clock().now));
    fake.setBehaviour(behaviour);
    let failure: unknown;
    const logs = await logsOf(async () => {
      failure = await read().catch((error: unknown) => error);
    });
    expect(failure).toBeInstanceOf(SecretUnavailable);
    const name = arn.split(':').at(-1);
    // Lines about this secret only (another test's background refresh may finish meanwhile).
    const lines = logs
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.secret === name);
    expect(lines.map(({ level, message, secret }) => ({ level, message, secret }))).toEqual([
      { level: 'ERROR', message: 'secret is not the expected JSON', secret: name },
    ]);
    expect(logs).not.toContain(leaked.slice(0, 6));
    expect(String((failure as Error).message)).not.toContain(leaked.slice(0, 6));
  });
});

describe('the KCO callbacks with their tokens in Secrets Manager', () => {
  const load = async (arn: string) => {
    process.env.KCO_CALLBACK_TOKENS_SECRET_ARN = arn;
    delete process.env.KCO_CALLBACK_TOKENS;
    process.env.RULES_TABLE = 'no-table-is-read';
    let handlers: Awaited<ReturnType<typeof loadKcoHandlers>> | undefined;
    await jest.isolateModulesAsync(async () => {
      handlers = await loadKcoHandlers();
    });
    return handlers!;
  };

  it('answer 401 to a wrong token once the tokens are read from the secret', async () => {
    const arn = newSecret({ tokens: ['right-token'] });
    const handlers = await load(arn);
    const answer = await handlers.validation(kcoCallbackEvent('validation', 'order-1', '{}', { token: 'wrong-token' }), lambdaContext('v'));
    expect(answer.statusCode).toBe(401);
  });

  it("fail closed with Klarna's 400 approval_failed when the tokens cannot be read (the token cannot be checked), counted as tokens_unavailable", async () => {
    const arn = newSecret({ tokens: ['right-token'] });
    fake.setBehaviour('error');
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const handlers = await load(arn);
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    for (const callback of ['validation', 'address_update'] as const) {
      let answer: Awaited<ReturnType<(typeof handlers)[typeof callback]>> | undefined;
      const logs = await logsOf(async () => {
        answer = await handlers[callback](kcoCallbackEvent(callback, 'order-1', '{}', { token: 'right-token' }), lambdaContext(callback));
      });
      expect({ status: answer?.statusCode, error_type: (JSON.parse(answer?.body ?? '{}') as { error_type?: string }).error_type }).toEqual({
        status: 400,
        error_type: 'approval_failed',
      });
      const counted = logs
        .split('\n')
        .filter((line) => line.includes('"CallbackDecision"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .map(({ callback: name, decision, reason, CallbackDecision }) => ({ name, decision, reason, CallbackDecision }));
      expect(counted).toEqual([{ name: callback, decision: 'error', reason: 'tokens_unavailable', CallbackDecision: 1 }]);
    }
  });
});

describe('the push and notification functions with their secrets in Secrets Manager', () => {
  const loadPush = async (tokensArn: string, credentialsArn: string) => {
    Object.assign(process.env, {
      KCO_CALLBACK_TOKENS_SECRET_ARN: tokensArn,
      KCO_API_CREDENTIALS_SECRET_ARN: credentialsArn,
      KCO_API_BASE_URL: 'http://127.0.0.1:9',
      ORDERS_TABLE: 'no-table-is-read',
      RULES_TABLE: 'no-table-is-read',
    });
    for (const name of ['KCO_CALLBACK_TOKENS', 'KCO_API_KEY', 'KCO_API_USERNAME', 'KCO_API_PASSWORD']) delete process.env[name];
    let push: typeof import('../../functions/orders/handlers/push.js') | undefined;
    await jest.isolateModulesAsync(async () => {
      push = await import('../../functions/orders/handlers/push.js');
    });
    return push!;
  };
  const wrongTokenPush = () =>
    apiGatewayEvent({ method: 'POST', resource: '/kco/orders/{order_id}/push', path: '/kco/orders/order-1/push', pathParameters: { order_id: 'order-1' }, query: { token: 'wrong-token' } });

  it('start reading the tokens and the Order Management credentials when they load, side by side, before any request', async () => {
    const tokensArn = newSecret({ tokens: ['right-token'] });
    const credentialsArn = newSecret({ username: 'K123', password: 'secret' });
    fake.hold();
    const saved = { ...process.env };
    try {
      const push = await loadPush(tokensArn, credentialsArn);
      // Both requests are under way at once (neither has been answered), and nothing was invoked.
      await waitFor(() => fake.calls(tokensArn) === 1 && fake.calls(credentialsArn) === 1);
      fake.release();
      // The first request uses those reads: no third request.
      expect((await push.handler(wrongTokenPush(), lambdaContext('push'))).statusCode).toBe(401);
      expect(fake.calls(tokensArn) + fake.calls(credentialsArn)).toBe(2);
    } finally {
      fake.release();
      process.env = saved;
    }
  });

  it('where the extension refuses them at load, say nothing and read both again on the first request, side by side', async () => {
    const tokensArn = newSecret({ tokens: ['right-token'] });
    const credentialsArn = newSecret({ username: 'K123', password: 'secret' });
    const saved = { ...process.env };
    try {
      fake.setBehaviour('error');
      let push: Awaited<ReturnType<typeof loadPush>> | undefined;
      const logs = await logsOf(async () => {
        push = await loadPush(tokensArn, credentialsArn);
        // Each prefetch made its two attempts (a 500 is tried twice) and gave up.
        await waitFor(() => fake.calls(tokensArn) === 2 && fake.calls(credentialsArn) === 2);
        await new Promise((resolve) => setTimeout(resolve, 20));
      });
      expect(logs).toBe('');
      fake.setBehaviour('answer');
      fake.hold();
      const answer = push!.handler(wrongTokenPush(), lambdaContext('push'));
      await waitFor(() => fake.calls(tokensArn) === 3 && fake.calls(credentialsArn) === 3);
      fake.release();
      expect((await answer).statusCode).toBe(401);
    } finally {
      fake.release();
      process.env = saved;
    }
  });
});
