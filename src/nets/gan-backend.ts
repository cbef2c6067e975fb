import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { checkDensity, MaskcodecError } from "../errors.ts";
import type { Inpainter, MaskSelector, StoredLevels, TonalOptimiser } from "../image/seams.ts";
import { createImage, createMask, type Image, type Mask, maskDensity, targetCount } from "../image/types.ts";
import { ditherScores } from "../mask/dither.ts";
import { orderedDither } from "../mask/ordered-dither.ts";
import { topCountMask } from "../mask/topk.ts";
import { initBackend } from "./backend.ts";
import { type GanTonalOptions, ganTonalOptimiser } from "./gan-tonal.ts";
import {
  type ArchOptions,
  DEFAULT_ARCH,
  inpaintingGenerator,
  maskGenerator,
  type WeightsView,
} from "./models.ts";
import { Rng } from "./ops.ts";
import { padReflect } from "./padding.ts";
import { loadWeights } from "./weights.ts";

export { padReflect } from "./padding.ts";

export type SelectionMethod = "threshold" | "dither" | "ordered";

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
   * default is the model card's `selection` (else "threshold").
   */
  selector(method?: SelectionMethod): MaskSelector;
  readonly selection: SelectionMethod;
  inpainter(): Inpainter;
  /**
   * Tonal optimisation of the stored values through this model's inpainting generator (src/nets/gan-tonal.ts):
   * an encoder-side option; the decoder is the same.
   */
  tonalOptimiser(options?: GanTonalOptions): TonalOptimiser;
  /** Mask-generator logits (higher = keep first), same size as the image; for analysis. */
  scores(image: Image, density: number): Promise<Float32Array>;
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

/** Image -> 3-channel [0, 1] data (grey is replicated). */
function toRgbUnit(image: Image): Float32Array {
  const n = image.width * image.height;
  const out = new Float32Array(n * 3);
  if (image.channels === 3) {
    for (let i = 0; i < n * 3; i++) out[i] = image.data[i] / 255;
  } else {
    for (let i = 0; i < n; i++) {
      const v = image.data[i] / 255;
      out[3 * i] = v;
      out[3 * i + 1] = v;
      out[3 * i + 2] = v;
    }
  }
  return out;
}

/** Fixed noise maps so that masks and reconstructions are deterministic (same on encoder and decoder). */
function noise(seed: number, n: number): Float32Array {
  return new Rng(seed).fill(new Float32Array(n));
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

  async function scores(image: Image, density: number): Promise<Float32Array> {
    checkDensity(density);
    const { width: w, height: h } = image;
    const padded = padReflect(toRgbUnit(image), w, h, 3, multiple);
    const { width: pw, height: ph } = padded;
    const z = tf.tidy(() => {
      const f = tf.tensor4d(padded.data, [1, ph, pw, 3]);
      const r = tf.tensor4d(noise(MASK_NOISE_SEED, pw * ph), [1, ph, pw, 1]);
      return maskGenerator(weights, arch, f, r, [clampDensity(density)]).z;
    });
    const full = (await z.data()) as Float32Array;
    z.dispose();
    const out = new Float32Array(w * h);
    for (let y = 0; y < h; y++) out.set(full.subarray(y * pw, y * pw + w), y * w);
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
    selection,
    selector(method: SelectionMethod = selection): MaskSelector {
      if (method !== "threshold" && method !== "dither" && method !== "ordered") {
        throw new MaskcodecError(
          `Unknown gan mask selection ${JSON.stringify(method)}`,
          "ERR_INVALID_PARAMETER",
        );
      }
      return {
        id: "gan",
        async select(image: Image, density: number): Promise<Mask> {
          const s = await scores(image, density);
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
    inpainter(): Inpainter {
      return {
        id: `gan:${id}`,
        async inpaint(known: Image, mask: Mask, stored?: StoredLevels): Promise<Image> {
          const { width: w, height: h, channels } = known;
          if (mask.width !== w || mask.height !== h) {
            throw new MaskcodecError(
              `mask is ${mask.width}x${mask.height}, image ${w}x${h}`,
              "ERR_INVALID_PARAMETER",
            );
          }
          const f = padReflect(toRgbUnit(known), w, h, 3, multiple);
          const b = padReflect(mask.data, w, h, 1, multiple);
          const { width: pw, height: ph } = f;
          const density = Math.max(maskDensity(mask), 1e-6);
          const g = tf.tidy(() => {
            const ft = tf.tensor4d(f.data, [1, ph, pw, 3]);
            const bt = tf.tensor4d(b.data, [1, ph, pw, 1]);
            const r = tf.tensor4d(noise(GEN_NOISE_SEED, pw * ph), [1, ph, pw, 1]);
            return inpaintingGenerator(weights, arch, ft, bt, r, [clampDensity(density)], undefined, stored)
              .g;
          });
          const gData = (await g.data()) as Float32Array;
          g.dispose();
          const out = createImage(w, h, channels);
          for (let y = 0; y < h; y++) {
            for (let x = 0; x < w; x++) {
              const p = y * w + x;
              const q = (y * pw + x) * 3;
              if (mask.data[p]) {
                // Eq. (1): known pixels are kept exactly
                for (let c = 0; c < channels; c++) out.data[p * channels + c] = known.data[p * channels + c];
              } else if (channels === 3) {
                out.data[p * 3] = gData[q] * 255;
                out.data[p * 3 + 1] = gData[q + 1] * 255;
                out.data[p * 3 + 2] = gData[q + 2] * 255;
              } else {
                out.data[p] = ((gData[q] + gData[q + 1] + gData[q + 2]) / 3) * 255;
              }
            }
          }
          return out;
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
            const r = tf.tensor4d(noise(GEN_NOISE_SEED, pw * ph), [1, ph, pw, 1]);
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
