import { randomBytes } from "node:crypto";
import { constants, existsSync, statSync, unlinkSync } from "node:fs";
import { copyFile, link, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MaskcodecError } from "../errors.ts";

/**
 * Checks that `path` may be written: its folder exists, it is not the input, and it does not exist unless
 * `force`. Called before any work so that a mistake costs nothing; writeFileAtomic checks again at the end.
 */
export function checkOutputPath(path: string, options: { force?: boolean; inputs?: string[] } = {}): void {
  const folder = dirname(path);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new MaskcodecError(`Output folder does not exist: ${folder}`, "ERR_OUTPUT_PATH");
  }
  for (const input of options.inputs ?? []) {
    if (existsSync(input) && existsSync(path) && statSync(input).ino === statSync(path).ino) {
      throw new MaskcodecError(`Refusing to overwrite the input file ${path}`, "ERR_OUTPUT_PATH");
    }
  }
  if (existsSync(path)) {
    if (!options.force) throw outputExists(path);
    if (statSync(path).isDirectory()) {
      throw new MaskcodecError(`Output path is a folder: ${path}`, "ERR_OUTPUT_PATH");
    }
  }
}

function outputExists(path: string, during = false): MaskcodecError {
  const when = during ? "it appeared while this command ran; " : "";
  return new MaskcodecError(
    `Output file exists: ${path} (${when}use --force to overwrite)`,
    "ERR_OUTPUT_EXISTS",
  );
}

export interface WriteOptions {
  /**
   * Replace a file already at the path (the CLI's --force). Without it the file is created exclusively: if
   * anything is at the path when the write ends, even something that appeared after checkOutputPath (a
   * concurrent run writing the same output), the write fails with ERR_OUTPUT_EXISTS and changes nothing.
   */
  overwrite?: boolean;
}

/**
 * Writes via a temporary file in the same folder, so a reader never sees a partial file, then puts it in
 * place: a rename with `overwrite`, else a hard link (which fails if the path exists), falling back to an
 * exclusive copy on file systems without hard links. The temporary file is removed on failure, and on
 * SIGINT/SIGTERM while it exists (see removeOnSignal).
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: WriteOptions = {},
): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const release = removeOnSignal(temporary);
  try {
    await writeFile(temporary, data, { flag: "wx" });
    await testHold();
    if (options.overwrite) await rename(temporary, path);
    else await createExclusive(temporary, path);
  } finally {
    await rm(temporary, { force: true });
    release();
  }
}

async function createExclusive(temporary: string, path: string): Promise<void> {
  try {
    await link(temporary, path);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw outputExists(path, true);
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw error;
  }
  // no hard links here (FAT, some network shares): an exclusive copy still never clobbers
  try {
    await copyFile(temporary, path, constants.COPYFILE_EXCL);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") throw outputExists(path, true);
    throw error;
  }
}

/**
 * Test-only hook: MASKCODEC_TEST_HOLD_TEMP_MS=N waits N ms between writing the temporary file and putting
 * it in place, so tests can signal a process, or race several, while the temporary file exists.
 */
async function testHold(): Promise<void> {
  const ms = Number(process.env.MASKCODEC_TEST_HOLD_TEMP_MS ?? 0);
  if (ms > 0) await sleep(ms);
}

// ------------------------------------------------------------------ temporary files vs. SIGINT / SIGTERM

const pendingTemporaries = new Set<string>();
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * While a temporary file exists, SIGINT and SIGTERM remove it before the process ends. The process then
 * ends by the same signal (re-raised with the default action, so the shell reports 130 or 143). If the
 * program has its own handler for the signal (a graceful stop, as in `train`), the signal does not end the
 * process, so the write is left to finish.
 */
function removeOnSignal(temporary: string): () => void {
  if (pendingTemporaries.size === 0) for (const s of SIGNALS) process.on(s, onSignal);
  pendingTemporaries.add(temporary);
  return () => {
    pendingTemporaries.delete(temporary);
    if (pendingTemporaries.size === 0) for (const s of SIGNALS) process.off(s, onSignal);
  };
}

function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  for (const file of pendingTemporaries) {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
  pendingTemporaries.clear();
  for (const s of SIGNALS) process.off(s, onSignal);
  process.kill(process.pid, signal);
}
