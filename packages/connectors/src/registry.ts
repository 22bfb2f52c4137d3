import { type ConnectorTypeName, userError } from "@caretflow/contracts";
import { azureType } from "./azure.ts";
import type { ConnectorType } from "./connector.ts";
import { gcsType } from "./gcs.ts";
import { mysqlType } from "./mysql.ts";
import { postgresType } from "./postgres.ts";
import { s3Type } from "./s3.ts";
import { sqliteType } from "./sqlite.ts";

/** Every connector type, keyed by its `type`; a new source registers here. */
export const connectorTypes: Readonly<Record<ConnectorTypeName, ConnectorType>> = {
  postgres: postgresType as unknown as ConnectorType,
  mysql: mysqlType as unknown as ConnectorType,
  sqlite: sqliteType as unknown as ConnectorType,
  s3: s3Type as unknown as ConnectorType,
  azure: azureType as unknown as ConnectorType,
  gcs: gcsType as unknown as ConnectorType,
};

/** The connector type named `type`, or a user error listing the known ones. */
export function connectorType(type: string): ConnectorType {
  const found = (connectorTypes as Record<string, ConnectorType | undefined>)[type];
  if (found) return found;
  throw userError(
    "unknown_connector_type",
    `'${type}' is not a connector type`,
    `Known types: ${Object.keys(connectorTypes).join(", ")}.`,
    400,
  );
}
