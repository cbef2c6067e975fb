import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { MaskcodecError } from "../errors.ts";
import type {
  Inpainter,
  InpaintOptions,
  MaskSelector,
  StoredLevels,
  TonalOptimiser,
} from "../image/seams.ts";
import { createImage, createMask, type Image, type Mask, maskDensity, targetCount } from "../image/types.ts";
import { analyticScores } from "../mask/analytic.ts";
import { ditherScores } from "../mask/dither.ts";
import { orderedDither } from "../mask/ordered-dither.ts";
import { topCountMask } from "../mask/topk.ts";
import { initBackend } from "./backend.ts";
import { DIFFUSION_INPUT_PER_CHANNEL_PIXELS, diffusionInput } from "./diffusion-op.ts";
import { type GanTonalOptions, ganTonalOptimiser } from "./gan-tonal.ts";
import {
  type ArchOptions,
  DEFAULT_ARCH,
  inpaintingGenerator,
  maskGenerator,
  takesDiffusionInput,
  type WeightsView,
} from "./models.ts";
import { Rng } from "./ops.ts";
import { padReflect, reflect } from "./padding.ts";
import { tf } from "./tf.ts";
import {
  checkGeometry,
  DECODER_TILING,
  ENCODER_TILING,
  type Tile,
  type TileGeometry,
  tileGrid,
} from "./tiling.ts";
import { type NetworkArithmetic, withArithmetic } from "./wasm-conv.ts";
import { loadWeights } from "./weights.ts";
import { type WindowJob, WindowPool } from "./window-pool.ts";

export { padReflect } from "./padding.ts";

export type SelectionMethod = "threshold" | "dither" | "ordered";

/** How tiled inference runs: `threads` worker threads for images of several windows (default 1). */
export interface WindowOptions {
  threads?: number;
  /**
   * The convolutions' arithmetic (wasm-conv.ts): part of what a stream decodes to, so the decoder takes it
   * from the stream's format version (networkArithmetic). Default "float32".
   */
  arithmetic?: NetworkArithmetic;
  /**
   * The relative residual of the inpainting generator's diffusion input (diffusionInput) for a window of so
   * many (padded) pixels: part of what a stream decodes to, so the decoder takes it from the stream's format
   * version (diffusionInputTolerance). Default: DIFFUSION_INPUT_TOLERANCE for every window.
   */
  diffusionTolerance?: (windowPixels: number) => number;
  /**
   * The arithmetic of that solve (diffusionInput): part of what a stream decodes to, so the decoder takes it
   * from the stream's format version (diffusionDecodeArithmetic). Default "float64".
   */
  diffusionArithmetic?: "float64" | "float32";
}

/** The `gan` backend: the mask generator as a MaskSelector, the inpainting generator as an Inpainter. */
export interface GanModel {
  readonly id: string;
  readonly dir: string;
  /** sha256 (hex) of the weight shard: the decoder refuses other weights. */
  readonly weightHash: string;
  /** Densities the model was trained for ([D, D] for a single-density model). */
  readonly densityRange: [number, number];
  readonly arch: ArchOptions;
  /**
   * The mask generator as a MaskSelector. "threshold" keeps the targetCount highest logits (the exact-density
   * rule); "dither" error-diffuses a density map derived from them (spread-out masks). The
   * default is the model card's `selection` (else "threshold"). The network runs tiled (`geometry`, by
   * default ENCODER_TILING; src/nets/tiling.ts).
   */
  selector(method?: SelectionMethod, geometry?: TileGeometry, options?: WindowOptions): MaskSelector;
  readonly selection: SelectionMethod;
  inpainter(geometry?: TileGeometry, options?: WindowOptions): Inpainter;
  /**
   * Tonal optimisation of the stored values through this model's inpainting generator (src/nets/gan-tonal.ts):
   * an encoder-side option; the decoder is the same.
   */
  tonalOptimiser(options?: GanTonalOptions): TonalOptimiser;
  /** Mask-generator logits (higher = keep first), same size as the image; for analysis. */
  scores(
    image: Image,
    density: number,
    geometry?: TileGeometry,
    options?: WindowOptions,
  ): Promise<Float32Array>;
  /** One window of either network (what the tiling loops and window worker threads run). */
  runWindow(job: WindowJob): Promise<Float32Array>;
  dispose(): void;
}

export { defaultModelDir, MODELS_DIR } from "./registry.ts";

/**
 * The model card's default mask selection: "threshold" without a card (or without the field); a card that
 * cannot be read, or names an unknown selection, is an error rather than a silent change of masks.
 */
function cardSelection(modelDir: string): SelectionMethod {
  const file = join(modelDir, "card.json");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "threshold";
    throw new MaskcodecError(`Cannot read ${file}: ${(error as Error).message}`, "ERR_MODEL");
  }
  let card: { selection?: unknown };
  try {
    card = JSON.parse(text) as { selection?: unknown };
  } catch (error) {
    throw new MaskcodecError(`${file} is not JSON: ${(error as Error).message}`, "ERR_MODEL");
  }
  const selection = card.selection ?? "threshold";
  if (selection !== "threshold" && selection !== "dither" && selection !== "ordered") {
    throw new MaskcodecError(
      `${file} names an unknown mask selection ${JSON.stringify(selection)} (threshold, dither or ordered)`,
      "ERR_MODEL",
    );
  }
  return selection;
}

/** A window of an image as 3-channel [0, 1] data (grey is replicated), row-major over the window. */
function windowRgb(image: Image, tile: Tile): Float32Array {
  const { width, channels } = image;
  const ww = tile.x1 - tile.x0;
  const out = new Float32Array(ww * (tile.y1 - tile.y0) * 3);
  const data = image.data;
  let o = 0;
  for (let y = tile.y0; y < tile.y1; y++) {
    const from = (y * width + tile.x0) * channels;
    if (channels === 3) {
      for (let i = from; i < from + ww * 3; i++) out[o++] = data[i] / 255;
    } else {
      for (let i = from; i < from + ww; i++) {
        const v = data[i] / 255;
        out[o++] = v;
        out[o++] = v;
        out[o++] = v;
      }
    }
  }
  return out;
}

/** A window of a one-value-per-pixel plane of a width-wide image. */
function windowPlane(data: ArrayLike<number>, width: number, tile: Tile): Float32Array {
  const ww = tile.x1 - tile.x0;
  const out = new Float32Array(ww * (tile.y1 - tile.y0));
  for (let y = tile.y0; y < tile.y1; y++) {
    for (let x = 0; x < ww; x++) out[(y - tile.y0) * ww + x] = data[y * width + tile.x0 + x];
  }
  return out;
}

/** The networks' input side for an image side: padded up to the size multiple. */
function paddedSide(n: number, multiple: number): number {
  return Math.max(multiple, Math.ceil(n / multiple) * multiple);
}

/**
 * Fixed noise maps so that masks and reconstructions are deterministic (same on encoder and decoder): the
 * Rng stream of `seed` laid out row by row over the whole padded image (paddedWidth wide), cut to a padded
 * window whose top-left pixel is (x0, y0). Any tiling thus sees the noise an untiled run sees.
 */
function windowNoise(
  seed: number,
  paddedWidth: number,
  x0: number,
  y0: number,
  pw: number,
  ph: number,
): Float32Array {
  const out = new Float32Array(pw * ph);
  for (let y = 0; y < ph; y++) {
    const row = (y0 + y) * paddedWidth + x0;
    for (let x = 0; x < pw; x++) out[y * pw + x] = Rng.at(seed, row + x);
  }
  return out;
}

/**
 * The analytic mask scores (the refined mask generators' prior) of the whole padded image, as an untiled
 * run computes them from its input: they are made mean-free over the image, so each window must read its
 * part of the global map rather than compute its own.
 */
function analyticPlaneOf(image: Image, multiple: number, density: number): Float32Array {
  const { width: w, height: h, channels } = image;
  const pw = paddedSide(w, multiple);
  const ph = paddedSide(h, multiple);
  const grey = new Float64Array(pw * ph);
  for (let y = 0; y < ph; y++) {
    const sy = reflect(y, h);
    for (let x = 0; x < pw; x++) {
      const p = (sy * w + reflect(x, w)) * channels;
      // the same float32 values and sum as greyOf over the network's [0, 1] RGB input
      let sum = 0;
      for (let c = 0; c < 3; c++) sum += Math.fround(image.data[p + (channels === 3 ? c : 0)] / 255);
      grey[y * pw + x] = sum / 3;
    }
  }
  return analyticScores(grey, pw, ph, density, 1);
}

/**
 * Runs a tensor-backend computation, turning its failures (XNNPACK status errors, wasm out-of-memory,
 * RuntimeError: memory access out of bounds) into one clear MaskcodecError instead of a stack trace. Other
 * errors (bugs) pass through with their stacks.
 */
export async function onBackend<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof MaskcodecError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const backendFailure =
      error instanceof WebAssembly.RuntimeError ||
      error instanceof RangeError ||
      /xnn|memory|alloc|wasm|backend/i.test(message);
    if (!backendFailure) throw error;
    throw new MaskcodecError(
      `The tensor backend failed while ${what}: ${message.split("\n")[0].slice(0, 200)}`,
      "ERR_BACKEND",
    );
  }
}

const MASK_NOISE_SEED = 0x6d61736b;
const GEN_NOISE_SEED = 0x67656e31;

/**
 * Loaded models by folder, backend and the weights file's modification time. Each load uploads the weights
 * as new tensors, so a long-running caller (a sweep, a server) that loaded per image would exhaust the wasm
 * heap; a model changed on disk (a training export) is loaded afresh. `dir` is required: which model serves a
 * density is defaultModelDir's choice, made by the caller who knows the density.
 */
const loadedModels = new Map<string, Promise<GanModel>>();

export function loadGanModel(dir: string, options: { tfBackend?: string } = {}): Promise<GanModel> {
  const modelDir = resolve(dir);
  const backend = options.tfBackend ?? process.env.MASKCODEC_TF_BACKEND ?? "auto";
  let stamp = "missing";
  try {
    stamp = String(statSync(join(modelDir, "model.json")).mtimeMs);
    for (const file of readdirSync(modelDir)) {
      if (file.endsWith(".bin")) stamp += `|${statSync(join(modelDir, file)).mtimeMs}`;
    }
  } catch {
    // a missing folder is reported by the load itself
  }
  const key = `${modelDir}|${backend}|${stamp}`;
  let model = loadedModels.get(key);
  if (!model) {
    // a disposed model leaves the cache (its tensors are gone), so that the next load uploads the weights again
    model = loadGanModelUncached(modelDir, { tfBackend: backend }, () => loadedModels.delete(key));
    loadedModels.set(key, model);
    model.catch(() => loadedModels.delete(key));
  }
  return model;
}

async function loadGanModelUncached(
  modelDir: string,
  options: { tfBackend?: string },
  onDispose: () => void,
): Promise<GanModel> {
  await initBackend(options.tfBackend ?? process.env.MASKCODEC_TF_BACKEND ?? "auto");
  const { json, tensors, weightHash } = await loadWeights(modelDir);
  const meta = json.maskcodec as { id?: string; arch?: ArchOptions; densityRange?: [number, number] };
  const arch: ArchOptions = {
    ...DEFAULT_ARCH,
    pullPush: false,
    leakyBinarisation: false,
    ...(meta.arch ?? {}),
  };
  const densityRange = meta.densityRange ?? [0.01, 0.25];
  const id = basename(modelDir);
  for (const prefix of ["gen/", "mask/"]) {
    if (![...tensors.keys()].some((k) => k.startsWith(prefix))) {
      throw new MaskcodecError(`${modelDir} has no ${prefix.slice(0, -1)} weights`, "ERR_MODEL");
    }
  }
  const weights: WeightsView = tensors;
  const selection = cardSelection(modelDir);
  const multiple = 2 ** Math.max(arch.levels, arch.refiner?.levels ?? 0);
  // the density input is trained on densityRange; outside it we clamp (the exact count still holds)
  const clampDensity = (d: number) => Math.min(densityRange[1], Math.max(densityRange[0], d));

  /** One window of either network, as the tiling loops below and window worker threads run it. */
  async function runWindow(job: WindowJob): Promise<Float32Array> {
    const { width: pw, height: ph } = job;
    const what = job.kind === "inpaint" ? "inpainting" : "choosing the mask";
    return onBackend(what, async () => {
      const t = withArithmetic(job.arithmetic, () =>
        tf.tidy(() => {
          const ft = tf.tensor4d(job.f, [1, ph, pw, 3]);
          const { seed, paddedWidth, x0, y0 } = job.noise;
          const r = tf.tensor4d(windowNoise(seed, paddedWidth, x0, y0, pw, ph), [1, ph, pw, 1]);
          if (job.kind === "scores") {
            const a = job.analytic ? tf.tensor4d(job.analytic, [1, ph, pw, 1]) : undefined;
            return maskGenerator(weights, arch, ft, r, [job.density], undefined, a).z;
          }
          const bt = tf.tensor4d(job.b, [1, ph, pw, 1]);
          const interpolation = job.interpolation
            ? tf.tensor4d(job.interpolation, [1, ph, pw, 3])
            : undefined;
          const window = { interpolation, consume: true };
          return inpaintingGenerator(weights, arch, ft, bt, r, [job.density], undefined, job.stored, window)
            .g;
        }),
      );
      try {
        return (await t.data()) as Float32Array;
      } finally {
        t.dispose();
      }
    });
  }

  /**
   * Runs the windows of `tiles` (made by `jobOf`, handed to `place` with their results): on this thread, or
   * on `threads` worker threads when there are several windows and the backend is wasm (window-pool.ts; the
   * same result either way). At most one window per thread is made at a time, so the windows' inputs never
   * all exist at once.
   */
  async function runWindows(
    tiles: Tile[],
    threads: number,
    jobOf: (tile: Tile) => WindowJob,
    place: (tile: Tile, values: Float32Array, job: WindowJob) => void,
  ): Promise<void> {
    const parallel = Math.min(threads, tiles.length);
    if (parallel <= 1 || tf.getBackend() !== "wasm") {
      for (const tile of tiles) {
        const job = jobOf(tile);
        place(tile, await runWindow(job), job);
      }
      return;
    }
    const pool = await WindowPool.start(modelDir, parallel);
    try {
      let next = 0;
      const lane = async () => {
        while (next < tiles.length) {
          const tile = tiles[next++];
          const job = jobOf(tile);
          const { width, height } = job;
          place(tile, await pool.run(job), { ...job, width, height });
        }
      };
      await Promise.all(Array.from({ length: parallel }, lane));
    } finally {
      await pool.close();
    }
  }

  async function scores(
    image: Image,
    density: number,
    geometry: TileGeometry = ENCODER_TILING,
    options: WindowOptions = {},
  ): Promise<Float32Array> {
    checkGeometry(geometry, multiple);
    const { width: w, height: h } = image;
    const d = clampDensity(density);
    const paddedWidth = paddedSide(w, multiple);
    const analytic = arch.analyticMask ? analyticPlaneOf(image, multiple, d) : undefined;
    const out = new Float32Array(w * h);
    await runWindows(
      tileGrid(w, h, geometry),
      options.threads ?? 1,
      (tile) => {
        const f = padReflect(windowRgb(image, tile), tile.x1 - tile.x0, tile.y1 - tile.y0, 3, multiple);
        const { width: pw, height: ph } = f;
        return {
          kind: "scores",
          f: f.data,
          analytic: analytic
            ? windowPlane(analytic, paddedWidth, { ...tile, x1: tile.x0 + pw, y1: tile.y0 + ph })
            : undefined,
          width: pw,
          height: ph,
          noise: { seed: MASK_NOISE_SEED, paddedWidth, x0: tile.x0, y0: tile.y0 },
          density: d,
          arithmetic: options.arithmetic ?? "float32",
        };
      },
      (tile, z, { width: pw }) => {
        for (let y = tile.cy0; y < tile.cy1; y++) {
          const row = (y - tile.y0) * pw - tile.x0;
          out.set(z.subarray(row + tile.cx0, row + tile.cx1), y * w + tile.cx0);
        }
      },
    );
    return out;
  }

  async function inpaintTiled(
    known: Image,
    mask: Mask,
    stored: StoredLevels | undefined,
    geometry: TileGeometry,
    options: WindowOptions,
    consumeKnown: boolean,
  ): Promise<Image> {
    const { width: w, height: h, channels } = known;
    if (mask.width !== w || mask.height !== h) {
      throw new MaskcodecError(
        `mask is ${mask.width}x${mask.height}, image ${w}x${h}`,
        "ERR_INVALID_PARAMETER",
      );
    }
    const density = clampDensity(Math.max(maskDensity(mask), 1e-6));
    const paddedWidth = paddedSide(w, multiple);
    const takesDiffusion = takesDiffusionInput(arch);
    const threads = options.threads ?? 1;
    // The windows' diffusion input is solved here, one window at a time: all channels at once when this thread
    // is the only one (a quarter faster), one at a time while worker threads hold networks' memory beside it
    // (130 MB less for a 1280² window; the same values either way).
    const perChannelPixels = threads > 1 ? DIFFUSION_INPUT_PER_CHANNEL_PIXELS : undefined;
    // Writing into `known` changes no window's result: its unknown pixels are read by nothing (the networks
    // see b · f, the solver only the known pixels), and its known pixels stay as they are (Eq. (1)).
    const out = consumeKnown ? known : createImage(w, h, channels);
    await runWindows(
      tileGrid(w, h, geometry),
      threads,
      (tile) => {
        const ww = tile.x1 - tile.x0;
        const wh = tile.y1 - tile.y0;
        const f = padReflect(windowRgb(known, tile), ww, wh, 3, multiple);
        const b = padReflect(windowPlane(mask.data, w, tile), ww, wh, 1, multiple);
        return {
          kind: "inpaint",
          f: f.data,
          b: b.data,
          width: f.width,
          height: f.height,
          noise: { seed: GEN_NOISE_SEED, paddedWidth, x0: tile.x0, y0: tile.y0 },
          density,
          stored,
          arithmetic: options.arithmetic ?? "float32",
          interpolation: takesDiffusion
            ? diffusionInput(
                f.data,
                b.data,
                f.width,
                f.height,
                3,
                options.diffusionTolerance?.(f.width * f.height),
                perChannelPixels,
                options.diffusionArithmetic,
              )
            : undefined,
        };
      },
      (tile, g, { width: pw }) => {
        for (let y = tile.cy0; y < tile.cy1; y++) {
          for (let x = tile.cx0; x < tile.cx1; x++) {
            const p = y * w + x;
            const q = ((y - tile.y0) * pw + x - tile.x0) * 3;
            if (mask.data[p]) {
              // Eq. (1): known pixels are kept exactly
              if (!consumeKnown) {
                for (let c = 0; c < channels; c++) out.data[p * channels + c] = known.data[p * channels + c];
              }
            } else if (channels === 3) {
              out.data[p * 3] = g[q] * 255;
              out.data[p * 3 + 1] = g[q + 1] * 255;
              out.data[p * 3 + 2] = g[q + 2] * 255;
            } else {
              out.data[p] = ((g[q] + g[q + 1] + g[q + 2]) / 3) * 255;
            }
          }
        }
      },
    );
    return out;
  }

  let trainingWeights: Map<string, tf.Variable> | undefined;
  const model: GanModel = {
    id,
    dir: modelDir,
    weightHash,
    densityRange,
    arch,
    scores,
    runWindow,
    selection,
    selector(
      method: SelectionMethod = selection,
      geometry: TileGeometry = ENCODER_TILING,
      options: WindowOptions = {},
    ): MaskSelector {
      if (method !== "threshold" && method !== "dither" && method !== "ordered") {
        throw new MaskcodecError(
          `Unknown gan mask selection ${JSON.stringify(method)}`,
          "ERR_INVALID_PARAMETER",
        );
      }
      return {
        id: "gan",
        async select(image: Image, density: number): Promise<Mask> {
          const s = await scores(image, density, geometry, options);
          const count = targetCount(s.length, density);
          const data =
            method === "dither"
              ? ditherScores(s, image.width, image.height, count)
              : method === "ordered"
                ? orderedDither(s, image.width, image.height, count)
                : topCountMask(s, s.length, count);
          return createMask(image.width, image.height, data);
        },
      };
    },
    inpainter(geometry: TileGeometry = DECODER_TILING, options: WindowOptions = {}): Inpainter {
      checkGeometry(geometry, multiple);
      return {
        id: `gan:${id}`,
        async inpaint(known: Image, mask: Mask, stored?: StoredLevels, how?: InpaintOptions): Promise<Image> {
          return inpaintTiled(known, mask, stored, geometry, options, how?.consumeKnown === true);
        },
      };
    },
    tonalOptimiser(tonalOptions?: GanTonalOptions): TonalOptimiser {
      // the networks' training path (tf.Variables): its ops have gradients to the inputs on every backend
      // (wasm's own MaxPoolGrad is wrong, see maxPool2); the variables are not trained
      trainingWeights ??= new Map([...tensors].map(([k, t]) => [k, tf.variable(t, false)]));
      const view: WeightsView = trainingWeights;
      return ganTonalOptimiser(
        {
          multiple,
          forward(pw, ph, density, stored) {
            const r = tf.tensor4d(windowNoise(GEN_NOISE_SEED, pw, 0, 0, pw, ph), [1, ph, pw, 1]);
            return {
              run: (values, mask) =>
                inpaintingGenerator(view, arch, values, mask, r, [clampDensity(density)], undefined, stored)
                  .u,
              dispose: () => r.dispose(),
            };
          },
        },
        tonalOptions,
      );
    },
    dispose() {
      onDispose();
      for (const t of tensors.values()) t.dispose();
      for (const t of trainingWeights?.values() ?? []) t.dispose();
    },
  };
  return model;
}
