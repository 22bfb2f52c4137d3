import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CaretflowError } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlflowClient } from "./mlflow.client.ts";
import { freePort } from "./process-group.ts";

/** Transport failures only; everything MLflow answers is tested against a real server (test/). */
describe("MlflowClient when MLflow cannot answer", () => {
  let hang: Server;
  let hangUrl: string;
  beforeAll(async () => {
    // Accepts connections and never answers, like a wedged server.
    hang = createServer(() => {});
    await new Promise<void>((ok) => hang.listen(0, "127.0.0.1", ok));
    hangUrl = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    hang.closeAllConnections();
    hang.close();
  });

  async function failure(p: Promise<unknown>): Promise<CaretflowError> {
    const e = await p.then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(CaretflowError);
    return e as CaretflowError;
  }

  it("reports a refused connection as mlflow_unavailable with a hint", async () => {
    const c = new MlflowClient({ baseUrl: `http://127.0.0.1:${await freePort()}/mlflow/` });
    const e = await failure(c.getRun("a".repeat(32)));
    expect(e).toMatchObject({ code: "mlflow_unavailable", kind: "operational", status: 503 });
    expect(e.message).toContain("/mlflow");
    expect(e.hint).toMatch(/mlflow\.log/);
  });

  it("gives up on a server that does not answer after timeoutMs", async () => {
    const c = new MlflowClient({ baseUrl: hangUrl, timeoutMs: 300 });
    const t0 = Date.now();
    const e = await failure(c.searchExperiments());
    expect(e.code).toBe("mlflow_unavailable");
    expect(Date.now() - t0).toBeLessThan(3000);
    const e2 = await failure(c.getArtifact("a".repeat(32), "plots/x.png"));
    expect(e2.code).toBe("mlflow_unavailable");
  });
});
