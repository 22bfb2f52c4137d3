import type { ImportPhase } from "@caretflow/contracts";

/** Wall time of each phase of an import, in the order they ran; a phase run twice adds up. */
export class PhaseTimer {
  readonly phases: ImportPhase[] = [];

  /** Run `fn` and add its wall time (milliseconds) to `phase`. */
  async time<T>(phase: ImportPhase["phase"], fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.add(phase, performance.now() - start);
    }
  }

  /** Add `ms` to `phase` (a phase measured elsewhere, such as the upload). */
  add(phase: ImportPhase["phase"], ms: number): void {
    const found = this.phases.find((p) => p.phase === phase);
    if (found) found.ms = round(found.ms + ms);
    else this.phases.push({ phase, ms: round(ms) });
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
