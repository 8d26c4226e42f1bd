/**
 * `npm run rules -- put FILE.json [--scope S] | get SCOPE | list | delete SCOPE | schema`.
 * The logic lives in bin/local/rules-cli.ts (tested there); this only wires it to the process.
 */
import { runRulesCli } from './local/rules-cli.js';

// Node 20 locally, Node 22 in Lambda: the SDK's notice that it will want Node 22 is known noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

process.exitCode = await runRulesCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
