import {
  CaretflowError,
  type ModelComparison,
  type ModelSettings,
  type ModelStage,
  notFound,
  type ProjectRole,
  type PromotionCreateRequest,
  type PromotionRequest,
  type PromotionResult,
  STAGE_ALIASES,
  type StageTransition,
  type TransitionKind,
  userError,
} from "@caretflow/contracts";
import type { AuditLog, AuditRecord } from "../audit/audit.log.ts";
import type { TrackingPort } from "../ports.ts";
import type { ModelLifecycleRepository } from "./model-lifecycle.repository.ts";

/** The version tag holding the stage caretflow last moved a version to (`archived` marks an archived version). */
export const STAGE_TAG = "caretflow.stage";

type LifecycleTracking = Pick<TrackingPort, "getModel" | "getRun" | "setAlias" | "deleteAlias" | "setVersionTag">;

/** Who acts, as the audit log names them, and their role in the model's project. */
export type LifecycleActor = Pick<AuditRecord, "actor" | "address" | "project"> & { role: ProjectRole };

export const isStageAlias = (alias: string): alias is (typeof STAGE_ALIASES)[number] =>
  (STAGE_ALIASES as readonly string[]).includes(alias);

/**
 * A registered model's lifecycle: staging and production are aliases, archived is the version tag
 * caretflow.stage=archived with the version's stage aliases removed. Editors request promotions;
 * owners promote directly, except to production when the model's settings ask for a second owner's
 * approval. Every move (also an alias set through the API or a pipeline) is recorded as a transition.
 * Aliases move only through TrackingPort.setAlias/deleteAlias.
 */
export class ModelLifecycle {
  readonly #repo: ModelLifecycleRepository;
  readonly #tracking: LifecycleTracking;
  readonly #audit: AuditLog;

  constructor(deps: {
    repo: ModelLifecycleRepository;
    tracking: LifecycleTracking;
    audit: AuditLog;
  }) {
    this.#repo = deps.repo;
    this.#tracking = deps.tracking;
    this.#audit = deps.audit;
  }

  settings(model: string): Promise<ModelSettings> {
    return this.#repo.settings(model);
  }

  async saveSettings(model: string, settings: ModelSettings, who: LifecycleActor): Promise<ModelSettings> {
    const before = await this.#repo.settings(model);
    const after = await this.#repo.saveSettings(model, settings, who.actor.name);
    await this.#audit.record({ ...auditOf(who), action: "model.settings.update", target: { kind: "model", id: model }, before, after });
    return after;
  }

  promotions(model: string): Promise<PromotionRequest[]> {
    return this.#repo.promotions(model);
  }

  history(model: string): Promise<StageTransition[]> {
    return this.#repo.history(model);
  }

  /** The versions side by side: their runs' metrics, params and training dataset version. */
  async compare(model: string, versions: number[]): Promise<ModelComparison> {
    const m = await this.#tracking.getModel(model);
    const picked = versions.map((n) => {
      const v = m.versions.find((x) => x.version === n);
      if (!v) throw notFound("model version", `${model}/${n}`, `List the versions with GET /api/models/${model}.`);
      return v;
    });
    // A deleted run leaves its version's metrics, params and dataset out.
    const runOf = (runId: string | null) =>
      runId
        ? this.#tracking.getRun(runId).catch((err) => {
            if (err instanceof CaretflowError && err.status === 404) return null;
            throw err;
          })
        : null;
    const runs = await Promise.all(picked.map((v) => runOf(v.runId)));
    return {
      model,
      versions: picked.map((v, i) => ({
        version: v.version,
        runId: v.runId,
        aliases: v.aliases,
        modelName: v.modelName,
        task: runs[i]?.task ?? null,
        dataset: runs[i]?.dataset ?? null,
        metrics: runs[i]?.metrics ?? v.metrics ?? {},
        params: runs[i]?.params ?? {},
      })),
    };
  }

  /**
   * Moves the version at once when `who` is an owner and no approval is needed; otherwise records a
   * pending request for an owner to approve.
   */
  async request(model: string, body: PromotionCreateRequest, who: LifecycleActor): Promise<PromotionResult> {
    await this.#requireVersion(model, body.version);
    const reason = body.reason || null;
    const needsApproval = body.to === "production" && (await this.#repo.settings(model)).productionNeedsApproval;
    if (who.role === "owner" && !needsApproval) {
      const transition = await this.#move(model, body.to, body.version, who, reason, null, "promotion");
      return { request: null, transition };
    }
    const request = await this.#repo.createPromotion({ model, version: body.version, stage: body.to, requestedBy: who.actor.name, reason });
    await this.#audit.record({
      ...auditOf(who),
      action: "model.promotion.request",
      target: { kind: "model", id: `${model}/${body.version}` },
      after: { id: request.id, to: body.to, ...(reason ? { reason } : {}) },
    });
    return { request, transition: null };
  }

  /** An owner other than the requester approves a pending request: the version moves. */
  async approve(model: string, id: string, who: LifecycleActor, reason: string | null): Promise<PromotionResult> {
    const pending = await this.#pending(model, id);
    if (pending.requestedBy === who.actor.name) {
      throw userError(
        "self_approval",
        `You requested promotion ${id} of ${model} version ${pending.version}, so you cannot approve it`,
        "Ask another owner of the project to approve it.",
        403,
      );
    }
    const decided = await this.#repo.decide(model, id, "approved", who.actor.name, reason);
    if (!decided) throw alreadyDecided(model, id);
    let transition: StageTransition;
    try {
      transition = await this.#move(model, pending.to, pending.version, who, pending.reason ?? reason, id, "promotion");
    } catch (err) {
      await this.#repo.reopen(model, id);
      throw err;
    }
    await this.#audit.record({
      ...auditOf(who),
      action: "model.promotion.approve",
      target: { kind: "model", id: `${model}/${pending.version}` },
      before: { id, status: "pending", requestedBy: pending.requestedBy },
      after: { id, status: "approved", to: pending.to, ...(reason ? { reason } : {}) },
    });
    return { request: decided, transition };
  }

  async reject(model: string, id: string, who: LifecycleActor, reason: string | null): Promise<PromotionRequest> {
    const pending = await this.#pending(model, id);
    const decided = await this.#repo.decide(model, id, "rejected", who.actor.name, reason);
    if (!decided) throw alreadyDecided(model, id);
    await this.#audit.record({
      ...auditOf(who),
      action: "model.promotion.reject",
      target: { kind: "model", id: `${model}/${pending.version}` },
      before: { id, status: "pending", requestedBy: pending.requestedBy },
      after: { id, status: "rejected", ...(reason ? { reason } : {}) },
    });
    return decided;
  }

  /** Moves production back to the version the current one replaced (its last move there other than a rollback). */
  async rollback(model: string, who: LifecycleActor, reason: string): Promise<StageTransition> {
    const current = (await this.#tracking.getModel(model)).aliases.production;
    if (current === undefined) {
      throw userError("no_production_version", `Model '${model}' has no production version to roll back`, "Promote a version first.", 409);
    }
    const last = await this.#repo.lastForwardMoveTo(model, "production", current);
    if (!last || last.replaced === null) {
      throw userError(
        "nothing_to_roll_back_to",
        `Production version ${current} of '${model}' replaced no earlier version that caretflow recorded`,
        "Promote the version you want with POST /api/models/{name}/promotions.",
        409,
      );
    }
    return this.#move(model, "production", last.replaced, who, reason, null, "rollback");
  }

  /**
   * Records a move of a stage alias made elsewhere (POST /aliases, a pipeline's set_alias step); other
   * aliases are not stages and are not recorded.
   */
  async recordAliasMove(
    model: string,
    alias: string,
    version: number,
    replaced: number | null,
    actor: string,
    kind: Extract<TransitionKind, "alias" | "pipeline">,
  ): Promise<StageTransition | null> {
    if (!isStageAlias(alias) || replaced === version) return null;
    await this.#tracking.setVersionTag(model, version, STAGE_TAG, alias);
    return this.#repo.addTransition({ model, stage: alias, version, replaced, kind, actor, reason: null, requestId: null });
  }

  /** Records a stage alias removed through the API (DELETE /aliases): `version` left the stage. */
  async recordAliasRemoval(model: string, alias: string, version: number, actor: string): Promise<StageTransition | null> {
    if (!isStageAlias(alias)) return null;
    return this.#repo.addTransition({
      model,
      stage: alias,
      version,
      replaced: null,
      kind: "alias_removed",
      actor,
      reason: null,
      requestId: null,
    });
  }

  async #requireVersion(model: string, version: number) {
    const m = await this.#tracking.getModel(model);
    if (!m.versions.some((v) => v.version === version)) {
      throw notFound("model version", `${model}/${version}`, `List the versions with GET /api/models/${model}.`);
    }
    return m;
  }

  async #pending(model: string, id: string): Promise<PromotionRequest> {
    const p = await this.#repo.promotion(model, id);
    if (!p) throw notFound("promotion request", id, `List the requests with GET /api/models/${model}/promotions.`);
    if (p.status !== "pending") throw alreadyDecided(model, id, p.status);
    return p;
  }

  async #move(
    model: string,
    stage: ModelStage,
    version: number,
    who: LifecycleActor,
    reason: string | null,
    requestId: string | null,
    kind: TransitionKind,
  ): Promise<StageTransition> {
    const m = await this.#requireVersion(model, version);
    let replaced: number | null = null;
    if (stage === "archived") {
      for (const alias of STAGE_ALIASES) if (m.aliases[alias] === version) await this.#tracking.deleteAlias(model, alias);
    } else {
      replaced = m.aliases[stage] ?? null;
      if (replaced === version) {
        throw userError("already_in_stage", `Version ${version} of '${model}' is already in ${stage}`, undefined, 409);
      }
      await this.#tracking.setAlias(model, stage, version);
    }
    await this.#tracking.setVersionTag(model, version, STAGE_TAG, stage);
    const transition = await this.#repo.addTransition({ model, stage, version, replaced, kind, actor: who.actor.name, reason, requestId });
    await this.#audit.record({
      ...auditOf(who),
      action: kind === "rollback" ? "model.rollback" : "model.promote",
      target: { kind: "model", id: `${model}@${stage}` },
      before: replaced === null ? null : { version: replaced },
      after: { version, ...(reason ? { reason } : {}), ...(requestId ? { requestId } : {}) },
    });
    return transition;
  }
}

function auditOf(who: LifecycleActor): Pick<AuditRecord, "actor" | "address" | "project"> {
  const { role: _role, ...rest } = who;
  return rest;
}

function alreadyDecided(model: string, id: string, status?: string) {
  return userError(
    "promotion_already_decided",
    `Promotion request ${id} of '${model}' was already ${status ?? "decided"}`,
    "Request the promotion again if it is still wanted.",
    409,
  );
}
