/**
 * node:fs in the page: the read-only part the codec uses to find and read its shipped files, over ../vfs.ts.
 * Writing is not available (the page offers downloads instead).
 */
import { fileSize, isDirectory, isFile, listDirectory, loadedFile, missing } from "../vfs.ts";
import { unsupported } from "./unsupported.ts";

export function existsSync(path: string): boolean {
  return isFile(path) || isDirectory(path);
}

export function statSync(path: string): {
  isDirectory(): boolean;
  isFile(): boolean;
  size: number;
  mtimeMs: number;
} {
  if (!existsSync(path)) throw missing(path);
  const dir = isDirectory(path);
  return { isDirectory: () => dir, isFile: () => !dir, size: fileSize(path), mtimeMs: 0 };
}

export function readdirSync(path: string): string[] {
  if (!isDirectory(path)) throw missing(path);
  return listDirectory(path);
}

export function readFileSync(path: string, encoding?: string | { encoding?: string }): Uint8Array | string {
  const bytes = loadedFile(path);
  if (!bytes) throw missing(path);
  const enc = typeof encoding === "string" ? encoding : encoding?.encoding;
  return enc ? new TextDecoder().decode(bytes) : bytes;
}

export const constants = { COPYFILE_EXCL: 1 };
export const mkdirSync = unsupported("fs.mkdirSync");
export const unlinkSync = unsupported("fs.unlinkSync");
export const writeFileSync = unsupported("fs.writeFileSync");
export default { existsSync, statSync, readdirSync, readFileSync, constants };
