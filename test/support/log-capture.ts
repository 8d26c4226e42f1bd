/**
 * What the functions logged during a test: every chunk written to stdout or stderr is held back
 * (nothing reaches the terminal) and the JSON lines can be read as entries. Call in a test file's
 * top level; the capture starts before each test and is undone after it.
 */
export type LogCapture = {
  /** Everything written during the current test, as written. */
  readonly written: () => string;
  /** The JSON log lines written during the current test. */
  readonly entries: <Entry = Record<string, unknown>>() => Entry[];
  /** Forget what was written so far in this test. */
  readonly clear: () => void;
};

export const captureLogs = (): LogCapture => {
  let chunks: string[] = [];
  beforeEach(() => {
    chunks = [];
    for (const stream of [process.stdout, process.stderr]) {
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return true;
      });
    }
  });
  afterEach(() => jest.restoreAllMocks());
  return {
    written: () => chunks.join(''),
    entries: <Entry>() =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Entry),
    clear: () => {
      chunks = [];
    },
  };
};
