import type { Logger } from "./ports.ts";

/**
 * What a start has brought up, stopped in reverse order; a stop that fails is logged and the rest
 * still run. `push` as each part starts, `closeAll` once (on shutdown or a failed start).
 */
export function stopStack(log: Logger): { push(stop: () => Promise<void>): void; closeAll(): Promise<void> } {
  const stops: Array<() => Promise<void>> = [];
  return {
    push: (stop) => {
      stops.push(stop);
    },
    closeAll: async () => {
      for (const stop of stops.splice(0).reverse()) {
        try {
          await stop();
        } catch (err) {
          log("warn", `while stopping: ${(err as Error).message}`);
        }
      }
    },
  };
}
