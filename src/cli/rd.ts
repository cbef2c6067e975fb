import { availableParallelism } from "node:os";
import type { Command } from "commander";
import { MASK_SELECTORS } from "../backends.ts";
import { DEFAULT_SWEEP_DIFFUSION_MASKS } from "../defaults.ts";
import { MaskcodecError } from "../errors.ts";
import type { CodecName } from "../eval/codecs.ts";
import {
  parseCodecList,
  parseDensityList,
  parseJobs,
  parseLevelsList,
  parseQualityList,
  parseRateList,
  parseTargetList,
} from "../eval/inputs.ts";
import { integerParser } from "./options.ts";

interface RdFlags {
  out: string;
  codecs?: CodecName[];
  densities?: number[];
  levels?: number[];
  masks?: string;
  qualities?: number[];
  targets?: number[];
  tonal?: boolean;
  jobs?: number;
  limit?: number;
  crop?: number;
  seed?: number;
  model?: string;
  anchor: string;
  rates?: number[];
  from?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("rd")
    .description(
      "rate–distortion sweep: every codec over its settings on every image; writes rd.json, rd.csv, " +
        "PSNR/SSIM plots (SVG+PNG) and a summary table with BD-rate against JPEG",
    )
    .argument("[images...]", "image files or folders of images")
    .requiredOption("-o, --out <dir>", "output folder (created; its cache/ makes re-runs resume)")
    .option(
      "-c, --codecs <list>",
      "comma-separated: gan, diffusion, tree, jpeg, webp, avif (default: all but tree, gan only if a model is shipped)",
      parseCodecList,
    )
    .option(
      "-d, --densities <list>",
      "mask densities for the mask codecs, e.g. 0.02,0.05,0.1",
      parseDensityList,
    )
    .option("-l, --levels <list>", "quantiser levels for the mask codecs, e.g. 16,32,64", parseLevelsList)
    .option(
      "-m, --masks <list>",
      `mask selectors for diffusion (${MASK_SELECTORS.join(", ")}) or BACKEND:NAME (default: ${DEFAULT_SWEEP_DIFFUSION_MASKS.join(",")})`,
    )
    .option(
      "-q, --qualities <list>",
      "quality settings for jpeg/webp/avif (default: a spread per codec)",
      parseQualityList,
    )
    .option(
      "-t, --targets <list>",
      "target rates (bpp) for tree (default: 0.05,0.075,0.1,0.15,0.2,0.25,0.35,0.5)",
      parseTargetList,
    )
    .option(
      "--tonal",
      "also sweep diffusion and gan with tonal optimisation of the stored values (gan: slow, ~5 s per 128x128 image)",
    )
    .option("-j, --jobs <n>", "worker threads (default: all cores)", parseJobs)
    .option(
      "--limit <n>",
      "use only the first N images (after expanding folders)",
      integerParser("limit", 1, 1e9),
    )
    .option(
      "--crop <n>",
      "use the centred n×n crop of every image (the paper: 128)",
      integerParser("crop", 8, 1 << 16),
    )
    .option("--seed <n>", "seed for random mask choices", integerParser("seed", 0, 2 ** 31 - 1))
    .option("--model <dir>", "gan model folder (default: the shipped model for each density)")
    .option("--anchor <curve>", "curve the BD figures are measured against", "jpeg")
    .option(
      "--rates <list>",
      "rates (bpp) of the summary table (default: 0.1,0.15,0.25,0.5,1)",
      parseRateList,
    )
    .option(
      "--from <files>",
      "no sweep: re-summarise and re-plot the records of earlier runs (comma-separated rd.json files)",
    )
    .option("--json", "print the summary as JSON instead of a table, and no progress")
    .action(async (images: string[], flags: RdFlags) => {
      await runRdCommand(images, flags);
    });
}

async function runRdCommand(images: string[], flags: RdFlags): Promise<void> {
  const { runRd, defaultCodecNames, loadRecords, writeOutputs } = await import("../eval/rd.ts");
  if (flags.from !== undefined) {
    if (images.length > 0) {
      throw new MaskcodecError(
        "Give either images to sweep or --from records, not both",
        "ERR_INVALID_PARAMETER",
      );
    }
    const records = loadRecords(flags.from.split(",").map((s) => s.trim()));
    const { summary, table, files } = await writeOutputs(records, flags.out, flags);
    if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else process.stdout.write(`${table}\n\n${records.length} records; wrote ${files.join(", ")}\n`);
    return;
  }
  const { MODELS_DIR } = await import("../backends.ts");
  const { terminalProgress } = await import("../util/progress.ts");
  const { masksFor } = await import("../eval/plan.ts");
  const masks = flags.masks?.split(",").map((s) => s.trim());
  masksFor("diffusion", masks); // validate before any work
  const codecs: CodecName[] = flags.codecs ?? defaultCodecNames(MODELS_DIR);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once("SIGINT", onSigint);
  const progress = terminalProgress("rd", { silent: flags.json });
  try {
    const outcome = await runRd({
      inputs: images,
      out: flags.out,
      codecs,
      densities: flags.densities,
      levels: flags.levels,
      masks,
      qualities: flags.qualities,
      targets: flags.targets,
      tonal: flags.tonal,
      seed: flags.seed,
      jobs: flags.jobs ?? availableParallelism(),
      limit: flags.limit,
      crop: flags.crop,
      model: flags.model,
      anchor: flags.anchor,
      rates: flags.rates,
      progress,
      signal: controller.signal,
    });
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ ...outcome.summary, seconds: outcome.seconds })}\n`);
    } else {
      const { SUMMARY_NOTE } = await import("../eval/summary.ts");
      process.stdout.write(`${outcome.table}\n\n${SUMMARY_NOTE}\n\n`);
      process.stdout.write(
        `${outcome.records.length} points (${outcome.computed} computed, ${outcome.cached} from cache) ` +
          `in ${outcome.seconds.toFixed(1)} s; wrote ${outcome.files.join(", ")}\n`,
      );
    }
    for (const f of outcome.failures) {
      process.stderr.write(
        `maskcodec: failed: ${f.codec} ${JSON.stringify(f.config)} on ${f.image}: ${f.message}\n`,
      );
    }
    if (outcome.failures.length > 0) {
      throw new MaskcodecError(`${outcome.failures.length} points failed (see above)`, "ERR_EVAL");
    }
  } catch (error) {
    progress.done();
    if (error instanceof MaskcodecError && error.code === "ERR_INTERRUPTED") {
      throw new MaskcodecError(
        `Interrupted; finished points are cached in ${flags.out}/cache: run the same command again to continue`,
        "ERR_INTERRUPTED",
      );
    }
    throw error;
  } finally {
    process.off("SIGINT", onSigint);
  }
}
