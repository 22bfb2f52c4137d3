import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";

let f: Awaited<ReturnType<typeof appFixture>>;
let cookie: string;
beforeAll(async () => {
  f = await appFixture();
  cookie = await f.login();
});
afterAll(() => f.close());

const post = async (body: unknown, headers: Record<string, string> = { cookie }) => {
  const res = await f.app.request("/api/pipelines/validate", {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the answer is read field by field
  return { status: res.status, body: (await res.json()) as any };
};

const GOOD = `version: 1
name: nightly
steps:
  - id: check
    type: quality_check
    with: { dataset: sales }
  - id: train
    type: train
    needs: [check]
    with: { dataset: sales, task: classification, target: churn }
`;

describe("POST /api/pipelines/validate", () => {
  it("answers the run order of a valid file", async () => {
    expect(await post({ yaml: GOOD })).toEqual({ status: 200, body: { valid: true, errors: [], order: [["check"], ["train"]] } });
  });

  it("answers every error with its line, column and code", async () => {
    const bad = GOOD.replace("type: train", "type: tarin").replace("needs: [check]", "needs: [check, nowhere]");
    const r = await post({ yaml: bad });
    expect(r.status).toBe(200);
    expect(r.body.valid).toBe(false);
    expect(r.body.order).toEqual([]);
    expect(r.body.errors.map((e: { code: string; line: number }) => [e.code, e.line])).toEqual([
      ["unknown_step_type", 8],
      ["unknown_dependency", 9],
    ]);
    expect(r.body.errors[0].message).toContain("Did you mean 'train'?");
  });

  it("refuses a body without the file, and anyone signed out", async () => {
    const r = await post({ text: GOOD });
    expect(r.status).toBe(400);
    expect((await post({ yaml: GOOD }, {})).status).toBe(401);
  });
});
