import type { JobEvent } from "@caretflow/contracts";
import type { CliContext } from "./context.ts";
import { formatLeaderboardLine } from "./leaderboard.ts";
import { applyEvent, initialProgress, type ProgressState, renderProgress } from "./progress.ts";
import { formatElapsed } from "./table.ts";

/** Live view of a job on stderr: a redrawn status line on a terminal, plain lines otherwise. */
export interface JobView {
  onEvent(ev: JobEvent): void;
  /** Remove the status line and stop the clock. */
  stop(): void;
}

export function createJobView(ctx: Pick<CliContext, "stderr" | "now">, opts: { rows: boolean }): JobView {
  const tty = ctx.stderr.isTTY === true;
  const startedAt = ctx.now();
  let state: ProgressState = initialProgress();
  let lastPlain = "";
  let drawn = false;

  const statusLine = () => renderProgress(state, ctx.now() - startedAt);
  const clear = () => {
    if (tty && drawn) ctx.stderr.write("\r\x1b[K");
    drawn = false;
  };
  const draw = () => {
    if (tty) {
      clear();
      ctx.stderr.write(statusLine());
      drawn = true;
      return;
    }
    // Without a terminal, print a line only when the stage or count changes (no clock spam in logs).
    const line = renderProgress(state, null);
    if (line !== lastPlain) {
      ctx.stderr.write(`${line}  ${formatElapsed(ctx.now() - startedAt)}\n`);
      lastPlain = line;
    }
  };
  const print = (text: string) => {
    clear();
    ctx.stderr.write(`${text}\n`);
  };

  const timer = tty ? setInterval(draw, 1000) : undefined;
  timer?.unref?.();

  return {
    onEvent(ev) {
      state = applyEvent(state, ev);
      if (ev.type === "engine") {
        const e = ev.event;
        if (e.type === "leaderboard_row" && opts.rows) print(formatLeaderboardLine(e.row));
        else if (e.type === "warning") print(`warning: ${e.message}`);
        else if (e.type === "error") print(`engine error: ${e.error.message}${e.error.hint ? ` (hint: ${e.error.hint})` : ""}`);
      } else if (ev.type === "attempt") print(`attempt ${ev.attempt}: ${ev.message}`);
      draw();
    },
    stop() {
      if (timer) clearInterval(timer);
      clear();
    },
  };
}
