import { describe, expect, it } from "vitest";
import { mlflowStorage } from "./shared-storage.ts";

describe("mlflowStorage", () => {
  const storage = { kind: "s3", bucket: "lake", prefix: "team", url: "s3://lake/team", region: "eu-west-1" } as const;

  it("points MLflow's artifacts at <storage>/mlflow-artifacts with the AWS chain's variables, and nothing else", () => {
    const env = {
      AWS_ACCESS_KEY_ID: "id",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_PROFILE: "",
      CARETFLOW_DATABASE_URL: "postgres://x",
      PATH: "/bin",
    };
    expect(mlflowStorage(storage, env)).toEqual({
      artifactsDestination: "s3://lake/team/mlflow-artifacts",
      env: { AWS_ACCESS_KEY_ID: "id", AWS_SECRET_ACCESS_KEY: "secret", AWS_DEFAULT_REGION: "eu-west-1" },
    });
  });

  it("gives an S3-compatible store's endpoint and path-style addressing", () => {
    const out = mlflowStorage(
      { ...storage, prefix: "", url: "s3://lake", endpoint: "http://127.0.0.1:9000" },
      { AWS_DEFAULT_REGION: "us-west-2" },
    );
    expect(out).toEqual({
      artifactsDestination: "s3://lake/mlflow-artifacts",
      env: {
        AWS_DEFAULT_REGION: "us-west-2",
        MLFLOW_S3_ENDPOINT_URL: "http://127.0.0.1:9000",
        MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE: "path",
      },
    });
  });
});
