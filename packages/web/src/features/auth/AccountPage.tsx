import { type FormEvent, useState } from "react";
import { useApi } from "../../api/context.tsx";
import { ErrorBox, Spinner } from "../../ui/feedback.tsx";
import { Card, PageHeader } from "../../ui/layout.tsx";
import { ApiTokensCard } from "./ApiTokensCard.tsx";
import { useAuth } from "./auth.context.tsx";

/** Your account: who you are, a new password (your other sessions are signed out), and your API tokens. */
export function AccountPage() {
  const api = useApi();
  const { user } = useAuth();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const mismatch = repeat !== "" && repeat !== next;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (mismatch) return;
    setBusy(true);
    setError(null);
    setDone(false);
    try {
      await api.changePassword(current, next);
      setCurrent("");
      setNext("");
      setRepeat("");
      setDone(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="page">
      <PageHeader
        title="Account"
        subtitle={user ? `Signed in as ${user.username} (${user.role === "admin" ? "site admin" : "user"}).` : ""}
      />
      <Card title="Change password">
        <form className="stack-form" onSubmit={(e) => void submit(e)} data-testid="change-password">
          <label className="field">
            <span className="field-label">Current password</span>
            <input
              type="password"
              name="current"
              autoComplete="current-password"
              value={current}
              onChange={(e) => setCurrent(e.target.value)}
              required
            />
          </label>
          <label className="field">
            <span className="field-label">New password</span>
            <input
              type="password"
              name="next"
              autoComplete="new-password"
              minLength={12}
              value={next}
              onChange={(e) => setNext(e.target.value)}
              required
            />
            <span className="field-help">At least 12 characters.</span>
          </label>
          <label className={`field ${mismatch ? "field-invalid" : ""}`}>
            <span className="field-label">New password again</span>
            <input
              type="password"
              name="repeat"
              autoComplete="new-password"
              value={repeat}
              onChange={(e) => setRepeat(e.target.value)}
              required
            />
            {mismatch ? <span className="field-error">The two new passwords differ.</span> : null}
          </label>
          <button type="submit" className="btn btn-primary" disabled={busy || mismatch}>
            {busy ? <Spinner label="Saving" /> : null} Change password
          </button>
          {done ? (
            <p className="notice" role="status" data-testid="password-changed">
              Password changed. Your other sessions were signed out.
            </p>
          ) : null}
          {error ? <ErrorBox error={error} title="Could not change the password" /> : null}
        </form>
      </Card>
      <ApiTokensCard />
    </div>
  );
}
