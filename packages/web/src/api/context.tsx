import { createContext, type ReactNode, useCallback, useContext, useEffect, useRef, useState } from "react";
import type { ApiClient } from "./client.ts";

const ApiContext = createContext<ApiClient | null>(null);

export function ApiProvider({ client, children }: { client: ApiClient; children: ReactNode }) {
  return <ApiContext.Provider value={client}>{children}</ApiContext.Provider>;
}

/** The API client the app was started with (passed down, never a module-level singleton). */
export function useApi(): ApiClient {
  const api = useContext(ApiContext);
  if (!api) throw new Error("useApi() outside <ApiProvider>");
  return api;
}

export interface Resource<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Loads again, keeping the current data on screen until the new answer arrives. */
  reload: () => void;
}

/**
 * Loads something from the API when the component mounts or `key` changes. Answers that arrive after
 * the key moved on are dropped, so a fast click through pages never shows the previous page's data.
 * With `keepPrevious`, the previous key's data (same project) stays on screen, marked `loading`, until
 * the new answer arrives: paging through a list does not blank it.
 */
export function useResource<T>(
  load: (api: ApiClient) => Promise<T>,
  resourceKey: string,
  options: { keepPrevious?: boolean } = {},
): Resource<T> {
  const api = useApi();
  // Data of one project is never shown while another's loads: the project is part of the key.
  const key = `${api.project}|${resourceKey}`;
  const keep = options.keepPrevious === true;
  const [state, setState] = useState<{ key: string; data: T | undefined; error: unknown; loading: boolean; stale: boolean }>({
    key,
    data: undefined,
    error: undefined,
    loading: true,
    stale: false,
  });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const sameProject = (k: string) => k.startsWith(`${api.project}|`);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `tick` is the reload trigger
  useEffect(() => {
    let live = true;
    setState((s) =>
      s.key === key
        ? { ...s, loading: true }
        : keep && sameProject(s.key)
          ? { key, data: s.data, error: undefined, loading: true, stale: true }
          : { key, data: undefined, error: undefined, loading: true, stale: false },
    );
    loadRef.current(api).then(
      (data) => live && setState({ key, data, error: undefined, loading: false, stale: false }),
      (error: unknown) =>
        live && setState((s) => ({ key, data: s.key === key && !s.stale ? s.data : undefined, error, loading: false, stale: false })),
    );
    return () => {
      live = false;
    };
  }, [api, key, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  const current =
    state.key === key
      ? state
      : keep && sameProject(state.key)
        ? { data: state.data, error: undefined, loading: true }
        : { data: undefined, error: undefined, loading: true };
  return { data: current.data, error: current.error, loading: current.loading, reload };
}

/** Calls `reload` every `everyMs` while `active` (a resource that changes while something runs). */
export function useReloadWhile(active: boolean, reload: () => void, everyMs: number): void {
  useEffect(() => {
    if (!active) return;
    const t = setInterval(reload, everyMs);
    return () => clearInterval(t);
  }, [active, reload, everyMs]);
}

/** A clock for elapsed-time displays; ticks only while `running`. */
export function useNow(running: boolean, everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [running, everyMs]);
  return now;
}
