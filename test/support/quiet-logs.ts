// Tests read answers, not log lines: keep the structured logs quiet unless asked for
// (TEST_LOGS=1). Tests that assert on logs set their own level.
if (process.env.TEST_LOGS !== '1') process.env.LOG_LEVEL ??= 'SILENT';
// Node 20 here, Node 22 in Lambda: the SDK's notice that it will want 22 is known (TOOLCHAIN.md).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
