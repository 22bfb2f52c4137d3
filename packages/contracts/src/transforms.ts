import { z } from "zod";
import { ColumnSchema, DatasetName, DatasetVersionRef, ImportResult } from "./datasets.ts";

/**
 * A SQL transform's query: one DuckDB SELECT (or WITH ... SELECT) over datasets, named as tables:
 * `sales` (or `"juice-sales"` for names with '-' or '.') is the latest version when the query runs,
 * `"sales@3"` is version 3.
 */
export const TransformSql = z.string().min(1).max(100_000);

export const TransformPreviewRequest = z.object({
  sql: TransformSql,
  limit: z.number().int().min(1).max(1000).default(50),
});
export type TransformPreviewRequest = z.infer<typeof TransformPreviewRequest>;

/** The first rows a query returns and its output schema; nothing is stored. */
export const TransformPreview = z.object({
  columns: z.array(ColumnSchema),
  rows: z.array(z.array(z.unknown())),
  /** The exact dataset versions the query read. */
  inputs: z.array(DatasetVersionRef),
  limit: z.number().int(),
});
export type TransformPreview = z.infer<typeof TransformPreview>;

/** Save a transform under its target dataset's name and run it. */
export const SaveTransformRequest = z.object({ name: DatasetName, sql: TransformSql });
export type SaveTransformRequest = z.infer<typeof SaveTransformRequest>;

/** A saved transform: the SQL that makes new versions of the dataset `name`. */
export const Transform = z.object({
  name: DatasetName,
  sql: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** The user who last saved it, when known. */
  updatedBy: z.string().optional(),
});
export type Transform = z.infer<typeof Transform>;

/** A transform's run: `result.created` is false when the output equals the latest version (nothing new stored). */
export const TransformRun = z.object({ transform: Transform, result: ImportResult });
export type TransformRun = z.infer<typeof TransformRun>;

/** Where in the query DuckDB placed an error (1-based line), when it said. */
export const TransformErrorDetails = z.object({ line: z.number().int().positive().optional() });
export type TransformErrorDetails = z.infer<typeof TransformErrorDetails>;
