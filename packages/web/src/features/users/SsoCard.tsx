import { PROJECT_ROLES, type ProjectRole, type SsoSettings } from "@caretflow/contracts";
import { type FormEvent, useEffect, useState } from "react";
import { useApi, useResource } from "../../api/context.tsx";
import { ErrorBox, Skeleton, Spinner } from "../../ui/feedback.tsx";
import { Badge, Card } from "../../ui/layout.tsx";

/**
 * Site admins: single sign-on with one OpenID Connect provider. The client secret is write-only: the form
 * says whether one is stored and leaves it in place unless a new one is typed.
 */
export function SsoCard() {
  const api = useApi();
  const settings = useResource((a) => a.ssoSettings(), "sso-settings");
  const projects = useResource((a) => a.listProjects(), "sso-projects");
  const [form, setForm] = useState<Form | null>(null);
  const [secret, setSecret] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    if (settings.data) setForm(formOf(settings.data));
  }, [settings.data]);

  if (settings.error)
    return <ErrorBox error={settings.error} title="Could not load the single sign-on settings" onRetry={settings.reload} />;
  if (!settings.data || !form) return <Skeleton lines={3} />;
  const s = settings.data;

  async function run(fn: () => Promise<SsoSettings>) {
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      const next = await fn();
      setForm(formOf(next));
      setSecret("");
      setSaved(true);
      settings.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    if (!form) return;
    void run(() =>
      api.setSso({
        issuer: form.issuer.trim(),
        clientId: form.clientId.trim(),
        ...(secret !== "" ? { clientSecret: secret } : {}),
        autoCreate: form.autoCreate,
        defaultProject: form.defaultProject === "" ? null : form.defaultProject,
        defaultRole: form.defaultRole,
        buttonLabel: form.buttonLabel.trim() || "Sign in with SSO",
      }),
    );
  }
  const set = (patch: Partial<Form>) => setForm({ ...form, ...patch });

  return (
    <Card title={<span>Single sign-on {s.enabled ? <Badge tone="good">on</Badge> : <Badge>off</Badge>}</span>}>
      <p className="muted small">
        People sign in with an OpenID Connect provider (Keycloak, Entra ID, Okta, Google...). Register this redirect URI there:{" "}
        <code data-testid="sso-redirect-uri">{s.redirectUri}</code>
      </p>
      <form className="stack-form" onSubmit={submit} data-testid="sso-form">
        <label className="field">
          <span className="field-label">Issuer URL</span>
          <input name="issuer" type="url" value={form.issuer} onChange={(e) => set({ issuer: e.target.value })} required />
        </label>
        <label className="field">
          <span className="field-label">Client ID</span>
          <input name="clientId" value={form.clientId} onChange={(e) => set({ clientId: e.target.value })} required />
        </label>
        <label className="field">
          <span className="field-label">Client secret</span>
          <input
            name="clientSecret"
            type="password"
            autoComplete="new-password"
            value={secret}
            placeholder={s.clientSecretSet ? "stored (never shown); type to replace" : "none: a public client"}
            onChange={(e) => setSecret(e.target.value)}
          />
        </label>
        <label className="field checkbox">
          <input type="checkbox" name="autoCreate" checked={form.autoCreate} onChange={(e) => set({ autoCreate: e.target.checked })} />
          <span>Create a caretflow user on a person's first sign-in</span>
        </label>
        <label className="field">
          <span className="field-label">New users join project</span>
          <select name="defaultProject" value={form.defaultProject} onChange={(e) => set({ defaultProject: e.target.value })}>
            <option value="">(none)</option>
            {(projects.data ?? []).map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field-label">With the role</span>
          <select name="defaultRole" value={form.defaultRole} onChange={(e) => set({ defaultRole: e.target.value as ProjectRole })}>
            {PROJECT_ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field-label">Button label</span>
          <input name="buttonLabel" value={form.buttonLabel} maxLength={60} onChange={(e) => set({ buttonLabel: e.target.value })} />
        </label>
        {error ? <ErrorBox error={error} title="Could not save single sign-on" /> : null}
        {saved ? (
          <p className="muted small" role="status">
            Saved.
          </p>
        ) : null}
        <div className="row-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? <Spinner label="Checking the provider" /> : null} {s.enabled ? "Save" : "Turn on"}
          </button>
          {s.enabled ? (
            <button type="button" className="btn" disabled={busy} onClick={() => void run(() => api.disableSso())}>
              Turn off
            </button>
          ) : null}
        </div>
      </form>
    </Card>
  );
}

interface Form {
  issuer: string;
  clientId: string;
  autoCreate: boolean;
  defaultProject: string;
  defaultRole: ProjectRole;
  buttonLabel: string;
}

function formOf(s: SsoSettings): Form {
  return {
    issuer: s.issuer ?? "",
    clientId: s.clientId ?? "",
    autoCreate: s.autoCreate,
    defaultProject: s.defaultProject ?? "",
    defaultRole: s.defaultRole,
    buttonLabel: s.buttonLabel,
  };
}
