/**
 * Empty Order Management credentials (a fresh stack's secret) are not Klarna failing: every
 * function that calls Klarna logs them as an error and counts them for their alarm, whatever the
 * step. Returns whether the failure was that.
 */
import { logger } from '../../shared/log.js';
import { countCredentialsMissing } from '../../shared/metrics.js';

export const reportedCredentialsMissing = (failure: unknown, step: string, fields: Record<string, unknown> | undefined): boolean => {
  if (failure !== 'credentials_missing') return false;
  logger.error('Order Management credentials missing', { step, ...fields });
  countCredentialsMissing();
  return true;
};
