import type {
  ConnectionPreview,
  ConnectionTestResult,
  ConnectorSource,
  ConnectorTypeName,
  DiscoverNode,
  RowBatch,
} from "@caretflow/contracts";
import type { z } from "zod";
import type { AddressPolicy } from "./address-guard.ts";

/** Options of a read: cancellation, and how many rows a batch holds. */
export interface ReadOptions {
  signal?: AbortSignal;
  batchRows?: number;
}

/**
 * One source of data. Every connector passes the contract suite (test/contract.ts): `read` streams
 * batches whose columns never change within a read, stops when `signal` aborts, and errors are
 * CaretflowErrors whose messages never contain a secret.
 */
export interface Connector {
  /** Reach the source with the saved settings and credentials; say which host answered. */
  test(): Promise<ConnectionTestResult>;
  /** Browse: no path lists the top level (schemas; containers), a path lists what is below it. */
  discover(path?: string): Promise<DiscoverNode[]>;
  /** The first `limit` rows of a table or query. */
  preview(source: ConnectorSource, limit: number): Promise<ConnectionPreview>;
  /** All rows of a table or query, as batches DuckDB appends (DatasetStore.importBatches). */
  read(source: ConnectorSource, opts?: ReadOptions): AsyncIterable<RowBatch>;
  /** The rows whose `watermarkColumn` is above `after` (all rows when null), in watermark order. */
  readIncremental(source: ConnectorSource, watermarkColumn: string, after: string | null, opts?: ReadOptions): AsyncIterable<RowBatch>;
  /** Release pooled connections. */
  close(): Promise<void>;
}

/** What a connector is given besides its settings: its secrets and the outbound address policy. */
export interface ConnectorContext {
  secrets: Readonly<Record<string, string>>;
  addressPolicy: AddressPolicy;
  /** The folder of files the server stores for connections (SQLite files); a file connector never reads outside it. */
  fileRoot?: string;
}

/** A kind of source: its settings schema, which fields are secrets, and how to make a connector. */
export interface ConnectorType<S extends z.ZodType = z.ZodType> {
  type: ConnectorTypeName;
  label: string;
  settings: S;
  /** Names of the secret fields (sealed at rest, write-only through the API). */
  secrets: readonly string[];
  /** Secrets that must be set before the connector can be used. */
  requiredSecrets: readonly string[];
  create(settings: z.infer<S>, ctx: ConnectorContext): Connector;
}
