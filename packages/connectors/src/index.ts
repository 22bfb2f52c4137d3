export { type AddressPolicy, addressRefusal, checkedAddress, PUBLIC_ONLY } from "./address-guard.ts";
export type { Connector, ConnectorContext, ConnectorType, ReadOptions } from "./connector.ts";
export { baseSql, postgresType, splitName } from "./postgres.ts";
export { connectorType, connectorTypes } from "./registry.ts";
export { checkReadOnlyQuery } from "./sql-check.ts";
export { fileUnderRoot, sqliteType } from "./sqlite.ts";
