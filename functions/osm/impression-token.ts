/**
 * Single-use impression tokens: the GET's JSON answer carries one, and `POST /osm/impressions`
 * registers an impression only in exchange for it, so one served placement is at most one
 * impression. Pure apart from the randomness; the store is a port (DynamoDB in store.ts).
 */
import { randomBytes } from 'node:crypto';
import type { CacheKey } from './cache-policy.js';

/** A token is good for the placement it was served with: same identity, same amount. */
export type ImpressionBinding = CacheKey;

export interface ImpressionTokens {
  put(token: string, binding: ImpressionBinding, impressionUrl: string, validUntilMs: number): Promise<void>;
  /** The impression URL, once; undefined for an unknown, spent, expired or mismatched token. */
  redeem(token: string, binding: ImpressionBinding, nowMs: number): Promise<string | undefined>;
}

/** How long a served token may be redeemed: the page shows the placement right after the GET. */
export const IMPRESSION_TOKEN_SECONDS = 600;

/** 128 random bits, base64url: 22 characters nobody can guess. */
export const newImpressionToken = (): string => randomBytes(16).toString('base64url');

const TOKEN = /^[A-Za-z0-9_-]{22}$/;

/** Anything else is answered like an unknown token, without asking the store. */
export const isImpressionToken = (value: unknown): value is string => typeof value === 'string' && TOKEN.test(value);
