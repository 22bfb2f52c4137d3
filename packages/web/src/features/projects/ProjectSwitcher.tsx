import { useEffect } from "react";
import { Link } from "react-router-dom";
import { useResource } from "../../api/context.tsx";
import { useProject } from "./project.context.tsx";
import { pickProject } from "./projects.helpers.ts";

/** The project every page works in; changing it reloads every page's data for the new project. */
export function ProjectSwitcher() {
  const { project, setProject } = useProject();
  // Keyed by the project, so a list read before a switch (or before a project was created) never decides.
  const projects = useResource((api) => api.listProjects(), `projects:switcher:${project}`);
  const list = projects.data;

  // A remembered project the person no longer belongs to gives way to one they do.
  useEffect(() => {
    if (!list) return;
    const pick = pickProject(project, list);
    if (pick && pick !== project) setProject(pick);
  }, [list, project, setProject]);

  if (list && list.length === 0) {
    return (
      <p className="project-switcher muted small" data-testid="no-project">
        You belong to no project yet. <Link to="/projects">Create one</Link> or ask an owner to add you.
      </p>
    );
  }
  return (
    <label className="project-switcher field">
      <span className="field-label">Project</span>
      <select value={project} onChange={(e) => setProject(e.target.value)} data-testid="project-switcher" disabled={!list}>
        {(list ?? [{ name: project, role: null }]).map((p) => (
          <option key={p.name} value={p.name}>
            {p.name}
            {p.role ? ` (${p.role})` : ""}
          </option>
        ))}
      </select>
    </label>
  );
}
