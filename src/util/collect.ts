/**
 * A full garbage collection on demand, for the CLI's largest steps. V8 collects when its own heap or the
 * typed arrays it knows of grow, but not for the WebAssembly kernels' arena: after a 12 MP rate search,
 * several hundred megabytes of the encoder's planes and trees were still uncollected when the final decode
 * grew its solver's arena, and the process peaked at 1647 MiB (docs/notes/photos.md, "The tree mode at large
 * sizes"). Node exposes `gc` only behind a flag; setting the flag at run time and reading the function from
 * a fresh context is how to get it without restarting the process.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | undefined;

/** A full collection now (synchronous; see collectGarbage for why it is needed at all). */
export function collectNow(): void {
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
}

/**
 * Collects, then waits while the freed typed arrays' memory is returned (V8 frees their backing stores on
 * a background thread after the collection: about 25 MB per millisecond here), at most `maxWaitMs`.
 */
export async function collectGarbage(maxWaitMs = 1000): Promise<void> {
  collectNow();
  const start = performance.now();
  let last = process.memoryUsage.rss();
  while (performance.now() - start < maxWaitMs) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const now = process.memoryUsage.rss();
    if (last - now < 1 << 20) return;
    last = now;
  }
}
