import { availableParallelism } from "node:os";
import { extname } from "node:path";
import { checkDensity, checkInteger, invalidParameter } from "../errors.ts";

/** Parsers for option values: strict, so "0.05x" or "" is an error rather than a silent NaN. */

export function parseNumber(name: string, value: string): number {
  const trimmed = value.trim();
  const n = trimmed === "" ? Number.NaN : Number(trimmed);
  if (!Number.isFinite(n)) throw invalidParameter(name, "a number", value);
  return n;
}

export function parseDensityOption(value: string): number {
  return checkDensity(parseNumber("density", value));
}

export function integerParser(name: string, min: number, max: number): (value: string) => number {
  return (value) => checkInteger(parseNumber(name, value), name, min, max);
}

/**
 * The CLI's default number of worker threads for the work done window by window (the networks' tiles, the
 * tree mode's least squares): 2 where the machine has two cores or more. Not more by default: each thread
 * holds one window's networks (about 0.3 GB), and two keep a 12-megapixel photo within 1.5 GB
 * (docs/notes/photos.md). The result is the same for any number.
 */
export function defaultThreads(): number {
  return Math.max(1, Math.min(2, availableParallelism()));
}

export const THREADS_HELP =
  "worker threads for the tile-by-tile work on large images (the networks, the tree mode's least squares); " +
  "the result is the same for any number; each holds its own window's networks, about 0.35 GB on a large photo " +
  "(default: 2 on a machine with two cores or more, which keeps any image within 1.5 GB)";

/** `photo.png` → `photo.mgc`; `photo.mgc` → `photo.png`. */
export function replaceExtension(path: string, extension: string): string {
  const current = extname(path);
  return `${current ? path.slice(0, -current.length) : path}${extension}`;
}

/** Seconds since `start` (a performance.now() value), to 4 decimals. */
export function secondsSince(start: number): number {
  return Math.round(performance.now() - start) / 1000;
}
