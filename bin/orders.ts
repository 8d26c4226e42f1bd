/**
 * `npm run orders -- list | show ID | capture ID … | refund ID … | cancel ID | release ID | extend ID`.
 * The logic lives in bin/local/orders-cli.ts (tested there); this only wires it to the process.
 */
import { runOrdersCli } from './local/orders-cli.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

process.exitCode = await runOrdersCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
