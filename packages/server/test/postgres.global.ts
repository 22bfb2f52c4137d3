import { type PostgresServer, startPostgres } from "../../connectors/test/postgres.fixture.ts";

/**
 * vitest global setup: one PostgreSQL server for every test file of the run (started unless
 * CARETFLOW_TEST_POSTGRES_URL already names one). Each file's suites still get databases of their own
 * (packages/server/test/databases.ts), dropped when the file ends.
 */
export default async function setup(): Promise<() => Promise<void>> {
  if (process.env.CARETFLOW_TEST_POSTGRES_URL) return async () => {};
  let server: PostgresServer;
  try {
    server = await startPostgres();
  } catch (err) {
    // The files that need PostgreSQL then try to start their own and fail saying what is missing.
    console.warn(`no shared PostgreSQL for this run: ${(err as Error).message}`);
    return async () => {};
  }
  process.env.CARETFLOW_TEST_POSTGRES_URL = `postgres://postgres:${encodeURIComponent(server.superPassword)}@${server.host}:${server.port}/postgres`;
  return async () => {
    delete process.env.CARETFLOW_TEST_POSTGRES_URL;
    await server.close();
  };
}
