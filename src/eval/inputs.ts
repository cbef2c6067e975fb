import { existsSync, readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { checkDensity, checkInteger, invalidParameter, MaskcodecError } from "../errors.ts";
import { type CodecName, parseCodecName } from "./codecs.ts";

/** Argument parsing shared by rd, compare and find-close: strict, every mistake a MaskcodecError. */

export const IMAGE_EXTENSIONS = [".png", ".jpg", ".jpeg", ".webp", ".avif", ".tif", ".tiff", ".ppm", ".pgm"];

/** Files as given, folders expanded to their image files (sorted by name, not recursive). */
export function expandImageInputs(inputs: readonly string[]): string[] {
  if (inputs.length === 0) throw new MaskcodecError("No images given", "ERR_INPUT_MISSING");
  const out: string[] = [];
  for (const input of inputs) {
    if (!existsSync(input)) throw new MaskcodecError(`No such file or folder: ${input}`, "ERR_INPUT_MISSING");
    if (statSync(input).isDirectory()) {
      const files = readdirSync(input)
        .filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase()) && !f.startsWith("."))
        .sort()
        .map((f) => join(input, f));
      if (files.length === 0)
        throw new MaskcodecError(`No image files in folder ${input}`, "ERR_INPUT_MISSING");
      out.push(...files);
    } else {
      out.push(input);
    }
  }
  return [...new Set(out)];
}

function splitList(name: string, value: string): string[] {
  const items = value.split(",").map((s) => s.trim());
  if (items.length === 0 || items.some((s) => s === "")) {
    throw invalidParameter(name, "a comma-separated list without empty entries", value);
  }
  return items;
}

function number(name: string, item: string, list: string): number {
  const n = Number(item);
  if (item === "" || !Number.isFinite(n))
    throw invalidParameter(name, "a comma-separated list of numbers", list);
  return n;
}

export function parseCodecList(value: string): CodecName[] {
  return [...new Set(splitList("codecs", value).map(parseCodecName))];
}

export function parseDensityList(value: string): number[] {
  const list = splitList("densities", value).map((s) =>
    checkDensity(number("densities", s, value), "densities"),
  );
  return [...new Set(list)].sort((a, b) => a - b);
}

export function parseLevelsList(value: string): number[] {
  const list = splitList("levels", value).map((s) =>
    checkInteger(number("levels", s, value), "levels", 2, 256),
  );
  return [...new Set(list)].sort((a, b) => a - b);
}

export function parseQualityList(value: string): number[] {
  const list = splitList("qualities", value).map((s) =>
    checkInteger(number("qualities", s, value), "qualities", 0, 100),
  );
  return [...new Set(list)].sort((a, b) => a - b);
}

function bppList(name: string, value: string): number[] {
  const list = splitList(name, value).map((s) => {
    const n = number(name, s, value);
    if (!(n > 0)) throw invalidParameter(name, "positive numbers (bits per pixel)", value);
    return n;
  });
  return [...new Set(list)].sort((a, b) => a - b);
}

export function parseRateList(value: string): number[] {
  return bppList("rates", value);
}

/** Target rates of the tree mode's rate control. */
export function parseTargetList(value: string): number[] {
  return bppList("targets", value);
}

export function parseJobs(value: string): number {
  return checkInteger(number("jobs", value.trim(), value), "jobs", 1, 256);
}
