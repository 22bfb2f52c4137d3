import type { DatasetListQuery, DatasetSummary } from "@caretflow/contracts";
import type { CatalogEntry } from "@caretflow/data";

/**
 * The catalog entries matching every filter given, in name order, then the page asked for.
 * `search` is split into words; each word must occur (case-insensitive) in the name, description, a
 * column name or a tag. Example: `searchCatalog(entries, { search: "sales region", tag: "pii", offset: 0, limit: 50 })`.
 */
export function searchCatalog(
  entries: CatalogEntry[],
  q: DatasetListQuery,
): { datasets: DatasetSummary[]; total: number; offset: number; limit: number } {
  const words = (q.search ?? "").toLowerCase().split(/\s+/).filter(Boolean);
  const tag = q.tag?.trim().toLowerCase();
  const owner = q.owner?.trim().toLowerCase();
  const matches = entries.filter((e) => {
    if (tag && !e.tags.includes(tag)) return false;
    if (owner && (e.owner ?? "").toLowerCase() !== owner) return false;
    if (q.source && !e.sources.some((s) => s.kind === q.source)) return false;
    if (q.connection && !e.sources.some((s) => s.connection === q.connection)) return false;
    if (words.length === 0) return true;
    const haystack = [e.name, e.description ?? "", ...e.columnNames, ...e.tags].map((t) => t.toLowerCase());
    return words.every((w) => haystack.some((t) => t.includes(w)));
  });
  const page = matches.slice(q.offset, q.offset + q.limit).map(({ columnNames: _c, sources: _s, ...summary }) => summary);
  return { datasets: page, total: matches.length, offset: q.offset, limit: q.limit };
}
