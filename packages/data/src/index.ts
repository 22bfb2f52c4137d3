export { type BlobStore, S3BlobStore } from "./blob.store.ts";
export type { TransformOptions } from "./dataset.store.ts";
export {
  type CatalogEntry,
  type ColumnFacts,
  DatasetStore,
  type ImportBatchesOptions,
  type ImportFileOptions,
  type ImportObjectsOptions,
  type ImportSource,
  type LineageVersion,
} from "./dataset.store.ts";
export { datasetNameFromFilename } from "./dataset-name.ts";
export { openDuckDb, sqlString, withConnection } from "./duckdb.ts";
export { formatFromFilename, supportedExtensions } from "./formats.ts";
export type { ProgressFn } from "./ingest.ts";
export { type DatasetsTable, type DatasetTagsTable, type DatasetVersionsTable, type DataTables, dataMigrations } from "./migrations.ts";
export type { ObjectToRead } from "./object-ingest.ts";
export * from "./quality.ts";
export * from "./quality-suggest.ts";
export * from "./sql-sandbox.ts";
export { TRANSFORM_DEFAULTS, type TransformReference } from "./transform.ts";
