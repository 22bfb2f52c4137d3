import type { AuthProviders } from "@caretflow/contracts";
import { type FormEvent, useEffect, useState } from "react";
import { Navigate, useSearchParams } from "react-router-dom";
import { useApi } from "../../api/context.tsx";
import { ErrorBox, Spinner } from "../../ui/feedback.tsx";
import { useAuth } from "./auth.context.tsx";
import { ssoErrorMessage } from "./sso.helpers.ts";

/** Only same-site paths are followed after sign-in, so a crafted link cannot bounce a person elsewhere. */
export function safeNext(next: string | null): string {
  return next?.startsWith("/") && !next.startsWith("//") ? next : "/data";
}

export function SignInPage() {
  const { user, signIn } = useAuth();
  const api = useApi();
  const [params] = useSearchParams();
  const [providers, setProviders] = useState<AuthProviders | null>(null);
  useEffect(() => {
    let live = true;
    // Without the answer the page still offers the password form.
    api.authProviders().then(
      (p) => live && setProviders(p),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [api]);
  const ssoError = ssoErrorMessage(params.get("sso_error"));
  const [username, setUsername] = useState("admin");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const next = safeNext(params.get("next"));
  // MLflow's UI is served by the server, not by this app: leave the app to reach it.
  if (user && next.startsWith("/mlflow/")) {
    window.location.replace(next);
    return <Spinner />;
  }
  if (user) return <Navigate to={next} replace />;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(username, password);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="signin">
      <form className="signin-card" onSubmit={submit}>
        <div className="brand brand-large">
          <Logo /> caretflow
        </div>
        <p className="muted">Sign in to explore data, train models and serve predictions.</p>
        <label className="field">
          <span className="field-label">Username</span>
          <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required />
        </label>
        <label className="field">
          <span className="field-label">Password</span>
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            // biome-ignore lint/a11y/noAutofocus: the only thing to do on this page
            autoFocus
          />
        </label>
        {error ? <ErrorBox error={error} title="Could not sign in" /> : null}
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? <Spinner label="Signing in" /> : null} Sign in
        </button>
        {providers?.sso.enabled ? (
          <div className="signin-sso">
            <div className="signin-or muted">or</div>
            <a className="btn btn-block" href={`${providers.sso.startUrl}?next=${encodeURIComponent(next)}`} data-testid="sso-signin">
              {providers.sso.label}
            </a>
          </div>
        ) : null}
        {ssoError ? (
          <div className="error-box" role="alert" data-testid="sso-error">
            <div className="error-box-title">Single sign-on</div>
            <div className="error-box-message">{ssoError}</div>
          </div>
        ) : null}
        <p className="hint">
          First start? <code>caretflow up</code> printed the admin password once in its terminal.
        </p>
      </form>
    </div>
  );
}

export function Logo() {
  return (
    <svg className="logo" viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="8" fill="var(--accent)" />
      <path d="M8 21l6-10 5 7 3-4 3 7" fill="none" stroke="#fff" strokeWidth="2.6" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}
