import { randomBytes } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { MaskcodecError } from "../errors.ts";

/**
 * Checks that `path` may be written: its folder exists, it is not the input, and it does not exist unless
 * `force`. Called before any work so that a mistake costs nothing.
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
    if (!options.force) {
      throw new MaskcodecError(`Output file exists: ${path} (use --force to overwrite)`, "ERR_OUTPUT_EXISTS");
    }
    if (statSync(path).isDirectory()) {
      throw new MaskcodecError(`Output path is a folder: ${path}`, "ERR_OUTPUT_PATH");
    }
  }
}

/** Writes via a temporary file in the same folder and a rename, so a reader never sees a partial file. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(temporary, data);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
