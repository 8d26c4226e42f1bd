/**
 * Benchmark only (bin/bench/paired-cold.ts): what a hand-written logger in place of Powertools
 * Logger would cost. The same output a callback relies on (one JSON line per call with level,
 * message, timestamp, service and the call's fields, LOG_LEVEL respected), and nothing else: no
 * sampling, no buffering, no persistent keys, no Lambda context. Never bundled into a function.
 */
const LEVELS = { DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, SILENT: 28 } as const;
type Level = keyof typeof LEVELS;

export class Logger {
  readonly #service: string;
  readonly #threshold: number;

  constructor(options: { serviceName?: string; logLevel?: string } = {}) {
    this.#service = options.serviceName ?? 'service_undefined';
    this.#threshold = LEVELS[(options.logLevel ?? 'INFO').toUpperCase() as Level] ?? LEVELS.INFO;
  }

  #write(level: Exclude<Level, 'SILENT'>, message: string, fields?: Record<string, unknown>): void {
    if (LEVELS[level] < this.#threshold) return;
    process.stdout.write(`${JSON.stringify({ level, message, timestamp: new Date().toISOString(), service: this.#service, ...fields })}\n`);
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.#write('DEBUG', message, fields);
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.#write('INFO', message, fields);
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.#write('WARN', message, fields);
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.#write('ERROR', message, fields);
  }
}
