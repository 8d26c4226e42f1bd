/**
 * The package's entry point: the construct a merchant adds to a stack of their own, its props
 * and what it exposes (docs/configuration.md lists every prop and its default).
 */
export {
  KlarnaCheckoutBackend,
  alarmsWithoutDestinationWarning,
  klarnaCallbackIps,
  klarnaIpAllowlistModes,
  tokenPlaceholder,
  type KlarnaCheckoutBackendProps,
  type KlarnaIpAllowlist,
  type KlarnaSecrets,
  type KlarnaWebAcl,
} from './klarna-stack.js';
export { secretsExtensionLayerProp } from './klarna-function.js';
export type { KlarnaFunction } from './klarna-function.js';
export type { OrderLifecycle, OrderManagementSettings } from './order-lifecycle.js';
export type { OrderCommands, OrderCommandsSettings } from './order-commands.js';
export { RulesChecker, rulesCheckerFunction, type RulesCheckerProps } from './rules-checker.js';
export type { FunctionDefinition } from './routes.js';
export { functions } from './routes.js';
export type { TableDefinition } from './tables.js';
export { orderLedgerTable, ordersTable, placementsTable, rulesHistoryTable, rulesTable } from './tables.js';
