/**
 * The floor + one GetItem, plus the libraries a callback is built on and nothing of ours: middy
 * with the header normalizer and the JSON body parser, Powertools Logger and Metrics, zod/mini
 * (one small schema) and the document client, each used once as a callback uses it (one log line,
 * one metric, one parse, one BatchGetItem of two scopes). Not a target: it shows how much of a
 * callback's cold start is the libraries' and how much is our own code.
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';

const endpoint = process.env.DYNAMODB_ENDPOINT;
const client = DynamoDBDocumentClient.from(new DynamoDBClient(
  endpoint ? { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, region: process.env.AWS_REGION ?? 'eu-north-1' } : {},
));
const logger = new Logger({ serviceName: 'klarna-serverless' });
const metrics = new Metrics({ namespace: 'KlarnaServerless', serviceName: 'klarna-serverless' });
const body = z.object({ order_amount: z.int().check(z.minimum(0)), purchase_currency: z.string().check(z.regex(/^[A-Za-z]{3}$/)) });

export const handler = middy(async (event: { body: unknown; pathParameters?: { order_id?: string } }) => {
  const parsed = body.safeParse(event.body);
  const output = await client.send(new BatchGetCommand({ RequestItems: { [process.env.RULES_TABLE!]: { Keys: [{ scope: 'default' }, { scope: `order#${event.pathParameters?.order_id ?? 'x'}` }] } } }));
  logger.info('callback answered', { callback: 'address_update', status: 200, ok: parsed.success });
  metrics.addDimensions({ callback: 'address_update', decision: 'update', reason: 'none' });
  metrics.addMetric('CallbackDecision', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  return { statusCode: output.Responses ? 200 : 500, body: JSON.stringify({ ok: true }) };
})
  .use(httpHeaderNormalizer())
  .use(httpJsonBodyParser());
