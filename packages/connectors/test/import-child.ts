// A process that imports a PostgreSQL table into a dataset store and is killed midway by
// postgres.test.ts ("caretflow stopped mid-import"). Reads its settings from the environment.
import { openStoreFixture } from "../../data/test/store.fixture.ts";
import { postgresType } from "../src/index.ts";

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const fx = await openStoreFixture(env("CHILD_DIR"));
const connector = postgresType.create(
  { hosts: [{ host: "127.0.0.1", port: Number(env("CHILD_PG_PORT")) }], database: "shop", user: "reader", ssl: false },
  { secrets: { password: env("CHILD_PG_PASSWORD") }, addressPolicy: { allowPrivateNetworks: true } },
);
let batches = 0;
async function* announced() {
  for await (const b of connector.read({ table: "sales.big" }, { batchRows: 20_000 })) {
    yield b;
    batches++;
    process.stdout.write(`batch ${batches}\n`);
    // Slow enough for the parent to stop this process in the middle.
    await new Promise((r) => setTimeout(r, 200));
  }
}
await fx.store.importBatches({
  name: "big",
  batches: announced(),
  source: { kind: "connection", connection: "shop", table: "sales.big" },
  rowsPerPart: 20_000,
});
process.stdout.write("finished\n");
