import { type ReactNode, Suspense, useEffect, useState } from "react";
import { Link, Navigate, NavLink, Outlet, useLocation } from "react-router-dom";
import { useAuth } from "../features/auth/auth.context.tsx";
import { Logo } from "../features/auth/SignInPage.tsx";
import { ProjectSwitcher } from "../features/projects/ProjectSwitcher.tsx";
import { Skeleton, Spinner } from "../ui/feedback.tsx";
import { HealthIndicator } from "./HealthIndicator.tsx";

/** Pages behind sign-in: unknown session shows a spinner, no session goes to /signin and comes back after. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { user } = useAuth();
  const location = useLocation();
  if (user === undefined)
    return (
      <div className="center-screen">
        <Spinner />
      </div>
    );
  if (user === null) return <Navigate to={`/signin?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  return <>{children}</>;
}

const nav = [
  {
    to: "/data",
    label: "Data",
    icon: "M4 6c0-1.1 3.6-2 8-2s8 .9 8 2-3.6 2-8 2-8-.9-8-2zm0 0v12c0 1.1 3.6 2 8 2s8-.9 8-2V6M4 12c0 1.1 3.6 2 8 2s8-.9 8-2",
  },
  {
    to: "/connections",
    label: "Connections",
    icon: "M9 7H7a5 5 0 0 0 0 10h2M15 7h2a5 5 0 0 1 0 10h-2M8 12h8",
  },
  { to: "/experiments", label: "Experiments", icon: "M9 3h6M10 3v6l-5 9a2 2 0 0 0 1.7 3h10.6a2 2 0 0 0 1.7-3l-5-9V3" },
  { to: "/models", label: "Models", icon: "M12 3l8 4.5v9L12 21l-8-4.5v-9L12 3zm0 0v18M4 7.5l8 4.5 8-4.5" },
  {
    to: "/pipelines",
    label: "Pipelines",
    icon: "M4 5h5v5H4zM15 14h5v5h-5zM9 7.5h2.5a2 2 0 0 1 2 2v5a2 2 0 0 0 1.5 1.94",
  },
  {
    to: "/deployments",
    label: "Deployments",
    icon: "M5 15a7 7 0 0 1 14 0M12 15l4-5M3 19h18",
  },
  { to: "/alerts", label: "Alerts", icon: "M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9M10.3 21a1.94 1.94 0 0 0 3.4 0" },
  { to: "/jobs", label: "Jobs", icon: "M4 6h16M4 12h10M4 18h6M18 14l3 3-3 3" },
  {
    to: "/projects",
    label: "Projects",
    icon: "M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V7z",
  },
  {
    to: "/users",
    label: "Users",
    icon: "M16 19v-1a4 4 0 0 0-4-4H7a4 4 0 0 0-4 4v1M9.5 10a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM20 19v-1a4 4 0 0 0-3-3.9M15 4.1a3 3 0 0 1 0 5.8",
    adminOnly: true,
  },
  {
    to: "/audit",
    label: "Audit",
    icon: "M12 3l7 3v6c0 4.5-3 8-7 9-4-1-7-4.5-7-9V6l7-3zm-3 9l2 2 4-4",
    adminOnly: true,
  },
];

export function Shell() {
  const { user } = useAuth();
  const [open, setOpen] = useState(false);
  const location = useLocation();
  // Close the phone menu after navigating.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on route change
  useEffect(() => setOpen(false), [location.pathname]);

  return (
    <div className={`shell ${open ? "nav-open" : ""}`}>
      <aside className="sidebar">
        <div className="sidebar-top">
          <Link to="/data" className="brand">
            <Logo /> caretflow
          </Link>
          <button type="button" className="nav-toggle" aria-label="Menu" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
            <svg viewBox="0 0 24 24" aria-hidden="true">
              <path
                d={open ? "M6 6l12 12M18 6L6 18" : "M4 7h16M4 12h16M4 17h16"}
                stroke="currentColor"
                strokeWidth="2"
                strokeLinecap="round"
              />
            </svg>
          </button>
        </div>
        <ProjectSwitcher />
        <nav className="nav" aria-label="Main">
          {nav
            .filter((n) => !n.adminOnly || user?.role === "admin")
            .map((n) => (
              <NavLink key={n.to} to={n.to} className={({ isActive }) => `nav-link ${isActive ? "nav-link-active" : ""}`}>
                <svg viewBox="0 0 24 24" aria-hidden="true" className="nav-icon">
                  <path d={n.icon} fill="none" stroke="currentColor" strokeWidth="1.7" strokeLinecap="round" strokeLinejoin="round" />
                </svg>
                {n.label}
              </NavLink>
            ))}
          <Link to="/train" className="btn btn-primary nav-cta">
            New training
          </Link>
        </nav>
        <div className="sidebar-bottom">
          <HealthIndicator />
          <UserMenu />
        </div>
      </aside>
      <main className="content">
        {/* pages load lazily; the navigation stays while one arrives */}
        <Suspense
          fallback={
            <div className="page">
              <Skeleton lines={6} />
            </div>
          }
        >
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}

function UserMenu() {
  const { user, signOut } = useAuth();
  const [open, setOpen] = useState(false);
  if (!user) return null;
  return (
    <div className="user-menu">
      <button type="button" className="user-button" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
        <span className="avatar" aria-hidden="true">
          {user.username.slice(0, 1).toUpperCase()}
        </span>
        <span className="user-name">{user.username}</span>
        <span className="muted small">{user.role}</span>
      </button>
      {open ? (
        <div className="menu" role="menu">
          <Link className="menu-item" role="menuitem" to="/account" onClick={() => setOpen(false)}>
            Account and password
          </Link>
          <a className="menu-item" role="menuitem" href="/api/openapi.json" target="_blank" rel="noreferrer">
            API reference (OpenAPI)
          </a>
          <a className="menu-item" role="menuitem" href="/mlflow/" target="_blank" rel="noreferrer">
            MLflow UI
          </a>
          <button type="button" className="menu-item" role="menuitem" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      ) : null}
    </div>
  );
}
