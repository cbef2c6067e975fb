/**
 * Terminal progress for long work. Draws one self-overwriting line on stderr, only when stderr is a
 * terminal and the caller did not ask for silence (--json); otherwise every call is a no-op, so library
 * code can report progress unconditionally.
 */
export interface Progress {
  /** done out of total, plus a short free-form status such as "density 0.12  MAE 8.31". */
  update(done: number, total: number, status?: string): void;
  /** Clears the line. */
  done(): void;
}

export const silentProgress: Progress = { update() {}, done() {} };

export function terminalProgress(
  label: string,
  options: { silent?: boolean; stream?: NodeJS.WriteStream } = {},
): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.silent || !stream.isTTY) return silentProgress;
  const start = Date.now();
  let last = 0;
  return {
    update(done, total, status = "") {
      const now = Date.now();
      if (now - last < 100 && done < total) return; // at most 10 redraws a second
      last = now;
      const fraction = total > 0 ? Math.min(1, done / total) : 0;
      const width = 24;
      const filled = Math.round(fraction * width);
      const elapsed = (now - start) / 1000;
      const eta = fraction > 0 ? elapsed / fraction - elapsed : 0;
      const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
      const line = `${label} [${bar}] ${done}/${total} ${elapsed.toFixed(1)}s eta ${eta.toFixed(0)}s ${status}`;
      stream.write(`\r${line.slice(0, (stream.columns ?? 120) - 1)}\x1b[K`);
    },
    done() {
      stream.write("\r\x1b[K");
    },
  };
}
