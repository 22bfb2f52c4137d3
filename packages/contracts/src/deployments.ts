import { z } from "zod";
import { AliasName, Prediction, RegisteredModelName } from "./api.ts";
import { DriftSchedule } from "./monitoring.ts";

/** A deployment's name: its stable endpoint is POST /api/deployments/NAME/predict. */
export const DeploymentName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9][a-z0-9-]*$/, "use lower-case letters, digits and '-', starting with a letter or digit");
export type DeploymentName = z.infer<typeof DeploymentName>;

/** Which version of the deployment's model: one an alias points at (followed when the alias moves), or a fixed version. */
export const DeploymentTarget = z.union([
  z.object({ alias: AliasName }).strict(),
  z.object({ version: z.number().int().positive() }).strict(),
]);
export type DeploymentTarget = z.infer<typeof DeploymentTarget>;

const Percent = z.number().min(0).max(100);

/**
 * How requests are spread over versions:
 * - `single`: the target answers every request;
 * - `ab`: each split's target answers `weight` percent of requests, the deployment's target the rest;
 * - `shadow`: the target answers; `shadow` scores the same rows, its answers logged, never returned;
 * - `canary`: `canary` answers a share that starts at `startPercent` and grows by `stepPercent` every
 *   `intervalSeconds` up to `maxPercent` (counted from when the policy was set); the target the rest.
 */
export const TrafficPolicy = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("single") }).strict(),
  z
    .object({
      kind: z.literal("ab"),
      splits: z
        .array(z.object({ target: DeploymentTarget, weight: Percent.gt(0) }).strict())
        .min(1)
        .max(4)
        .refine(
          (s) => s.reduce((a, b) => a + b.weight, 0) < 100,
          "the splits' weights add up to less than 100 (the target takes the rest)",
        ),
    })
    .strict(),
  z.object({ kind: z.literal("shadow"), shadow: DeploymentTarget }).strict(),
  z
    .object({
      kind: z.literal("canary"),
      canary: DeploymentTarget,
      startPercent: Percent.default(5),
      stepPercent: Percent.default(10),
      intervalSeconds: z
        .number()
        .int()
        .min(1)
        .max(7 * 24 * 3600)
        .default(600),
      maxPercent: Percent.default(50),
    })
    .strict()
    .refine((c) => c.startPercent <= c.maxPercent, { message: "startPercent must not exceed maxPercent", path: ["startPercent"] }),
]);
export type TrafficPolicy = z.infer<typeof TrafficPolicy>;

export const DeploymentStatus = z.enum(["active", "paused"]);
export type DeploymentStatus = z.infer<typeof DeploymentStatus>;

export const CreateDeploymentRequest = z
  .object({
    name: DeploymentName,
    model: RegisteredModelName,
    target: DeploymentTarget,
    policy: TrafficPolicy.default({ kind: "single" }),
    driftEvery: DriftSchedule.default(null).describe("check the logged inputs for drift this often (null: only on demand)"),
  })
  .strict();
export type CreateDeploymentRequest = z.infer<typeof CreateDeploymentRequest>;

export const UpdateDeploymentRequest = z
  .object({
    target: DeploymentTarget.optional(),
    policy: TrafficPolicy.optional(),
    status: DeploymentStatus.optional(),
    driftEvery: DriftSchedule.optional(),
  })
  .strict()
  .refine(
    (u) => u.target || u.policy || u.status || u.driftEvery !== undefined,
    "name at least one of target, policy, status and driftEvery",
  );
export type UpdateDeploymentRequest = z.infer<typeof UpdateDeploymentRequest>;

/** Health of the scoring process of one version. */
export const ProcessHealth = z.enum(["starting", "ready", "restarting", "failed", "stopped"]);
export type ProcessHealth = z.infer<typeof ProcessHealth>;

/** One version a deployment sends requests to now, with its share. */
export const ServingVersion = z.object({
  version: z.number().int().positive(),
  role: z.enum(["target", "split", "canary", "shadow"]),
  weight: z.number().describe("percent of requests it answers now (a shadow: 0, it scores every request but never answers)"),
  health: ProcessHealth,
  pid: z.number().int().nullable(),
  restarts: z.number().int().describe("times its scoring process was restarted after dying"),
});
export type ServingVersion = z.infer<typeof ServingVersion>;

export const Deployment = z.object({
  name: DeploymentName,
  project: z.string(),
  model: RegisteredModelName,
  target: DeploymentTarget,
  policy: TrafficPolicy,
  status: DeploymentStatus,
  policySince: z.string().describe("when the policy was set (a canary's ramp counts from here)"),
  driftEvery: DriftSchedule.default(null).describe("how often the server checks the logged inputs for drift (null: only on demand)"),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedBy: z.string(),
  updatedAt: z.string(),
  serving: z.array(ServingVersion).describe("the versions requests go to now; empty while an alias cannot be resolved"),
  problem: z.string().nullable().describe("why the deployment cannot serve now (an alias that points nowhere...)"),
});
export type Deployment = z.infer<typeof Deployment>;

export const DeploymentPredictRequest = z
  .object({
    rows: z.array(z.record(z.string(), z.unknown())).min(1).max(10_000).describe("input rows, one object per row"),
  })
  .strict();
export type DeploymentPredictRequest = z.infer<typeof DeploymentPredictRequest>;

export const DeploymentPredictResponse = z.object({
  predictionId: z.string().describe("names this answer in the prediction log (feedback refers to it, with the row index)"),
  deployment: DeploymentName,
  model: z.string(),
  version: z.number().int().describe("the version that answered"),
  columns: z.array(z.string()),
  predictions: z.array(Prediction),
  elapsedMs: z.number(),
});
export type DeploymentPredictResponse = z.infer<typeof DeploymentPredictResponse>;
