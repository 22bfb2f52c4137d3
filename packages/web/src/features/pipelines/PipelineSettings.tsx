// biome-ignore-all lint/suspicious/noTemplateCurlyInString: pipeline references are written ${{ ... }}
import type { PipelineError } from "@caretflow/contracts";
import { type BuilderModel, setTopField } from "./pipeline.model.ts";
import { parseNumber } from "./step.fields.ts";

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const text = (v: unknown) => (v === undefined || v === null ? "" : String(v));

/** Renames key `from` of `obj` to `to`, keeping the order of the keys. */
function renameKey(obj: Record<string, unknown>, from: string, to: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k === from ? to : k, v]));
}

/**
 * The pipeline's own fields: name, description, params (name, type, default, description) and the
 * schedule (cron, time zone, what happens to missed and overlapping runs), and the triggers (a dataset's
 * new version, another pipeline finishing).
 */
export function PipelineSettings({
  model,
  errors,
  onChange,
}: {
  model: BuilderModel;
  errors: PipelineError[];
  onChange: (next: BuilderModel) => void;
}) {
  const top = model.top;
  const set = (field: string, value: unknown) => onChange(setTopField(model, field, value));
  const at = (prefix: string) => errors.filter((e) => e.path.map(String).join(".").startsWith(prefix));
  const params = isRecord(top.params) ? top.params : {};
  const schedule = isRecord(top.schedule) ? top.schedule : undefined;
  const setParams = (next: Record<string, unknown>) => set("params", Object.keys(next).length === 0 ? undefined : next);
  const setParam = (name: string, key: string, value: unknown) => {
    const p = isRecord(params[name]) ? params[name] : {};
    const { [key]: _, ...rest } = p;
    setParams({ ...params, [name]: value === undefined ? rest : { ...rest, [key]: value } });
  };
  const setSchedule = (key: string, value: unknown) => {
    const { [key]: _, ...rest } = schedule ?? {};
    set("schedule", value === undefined ? rest : { ...rest, [key]: value });
  };
  const triggers = Array.isArray(top.triggers) ? top.triggers : [];
  const setTriggers = (next: unknown[]) => set("triggers", next.length === 0 ? undefined : next);
  const setTrigger = (i: number, t: unknown) => setTriggers(triggers.map((old, j) => (j === i ? t : old)));

  return (
    <form className="pl-form" aria-label="Pipeline" data-testid="pipeline-settings" onSubmit={(e) => e.preventDefault()}>
      <label className={`field ${at("name").length ? "field-invalid" : ""}`}>
        <span className="field-label">Name</span>
        <input name="name" value={text(top.name)} onChange={(e) => set("name", e.target.value)} spellCheck={false} />
        <Errors errors={at("name")} />
      </label>
      <label className="field">
        <span className="field-label">Description</span>
        <textarea
          name="description"
          rows={2}
          value={text(top.description)}
          onChange={(e) => set("description", e.target.value || undefined)}
        />
      </label>

      <h3 className="pl-form-section">Params</h3>
      <p className="muted small">Values a run may set, used in steps as {"${{ params.NAME }}"}.</p>
      {Object.entries(params).map(([name, raw], i) => {
        const p = isRecord(raw) ? raw : {};
        const type = text(p.type) || "string";
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: a param's name is edited in place, its position is its identity
          <fieldset key={i} className="pl-param" aria-label={`Param ${name}`}>
            <input
              aria-label="Param name"
              value={name}
              spellCheck={false}
              onChange={(e) => setParams(renameKey(params, name, e.target.value))}
            />
            <select aria-label={`Type of ${name}`} value={type} onChange={(e) => setParam(name, "type", e.target.value)}>
              <option value="string">string</option>
              <option value="number">number</option>
              <option value="boolean">boolean</option>
            </select>
            {type === "boolean" ? (
              <select
                aria-label={`Default of ${name}`}
                value={p.default === undefined ? "" : String(p.default)}
                onChange={(e) => setParam(name, "default", e.target.value === "" ? undefined : e.target.value === "true")}
              >
                <option value="">no default</option>
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            ) : (
              <input
                aria-label={`Default of ${name}`}
                placeholder="default"
                value={text(p.default)}
                onChange={(e) => setParam(name, "default", type === "number" ? parseNumber(e.target.value) : e.target.value || undefined)}
              />
            )}
            <button
              type="button"
              className="btn btn-small btn-ghost"
              aria-label={`Remove param ${name}`}
              onClick={() => setParams(Object.fromEntries(Object.entries(params).filter(([k]) => k !== name)))}
            >
              ✕
            </button>
            <input
              className="pl-param-description"
              aria-label={`Description of ${name}`}
              placeholder="description"
              value={text(p.description)}
              onChange={(e) => setParam(name, "description", e.target.value || undefined)}
            />
            <Errors errors={at(`params.${name}`)} />
          </fieldset>
        );
      })}
      <Errors errors={errors.filter((e) => e.path.length === 1 && e.path[0] === "params")} />
      <div>
        <button
          type="button"
          className="btn btn-small"
          onClick={() => {
            let n = Object.keys(params).length + 1;
            while (`param_${n}` in params) n++;
            setParams({ ...params, [`param_${n}`]: { type: "string" } });
          }}
        >
          Add param
        </button>
      </div>

      <h3 className="pl-form-section">Schedule</h3>
      <label className="check">
        <input
          type="checkbox"
          name="scheduled"
          checked={schedule !== undefined}
          onChange={(e) => set("schedule", e.target.checked ? { cron: "0 2 * * *" } : undefined)}
        />
        Run on a schedule
      </label>
      {schedule ? (
        <>
          <div className="form-row">
            <label className={`field ${at("schedule.cron").length ? "field-invalid" : ""}`}>
              <span className="field-label">
                Cron <span className="field-help">minute hour day month weekday</span>
              </span>
              <input
                name="schedule.cron"
                value={text(schedule.cron)}
                spellCheck={false}
                onChange={(e) => setSchedule("cron", e.target.value)}
              />
              <Errors errors={at("schedule.cron")} />
            </label>
            <label className={`field ${at("schedule.timezone").length ? "field-invalid" : ""}`}>
              <span className="field-label">
                Time zone <span className="field-help">UTC when empty</span>
              </span>
              <input
                name="schedule.timezone"
                value={text(schedule.timezone)}
                placeholder="e.g. Europe/Paris"
                onChange={(e) => setSchedule("timezone", e.target.value || undefined)}
              />
              <Errors errors={at("schedule.timezone")} />
            </label>
          </div>
          <div className="form-row">
            <label className="field">
              <span className="field-label">Runs missed while down</span>
              <select
                name="schedule.missed"
                value={text(schedule.missed) || "skip"}
                onChange={(e) => setSchedule("missed", e.target.value === "skip" ? undefined : e.target.value)}
              >
                <option value="skip">skip them</option>
                <option value="catch_up">catch up</option>
              </select>
            </label>
            <label className="field">
              <span className="field-label">When the previous run still runs</span>
              <select
                name="schedule.overlap"
                value={text(schedule.overlap) || "skip"}
                onChange={(e) => setSchedule("overlap", e.target.value === "skip" ? undefined : e.target.value)}
              >
                <option value="skip">skip the new one</option>
                <option value="queue">queue it</option>
                <option value="cancel_previous">cancel the previous</option>
              </select>
            </label>
          </div>
          <Errors errors={errors.filter((e) => e.path.length === 1 && e.path[0] === "schedule")} />
        </>
      ) : null}

      <h3 className="pl-form-section">Triggers</h3>
      {triggers.length === 0 ? <p className="muted small">None: the pipeline runs by hand and on its schedule.</p> : null}
      <ul className="pl-triggers">
        {triggers.map((t, i) => {
          const kind = isRecord(t) && "pipeline_finished" in t ? "pipeline_finished" : "dataset_version";
          const body = isRecord(t) && isRecord(t[kind]) ? t[kind] : {};
          const label = `Trigger ${i + 1}`;
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: triggers are listed as the file has them
            <li key={i} className="form-row" aria-label={label} data-testid={`trigger-${i}`}>
              <label className="field">
                <span className="field-label">Run when</span>
                <select
                  name={`triggers.${i}.kind`}
                  value={kind}
                  onChange={(e) =>
                    setTrigger(
                      i,
                      e.target.value === "dataset_version" ? { dataset_version: { dataset: "" } } : { pipeline_finished: { pipeline: "" } },
                    )
                  }
                >
                  <option value="dataset_version">a dataset gets a new version</option>
                  <option value="pipeline_finished">another pipeline finishes</option>
                </select>
              </label>
              {kind === "dataset_version" ? (
                <label className={`field ${at(`triggers.${i}`).length ? "field-invalid" : ""}`}>
                  <span className="field-label">Dataset</span>
                  <input
                    name={`triggers.${i}.dataset`}
                    value={text(body.dataset)}
                    spellCheck={false}
                    onChange={(e) => setTrigger(i, { dataset_version: { dataset: e.target.value } })}
                  />
                </label>
              ) : (
                <>
                  <label className={`field ${at(`triggers.${i}`).length ? "field-invalid" : ""}`}>
                    <span className="field-label">Pipeline</span>
                    <input
                      name={`triggers.${i}.pipeline`}
                      value={text(body.pipeline)}
                      spellCheck={false}
                      onChange={(e) => setTrigger(i, { pipeline_finished: { ...body, pipeline: e.target.value } })}
                    />
                  </label>
                  <label className="field">
                    <span className="field-label">With status</span>
                    <select
                      name={`triggers.${i}.status`}
                      value={text(body.status) || "succeeded"}
                      onChange={(e) => {
                        const { status: _, ...rest } = body;
                        setTrigger(i, { pipeline_finished: e.target.value === "succeeded" ? rest : { ...rest, status: e.target.value } });
                      }}
                    >
                      <option value="succeeded">succeeded</option>
                      <option value="failed">failed</option>
                      <option value="any">succeeded or failed</option>
                    </select>
                  </label>
                </>
              )}
              <button type="button" className="btn btn-small" onClick={() => setTriggers(triggers.filter((_, j) => j !== i))}>
                Remove {label.toLowerCase()}
              </button>
            </li>
          );
        })}
      </ul>
      <button type="button" className="btn btn-small" onClick={() => setTriggers([...triggers, { dataset_version: { dataset: "" } }])}>
        Add a trigger
      </button>
      <Errors errors={at("triggers")} />
    </form>
  );
}

function Errors({ errors }: { errors: PipelineError[] }) {
  if (errors.length === 0) return null;
  return (
    <ul className="pl-field-errors">
      {errors.map((e, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: errors have no identity but their place in the list
        <li key={i} className="field-error">
          {e.message}
        </li>
      ))}
    </ul>
  );
}
