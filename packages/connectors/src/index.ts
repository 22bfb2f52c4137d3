export { type AddressPolicy, addressRefusal, checkedAddress, PUBLIC_ONLY } from "./address-guard.ts";
export { azureType } from "./azure.ts";
export type { Connector, ConnectorContext, ConnectorType, ReadOptions } from "./connector.ts";
export { gcsType } from "./gcs.ts";
export { checkEndpoint, guardedAgents } from "./http-guard.ts";
export { mysqlBaseSql, mysqlType, splitMysqlName } from "./mysql.ts";
export {
  commonFormat,
  globPrefix,
  globToRegExp,
  isGlob,
  isObjectStore,
  MAX_OBJECTS,
  type ObjectMatch,
  type ObjectStoreConnector,
  objectsToRead,
  type StoredObject,
} from "./object-store.ts";
export { baseSql, postgresType, splitName } from "./postgres.ts";
export { connectorType, connectorTypes } from "./registry.ts";
export { s3Type } from "./s3.ts";
export { checkReadOnlyQuery, type SqlDialect } from "./sql-check.ts";
export { fileUnderRoot, sqliteType } from "./sqlite.ts";
