import type { TaskCatalog, TaskDetails } from "@caretflow/contracts";
import { formatMetric, formatNumber, formatPercent } from "../../lib/format.ts";
import { Stats } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import { ChartView } from "../charts/ChartView.tsx";
import "./details.css";
import { clusterChoice, clusterRows, forecastChart, holdoutItems, ruleRows, topicRows } from "./details.helpers.ts";

/** What a task adds to its result (classes, clusters, a forecast, topics, rules...), one view per task. */
export function TaskDetailsView({ details, task }: { details: TaskDetails; task: TaskCatalog | undefined }) {
  switch (details.task) {
    case "classification":
      return (
        <div className="stack" data-testid="details-classification">
          <Holdout holdout={details.holdout} task={task} />
          <p className="small">
            Classes: <strong>{details.classes.join(", ")}</strong>
          </p>
          <DataTable
            rows={details.per_class}
            rowKey={(r) => r.class}
            caption="Hold-out metrics per class"
            testId="per-class"
            columns={[
              { key: "class", header: "Class", sortValue: (r) => r.class, render: (r) => r.class },
              {
                key: "p",
                header: "Precision",
                align: "right",
                firstDir: "desc",
                sortValue: (r) => r.precision,
                render: (r) => formatMetric(r.precision),
              },
              {
                key: "r",
                header: "Recall",
                align: "right",
                firstDir: "desc",
                sortValue: (r) => r.recall,
                render: (r) => formatMetric(r.recall),
              },
              { key: "f", header: "F1", align: "right", firstDir: "desc", sortValue: (r) => r.f1, render: (r) => formatMetric(r.f1) },
              {
                key: "n",
                header: "Support",
                align: "right",
                firstDir: "desc",
                sortValue: (r) => r.support,
                render: (r) => formatNumber(r.support),
              },
            ]}
          />
        </div>
      );
    case "regression":
      return (
        <div data-testid="details-regression">
          <Holdout holdout={details.holdout} task={task} />
        </div>
      );
    case "clustering":
      return (
        <div className="stack" data-testid="details-clustering">
          <p>{clusterChoice(details)}</p>
          <DataTable
            rows={clusterRows(details)}
            rowKey={(r) => r.cluster}
            caption="Cluster sizes"
            testId="cluster-sizes"
            columns={[
              { key: "c", header: "Cluster", sortValue: (r) => r.cluster, render: (r) => r.cluster },
              { key: "n", header: "Rows", align: "right", firstDir: "desc", sortValue: (r) => r.size, render: (r) => formatNumber(r.size) },
              {
                key: "s",
                header: "Share",
                align: "right",
                firstDir: "desc",
                sortValue: (r) => r.share,
                render: (r) => <ShareBar share={r.share} />,
              },
            ]}
          />
        </div>
      );
    case "anomaly":
      return (
        <div data-testid="details-anomaly">
          <Stats
            items={[
              { label: "Anomalies", value: formatNumber(details.anomalies) },
              { label: "Rows", value: formatNumber(details.rows) },
              { label: "Share flagged", value: formatPercent(details.rows > 0 ? details.anomalies / details.rows : null) },
              { label: "Expected share", value: formatPercent(details.fraction) },
            ]}
          />
        </div>
      );
    case "time_series":
      return (
        <div className="stack" data-testid="details-time_series">
          <Stats
            items={[
              { label: "Frequency", value: details.frequency },
              { label: "Horizon", value: `${details.horizon} periods` },
              { label: "Interval coverage", value: formatPercent(details.coverage, 0) },
            ]}
          />
          <Holdout holdout={details.holdout} task={task} />
          {details.notes.length > 0 ? (
            <ul className="plain-list small">
              {details.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          ) : null}
          {details.forecast.length > 0 ? <ChartView chart={forecastChart(details)} /> : null}
          <DataTable
            rows={details.forecast}
            rowKey={(r) => r.period}
            caption="Forecast"
            testId="forecast-table"
            columns={[
              { key: "p", header: "Period", sortValue: (r) => r.period, render: (r) => r.period },
              { key: "y", header: "Forecast", align: "right", sortValue: (r) => r.y_pred, render: (r) => formatNumber(r.y_pred) },
              { key: "l", header: "Lower", align: "right", sortValue: (r) => r.lower, render: (r) => formatNumber(r.lower) },
              { key: "u", header: "Upper", align: "right", sortValue: (r) => r.upper, render: (r) => formatNumber(r.upper) },
            ]}
          />
        </div>
      );
    case "topics":
      return (
        <div className="stack" data-testid="details-topics">
          <Stats
            items={[
              { label: "Topics", value: formatNumber(details.num_topics) },
              { label: "Coherence (UMass, closer to 0 is better)", value: formatMetric(details.coherence) },
            ]}
          />
          <DataTable
            rows={topicRows(details)}
            rowKey={(r) => String(r.topic)}
            caption="Topics and their top words"
            testId="topics-table"
            columns={[
              { key: "t", header: "Topic", align: "right", sortValue: (r) => r.topic, render: (r) => r.topic },
              { key: "w", header: "Top words", render: (r) => r.words },
              {
                key: "d",
                header: "Documents",
                align: "right",
                firstDir: "desc",
                sortValue: (r) => r.documents,
                render: (r) => formatNumber(r.documents),
              },
            ]}
          />
        </div>
      );
    case "association_rules":
      return (
        <div className="stack" data-testid="details-association_rules">
          <Stats
            items={[
              { label: "Transactions", value: formatNumber(details.transactions) },
              { label: "Items", value: formatNumber(details.items) },
              { label: "Frequent itemsets", value: formatNumber(details.itemsets) },
              { label: "Rules", value: formatNumber(details.rules) },
            ]}
          />
          <DataTable
            rows={ruleRows(details)}
            rowKey={(r) => r.key}
            initialSort={{ key: "lift", dir: "desc" }}
            caption="Strongest rules"
            testId="rules-table"
            columns={[
              { key: "a", header: "If a basket has", sortValue: (r) => r.antecedents, render: (r) => r.antecedents },
              { key: "c", header: "it also has", sortValue: (r) => r.consequents, render: (r) => r.consequents },
              {
                key: "support",
                header: "Support",
                align: "right",
                firstDir: "desc",
                sortValue: (r) => r.support,
                render: (r) => formatMetric(r.support),
              },
              {
                key: "confidence",
                header: "Confidence",
                align: "right",
                firstDir: "desc",
                sortValue: (r) => r.confidence,
                render: (r) => formatMetric(r.confidence),
              },
              {
                key: "lift",
                header: "Lift",
                align: "right",
                firstDir: "desc",
                sortValue: (r) => r.lift,
                render: (r) => formatMetric(r.lift),
              },
            ]}
          />
        </div>
      );
    default: {
      const never: never = details;
      return <pre className="log">{JSON.stringify(never, null, 2)}</pre>;
    }
  }
}

function Holdout({ holdout, task }: { holdout: Record<string, number | null>; task: TaskCatalog | undefined }) {
  const items = holdoutItems(holdout, task);
  if (items.length === 0) return null;
  return (
    <div>
      <h3 className="subhead">Hold-out metrics</h3>
      <Stats items={items.map((m) => ({ label: m.name, value: formatMetric(m.value) }))} />
    </div>
  );
}

function ShareBar({ share }: { share: number }) {
  return (
    <span className="share">
      <span className="share-bar" aria-hidden="true">
        <span style={{ width: `${Math.round(share * 100)}%` }} />
      </span>
      {formatPercent(share)}
    </span>
  );
}
