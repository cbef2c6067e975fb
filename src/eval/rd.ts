import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { MaskcodecError } from "../errors.ts";
import { defaultModel, modelFiles, readRegistry } from "../nets/registry.ts";
import { writeFileAtomic } from "../util/files.ts";
import type { Progress } from "../util/progress.ts";
import { type CodecName, type EvalCodec, sweepKeyFor } from "./codecs.ts";
import { expandImageInputs } from "./inputs.ts";
import { type PlanOptions, planPoints } from "./plan.ts";
import { rdSpec, renderSvg, svgToPng } from "./plot.ts";
import { curveLabel, type RdRecord, toCsv } from "./records.ts";
import { SUMMARY_NOTE, type Summary, summarise, summaryTable } from "./summary.ts";
import {
  defaultCodecs,
  type Executor,
  hashFile,
  inProcessExecutor,
  runSweep,
  type SweepFailure,
  type SweepPoint,
  workerPoolExecutor,
} from "./sweep.ts";

/** The `maskcodec rd` pipeline as a library call: sweep, write records, plots and the summary. */

export interface RdOptions extends PlanOptions {
  inputs: string[];
  out: string;
  jobs: number;
  /** Only the first N images (after expanding folders), for a documented subset. */
  limit?: number;
  /** Use the centred crop×crop part of every image. */
  crop?: number;
  anchor?: string;
  /** Rates (bpp) of the summary table; default SUMMARY_RATES. */
  rates?: number[];
  model?: string;
  progress?: Progress;
  signal?: AbortSignal;
  /** Replaces the codec registry and runs in this thread (tests). */
  codecFor?: (name: CodecName) => EvalCodec;
  /** Skip the PNG/SVG plots (tests that only look at records). */
  noPlots?: boolean;
}

export interface RdOutcome {
  records: RdRecord[];
  summary: Summary;
  table: string;
  computed: number;
  cached: number;
  failures: SweepFailure[];
  files: string[];
  seconds: number;
}

/** Whether the registry of `modelsDir` names a default gan model (models/registry.json). */
export function ganModelShipped(modelsDir: string): boolean {
  return readRegistry(modelsDir).some((m) => m.defaultFrom !== undefined);
}

/**
 * The files of the gan models a run uses: the folder given as `model`, else the registered defaults for the
 * densities of its gan points (each with its base's shards).
 */
export function ganModelFiles(points: readonly SweepPoint[], model?: string): string[] {
  if (model) return [model];
  const files = new Set<string>();
  for (const p of points) {
    if (p.codec !== "gan") continue;
    for (const f of modelFiles(defaultModel(Number(p.config.density)))) files.add(f);
  }
  return [...files].sort();
}

/** The codecs a sweep or comparison uses when none are named: all of them, gan only if a model is shipped. */
export function defaultCodecNames(modelsDir: string): CodecName[] {
  return [...(ganModelShipped(modelsDir) ? (["gan"] as const) : []), "diffusion", "jpeg", "webp", "avif"];
}

/** SHA-256 over the names and contents of every file under `dirs` (recursively), in sorted order. */
export function hashTree(dirs: readonly string[]): string {
  const hash = createHash("sha256");
  const visit = (path: string) => {
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) visit(join(path, name));
    } else {
      hash.update(path).update(readFileSync(path));
    }
  };
  for (const dir of dirs) visit(dir);
  return hash.digest("hex").slice(0, 16);
}

/**
 * Version of each codec, part of every cache key: library versions for the reference codecs; for the
 * mask codecs a hash of the codec and backend sources (for tree also src/lowrate and its rate control in
 * src/api.ts; for gan, the files of the models the run uses:
 * `modelFiles`), so a changed implementation or model never serves stale cached points, and a model the run
 * does not use never invalidates them.
 */
async function codecVersions(modelFiles: readonly string[]): Promise<(codec: CodecName) => string> {
  const sharp = (await import("sharp")).default;
  const src = join(import.meta.dirname, "..");
  const reference = `sharp ${sharp.versions.sharp} vips ${sharp.versions.vips}`;
  const shared = [join(src, "codec"), join(src, "backends.ts")];
  const versions = new Map<string, string>();
  return (codec) => {
    if (codec === "jpeg" || codec === "webp" || codec === "avif") {
      // (the trailing space for webp/avif keeps the keys of caches written by the first version)
      return `${reference} ${codec === "jpeg" ? `mozjpeg ${sharp.versions.mozjpeg ?? ""}` : ""}`;
    }
    let version = versions.get(codec);
    if (!version) {
      const dirs =
        codec === "gan"
          ? [...shared, join(src, "baselines"), join(src, "nets"), ...modelFiles]
          : codec === "tree"
            ? [...shared, join(src, "baselines"), join(src, "lowrate"), join(src, "api.ts")]
            : [...shared, join(src, "baselines")];
      version = `mgc ${codec} ${hashTree(dirs)}`;
      versions.set(codec, version);
    }
    return version;
  };
}

/** Reads records written by earlier sweeps (rd.json files), re-deriving their curve labels. */
export function loadRecords(paths: readonly string[]): RdRecord[] {
  const records: RdRecord[] = [];
  for (const path of paths) {
    if (!existsSync(path)) throw new MaskcodecError(`No such file: ${path}`, "ERR_INPUT_MISSING");
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, "utf8"));
    } catch (error) {
      throw new MaskcodecError(`${path} is not JSON: ${(error as Error).message}`, "ERR_INPUT_FORMAT");
    }
    if (
      !Array.isArray(parsed) ||
      parsed.some((r) => typeof r?.bpp !== "number" || typeof r?.codec !== "string")
    ) {
      throw new MaskcodecError(`${path} is not an rd.json array of records`, "ERR_INPUT_FORMAT");
    }
    for (const r of parsed as RdRecord[]) {
      records.push({ ...r, curve: curveLabel(r.codec, r.config, sweepKeyFor(r.codec)) });
    }
  }
  return records;
}

/** Writes rd.json, rd.csv, summary.{json,md} and the plots for `records` into `out`. */
export async function writeOutputs(
  records: RdRecord[],
  out: string,
  options: { anchor?: string; rates?: number[]; noPlots?: boolean } = {},
): Promise<{ summary: Summary; table: string; files: string[] }> {
  if (existsSync(out) && !statSync(out).isDirectory()) {
    throw new MaskcodecError(`--out must be a folder, but ${out} is a file`, "ERR_OUTPUT_PATH");
  }
  mkdirSync(out, { recursive: true });
  const summary = summarise(records, options.anchor ?? "jpeg", options.rates);
  const table = summaryTable(summary);
  const files: string[] = [];
  const write = async (name: string, data: string | Uint8Array) => {
    const path = join(out, name);
    await writeFileAtomic(path, data, { overwrite: true });
    files.push(path);
  };
  await write("rd.json", `${JSON.stringify(records, null, 1)}\n`);
  await write("rd.csv", toCsv(records));
  await write("summary.json", `${JSON.stringify(summary, null, 1)}\n`);
  await write("summary.md", `${table}\n\n${SUMMARY_NOTE}\n`);
  if (!options.noPlots && records.length > 0) {
    for (const metric of ["psnr", "ssim"] as const) {
      const svg = await renderSvg(rdSpec(records, metric));
      await write(`rd-${metric}.svg`, svg);
      await write(`rd-${metric}.png`, await svgToPng(svg));
    }
  }
  return { summary, table, files };
}

export async function runRd(options: RdOptions): Promise<RdOutcome> {
  const start = performance.now();
  const points = planPoints(options);
  let paths = expandImageInputs(options.inputs);
  if (options.limit !== undefined) paths = paths.slice(0, options.limit);
  if (existsSync(options.out) && !statSync(options.out).isDirectory()) {
    throw new MaskcodecError(`--out must be a folder, but ${options.out} is a file`, "ERR_OUTPUT_PATH");
  }
  mkdirSync(options.out, { recursive: true });
  const crop = options.crop;
  const images = await Promise.all(
    paths.map(async (path) => ({
      path,
      hash: `${await hashFile(path)}${crop ? `:crop=${crop}` : ""}`,
      crop,
    })),
  );

  let execute: Executor;
  if (options.codecFor) execute = inProcessExecutor(options.codecFor);
  else if (options.jobs <= 1) execute = inProcessExecutor(defaultCodecs({ model: options.model }));
  else execute = workerPoolExecutor(options.jobs, { model: options.model });

  const sweep = await runSweep({
    images,
    points,
    cacheDir: join(options.out, "cache"),
    codecVersion: await codecVersions(ganModelFiles(points, options.model)),
    execute,
    progress: options.progress,
    signal: options.signal,
  });
  const { summary, table, files } = await writeOutputs(sweep.records, options.out, options);
  return {
    records: sweep.records,
    summary,
    table,
    computed: sweep.computed,
    cached: sweep.cached,
    failures: sweep.failures,
    files,
    seconds: (performance.now() - start) / 1000,
  };
}
