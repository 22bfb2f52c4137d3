import { lazy, useCallback, useMemo, useRef } from "react";
import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";
import { createApiClient } from "../api/client.ts";
import { ApiProvider } from "../api/context.tsx";
import { AuthProvider } from "../features/auth/auth.context.tsx";
import { SignInPage } from "../features/auth/SignInPage.tsx";
import { DatasetsPage } from "../features/datasets/DatasetsPage.tsx";
import { JobsPage } from "../features/jobs/JobsPage.tsx";
import { ModelComparePage } from "../features/models/ModelComparePage.tsx";
import { ModelsPage } from "../features/models/ModelsPage.tsx";
import { ProjectProvider } from "../features/projects/project.context.tsx";
import { RunsPage } from "../features/runs/RunsPage.tsx";
import { EmptyState } from "../ui/feedback.tsx";
import { RequireAuth, Shell } from "./Shell.tsx";

// Pages with charts, forms and tables load on first visit, so the first screen does not wait for recharts.
const DatasetPage = lazy(() => import("../features/datasets/DatasetPage.tsx").then((m) => ({ default: m.DatasetPage })));
const JobPage = lazy(() => import("../features/jobs/JobPage.tsx").then((m) => ({ default: m.JobPage })));
const PredictPage = lazy(() => import("../features/models/PredictPage.tsx").then((m) => ({ default: m.PredictPage })));
const RunPage = lazy(() => import("../features/runs/RunPage.tsx").then((m) => ({ default: m.RunPage })));
const ComparePage = lazy(() => import("../features/runs/ComparePage.tsx").then((m) => ({ default: m.ComparePage })));
const ProjectsPage = lazy(() => import("../features/projects/ProjectsPage.tsx").then((m) => ({ default: m.ProjectsPage })));
const UsersPage = lazy(() => import("../features/users/UsersPage.tsx").then((m) => ({ default: m.UsersPage })));
const AccountPage = lazy(() => import("../features/auth/AccountPage.tsx").then((m) => ({ default: m.AccountPage })));
const AuditPage = lazy(() => import("../features/audit/AuditPage.tsx").then((m) => ({ default: m.AuditPage })));
const ConnectionsPage = lazy(() => import("../features/connections/ConnectionsPage.tsx").then((m) => ({ default: m.ConnectionsPage })));
const TransformPage = lazy(() => import("../features/transforms/TransformPage.tsx").then((m) => ({ default: m.TransformPage })));
const PipelinesPage = lazy(() => import("../features/pipelines/PipelinesPage.tsx").then((m) => ({ default: m.PipelinesPage })));
const PipelineBuilderPage = lazy(() =>
  import("../features/pipelines/PipelineBuilderPage.tsx").then((m) => ({ default: m.PipelineBuilderPage })),
);
const PipelineRunsPage = lazy(() => import("../features/pipelines/PipelineRunsPage.tsx").then((m) => ({ default: m.PipelineRunsPage })));
const PipelineRunPage = lazy(() => import("../features/pipelines/PipelineRunPage.tsx").then((m) => ({ default: m.PipelineRunPage })));
const AlertsPage = lazy(() => import("../features/alerts/AlertsPage.tsx").then((m) => ({ default: m.AlertsPage })));
const DeploymentsPage = lazy(() => import("../features/deployments/DeploymentsPage.tsx").then((m) => ({ default: m.DeploymentsPage })));
const DeploymentPage = lazy(() => import("../features/deployments/DeploymentPage.tsx").then((m) => ({ default: m.DeploymentPage })));
const TrainPage = lazy(() => import("../features/train/TrainPage.tsx").then((m) => ({ default: m.TrainPage })));

export function App() {
  return <ProjectProvider>{(project) => <ProjectApp project={project} />}</ProjectProvider>;
}

/** The app working in one project: a new client per project, so every page loads that project's data. */
function ProjectApp({ project }: { project: string }) {
  // The client's 401 handler is whatever the auth provider registers.
  const onUnauthorized = useRef<() => void>(() => {});
  const client = useMemo(() => createApiClient({ project, onUnauthorized: () => onUnauthorized.current() }), [project]);
  const register = useCallback((fn: () => void) => {
    onUnauthorized.current = fn;
  }, []);

  return (
    <ApiProvider client={client}>
      <AuthProvider registerUnauthorized={register}>
        <BrowserRouter>
          <Routes>
            <Route path="/signin" element={<SignInPage />} />
            <Route
              element={
                <RequireAuth>
                  <Shell />
                </RequireAuth>
              }
            >
              <Route index element={<Navigate to="/data" replace />} />
              <Route path="data" element={<DatasetsPage />} />
              <Route path="data/:name" element={<DatasetPage />} />
              <Route path="connections" element={<ConnectionsPage />} />
              <Route path="transforms" element={<TransformPage />} />
              <Route path="transforms/:name" element={<TransformPage />} />
              <Route path="pipelines" element={<PipelinesPage />} />
              <Route path="pipelines/_new" element={<PipelineBuilderPage />} />
              <Route path="pipelines/:name" element={<PipelineBuilderPage />} />
              <Route path="pipeline-runs" element={<PipelineRunsPage />} />
              <Route path="pipeline-runs/:id" element={<PipelineRunPage />} />
              <Route path="train" element={<TrainPage />} />
              <Route path="jobs" element={<JobsPage />} />
              <Route path="jobs/:id" element={<JobPage />} />
              <Route path="experiments" element={<RunsPage />} />
              <Route path="experiments/compare" element={<ComparePage />} />
              <Route path="experiments/:runId" element={<RunPage />} />
              <Route path="models" element={<ModelsPage />} />
              <Route path="models/:name/compare" element={<ModelComparePage />} />
              <Route path="predict" element={<PredictPage />} />
              <Route path="deployments" element={<DeploymentsPage />} />
              <Route path="deployments/:name" element={<DeploymentPage />} />
              <Route path="alerts" element={<AlertsPage />} />
              <Route path="projects" element={<ProjectsPage />} />
              <Route path="projects/:name" element={<ProjectsPage />} />
              <Route path="users" element={<UsersPage />} />
              <Route path="account" element={<AccountPage />} />
              <Route path="audit" element={<AuditPage />} />
              <Route
                path="*"
                element={<EmptyState title="Page not found">This address does not match any page. Use the navigation to go on.</EmptyState>}
              />
            </Route>
          </Routes>
        </BrowserRouter>
      </AuthProvider>
    </ApiProvider>
  );
}
