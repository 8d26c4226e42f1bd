/**
 * Calls to a deployed API's IAM-authorized routes (the order commands, lib/order-commands.ts):
 * each request signed with SigV4 for `execute-api` by the AWS SDK's own signer
 * (@smithy/signature-v4, the SDK's SHA-256), with credentials from the SDK's default chain
 * (environment, AWS_PROFILE / SSO, web identity, container or instance role). Nothing of SigV4 is
 * written here: this only says what is signed (method, host, path, query, body, content-type).
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';

export const EXECUTE_API = 'execute-api';

/** The region of a default API Gateway endpoint (`https://{id}.execute-api.{region}.amazonaws.com/{stage}`), if it is one. */
export const regionOfApiUrl = (url: string): string | undefined =>
  /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(new URL(url).hostname)?.[1];

/** Static credentials or a provider of them (what the signer takes). */
export type SignerCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

export type SignedFetchOptions = {
  /** The API's region: from the URL, else AWS_REGION / AWS_DEFAULT_REGION. */
  readonly region: string;
  /** @default the SDK's default credential chain */
  readonly credentials?: SignerCredentials;
};

export type Fetch = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<Response>;

/** A fetch whose every request carries SigV4 headers (Authorization, X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-Sha256). */
export const signedFetch = (options: SignedFetchOptions): Fetch => {
  const signer = new SignatureV4({ service: EXECUTE_API, region: options.region, credentials: options.credentials ?? defaultProvider(), sha256: Sha256 });
  return async (url, init = {}) => {
    const target = new URL(url);
    const method = init.method ?? 'GET';
    const query: Record<string, string | string[]> = {};
    for (const [key, value] of target.searchParams) {
      const seen = query[key];
      query[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
    }
    const signed = await signer.sign({
      method,
      protocol: target.protocol,
      hostname: target.hostname,
      ...(target.port ? { port: Number(target.port) } : {}),
      // `host` is what fetch sends too: the hostname, and the port when it is not the default.
      headers: { ...init.headers, host: target.host },
      path: target.pathname,
      query,
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    // fetch sets Host itself (from the same URL); every other signed header goes as signed.
    const { host: _host, ...headers } = signed.headers;
    return fetch(target, { method, headers, ...(init.body !== undefined ? { body: init.body } : {}) });
  };
};
