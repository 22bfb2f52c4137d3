import { describe, expect, it } from "vitest";
import { conditionText, parseParams, stateTone } from "./alerts.helpers.ts";

describe("alerts helpers", () => {
  it("parses pipeline params typed as JSON would", () => {
    expect(parseParams("reason=drift, min_auc=0.8, force=true")).toEqual({ params: { reason: "drift", min_auc: 0.8, force: true } });
    expect(parseParams("")).toEqual({ params: {} });
    expect(parseParams("a=1, oops")).toEqual({ error: "'oops' is not NAME=VALUE" });
  });
  it("says a rule's condition with its window in the largest whole unit", () => {
    expect(conditionText({ metric: "latency_p95_ms", op: ">", threshold: 250, window_minutes: 15 })).toBe(
      "latency_p95_ms > 250 over 15 min",
    );
    expect(conditionText({ metric: "error_rate", op: ">=", threshold: 0.05, window_minutes: 120 })).toBe("error_rate >= 0.05 over 2 h");
    expect(conditionText({ metric: "requests", op: "<", threshold: 1, window_minutes: 1440 })).toBe("requests < 1 over 1 d");
  });
  it("tones a rule's state, disabled rules muted", () => {
    expect(stateTone({ state: "firing", enabled: true })).toBe("bad");
    expect(stateTone({ state: "ok", enabled: true })).toBe("good");
    expect(stateTone({ state: "error", enabled: true })).toBe("warn");
    expect(stateTone({ state: "firing", enabled: false })).toBe("muted");
  });
});
