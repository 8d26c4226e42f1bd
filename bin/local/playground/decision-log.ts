/**
 * What a callback decided, read from its own log line. The handlers answer Klarna with a status
 * and a shopper text only; the reason code is in the one `callback answered` line each call logs.
 * The playground runs a callback inside `withDecisionLog`, which collects the structured lines
 * written during that call (AsyncLocalStorage keeps concurrent calls apart). The lines still reach
 * the terminal unchanged; nothing in the handlers knows about this.
 *
 * The handlers' level must let INFO through (`npm start`'s default); at WARN or SILENT only
 * refusals of bad input and faults are logged, so the reason may be missing.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export type Decision = { decision?: string; reason?: string; line?: number; status?: number };

const calls = new AsyncLocalStorage<Decision[]>();

const collect = (chunk: unknown, into: Decision[]): void => {
  const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : '';
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (entry.message !== 'callback answered') continue;
      into.push({
        ...(typeof entry.decision === 'string' ? { decision: entry.decision } : {}),
        ...(typeof entry.reason === 'string' ? { reason: entry.reason } : {}),
        ...(typeof entry.line === 'number' ? { line: entry.line } : {}),
        ...(typeof entry.status === 'number' ? { status: entry.status } : {}),
      });
    } catch {
      // Not one of ours: someone else's output.
    }
  }
};

type Write = NodeJS.WriteStream['write'];

/** Watch stdout and stderr (the logger writes INFO to one, WARN to the other); returns the undo. */
export const installDecisionTap = (): (() => void) => {
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  const wrappers = streams.map((stream, i) => {
    const original = originals[i] as Write;
    const wrapper = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
      const into = calls.getStore();
      if (into) collect(chunk, into);
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Write;
    stream.write = wrapper;
    return wrapper;
  });
  return () => {
    streams.forEach((stream, i) => {
      // Only our own: whoever wrapped the stream after us keeps theirs.
      if (stream.write === wrappers[i]) stream.write = originals[i] as Write;
    });
  };
};

/** Run one callback and return what it logged as its decision (the last such line), if anything. */
export const withDecisionLog = async <T>(run: () => Promise<T>): Promise<{ value: T; decision?: Decision }> => {
  const into: Decision[] = [];
  const value = await calls.run(into, run);
  const decision = into.at(-1);
  return decision ? { value, decision } : { value };
};
