/**
 * Peak memory of a caretflow server while it imports a generated CSV (default 5 GB) uploaded by
 * `caretflow datasets import`: the server process's resident memory (its kernel high-water mark
 * VmHWM, plus samples every 100 ms) and what DuckDB itself holds (duckdb_memory(), sampled in the
 * server). Goal: at most 1 GB. The CSV and the server's folder go under --dir (needs about 2.5x the
 * size free: the CSV, the upload's copy, the Parquet file).
 *
 *   npx tsx bench/import-memory.ts --size 5GB --memory-limit 512MB
 *   npx tsx bench/import-memory.ts --size 200MB
 */
import { mkdtemp, rm, statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generateCsv, parseSize } from "./gen-csv.ts";
import { cliImport, formatPhases, memoryOf, mib, startServer, streamUpload } from "./import-lib.ts";

const { values } = parseArgs({
  options: {
    size: { type: "string", default: process.env.BENCH_SIZE ?? "5GB" },
    dir: { type: "string", default: process.env.BENCH_DIR ?? tmpdir() },
    "memory-limit": { type: "string", default: "512MB" },
    /** Upload with a streamed multipart body from this process instead of the CLI. */
    stream: { type: "boolean", default: false },
  },
});
const size = parseSize(values.size!);
const fs = await statfs(values.dir!);
if (fs.bavail * fs.bsize < size * 2.5) {
  throw new Error(
    `${values.dir} has ${mib(fs.bavail * fs.bsize)} free; importing ${values.size} needs about ${mib(size * 2.5)} (--dir elsewhere)`,
  );
}
const dir = await mkdtemp(join(values.dir!, "caretflow-import-memory-"));
try {
  const csv = join(dir, "bench.csv");
  const gen = await generateCsv(csv, size);
  console.log(`generated ${(gen.bytes / 1e6).toFixed(0)} MB, ${gen.rows} rows`);
  const limit = values["memory-limit"]!;
  const served = await startServer({ TMPDIR: dir, ...(limit === "none" ? {} : { CARETFLOW_DUCKDB_MEMORY_LIMIT: limit }) });
  try {
    const idle = memoryOf(served.pid);
    let sampledPeak = 0;
    const sampler = setInterval(() => {
      sampledPeak = Math.max(sampledPeak, memoryOf(served.pid).rss);
    }, 100);
    const start = performance.now();
    const r = values.stream ? await streamUpload(served, csv, "memory") : await cliImport(served, csv, "memory");
    clearInterval(sampler);
    const after = memoryOf(served.pid);
    const duck = await served.duckdbPeak();
    const peak = Math.max(after.peak, sampledPeak);
    console.log(`imported ${r.rows} rows in ${((performance.now() - start) / 1000).toFixed(1)} s (${formatPhases(r.phases)})`);
    console.log(`DuckDB memory_limit: ${limit}`);
    console.log(`server resident memory: idle ${mib(idle.rss)}, peak ${mib(peak)} (VmHWM ${mib(after.peak)}, sampled ${mib(sampledPeak)})`);
    console.log(`DuckDB's own peak (duckdb_memory, sampled): ${mib(duck)}`);
    console.log(`goal: peak <= 1 GB (${(1e9 / 1024 / 1024).toFixed(0)} MiB): ${peak <= 1e9 ? "met" : "NOT met"}`);
  } finally {
    await served.stop();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
