import { SourceKind } from "@caretflow/contracts";
import { useEffect, useState } from "react";

/** What the catalog is filtered by; empty strings mean "any". */
export interface CatalogFilter {
  search: string;
  tag: string;
  owner: string;
  source: string;
}

export const NO_FILTER: CatalogFilter = { search: "", tag: "", owner: "", source: "" };

/** The filter as GET /api/datasets query parameters (only those set). */
export function catalogQuery(f: CatalogFilter): { search?: string; tag?: string; owner?: string; source?: SourceKind } {
  const source = SourceKind.safeParse(f.source);
  return {
    ...(f.search.trim() ? { search: f.search.trim() } : {}),
    ...(f.tag ? { tag: f.tag } : {}),
    ...(f.owner ? { owner: f.owner } : {}),
    ...(source.success ? { source: source.data } : {}),
  };
}

/** The value after it stopped changing for `ms`: typing asks the server once per pause, not per key. */
export function useDebounced<T>(value: T, ms = 200): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

/** The catalog's search box and its tag, owner and source filters; the tags and owners offered are the project's. */
export function CatalogFilters({
  value,
  onChange,
  tags,
  owners,
}: {
  value: CatalogFilter;
  onChange: (next: CatalogFilter) => void;
  tags: string[];
  owners: string[];
}) {
  const set = (patch: Partial<CatalogFilter>) => onChange({ ...value, ...patch });
  return (
    <div className="catalog-filters">
      <input
        className="filter-input"
        type="search"
        placeholder="Search names, columns, tags"
        aria-label="Search datasets"
        value={value.search}
        onChange={(e) => set({ search: e.target.value })}
      />
      <select aria-label="Filter by tag" value={value.tag} onChange={(e) => set({ tag: e.target.value })}>
        <option value="">Any tag</option>
        {tags.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </select>
      <select aria-label="Filter by owner" value={value.owner} onChange={(e) => set({ owner: e.target.value })}>
        <option value="">Any owner</option>
        {owners.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
      <select aria-label="Filter by source" value={value.source} onChange={(e) => set({ source: e.target.value })}>
        <option value="">Any source</option>
        {SourceKind.options.map((k) => (
          <option key={k} value={k}>
            {k}
          </option>
        ))}
      </select>
    </div>
  );
}
