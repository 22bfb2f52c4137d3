export {
  type ColumnFacts,
  DatasetStore,
  type ImportBatchesOptions,
  type ImportFileOptions,
  type ImportObjectsOptions,
  type ImportSource,
} from "./dataset.store.ts";
export { datasetNameFromFilename } from "./dataset-name.ts";
export { formatFromFilename, supportedExtensions } from "./formats.ts";
export type { ProgressFn } from "./ingest.ts";
export { type DatasetsTable, type DatasetVersionsTable, type DataTables, dataMigrations } from "./migrations.ts";
export type { ObjectToRead } from "./object-ingest.ts";
export * from "./sql-sandbox.ts";
