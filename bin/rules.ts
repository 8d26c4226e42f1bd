/**
 * `npm run rules -- put FILE.json [--scope S] | get SCOPE | list | delete SCOPE | schema`.
 * The logic lives in bin/local/rules-cli.ts (tested there); this only wires it to the process.
 */
import { runRulesCli } from './local/rules-cli.js';

process.exitCode = await runRulesCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
