import type { ProjectInfo, ProjectRole } from "@caretflow/contracts";

/** Where the web UI remembers the project a person last worked in. */
export const PROJECT_STORAGE_KEY = "caretflow.project";

/**
 * The project to work in: the remembered one while the person still belongs to it, else their first
 * project; null when they belong to none (a site admin sees every project, so never null for them).
 */
export function pickProject(remembered: string | null, projects: readonly ProjectInfo[]): string | null {
  if (remembered && projects.some((p) => p.name === remembered)) return remembered;
  return projects.find((p) => p.name === "default")?.name ?? projects[0]?.name ?? null;
}

/** What each role may do, in the words the members table shows. */
export const ROLE_HELP: Record<ProjectRole, string> = {
  viewer: "reads data, runs and models",
  editor: "also imports data and starts jobs",
  owner: "also manages members and promotes models",
};

/** Owners (and site admins, who hold every role) manage a project's members. */
export function canManageMembers(project: ProjectInfo | undefined, siteAdmin: boolean): boolean {
  return siteAdmin || project?.role === "owner";
}
