// Tests read answers, not log lines: keep the structured logs quiet unless asked for
// (TEST_LOGS=1). Tests that assert on logs set their own level.
if (process.env.TEST_LOGS !== '1') process.env.LOG_LEVEL ??= 'SILENT';
