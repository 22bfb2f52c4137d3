import { createReadStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import {
  CompareQuery,
  DatasetListQuery,
  DatasetName,
  FileImportQuery,
  type Job,
  PreviewQuery,
  SetDescriptionRequest,
  SetTagsRequest,
  SetupPreview,
  SetupPreviewRequest,
  UploadFilename,
} from "@caretflow/contracts";
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AuditLog } from "../audit/audit.log.ts";
import { requester } from "../audit/audit.routes.ts";
import { type AppEnv, nodeRequestBody } from "../http/app.env.ts";
import { parseField, parseJson, parsePath, parseQuery } from "../http/validate.ts";
import type { DatasetsPort, ScoringPort } from "../ports.ts";
import type { ProjectService } from "../projects/project.service.ts";
import { searchCatalog } from "./catalog.search.ts";
import { compareVersions } from "./compare.ts";
import { buildLineage } from "./lineage.ts";
import { receiveRawUpload, receiveUpload } from "./upload.ts";

const Version = z.coerce.number().int().positive();

export function datasetsRoutes(deps: {
  audit: AuditLog;
  datasets: DatasetsPort;
  projects: ProjectService;
  scoring: ScoringPort;
  /** The project's jobs, for lineage (training runs and predictions); lineage shows no jobs without it. */
  jobs?: { list(project: string, limit?: number): Promise<Job[]> };
  nameFromFilename: (filename: string) => string;
  tmpDir: string;
  maxUploadBytes: number;
}): Hono<AppEnv> {
  const { datasets, projects } = deps;
  const app = new Hono<AppEnv>();
  /** The dataset named in the path, once it is known to be one of the request's project. */
  const named = async (c: Context<AppEnv>): Promise<string> => {
    const name = parsePath(c.req.param("name"), DatasetName, "dataset name");
    await projects.requireIn("dataset", name, c.get("project"));
    return name;
  };

  // The catalog: only the request's project's datasets are searched, so another project's never appear.
  app.get("/", async (c) => {
    const q = parseQuery(c, DatasetListQuery);
    const owned = await projects.ownedFilter("dataset", c.get("project"));
    return c.json(
      searchCatalog(
        (await datasets.catalog()).filter((d) => owned(d.name)),
        q,
      ),
    );
  });

  /** Import an upload's temporary file as the next version of `name`; the caller removes the file. */
  const importUpload = async (
    c: Context<AppEnv>,
    upload: { path: string; filename: string; name: string; encoding?: string; sheet?: string },
    uploadMs: number,
  ) => {
    const { name, filename } = upload;
    // A new name becomes the project's; a new version of another project's dataset is refused.
    const claimed = await projects.claim("dataset", name, c.get("project"));
    const result = await datasets
      .importFile({
        path: upload.path,
        name,
        filename,
        source: { kind: "upload" },
        owner: c.get("user").username,
        ...(upload.encoding ? { encoding: upload.encoding } : {}),
        ...(upload.sheet !== undefined ? { sheet: upload.sheet } : {}),
      })
      .catch(async (err: unknown) => {
        // A failed first import leaves the name free for any project, as if it had never been tried.
        if (claimed && !(await datasets.list()).some((d) => d.name === name)) await projects.release("dataset", name, c.get("project"));
        throw err;
      });
    // Identical content makes no new version, so no change to record.
    if (result.created) {
      await deps.audit.record({
        ...requester(c),
        action: "dataset.import",
        target: { kind: "dataset", id: `${result.version.dataset}/${result.version.version}` },
        after: datasetVersionFacts(result.version, filename),
      });
    }
    return c.json(
      { ...result, phases: [{ phase: "upload" as const, ms: uploadMs }, ...(result.phases ?? [])] },
      result.created ? 201 : 200,
    );
  };
  const since = (start: number) => Math.round((performance.now() - start) * 10) / 10;

  app.post("/", async (c) => {
    const uploadStart = performance.now();
    const upload = await receiveUpload(c.req.raw, { tmpDir: deps.tmpDir, maxBytes: deps.maxUploadBytes }, nodeRequestBody(c.env));
    const uploadMs = since(uploadStart);
    try {
      const filename = parseField(
        upload.filename,
        UploadFilename,
        "file name",
        "Upload the file under a plain name such as sales.csv (no folders, URIs or control characters).",
      );
      const name = parseField(
        // Only spaces are trimmed: a name with a control character is refused, not cleaned.
        upload.fields.name?.replace(/^ +| +$/g, "") || deps.nameFromFilename(filename),
        DatasetName,
        "dataset name",
        "Name the dataset with letters, digits, '_', '-' and '.' (at most 64 characters), starting with a letter or digit.",
      );
      const encoding = upload.fields.encoding?.trim();
      // A sheet name is taken as written (names may have spaces at either end); an empty field means the first.
      const sheet = upload.fields.sheet || undefined;
      return await importUpload(
        c,
        { path: upload.path, filename, name, ...(encoding ? { encoding } : {}), ...(sheet !== undefined ? { sheet } : {}) },
        uploadMs,
      );
    } finally {
      await rm(upload.path, { force: true });
    }
  });

  // The file as the whole body: what the CLI sends (no multipart parsing on either side).
  app.put("/:name/file", async (c) => {
    // A new name is claimed by the import (as with the form); an existing one must be the project's.
    const name = parsePath(c.req.param("name"), DatasetName, "dataset name");
    const query = parseQuery(c, FileImportQuery);
    const uploadStart = performance.now();
    const upload = await receiveRawUpload(
      c.req.raw,
      { tmpDir: deps.tmpDir, maxBytes: deps.maxUploadBytes },
      query.filename,
      nodeRequestBody(c.env),
    );
    const uploadMs = since(uploadStart);
    try {
      const encoding = query.encoding?.trim();
      return await importUpload(
        c,
        {
          path: upload.path,
          filename: query.filename,
          name,
          ...(encoding ? { encoding } : {}),
          ...(query.sheet ? { sheet: query.sheet } : {}),
        },
        uploadMs,
      );
    } finally {
      await rm(upload.path, { force: true });
    }
  });

  app.get("/:name", async (c) => c.json(await datasets.get(await named(c))));

  app.post("/:name/tags", async (c) => {
    const name = await named(c);
    const change = await parseJson(c, SetTagsRequest);
    const before = (await datasets.get(name)).tags ?? [];
    const tags = await datasets.setTags(name, change);
    if (JSON.stringify(before) !== JSON.stringify(tags)) {
      await deps.audit.record({
        ...requester(c),
        action: "dataset.tags",
        target: { kind: "dataset", id: name },
        before: { tags: before },
        after: { tags },
      });
    }
    return c.json({ dataset: name, tags });
  });

  app.put("/:name/description", async (c) => {
    const name = await named(c);
    const { description } = await parseJson(c, SetDescriptionRequest);
    const before = (await datasets.get(name)).description ?? null;
    const after = description === "" ? null : description;
    await datasets.setDescription(name, after);
    if (before !== after) {
      await deps.audit.record({
        ...requester(c),
        action: "dataset.describe",
        target: { kind: "dataset", id: name },
        before: { description: before },
        after: { description: after },
      });
    }
    return c.json({ dataset: name, description: after });
  });

  app.get("/:name/lineage", async (c) => {
    const name = await named(c);
    const project = c.get("project");
    const owned = await projects.ownedFilter("dataset", project);
    const [versions, jobs] = await Promise.all([datasets.lineageVersions(), deps.jobs ? deps.jobs.list(project, 1000) : []]);
    return c.json(buildLineage({ dataset: name, versions, jobs, visible: owned }));
  });

  app.get("/:name/compare", async (c) => {
    const name = await named(c);
    const q = parseQuery(c, CompareQuery);
    const [fromV, toV] = await Promise.all([datasets.getVersion(name, q.from), datasets.getVersion(name, q.to)]);
    const [fromP, toP] = await Promise.all([datasets.profile(name, q.from), datasets.profile(name, q.to)]);
    return c.json(compareVersions({ version: fromV, profile: fromP }, { version: toV, profile: toP }));
  });

  app.get("/:name/versions/:version/preview", async (c) => {
    const name = await named(c);
    const version = parsePath(c.req.param("version"), Version, "version");
    return c.json(await datasets.preview(name, version, parseQuery(c, PreviewQuery)));
  });

  app.get("/:name/versions/:version/profile", async (c) => {
    const name = await named(c);
    const version = parsePath(c.req.param("version"), Version, "version");
    return c.json(await datasets.profile(name, version));
  });

  // Runs PyCaret's setup on a sample in the warm utility process, so it answers while training runs.
  app.post("/:name/versions/:version/setup-preview", async (c) => {
    const name = await named(c);
    const version = parsePath(c.req.param("version"), Version, "version");
    const body = await parseJson(c, SetupPreviewRequest);
    const v = await datasets.getVersion(name, version);
    const answer = await deps.scoring.utility({
      op: "setup_preview",
      dataset: { name: v.dataset, version: v.version, content_hash: v.contentHash, rows: v.rowCount },
      ...body,
    });
    return c.json(SetupPreview.parse(answer.preview));
  });

  app.get("/:name/versions/:version/download", async (c) => {
    const name = await named(c);
    const version = parsePath(c.req.param("version"), Version, "version");
    const path = await datasets.exportCsv(name, version);
    const { size } = await stat(path);
    return new Response(Readable.toWeb(createReadStream(path)) as ReadableStream, {
      headers: {
        "content-type": "text/csv; charset=utf-8",
        "content-length": String(size),
        "content-disposition": `attachment; filename="${name}-v${version}.csv"`,
      },
    });
  });

  return app;
}

/** What an audit entry keeps of a new dataset version (never its rows). */
export function datasetVersionFacts(
  v: { dataset: string; version: number; rowCount: number; contentHash: string },
  filename?: string,
): Record<string, unknown> {
  return {
    dataset: v.dataset,
    version: v.version,
    rows: v.rowCount,
    contentHash: v.contentHash,
    ...(filename ? { filename } : {}),
  };
}
