import {
  type ColumnComparison,
  type ColumnProfile,
  type ColumnStats,
  type DatasetProfile,
  type DatasetVersion,
  describeSource,
  type VersionComparison,
} from "@caretflow/contracts";

/**
 * Two versions of one dataset side by side: columns added, removed or of another type, row counts, and
 * each column's statistics from the two stored profiles. A column is `changed` when its type or any
 * statistic differs. Pure: the caller reads the versions and their profiles.
 */
export function compareVersions(
  from: { version: DatasetVersion; profile: DatasetProfile },
  to: { version: DatasetVersion; profile: DatasetProfile },
): VersionComparison {
  const before = new Map(from.profile.columns.map((c) => [c.name, c]));
  const after = new Map(to.profile.columns.map((c) => [c.name, c]));
  const columns: ColumnComparison[] = [];
  for (const c of to.profile.columns) {
    const old = before.get(c.name);
    const now = stats(c);
    if (!old) {
      columns.push({ name: c.name, change: "added", changed: true, from: null, to: now });
      continue;
    }
    const was = stats(old);
    const typeChanged = old.kind !== c.kind || old.duckdbType !== c.duckdbType;
    columns.push({
      name: c.name,
      change: typeChanged ? "type_changed" : "unchanged",
      changed: typeChanged || JSON.stringify(was) !== JSON.stringify(now),
      from: was,
      to: now,
    });
  }
  for (const c of from.profile.columns) {
    if (!after.has(c.name)) columns.push({ name: c.name, change: "removed", changed: true, from: stats(c), to: null });
  }
  const side = (v: DatasetVersion) => ({
    version: v.version,
    rowCount: v.rowCount,
    columnCount: v.columnCount,
    sizeBytes: v.sizeBytes,
    createdAt: v.createdAt,
    source: describeSource(v.source),
  });
  const named = (change: ColumnComparison["change"]) => columns.filter((c) => c.change === change).map((c) => c.name);
  return {
    dataset: to.version.dataset,
    from: side(from.version),
    to: side(to.version),
    rowDelta: to.version.rowCount - from.version.rowCount,
    added: named("added"),
    removed: named("removed"),
    typeChanged: named("type_changed"),
    columns,
  };
}

function stats(c: ColumnProfile): ColumnStats {
  return {
    kind: c.kind,
    duckdbType: c.duckdbType,
    nulls: c.nulls,
    nullFraction: c.nullFraction,
    distinct: c.distinct,
    mean: c.mean,
    std: c.std,
    min: c.min,
    max: c.max,
    topValues: c.topValues.slice(0, 5),
  };
}
