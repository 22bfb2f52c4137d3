export { type AddressPolicy, addressRefusal, checkedAddress, PUBLIC_ONLY } from "./address-guard.ts";
export type { Connector, ConnectorContext, ConnectorType, ReadOptions } from "./connector.ts";
export { mysqlBaseSql, mysqlType, splitMysqlName } from "./mysql.ts";
export { baseSql, postgresType, splitName } from "./postgres.ts";
export { connectorType, connectorTypes } from "./registry.ts";
export { checkReadOnlyQuery, type SqlDialect } from "./sql-check.ts";
export { fileUnderRoot, sqliteType } from "./sqlite.ts";
