import { existsSync } from "node:fs";
import { appendFile, cp, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { MaskcodecError } from "../errors.ts";
import { type Progress, silentProgress } from "../util/progress.ts";
import { Adam } from "./adam.ts";
import { initBackend } from "./backend.ts";
import { centreCrops, type ImageSet, loadImageFolder, sampleBatch } from "./data.ts";
import { fitBottlenecks, GramAccumulator } from "./factorise.ts";
import {
  type ArchOptions,
  DEFAULT_ARCH,
  initWeights,
  inpaintingGenerator,
  maskGenerator,
  parameterCount,
  type Weights,
  type WeightsView,
} from "./models.ts";
import { Rng } from "./ops.ts";
import { tf } from "./tf.ts";
import { exportModel } from "./train-export.ts";
import {
  ditherMaskStraightThrough,
  exactMaskStraightThrough,
  ganStep,
  priorStep,
  warmupStep,
} from "./train-steps.ts";
import { type ValResult, validateOnCrops } from "./train-validate.ts";
import { loadWeights, saveWeights } from "./weights.ts";

export { adversarialWeight, ditherMaskStraightThrough } from "./train-steps.ts";
export { type ValResult, validationDensities } from "./train-validate.ts";

/**
 * Joint Wasserstein training of the mask generator m, the inpainting generator g and the critic d
 * (Peter 2022, Eqs. 1-4), with an L1-only warm-up of g on random masks, checkpoints with the optimiser
 * state, resume, periodic validation and best-weights selection.
 */

export interface TrainOptions {
  /** Densities trained: a single value, or a range sampled log-uniformly per sample (density-conditioned). */
  densityMin: number;
  densityMax: number;
  dataDir: string;
  valDir?: string;
  /** Export folder (models/<id>); its basename is the model id. */
  out: string;
  /** Checkpoints and logs while training (default runs/<id>). */
  runDir: string;
  size: number;
  batch: number;
  /** Total steps, warm-up included. */
  steps: number;
  /** L1-only steps of the inpainting generator on random masks before the joint adversarial training. */
  warmupSteps: number;
  lr: number;
  /**
   * Eq. (3) weight of the adversarial term, in the paper's units: against ||f - u||_1 summed over the image's
   * values. The trainer's reconstruction term is the mean over the values instead (so that learning rates do
   * not depend on the crop size), so the weight applied is alpha / (size² · 3): see adversarialWeight.
   */
  alpha: number;
  /** Eq. (4) weight of the reconstruction term for the mask generator. */
  beta: number;
  /**
   * Weight W of an SSIM term added to the generators' loss, W (1 - SSIM(u, f)), SSIM as the benchmarks
   * measure it (src/nets/ssim.ts). Not in the paper; 0 (the default) trains on the paper's Eqs. (3)-(4).
   */
  ssimWeight?: number;
  arch: ArchOptions;
  seed: number;
  checkpointMinutes: number;
  valEvery: number;
  valCount: number;
  valSize: number;
  logEvery: number;
  tfBackend: string;
  float16: boolean;
  /** Limit on training images (tests). */
  maxImages?: number;
  /**
   * Fresh start from the weights of an exported model folder (e.g. a shipped models/<id> when the run folder
   * of an earlier run is gone): the weights, the step count and the logs are taken over; Adam restarts.
   */
  initFrom?: string;
  /**
   * Steps of linear learning-rate warm-up after --init-from (0: none). Why: Adam starts fresh there, and a
   * fresh Adam's first update moves every trained weight by about lr (m / sqrt(v) is sign(g) after bias
   * correction); at 2e-4 one such step took maskgan-v8-d05 from 11.41 to 12.30 validation MAE (torch port,
   * measured). Resuming keeps the warm-up's place (the step of the fresh start is in the checkpoint).
   */
  lrWarmup?: number;
  /**
   * Which validation figure picks the exported weights: "mask-loss" (Eq. 4 with the network's own rounding,
   * as in the paper) or "mae" (mean MAE with masks of exactly the target density, what the codec uses).
   * Both bests are kept in the run folder (best/, best-mae/).
   */
  selectBy: "mask-loss" | "mae";
  /** Learning rate of the mask generator (default: lr). */
  maskLr?: number;
  /**
   * Train the mask generator with masks of exactly the target count (its targetCount highest logits per
   * sample, the rule used at inference), with a straight-through gradient (slope 0.2) to the logits, instead
   * of its own rounding; the density term of Eq. (4) is then (nearly) zero.
   */
  exactMasks?: boolean;
  /**
   * Train the mask generator with dithered masks of exactly the target count (ditherScores, the codec's
   * "dither" selection): the logits define a density map p = sigmoid(z - t) with sum(p) = count, which is
   * dithered; the gradient passes straight through to p and from there exactly to z (t depending on z).
   * The network then learns where the density of kept pixels should be high, and validation's exact-density
   * MAE uses dithering too. Takes precedence over exactMasks.
   */
  ditherMasks?: boolean;
  /**
   * Steps before which (after the warm-up) the mask generator learns the analytic mask density of
   * src/mask/analytic.ts by regression of its logits (mean squared error to the mean-free scores)
   * instead of Eq. (4), while the inpainting generator trains on Eq. (3) with the dithered masks of the
   * current mask generator. A starting point that joint training would take very long to find on this
   * machine's budget; 0 (default) skips it.
   */
  maskPriorUntil?: number;
}

export const DEFAULT_TRAIN: Omit<TrainOptions, "densityMin" | "densityMax" | "dataDir" | "out" | "runDir"> = {
  size: 64,
  batch: 16,
  steps: 20000,
  warmupSteps: 2000,
  lr: 5e-5,
  alpha: 0.005,
  beta: 1,
  arch: DEFAULT_ARCH,
  seed: 1,
  checkpointMinutes: 5,
  valEvery: 250,
  valCount: 16,
  valSize: 128,
  logEvery: 10,
  selectBy: "mask-loss",
  maskLr: undefined,
  lrWarmup: 100,
  exactMasks: false,
  ditherMasks: false,
  maskPriorUntil: 0,
  tfBackend: "wasm",
  float16: true,
};

/** Options a resumed run keeps from its checkpoint unless given again. */
const RESUMABLE_KEYS: Array<keyof TrainOptions> = Object.keys(DEFAULT_TRAIN) as Array<keyof TrainOptions>;

export interface TrainState {
  step: number;
  rng: number;
  adamT: Record<string, number>;
  /** The step at which Adam started fresh on trained weights (--init-from), for the lr warm-up. */
  freshAdamStep?: number;
  samples: number;
  wallSeconds: number;
  bestValLoss: number | null;
  bestStep: number | null;
  bestMae?: number | null;
  bestMaeStep?: number | null;
  lastVal: ValResult | null;
  options: TrainOptions;
}

export const TRAIN_LOG_HEADER =
  "step,phase,wall_s,samples,loss_g,loss_m,loss_c,l1_255,density_err,d_real,d_fake";
export const VAL_LOG_HEADER =
  "step,wall_s,density,mae_exact,mae_round,mae_random,density_round,mask_loss,mean_mask_loss";

function sampleDensity(rng: Rng, min: number, max: number): number {
  if (min === max) return min;
  return Math.exp(Math.log(min) + rng.next() * (Math.log(max) - Math.log(min)));
}

export class Trainer {
  weights!: Weights;
  adams!: Record<"gen" | "mask" | "critic", Adam>;
  state!: TrainState;
  data!: ImageSet;
  val?: { data: Float32Array; count: number };
  private stopRequested = false;
  private lastCheckpoint = Date.now();
  private startedAt = Date.now();
  private wallAtStart = 0;
  private acc: number[][] = [];

  constructor(
    readonly options: TrainOptions,
    readonly progress: Progress = silentProgress,
    readonly log: (line: string) => void = () => {},
  ) {}

  get checkpointDir(): string {
    return join(this.options.runDir, "checkpoint");
  }

  requestStop(): void {
    this.stopRequested = true;
  }

  /** Loads data, initialises or restores the networks. */
  async setup(
    resume: boolean,
    explicit: Partial<TrainOptions> = {},
    mode: { exportOnly?: boolean } = {},
  ): Promise<void> {
    const backend = await initBackend(this.options.tfBackend, { training: true });
    await mkdir(this.options.runDir, { recursive: true });
    let restored: Map<string, tf.Tensor> | undefined;
    if (resume) {
      if (!existsSync(join(this.checkpointDir, "state.json"))) {
        throw new MaskcodecError(`--resume: no checkpoint in ${this.checkpointDir}`, "ERR_RESUME");
      }
      const saved = JSON.parse(await readFile(join(this.checkpointDir, "state.json"), "utf8")) as TrainState;
      // checkpoint options, overridden by what was given explicitly this time
      for (const key of RESUMABLE_KEYS) {
        (this.options as unknown as Record<string, unknown>)[key] =
          key in explicit ? explicit[key] : saved.options[key];
      }
      // the architecture cannot change, except the binarisation's gradient (no weights depend on it)
      const leaky = explicit.arch?.leakyBinarisation;
      this.options.arch = {
        ...saved.options.arch,
        ...(leaky === undefined ? {} : { leakyBinarisation: leaky }),
      };
      this.options.densityMin = saved.options.densityMin;
      this.options.densityMax = saved.options.densityMax;
      if (!("dataDir" in explicit)) this.options.dataDir = saved.options.dataDir;
      if (!("valDir" in explicit) && !this.options.valDir) this.options.valDir = saved.options.valDir;
      this.state = { ...saved, options: this.options };
      if (
        this.options.valCount !== saved.options.valCount ||
        this.options.valSize !== saved.options.valSize
      ) {
        // other validation crops: the saved bests are not comparable with the new figures
        this.state.bestValLoss = null;
        this.state.bestStep = null;
        this.state.bestMae = null;
        this.state.bestMaeStep = null;
      }
      restored = (await loadWeights(this.checkpointDir)).tensors;
    }
    this.weights = initWeights(this.options.arch, this.options.seed);
    this.adams = {
      gen: new Adam("gen", this.baseLr("gen")),
      mask: new Adam("mask", this.baseLr("mask")),
      critic: new Adam("critic", this.baseLr("critic")),
    };
    if (restored) {
      for (const [k, v] of this.weights) {
        const t = restored.get(k);
        if (!t) throw new MaskcodecError(`checkpoint lacks weight ${k}`, "ERR_RESUME");
        v.assign(t);
      }
      for (const a of Object.values(this.adams)) a.loadState(restored, this.state.adamT[a.name] ?? 0);
      for (const t of restored.values()) t.dispose();
      if (mode.exportOnly) {
        this.wallAtStart = this.state.wallSeconds;
        this.startedAt = Date.now();
        return;
      }
      await this.truncateLogs(this.state.step);
    } else {
      this.state = {
        step: 0,
        rng: this.options.seed * 7919 + 17,
        adamT: {},
        samples: 0,
        wallSeconds: 0,
        bestValLoss: null,
        bestStep: null,
        lastVal: null,
        options: this.options,
      };
      await writeFile(join(this.options.runDir, "train-log.csv"), `${TRAIN_LOG_HEADER}\n`);
      await writeFile(join(this.options.runDir, "val-log.csv"), `${VAL_LOG_HEADER}\n`);
    }
    this.data = await loadImageFolder(this.options.dataDir, {
      minSize: this.options.size,
      limit: this.options.maxImages,
    });
    // after the data: fitting a bottleneck looks at the source model's activations on training crops
    if (!resume && this.options.initFrom) await this.initFrom(this.options.initFrom);
    if (this.options.valDir) {
      const valSet = await loadImageFolder(this.options.valDir, { minSize: this.options.valSize });
      this.val = centreCrops(valSet, this.options.valSize, this.options.valCount);
    }
    this.wallAtStart = this.state.wallSeconds;
    this.startedAt = Date.now();
    this.log(
      `backend ${backend}; ${this.data.images.length} training images; parameters: gen ${parameterCount(this.weights, "gen")}, mask ${parameterCount(this.weights, "mask")}, critic ${parameterCount(this.weights, "critic")}; ${resume ? `resumed at step ${this.state.step}` : "fresh start"}`,
    );
  }

  private async initFrom(dir: string): Promise<void> {
    const { json, tensors } = await loadWeights(dir);
    const meta = json.maskcodec as { arch?: ArchOptions; step?: number; densityRange?: [number, number] };
    const arch = this.options.arch;
    // the changes allowed: gaining the analytic mask prior (its correction starts at zero, below) and
    // gaining a bottleneck (fitted to the source's kernels and activations, below)
    const gainsAnalytic = arch.analyticMask === true && !meta.arch?.analyticMask;
    const gainsBottleneck = (arch.bottleneck ?? 0) > 0 && !meta.arch?.bottleneck;
    const allowed = (k: keyof ArchOptions) =>
      (k === "analyticMask" && gainsAnalytic) || (k === "bottleneck" && gainsBottleneck);
    // every option either side has; an absent option is off (false or 0), as older models were saved
    const off = (v: unknown) => (v === undefined || v === false || v === 0 ? null : v);
    const keys = new Set([...Object.keys(arch), ...Object.keys(meta.arch ?? {})]) as Set<keyof ArchOptions>;
    if (meta.arch && [...keys].some((k) => off(meta.arch?.[k]) !== off(arch[k]) && !allowed(k))) {
      throw new MaskcodecError(
        `--init-from ${dir}: its architecture ${JSON.stringify(meta.arch)} differs from ${JSON.stringify(this.options.arch)}`,
        "ERR_RESUME",
      );
    }
    for (const [k, v] of this.weights) {
      const t = tensors.get(k);
      if (t && t.shape.join() === v.shape.join()) v.assign(t);
    }
    if (gainsBottleneck) {
      const kept = this.fitBottlenecks(tensors, { ...arch, bottleneck: 0 });
      this.log(
        `bottleneck ${arch.bottleneck} fitted to ${dir}: kept ${[...kept].map(([b, f]) => `${b} ${(100 * f).toFixed(1)}%`).join(", ")}`,
      );
    }
    for (const t of tensors.values()) t.dispose();
    if (gainsAnalytic) {
      // z = analytic + z_net: start from the analytic mask itself
      for (const [k, v] of this.weights) if (k.startsWith("mask/out/")) v.assign(tf.zerosLike(v));
    }
    this.state.step = meta.step ?? 0;
    this.state.freshAdamStep = this.state.step;
    this.state.rng = (this.state.rng + this.state.step * 2654435761) >>> 0;
    for (const f of ["train-log.csv", "val-log.csv"]) {
      if (existsSync(join(dir, f))) await cp(join(dir, f), join(this.options.runDir, f));
    }
    await this.truncateLogs(this.state.step);
    // the log goes on where the model's left off: its wall time and samples too, not from zero
    const logPath = join(this.options.runDir, "train-log.csv");
    if (existsSync(logPath)) {
      const rows = (await readFile(logPath, "utf8")).split("\n").filter((l) => l.length > 0);
      const last = rows.length > 1 ? rows[rows.length - 1].split(",") : undefined;
      if (last && Number.isFinite(Number(last[2])) && Number.isFinite(Number(last[3]))) {
        this.state.wallSeconds = Number(last[2]);
        this.state.samples = Number(last[3]);
      }
    }
  }

  /**
   * Fits this model's bottlenecks to the full kernels of `source` (architecture `sourceArch`) on the
   * source's block inputs for 128 training crops at random densities, masks from its own mask generator.
   */
  private fitBottlenecks(source: WeightsView, sourceArch: ArchOptions): Map<string, number> {
    const o = this.options;
    const wanted = new Set<string>();
    for (const k of this.weights.keys()) {
      const m = /^(.*)\/reduce\/kernel$/.exec(k);
      if (m) wanted.add(m[1]);
    }
    const grams = new GramAccumulator(wanted);
    const rng = new Rng(this.state.rng ^ 0x5bd1e995);
    const B = 16;
    const S = o.size;
    const shape1: [number, number, number, number] = [B, S, S, 1];
    for (let batch = 0; batch < 8; batch++) {
      const fData = sampleBatch(this.data, rng, S, B);
      const densities = Array.from({ length: B }, () => sampleDensity(rng, o.densityMin, o.densityMax));
      const noiseM = rng.fill(new Float32Array(B * S * S));
      const noiseG = rng.fill(new Float32Array(B * S * S));
      tf.tidy(() => {
        const f = tf.tensor4d(fData, [B, S, S, 3]);
        const { z } = maskGenerator(
          source,
          sourceArch,
          f,
          tf.tensor4d(noiseM, shape1),
          densities,
          grams.probe,
        );
        const b = o.ditherMasks
          ? ditherMaskStraightThrough(z, densities)
          : exactMaskStraightThrough(z, densities);
        inpaintingGenerator(source, sourceArch, f, b, tf.tensor4d(noiseG, shape1), densities, grams.probe);
      });
    }
    return fitBottlenecks(source, this.weights, grams.grams);
  }

  private async truncateLogs(step: number): Promise<void> {
    for (const file of ["train-log.csv", "val-log.csv"]) {
      const path = join(this.options.runDir, file);
      if (!existsSync(path)) continue;
      const lines = (await readFile(path, "utf8")).split("\n").filter((l) => l.length > 0);
      const kept = lines.filter((l, i) => i === 0 || Number(l.split(",")[0]) <= step);
      await writeFile(path, `${kept.join("\n")}\n`);
    }
  }

  wallSeconds(): number {
    return this.wallAtStart + (Date.now() - this.startedAt) / 1000;
  }

  /** A network's learning rate before the warm-up's factor. */
  private baseLr(name: "gen" | "mask" | "critic"): number {
    return name === "mask" ? (this.options.maskLr ?? this.options.lr) : this.options.lr;
  }

  /** The learning rates' factor at this step: the warm-up after --init-from, else 1. */
  lrFactor(): number {
    const warmup = this.options.lrWarmup ?? 0;
    const from = this.state.freshAdamStep;
    if (warmup <= 0 || from === undefined) return 1;
    return Math.min(1, (this.state.step - from + 1) / warmup);
  }

  /** One training step; returns the logged quantities. */
  step(): number[] {
    const o = this.options;
    const factor = this.lrFactor();
    for (const name of ["gen", "mask", "critic"] as const) this.adams[name].lr = this.baseLr(name) * factor;
    const rng = new Rng(this.state.rng);
    const B = o.batch;
    const S = o.size;
    const fData = sampleBatch(this.data, rng, S, B);
    const densities = Array.from({ length: B }, () => sampleDensity(rng, o.densityMin, o.densityMax));
    const noiseG = rng.fill(new Float32Array(B * S * S));
    const warm = this.state.step < o.warmupSteps;
    let randomMask: Float32Array | undefined;
    let noiseM: Float32Array | undefined;
    if (warm) {
      randomMask = new Float32Array(B * S * S);
      for (let n = 0; n < B; n++) {
        for (let i = 0; i < S * S; i++) randomMask[n * S * S + i] = rng.next() < densities[n] ? 1 : 0;
      }
    } else {
      noiseM = rng.fill(new Float32Array(B * S * S));
    }
    this.state.rng = rng.state;
    const result = warm
      ? warmupStep(this, fData, densities, noiseG, randomMask as Float32Array)
      : this.state.step < (o.maskPriorUntil ?? 0)
        ? priorStep(this, fData, densities, noiseG, noiseM as Float32Array)
        : ganStep(this, fData, densities, noiseG, noiseM as Float32Array);
    this.state.step++;
    this.state.samples += B;
    return result;
  }

  /** The phase of a step for logs: warm-up, mask prior, or the joint (GAN) training. */
  private phaseOf(step: number): "warmup" | "prior" | "gan" {
    if (step <= this.options.warmupSteps) return "warmup";
    return step <= (this.options.maskPriorUntil ?? 0) ? "prior" : "gan";
  }

  /** Validation on the fixed centre crops (train-validate.ts). */
  validate(): ValResult | null {
    return validateOnCrops(this);
  }

  private tensorsForCheckpoint(): Array<[string, tf.Tensor]> {
    const list: Array<[string, tf.Tensor]> = [...this.weights.entries()];
    for (const a of Object.values(this.adams)) list.push(...a.stateTensors());
    return list;
  }

  private meta(): Record<string, unknown> {
    return {
      id: basename(this.options.out),
      arch: this.options.arch,
      densityRange: [this.options.densityMin, this.options.densityMax],
      step: this.state.step,
    };
  }

  /** Writes the checkpoint atomically (new folder, then rename). */
  async checkpoint(): Promise<void> {
    const dir = this.checkpointDir;
    const fresh = `${dir}.new`;
    const old = `${dir}.old`;
    await rm(fresh, { recursive: true, force: true });
    for (const a of Object.values(this.adams)) this.state.adamT[a.name] = a.t;
    this.state.wallSeconds = this.wallSeconds();
    await saveWeights(fresh, this.tensorsForCheckpoint(), this.meta());
    await writeFile(join(fresh, "state.json"), `${JSON.stringify(this.state, null, 1)}\n`);
    await rm(old, { recursive: true, force: true });
    if (existsSync(dir)) await rename(dir, old);
    await rename(fresh, dir);
    await rm(old, { recursive: true, force: true });
    this.lastCheckpoint = Date.now();
  }

  /** Saves the generators (and critic, for warm starts) as a shippable model folder. */
  async saveModel(dir: string): Promise<{ weightHash: string; bytes: number }> {
    const list = [...this.weights.entries()] as Array<[string, tf.Tensor]>;
    return saveWeights(dir, list, this.meta(), { float16: this.options.float16 });
  }

  private async recordValidation(v: ValResult): Promise<void> {
    const wall = this.wallSeconds().toFixed(0);
    const rows = v.perDensity.map(
      (p) =>
        `${v.step},${wall},${p.density},${p.maeExact.toFixed(3)},${p.maeRound.toFixed(3)},${p.maeRandom.toFixed(3)},${p.densityRound.toFixed(5)},${p.maskLoss.toFixed(5)},${v.maskLoss.toFixed(5)}`,
    );
    await appendFile(join(this.options.runDir, "val-log.csv"), `${rows.join("\n")}\n`);
    this.state.lastVal = v;
    const inGan = this.state.step > this.options.warmupSteps;
    if (inGan && (this.state.bestValLoss === null || v.maskLoss < this.state.bestValLoss)) {
      this.state.bestValLoss = v.maskLoss;
      this.state.bestStep = v.step;
      await this.saveModel(join(this.options.runDir, "best"));
      await writeFile(join(this.options.runDir, "best", "val.json"), `${JSON.stringify(v, null, 1)}\n`);
    }
    const mae = v.perDensity.reduce((a, p) => a + p.maeExact, 0) / v.perDensity.length;
    if (inGan && (this.state.bestMae == null || mae < this.state.bestMae)) {
      this.state.bestMae = mae;
      this.state.bestMaeStep = v.step;
      await this.saveModel(join(this.options.runDir, "best-mae"));
      await writeFile(join(this.options.runDir, "best-mae", "val.json"), `${JSON.stringify(v, null, 1)}\n`);
    }
    this.log(
      `val step ${v.step}: mask loss ${v.maskLoss.toFixed(4)}; ${v.perDensity
        .map(
          (p) =>
            `D=${p.density} MAE exact ${p.maeExact.toFixed(2)}${p.ssimExact === undefined ? "" : ` SSIM ${p.ssimExact.toFixed(4)}`} round ${p.maeRound.toFixed(2)} (density ${p.densityRound.toFixed(3)}) random ${p.maeRandom.toFixed(2)}`,
        )
        .join("; ")}`,
    );
  }

  /** Runs until options.steps or a stop request; checkpoints periodically and at the end. */
  async run(): Promise<void> {
    const o = this.options;
    while (this.state.step < o.steps && !this.stopRequested) {
      const values = this.step();
      this.acc.push(values);
      if (this.state.step % o.logEvery === 0) await this.flushLog();
      if (o.valDir && this.state.step % o.valEvery === 0) {
        const v = this.validate();
        if (v) await this.recordValidation(v);
      }
      if (Date.now() - this.lastCheckpoint > o.checkpointMinutes * 60_000) await this.checkpoint();
      const last = values;
      this.progress.update(
        this.state.step,
        o.steps,
        `${this.phaseOf(this.state.step)} L1 ${last[3].toFixed(2)} dens ${Number.isNaN(last[4]) ? "-" : last[4].toFixed(3)} C ${Number.isNaN(last[2]) ? "-" : last[2].toFixed(3)}`,
      );
      // let SIGINT handlers run
      if (this.state.step % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await this.flushLog();
    this.progress.done();
    await this.checkpoint();
  }

  private async flushLog(): Promise<void> {
    if (this.acc.length === 0) return;
    const k = this.acc[0].length;
    const mean = Array.from(
      { length: k },
      (_, j) => this.acc.reduce((s, r) => s + r[j], 0) / this.acc.length,
    );
    const fmt = (x: number) => (Number.isNaN(x) ? "" : x.toPrecision(5));
    const phase = this.phaseOf(this.state.step);
    const line = `${this.state.step},${phase},${this.wallSeconds().toFixed(1)},${this.state.samples},${mean.map(fmt).join(",")}`;
    await appendFile(join(this.options.runDir, "train-log.csv"), `${line}\n`);
    this.acc = [];
  }

  /**
   * Exports the best weights (by options.selectBy, adversarial phase), or the latest when there is no
   * best yet, into options.out with the card, the logs and the plot (train-export.ts).
   */
  export(extraCard: Record<string, unknown> = {}): Promise<{ weightHash: string; dir: string }> {
    return exportModel(this, extraCard);
  }
}
