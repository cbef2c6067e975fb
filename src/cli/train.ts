import { basename, join, resolve } from "node:path";
import type { Command } from "commander";
import { checkDensity, invalidParameter, MaskcodecError } from "../errors.ts";
import { integerParser, parseNumber } from "./options.ts";

interface TrainFlags {
  density: string;
  data?: string;
  val?: string;
  out: string;
  runDir?: string;
  size?: number;
  batch?: number;
  steps?: number;
  warmupSteps?: number;
  lr?: number;
  alpha?: number;
  beta?: number;
  ssimWeight?: number;
  width?: number;
  levels?: number;
  criticWidth?: number;
  densityInput?: boolean;
  pullPush?: boolean;
  seed?: number;
  checkpointMinutes?: number;
  valEvery?: number;
  valCount?: number;
  tfBackend?: string;
  float32?: boolean;
  resume?: boolean;
  exportOnly?: boolean;
  initFrom?: string;
  bottleneck?: number;
  selectBy?: string;
  maskLr?: number;
  lrWarmup?: number;
  exactMasks?: boolean;
  ditherMasks?: boolean;
  maskPriorUntil?: number;
  diffusionInput?: boolean;
  analyticMask?: boolean;
  selection?: string;
  binarisation?: string;
  json?: boolean;
}

/** "0.1" (one density) or "0.01:0.25" (a range, log-uniform, one density-conditioned model). */
export function parseDensityRange(value: string): [number, number] {
  const parts = value.split(":");
  if (parts.length > 2) throw invalidParameter("density", "D or MIN:MAX", value);
  const lo = checkDensity(parseNumber("density", parts[0]));
  const hi = parts.length === 2 ? checkDensity(parseNumber("density", parts[1])) : lo;
  if (hi < lo) throw invalidParameter("density", "MIN:MAX with MIN <= MAX", value);
  return [lo, hi];
}

/**
 * Architecture defaults of `maskcodec train`: the recipe of the shipped models (docs/notes/nets.md):
 * width 4, the generator correcting homogeneous diffusion, the mask generator correcting the analytic mask
 * scores, dithered masks in training. On one CPU core these learn in an hour what the paper's plain networks
 * (DEFAULT_ARCH, width 8; all flags have --no- forms) did not learn in hours. The loss weights and Adam
 * settings stay the paper's.
 */
const TRAIN_CLI_DEFAULTS = { width: 4 } as const;

function positive(name: string): (v: string) => number {
  return (v) => {
    const n = parseNumber(name, v);
    if (n < 0) throw invalidParameter(name, "a non-negative number", n);
    return n;
  };
}

export function register(program: Command): void {
  program
    .command("train")
    .description("train the mask generator, inpainting generator and critic jointly (Wasserstein GAN)")
    .requiredOption("--density <d>", "density D, or MIN:MAX for one model conditioned on the density")
    .option("--data <dir>", "folder of training images (decoded once into memory)")
    .option("--val <dir>", "folder of validation images (fixed centre crops)")
    .requiredOption("--out <dir>", "model folder to export (its name is the model id)")
    .option("--run-dir <dir>", "checkpoints and logs while training (default runs/<model id>)")
    .option("--size <n>", "crop size (multiple of 2^levels)", integerParser("size", 8, 1024))
    .option("--batch <n>", "batch size", integerParser("batch", 1, 1024))
    .option("--steps <n>", "total steps, warm-up included", integerParser("steps", 0, 1e9))
    .option(
      "--warmup-steps <n>",
      "L1-only steps of the inpainting generator on random masks",
      integerParser("warmup-steps", 0, 1e9),
    )
    .option("--lr <x>", "Adam learning rate (paper: 5e-5)", positive("lr"))
    .option(
      "--exact-masks",
      "train the mask generator on exact-count masks (straight-through), as used at inference",
    )
    .option("--dither-masks", "(default) train the mask generator on dithered exact-count masks")
    .option(
      "--no-dither-masks",
      "train the mask generator on its own rounding (Eq. 4) instead of dithered exact-count masks",
    )
    .option(
      "--mask-prior-until <step>",
      "until this step (after the warm-up) the mask generator learns the analytic mask density by regression",
      integerParser("mask-prior-until", 0, 1e9),
    )
    .option("--analytic-mask", "(default) the mask generator corrects the analytic mask scores")
    .option(
      "--no-analytic-mask",
      "the mask generator starts from nothing instead of correcting the analytic mask scores (Belhachmi et al.)",
    )
    .option("--diffusion-input", "(default) the inpainting generator corrects homogeneous diffusion")
    .option(
      "--no-diffusion-input",
      "the inpainting generator corrects pull-push instead of homogeneous diffusion",
    )
    .option("--mask-lr <x>", "learning rate of the mask generator (default: --lr)", positive("mask-lr"))
    .option(
      "--lr-warmup <n>",
      "steps of linear learning-rate warm-up after --init-from, where Adam starts fresh (default 100; 0: none)",
      integerParser("lr-warmup", 0, 1e9),
    )
    .option(
      "--alpha <x>",
      "adversarial weight of Eq. (3), against the L1 norm summed over a crop as in the paper (default and paper: 0.005)",
      positive("alpha"),
    )
    .option("--beta <x>", "reconstruction weight of Eq. (4) (paper: 1)", positive("beta"))
    .option(
      "--ssim-weight <x>",
      "adds W (1 - SSIM(u, f)) to the generators' loss (not in the paper; default 0)",
      positive("ssim-weight"),
    )
    .option(
      "--width <n>",
      "channels per dilation branch at the finest level (default 4)",
      integerParser("width", 1, 256),
    )
    .option("--levels <n>", "hourglass levels", integerParser("levels", 1, 6))
    .option(
      "--bottleneck <k>",
      "rank-k 1x1 convolution in front of the narrow decoder blocks (faster inference; 0 = none, default)",
      integerParser("bottleneck", 0, 256),
    )
    .option(
      "--critic-width <n>",
      "channels of the critic's first layer",
      integerParser("critic-width", 1, 256),
    )
    .option("--no-density-input", "no density input channel (one model per density, as in the paper)")
    .option("--no-pull-push", "no interpolation input / residual output at all (the paper's plain generator)")
    .option("--seed <n>", "seed of initialisation and sampling", integerParser("seed", 0, 2 ** 31 - 1))
    .option("--checkpoint-minutes <x>", "minutes between checkpoints", positive("checkpoint-minutes"))
    .option("--val-every <n>", "steps between validations", integerParser("val-every", 1, 1e9))
    .option("--val-count <n>", "validation crops", integerParser("val-count", 1, 10000))
    .option("--tf-backend <name>", "auto, wasm, tensorflow (tfjs-node) or cpu (refused for training)")
    .option("--float32", "export float32 weights (default float16)")
    .option("--resume", "continue from the checkpoint in the run folder")
    .option(
      "--binarisation <kind>",
      "gradient of the mask's binarisation: leaky (straight through the hard sigmoid too; default) or paper",
    )
    .option("--select-by <what>", "weights to export: mask-loss (Eq. 4, paper) or mae (exact density)")
    .option("--init-from <dir>", "fresh start from an exported model's weights and step (Adam restarts)")
    .option(
      "--selection <method>",
      "default mask selection recorded in the card: threshold, dither or ordered",
    )
    .option("--export-only", "export the run folder's best (or latest) weights to --out, without training")
    .option("--json", "no progress bar")
    .action(async (flags: TrainFlags, command: Command) => {
      await runTrain(flags, command);
    });
}

async function runTrain(flags: TrainFlags, command: Command): Promise<void> {
  const { DEFAULT_TRAIN, Trainer } = await import("../nets/train.ts");
  const { DEFAULT_ARCH } = await import("../nets/models.ts");
  const { terminalProgress } = await import("../util/progress.ts");
  const [densityMin, densityMax] = parseDensityRange(flags.density);
  const out = resolve(flags.out);
  const id = basename(out);
  if (!/^[A-Za-z0-9._-]+$/.test(id))
    throw invalidParameter("out", "a folder name of letters, digits, . _ -", id);
  const runDir = resolve(flags.runDir ?? join("runs", id));
  const given = (name: string) => command.getOptionValueSource(name) === "cli";
  const explicit: Record<string, unknown> = {};
  const map: Array<[keyof TrainFlags, string]> = [
    ["size", "size"],
    ["batch", "batch"],
    ["steps", "steps"],
    ["warmupSteps", "warmupSteps"],
    ["lr", "lr"],
    ["alpha", "alpha"],
    ["beta", "beta"],
    ["ssimWeight", "ssimWeight"],
    ["seed", "seed"],
    ["checkpointMinutes", "checkpointMinutes"],
    ["valEvery", "valEvery"],
    ["valCount", "valCount"],
    ["tfBackend", "tfBackend"],
    ["selectBy", "selectBy"],
    ["maskLr", "maskLr"],
    ["lrWarmup", "lrWarmup"],
    ["exactMasks", "exactMasks"],
    ["maskPriorUntil", "maskPriorUntil"],
  ];
  if (flags.binarisation !== undefined && flags.binarisation !== "leaky" && flags.binarisation !== "paper") {
    throw invalidParameter("binarisation", "leaky or paper", flags.binarisation);
  }
  if (flags.selection !== undefined && !["threshold", "dither", "ordered"].includes(flags.selection)) {
    throw invalidParameter("selection", "threshold, dither or ordered", flags.selection);
  }
  const extraCard = {
    command: `maskcodec ${process.argv.slice(2).join(" ")}`,
    ...(flags.selection ? { selection: flags.selection } : {}),
  };
  if (flags.selectBy !== undefined && flags.selectBy !== "mask-loss" && flags.selectBy !== "mae") {
    throw invalidParameter("select-by", "mask-loss or mae", flags.selectBy);
  }
  for (const [flag, key] of map) if (given(flag) && flags[flag] !== undefined) explicit[key] = flags[flag];
  if (given("float32")) explicit.float16 = !flags.float32;
  if (given("ditherMasks")) explicit.ditherMasks = flags.ditherMasks !== false;
  if (flags.binarisation !== undefined) explicit.arch = { leakyBinarisation: flags.binarisation === "leaky" };
  const arch = {
    ...DEFAULT_ARCH,
    width: flags.width ?? TRAIN_CLI_DEFAULTS.width,
    ...(flags.levels !== undefined ? { levels: flags.levels } : {}),
    ...(flags.bottleneck ? { bottleneck: flags.bottleneck } : {}),
    ...(flags.criticWidth !== undefined ? { criticWidth: flags.criticWidth } : {}),
    pullPush: flags.pullPush !== false,
    // the interpolation replaces pull-push's: without pull-push there is none
    diffusionInput: flags.diffusionInput !== false && flags.pullPush !== false,
    analyticMask: flags.analyticMask !== false,
    leakyBinarisation: flags.binarisation !== "paper",
    densityInput:
      flags.densityInput !== false && densityMin !== densityMax ? true : flags.densityInput !== false,
  };
  if (!flags.exportOnly && !flags.resume && !flags.data) {
    throw new MaskcodecError("train needs --data DIR (a folder of training images)", "ERR_INVALID_PARAMETER");
  }
  if (densityMin !== densityMax && flags.densityInput === false) {
    throw new MaskcodecError(
      "a density range needs the density input (drop --no-density-input)",
      "ERR_INVALID_PARAMETER",
    );
  }
  const options = {
    ...DEFAULT_TRAIN,
    ditherMasks: flags.ditherMasks !== false,
    ...explicit,
    arch,
    densityMin,
    densityMax,
    dataDir: resolve(flags.data ?? ""),
    valDir: flags.val ? resolve(flags.val) : undefined,
    initFrom: flags.initFrom ? resolve(flags.initFrom) : undefined,
    out,
    runDir,
  };
  const size = options.size as number;
  if (size % 2 ** arch.levels !== 0) {
    throw invalidParameter("size", `a multiple of ${2 ** arch.levels} (2^levels)`, size);
  }
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const trainer = new Trainer(options, terminalProgress("train", { silent: flags.json }), log);
  if (flags.exportOnly) {
    await trainer.setup(true, explicit, { exportOnly: true });
    const { weightHash, dir } = await trainer.export(extraCard);
    log(`exported ${dir} (weights ${weightHash.slice(0, 12)})`);
    return;
  }
  if (flags.resume && !flags.data) {
    // keep the checkpoint's data folder
  } else {
    explicit.dataDir = options.dataDir;
  }
  await trainer.setup(Boolean(flags.resume), explicit);
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log("interrupt: finishing the step, then writing a checkpoint (Ctrl-C again to abort)");
    trainer.requestStop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await trainer.run();
    const { weightHash, dir } = await trainer.export(extraCard);
    log(
      `checkpoint at step ${trainer.state.step} in ${trainer.checkpointDir}; exported ${dir} (weights ${weightHash.slice(0, 12)})`,
    );
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
