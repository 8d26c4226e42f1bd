/**
 * One structured JSON logger for every function (Powertools Logger). Callers log identifiers,
 * decisions, reason codes and timings only: never an order body, an address or a token. The
 * `redact` helper is the last line of defence for error messages that may quote input.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';

export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'klarna-serverless',
  logLevel: (process.env.LOG_LEVEL as 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT' | undefined) ?? 'INFO',
});

/**
 * A middy middleware that gives every line of an invocation its function's name and request id
 * (Powertools' Lambda context). Not Powertools' own `injectLambdaContext`: that one also puts the
 * log level back to the level the logger was created with on every invocation (its debug-sampling
 * refresh), undoing a level set at run time.
 */
export const lambdaContextLogging = <Request extends { context: Context | undefined }>() => ({
  before: (request: Request): void => {
    if (request.context) logger.addContext(request.context);
  },
});

/** What we may say about an unexpected error: its name and a clipped message, never its cause. */
export const describeError = (error: unknown): { error_name: string; error_message: string } => {
  if (error instanceof Error) {
    return { error_name: error.name, error_message: redact(error.message).slice(0, 200) };
  }
  return { error_name: typeof error, error_message: '' };
};

// Emails, phone-like digit runs and anything quoted: enough to keep input out of error messages.
// An e-mail match starts only where a run of its characters starts (the lookbehind), so a long
// run without "@" is scanned once, not once per character.
const EMAIL = /(?<![^\s@"'])[^\s@"']+@[^\s@"']+/g;
const DIGITS = /\+?\d[\d\s-]{4,}\d/g;
const QUOTED = /(["'`])(?:(?!\1).){1,200}\1/g;

export const redact = (text: string): string =>
  text.replace(QUOTED, '"…"').replace(EMAIL, '<email>').replace(DIGITS, '<digits>');
