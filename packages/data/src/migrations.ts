import type { Kysely, Migration } from "kysely";

/** Row of `datasets`: one per dataset name. Timestamps are ISO 8601 text (portable across SQLite and PostgreSQL). */
export interface DatasetsTable {
  name: string;
  description: string | null;
  created_at: string;
  updated_at: string;
  /** Username of the person whose import created the dataset; null when unknown (older rows, job outputs). */
  owner: string | null;
}

/** Row of `dataset_tags`: one label on one dataset. */
export interface DatasetTagsTable {
  dataset: string;
  tag: string;
  created_at: string;
}

/**
 * Row of `dataset_versions`: one immutable version. JSON columns are stored as text so the same
 * SQL runs on SQLite and PostgreSQL; `profile_json` is filled once, on first request.
 */
export interface DatasetVersionsTable {
  dataset: string;
  version: number;
  row_count: number;
  column_count: number;
  columns_json: string;
  content_hash: string;
  /** The definition content_hash follows (content-hash.ts); NULL for versions stored before it was recorded (v1). */
  content_hash_format: string | null;
  size_bytes: number;
  source_json: string;
  created_at: string;
  profile_json: string | null;
}

/** The tables this package owns; the server's Kysely database type includes these. */
export interface DataTables {
  datasets: DatasetsTable;
  dataset_versions: DatasetVersionsTable;
  dataset_tags: DatasetTagsTable;
}

// Migrations receive an untyped database: they describe the schema as it was at that point in time.
type AnyDb = Kysely<Record<string, never>>;

const createDatasetTables: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable("datasets")
      .addColumn("name", "varchar(64)", (c) => c.primaryKey())
      .addColumn("description", "text")
      .addColumn("created_at", "varchar(40)", (c) => c.notNull())
      .addColumn("updated_at", "varchar(40)", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("dataset_versions")
      .addColumn("dataset", "varchar(64)", (c) => c.notNull().references("datasets.name"))
      .addColumn("version", "integer", (c) => c.notNull())
      .addColumn("row_count", "bigint", (c) => c.notNull())
      .addColumn("column_count", "integer", (c) => c.notNull())
      .addColumn("columns_json", "text", (c) => c.notNull())
      .addColumn("content_hash", "varchar(64)", (c) => c.notNull())
      .addColumn("size_bytes", "bigint", (c) => c.notNull())
      .addColumn("source_json", "text", (c) => c.notNull())
      .addColumn("created_at", "varchar(40)", (c) => c.notNull())
      .addColumn("profile_json", "text")
      // The primary key is what makes concurrent imports safe: two writers cannot both claim version N.
      .addPrimaryKeyConstraint("dataset_versions_pk", ["dataset", "version"])
      .execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropTable("dataset_versions").execute();
    await db.schema.dropTable("datasets").execute();
  },
};

// Named after the server migrations of the same day: the migrator refuses a new name sorting before an applied one.
// The catalog: who created each dataset (existing rows keep owner NULL: unknown) and tags.
const addCatalog: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable("datasets").addColumn("owner", "varchar(64)").execute();
    await db.schema
      .createTable("dataset_tags")
      .addColumn("dataset", "varchar(64)", (c) => c.notNull().references("datasets.name"))
      .addColumn("tag", "varchar(40)", (c) => c.notNull())
      .addColumn("created_at", "varchar(40)", (c) => c.notNull())
      .addPrimaryKeyConstraint("dataset_tags_pk", ["dataset", "tag"])
      .execute();
    await db.schema.createIndex("dataset_tags_tag_idx").on("dataset_tags").column("tag").execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropTable("dataset_tags").execute();
    await db.schema.alterTable("datasets").dropColumn("owner").execute();
  },
};

// Content hashes computed by DuckDB (v2); the rows stored before keep their v1 hashes and a NULL format.
const addContentHashFormat: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable("dataset_versions").addColumn("content_hash_format", "varchar(80)").execute();
  },
  async down(db: AnyDb) {
    await db.schema.alterTable("dataset_versions").dropColumn("content_hash_format").execute();
  },
};

/** Kysely migrations for the dataset tables; names carry the "data" prefix so the server can merge them with others. */
export const dataMigrations: Record<string, Migration> = {
  "20261129_10_data_create_dataset_tables": createDatasetTables,
  "20261202_72_data_catalog_owner_tags": addCatalog,
  "20261202_90_data_content_hash_format": addContentHashFormat,
};
