import type { JobEvent } from "@caretflow/contracts";

export type JobEventListener = (e: JobEvent) => void;

/** In-process fan-out of committed job events to live subscribers (SSE streams). */
export class JobEventHub {
  readonly #listeners = new Map<string, Set<JobEventListener>>();
  readonly #everyJob = new Set<(jobId: string, e: JobEvent) => void>();

  /** Listens to the events of every job (e.g. to act when any job finishes). */
  subscribeAll(listener: (jobId: string, e: JobEvent) => void): () => void {
    this.#everyJob.add(listener);
    return () => this.#everyJob.delete(listener);
  }

  subscribe(jobId: string, listener: JobEventListener): () => void {
    let set = this.#listeners.get(jobId);
    if (!set) {
      set = new Set();
      this.#listeners.set(jobId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(jobId);
    };
  }

  publish(jobId: string, e: JobEvent): void {
    const listeners: JobEventListener[] = [
      ...(this.#listeners.get(jobId) ?? []),
      ...[...this.#everyJob].map((l) => (ev: JobEvent) => l(jobId, ev)),
    ];
    for (const l of listeners) {
      try {
        l(e);
      } catch {
        // one broken subscriber must not stop the others
      }
    }
  }

  subscriberCount(jobId: string): number {
    return this.#listeners.get(jobId)?.size ?? 0;
  }
}
