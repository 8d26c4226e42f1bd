/**
 * The shop's commands' names that the construct reads too (the EventBridge rule, the alarms):
 * plain constants, no imports, so the packaged construct loads them without the Lambda code.
 */

/** EventBridge detail-type → command (the rule on the order bus matches exactly these). */
export const commandDetailTypes: Readonly<Record<string, 'capture' | 'refund' | 'cancel' | 'release' | 'extend'>> = {
  'Capture Order': 'capture',
  'Refund Order': 'refund',
  'Cancel Order': 'cancel',
  'Release Authorization': 'release',
  'Extend Authorization': 'extend',
};

/** The metrics the command functions write (in the instance's namespace). */
export const COMMAND_METRIC = 'OrderCommands';
/** Commands Klarna could not take within the retries: alarmed. */
export const COMMAND_FAILED_METRIC = 'OrderCommandsFailed';
/** Acknowledged orders that expired with authorization left: alarmed. */
export const EXPIRED_METRIC = 'AuthorizationsExpiredWithBalance';
