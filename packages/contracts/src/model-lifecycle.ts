import { z } from "zod";
import { Description } from "./refused.ts";

/**
 * A registered model's lifecycle: the stages a version moves through, promotion requests that an
 * owner approves, and the history of every move. `staging` and `production` are aliases of the model
 * (models:/NAME@production); `archived` is the version tag caretflow.stage=archived with the
 * version's stage aliases removed.
 */

export const MODEL_STAGES = ["staging", "production", "archived"] as const;
export const ModelStage = z.enum(MODEL_STAGES);
export type ModelStage = z.infer<typeof ModelStage>;

/** The stages that are aliases (archived is a version tag). */
export const STAGE_ALIASES = ["staging", "production"] as const;

const Reason = z.string().trim().max(500);

export const PromotionCreateRequest = z.object({
  version: z.number().int().positive(),
  to: ModelStage,
  reason: Reason.optional(),
});
export type PromotionCreateRequest = z.infer<typeof PromotionCreateRequest>;

export const PromotionDecisionRequest = z.object({ reason: Reason.optional() });
export type PromotionDecisionRequest = z.infer<typeof PromotionDecisionRequest>;

export const RollbackRequest = z.object({ reason: Reason.min(1, "say why the model is rolled back") });
export type RollbackRequest = z.infer<typeof RollbackRequest>;

export const ModelSettings = z.object({
  productionNeedsApproval: z.boolean().describe("a move to production needs a second owner's approval"),
});
export type ModelSettings = z.infer<typeof ModelSettings>;

export const PromotionId = z.string().uuid();

export const PROMOTION_STATUSES = ["pending", "approved", "rejected"] as const;

export const PromotionRequest = z.object({
  id: z.string(),
  model: z.string(),
  version: z.number().int(),
  to: ModelStage,
  requestedBy: z.string(),
  reason: z.string().nullable(),
  status: z.enum(PROMOTION_STATUSES),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  decisionReason: z.string().nullable(),
  createdAt: z.string(),
});
export type PromotionRequest = z.infer<typeof PromotionRequest>;

/**
 * How a move came about: a promotion (direct or approved), a rollback, an alias set through the API, a
 * pipeline's set_alias step, or a stage alias removed through the API (then `version` is the version that
 * left the stage and nothing holds it).
 */
export const TRANSITION_KINDS = ["promotion", "rollback", "alias", "pipeline", "alias_removed"] as const;
export const TransitionKind = z.enum(TRANSITION_KINDS);
export type TransitionKind = z.infer<typeof TransitionKind>;

/** One move of a stage: `version` now holds it, `replaced` held it before (null when none did). */
export const StageTransition = z.object({
  id: z.number().int(),
  model: z.string(),
  stage: ModelStage,
  version: z.number().int(),
  replaced: z.number().int().nullable(),
  kind: TransitionKind,
  actor: z.string(),
  reason: z.string().nullable(),
  requestId: z.string().nullable(),
  at: z.string(),
});
export type StageTransition = z.infer<typeof StageTransition>;

/** POST /promotions: `promoted` with the move when it happened at once, else the pending request. */
export const PromotionResult = z.object({
  request: PromotionRequest.nullable(),
  transition: StageTransition.nullable(),
});
export type PromotionResult = z.infer<typeof PromotionResult>;

export const PromotionList = z.object({ promotions: z.array(PromotionRequest) });
export const ModelHistory = z.object({ transitions: z.array(StageTransition) });

/** GET /compare?versions=1,2: two to ten version numbers, comma-separated. */
export const ModelCompareQuery = z.object({
  versions: z
    .string()
    .regex(/^\d{1,9}(,\d{1,9}){1,9}$/, "two to ten version numbers, comma-separated, e.g. 1,2")
    .describe("version numbers to compare, e.g. 1,2"),
});

/** One version side by side with others: its run's metrics and params and its training dataset version. */
export const ComparedVersion = z.object({
  version: z.number().int(),
  runId: z.string().nullable(),
  aliases: z.array(z.string()),
  modelName: z.string().nullable(),
  task: z.string().nullable().describe("the run's task (classification, regression, ...)"),
  dataset: z.string().nullable().describe("the training dataset version, NAME@vVERSION (the run's caretflow.dataset tag)"),
  metrics: z.record(z.string(), z.number()),
  params: z.record(z.string(), z.string()),
});
export const ModelComparison = z.object({ model: z.string(), versions: z.array(ComparedVersion) });
export type ModelComparison = z.infer<typeof ModelComparison>;

// ---------------------------------------------------------------- descriptions and tags

/** Tag keys caretflow and MLflow set themselves (caretflow.stage, caretflow.model_sha256, ...): users cannot change them. */
export const RESERVED_TAG_PREFIXES = ["caretflow.", "mlflow."] as const;
export const isReservedTag = (key: string): boolean => RESERVED_TAG_PREFIXES.some((p) => key.toLowerCase().startsWith(p));

export const ModelTagKey = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.\-/:]{0,249}$/, "a tag key is 1 to 250 letters, digits, '_', '-', '.', '/' or ':'");
export const ModelTagValue = Description.describe("the tag's value (up to 2000 characters)");

/**
 * PUT /api/models/{name} and /versions/{version}: the fields given change, the others stay. `description`
 * "" clears it; in `tags` a value sets the tag and null removes it. caretflow.* and mlflow.* keys are refused.
 */
export const ModelUpdateRequest = z.object({
  description: Description.optional(),
  tags: z
    .record(ModelTagKey, ModelTagValue.nullable())
    .refine((t) => Object.keys(t).length <= 50, "at most 50 tags at once")
    .optional()
    .describe("tags to set (a value) or remove (null)"),
});
export type ModelUpdateRequest = z.infer<typeof ModelUpdateRequest>;

export const ModelVersionNumber = z.coerce.number().int().positive().max(999_999_999);
