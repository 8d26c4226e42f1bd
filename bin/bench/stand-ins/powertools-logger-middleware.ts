/** Benchmark only: `injectLambdaContext` for the logger stand-in, which keeps no context (middy needs one hook). */
export const injectLambdaContext = (_logger: unknown): { before: () => void } => ({ before: () => undefined });
