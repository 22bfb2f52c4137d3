import { type ReactNode, useId } from "react";
import { DRIFT_SCHEDULES, type FieldErrors, type PolicyForm, type PolicyKind } from "./deployments.helpers.ts";

const KINDS: { kind: PolicyKind; label: string; help: string }[] = [
  { kind: "single", label: "Single", help: "The target answers every request." },
  { kind: "ab", label: "A/B split", help: "Other versions answer a share of requests each; the target answers the rest." },
  { kind: "shadow", label: "Shadow", help: "A second version scores the same rows; its answers are logged, never returned." },
  { kind: "canary", label: "Canary", help: "A new version answers a share that grows step by step up to a maximum." },
];

/** What a Field's control spreads on itself: its id, and the message that describes it when the API refused it. */
export interface ControlProps {
  id: string;
  "aria-invalid"?: true;
  "aria-describedby"?: string;
}

/** A labelled input or select with the API's message for it underneath. */
export function Field({
  label,
  error,
  children,
  className,
}: {
  label: string;
  error?: string | undefined;
  children: (control: ControlProps) => ReactNode;
  className?: string;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  return (
    <div className={`field ${error ? "field-invalid" : ""} ${className ?? ""}`}>
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      {children(error ? { id, "aria-invalid": true, "aria-describedby": errorId } : { id })}
      {error ? (
        <span className="field-error" id={errorId}>
          {error}
        </span>
      ) : null}
    </div>
  );
}

function VersionSelect({
  label,
  value,
  choices,
  error,
  onChange,
}: {
  label: string;
  value: string;
  choices: { value: string; label: string }[];
  error?: string | undefined;
  onChange: (v: string) => void;
}) {
  return (
    <Field label={label} error={error}>
      {(control) => (
        <select {...control} value={value} onChange={(e) => onChange(e.target.value)}>
          <option value="">choose…</option>
          {choices.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

function PercentInput({
  label,
  value,
  error,
  onChange,
  min = 0,
}: {
  label: string;
  value: string;
  error?: string | undefined;
  onChange: (v: string) => void;
  min?: number;
}) {
  return (
    <Field label={label} error={error} className="field-narrow">
      {(control) => (
        <input
          {...control}
          type="number"
          inputMode="decimal"
          min={min}
          step="any"
          value={value}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

/**
 * The traffic policy editor: the kind, then what that kind needs (the versions of the deployment's model
 * and their shares). Used by the create form and the deployment's Traffic tab.
 */
export function PolicyFields({
  form,
  onChange,
  choices,
  errors,
}: {
  form: PolicyForm;
  onChange: (f: PolicyForm) => void;
  /** The model's aliases and versions (targetChoices). */
  choices: { value: string; label: string }[];
  errors: FieldErrors;
}) {
  const set = (patch: Partial<PolicyForm>) => onChange({ ...form, ...patch });
  const setSplit = (i: number, patch: Partial<PolicyForm["splits"][number]>) =>
    set({ splits: form.splits.map((s, j) => (j === i ? { ...s, ...patch } : s)) });
  const helpId = useId();
  const current = KINDS.find((k) => k.kind === form.kind);

  return (
    <fieldset className="policy-fields">
      <legend className="field-label">Traffic policy</legend>
      <div className="segmented" role="radiogroup" aria-label="Traffic policy" aria-describedby={helpId}>
        {KINDS.map((k) => (
          <label key={k.kind} className={`segment ${form.kind === k.kind ? "segment-active" : ""}`}>
            <input
              type="radio"
              name={`policy-kind-${helpId}`}
              value={k.kind}
              checked={form.kind === k.kind}
              onChange={() => set({ kind: k.kind })}
              className="sr-only"
            />
            {k.label}
          </label>
        ))}
      </div>
      <p className="muted small" id={helpId}>
        {current?.help}
      </p>

      {form.kind === "ab" ? (
        <div className="stack">
          {form.splits.map((s, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: splits have no identity beyond their place
            <div className="form-row policy-split" key={i}>
              <VersionSelect
                label={`Split ${i + 1} version`}
                value={s.target}
                choices={choices}
                error={errors[`splits.${i}.target`]}
                onChange={(v) => setSplit(i, { target: v })}
              />
              <PercentInput
                label={`Split ${i + 1} weight (%)`}
                value={s.weight}
                error={errors[`splits.${i}.weight`]}
                onChange={(v) => setSplit(i, { weight: v })}
              />
              {form.splits.length > 1 ? (
                <button
                  type="button"
                  className="btn btn-small"
                  aria-label={`Remove split ${i + 1}`}
                  onClick={() => set({ splits: form.splits.filter((_, j) => j !== i) })}
                >
                  Remove
                </button>
              ) : null}
            </div>
          ))}
          {errors.splits ? (
            <span className="field-error" role="alert">
              {errors.splits}
            </span>
          ) : null}
          {form.splits.length < 4 ? (
            <div>
              <button
                type="button"
                className="btn btn-small"
                onClick={() => set({ splits: [...form.splits, { target: "", weight: "10" }] })}
              >
                Add a split
              </button>
            </div>
          ) : null}
        </div>
      ) : null}

      {form.kind === "shadow" ? (
        <div className="form-row">
          <VersionSelect
            label="Shadow version"
            value={form.shadow}
            choices={choices}
            error={errors.shadow}
            onChange={(v) => set({ shadow: v })}
          />
        </div>
      ) : null}

      {form.kind === "canary" ? (
        <>
          <div className="form-row">
            <VersionSelect
              label="Canary version"
              value={form.canary}
              choices={choices}
              error={errors.canary}
              onChange={(v) => set({ canary: v })}
            />
          </div>
          <div className="form-row form-row-4">
            <PercentInput
              label="Start (%)"
              value={form.startPercent}
              error={errors.startPercent}
              onChange={(v) => set({ startPercent: v })}
            />
            <PercentInput label="Step (%)" value={form.stepPercent} error={errors.stepPercent} onChange={(v) => set({ stepPercent: v })} />
            <PercentInput
              label="Every (seconds)"
              value={form.intervalSeconds}
              error={errors.intervalSeconds}
              min={1}
              onChange={(v) => set({ intervalSeconds: v })}
            />
            <PercentInput label="Up to (%)" value={form.maxPercent} error={errors.maxPercent} onChange={(v) => set({ maxPercent: v })} />
          </div>
        </>
      ) : null}
    </fieldset>
  );
}

/** The drift check schedule as a select: "" for only on demand, else one of the API's driftEvery values. */
export function DriftScheduleSelect({
  label,
  value,
  error,
  onChange,
}: {
  label: string;
  value: string;
  error?: string | undefined;
  onChange: (v: string) => void;
}) {
  return (
    <Field label={label} error={error}>
      {(control) => (
        <select {...control} name="driftEvery" value={value} onChange={(e) => onChange(e.target.value)}>
          {DRIFT_SCHEDULES.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}
