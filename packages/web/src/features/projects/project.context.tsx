import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from "react";
import { PROJECT_STORAGE_KEY } from "./projects.helpers.ts";

interface ProjectState {
  /** The project every page works in. */
  project: string;
  setProject: (name: string) => void;
}

const ProjectContext = createContext<ProjectState | null>(null);

function remembered(): string {
  try {
    return localStorage.getItem(PROJECT_STORAGE_KEY) || "default";
  } catch {
    return "default";
  }
}

/** The project the person works in, remembered across visits in this browser. */
export function ProjectProvider({ children }: { children: (project: string) => ReactNode }) {
  const [project, setState] = useState(remembered);
  const setProject = useCallback((name: string) => {
    try {
      localStorage.setItem(PROJECT_STORAGE_KEY, name);
    } catch {
      // private windows may refuse storage; the choice then lasts for this page only
    }
    setState(name);
  }, []);
  const value = useMemo(() => ({ project, setProject }), [project, setProject]);
  return <ProjectContext.Provider value={value}>{children(project)}</ProjectContext.Provider>;
}

export function useProject(): ProjectState {
  const p = useContext(ProjectContext);
  if (!p) throw new Error("useProject() outside <ProjectProvider>");
  return p;
}
