/**
 * The EventBridge client of a function that publishes to the shop's bus: Amazon EventBridge, or
 * the loopback stand-in at EVENTBRIDGE_ENDPOINT (npm start, tests). Created once per container.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { optionalEnv } from './config.js';

export const createEventBridgeClient = (endpoint = optionalEnv('EVENTBRIDGE_ENDPOINT')): EventBridgeClient =>
  new EventBridgeClient({
    maxAttempts: 3,
    ...(endpoint
      ? { endpoint, region: process.env.AWS_REGION ?? 'eu-north-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
