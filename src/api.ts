import {
  defaultMaskSelector,
  type EncoderSetup,
  encoderSetup,
  inpainterFor,
  MASK_SELECTORS,
  type MaskSelectorName,
  parseBackend,
  parseMaskSelector,
} from "./backends.ts";
import {
  type DecodeResult,
  decodeBytes,
  defaultColour,
  defaultQuantiser,
  type EncodeResult,
  encodeImage,
} from "./codec/codec.ts";
import { MAX_THREADS } from "./codec/limits.ts";
import { storedLevels } from "./codec/quantiser.ts";
import type { BackendId, ColourTransform, QuantiserParams } from "./codec/types.ts";
import {
  DEFAULT_BACKEND,
  DEFAULT_GAN_TONAL_STEPS,
  DEFAULT_MASK,
  DEFAULT_REFINE_CYCLES,
  DEFAULT_SEED,
} from "./defaults.ts";
import { checkDensity, checkInteger, invalidParameter, MaskcodecError } from "./errors.ts";
import type { InpaintOptions } from "./image/seams.ts";
import type { Image } from "./image/types.ts";
import type { Progress } from "./util/progress.ts";

/**
 * The library's front door: `encode` and `decode` with typed options. Options are validated here, once,
 * before any work, and every default lives in ENCODE_DEFAULTS (the CLI and the rd toolkit read the same
 * ones). Below this layer the codec trusts what it is given.
 */

export type { BackendId, ColourTransform, MaskSelectorName, QuantiserParams };

export interface EncodeOptions {
  /** Fraction of the pixels kept, in (0, 1]; exactly round(D · pixels) of them (at least one). */
  density: number;
  /** "gan" (mask and inpainting networks) or "diffusion". */
  backend?: BackendId;
  /**
   * Mask selector; default: "gan" for the gan backend; for diffusion "ps" up to 512×512 pixels and "analytic"
   * above (defaultMaskSelector).
   */
  mask?: MaskSelectorName;
  /** Cycles of non-local pixel exchange applied to the selector's mask (0: none). */
  refine?: number;
  /** Quantiser levels of luma (or every channel without a colour transform), 2..256. */
  levels?: number;
  /** Quantiser levels of chroma, 2..256; default: `levels` when given, else the codec's default. */
  chromaLevels?: number;
  /** Default: "ycbcr" for colour images, "none" for grey. */
  colour?: ColourTransform;
  /** Store optimised values instead of the originals (the decoder is unchanged). */
  tonal?: boolean;
  /** gan with `tonal`: optimisation steps. */
  tonalSteps?: number;
  /** Seed of every random choice (random masks, PS, NLPE). */
  seed?: number;
  /** gan model folder; default: the registered model for the density (models/registry.json). */
  model?: string;
  /**
   * Worker threads for the networks' windows of an image of several windows (default 1; Node only): the
   * stream is the same for any number.
   */
  threads?: number;
  /** Progress of long work (PS, NLPE, tonal optimisation). */
  onProgress?: Progress;
}

/** Every encoder default (src/defaults.ts, and the codec's colour and quantiser defaults), as one object. */
export const ENCODE_DEFAULTS = {
  backend: DEFAULT_BACKEND,
  mask: DEFAULT_MASK,
  refine: DEFAULT_REFINE_CYCLES,
  seed: DEFAULT_SEED,
  tonalSteps: DEFAULT_GAN_TONAL_STEPS,
  /** The colour transform for an image with this many channels. */
  colour: defaultColour,
  /** The quantiser for a colour transform (16/16, measured best at equal rate). */
  quantiser: defaultQuantiser,
} as const;

/** Options with every default that does not depend on the image filled in, all validated. */
export interface ResolvedEncodeOptions {
  density: number;
  backend: BackendId;
  /** As named; absent: the backend's default for the image's size, chosen by encode(). */
  mask?: MaskSelectorName;
  refine: number;
  levels?: number;
  chromaLevels?: number;
  colour?: ColourTransform;
  tonal: boolean;
  tonalSteps?: number;
  seed: number;
  model?: string;
  threads: number;
  onProgress?: Progress;
}

const KNOWN_OPTIONS = new Set([
  "density",
  "backend",
  "mask",
  "refine",
  "levels",
  "chromaLevels",
  "colour",
  "tonal",
  "tonalSteps",
  "seed",
  "model",
  "threads",
  "onProgress",
]);

/** Validates encode options and fills in the defaults; throws a MaskcodecError naming the first bad one. */
export function resolveEncodeOptions(options: EncodeOptions): ResolvedEncodeOptions {
  if (resolved.has(options)) return options as ResolvedEncodeOptions;
  if (typeof options !== "object" || options === null) {
    throw invalidParameter("options", "an object with at least { density }", options);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key))
      throw invalidParameter("options", `one of ${[...KNOWN_OPTIONS].join(", ")}`, key);
  }
  const density = checkDensity(options.density);
  const backend = parseBackend(String(options.backend ?? ENCODE_DEFAULTS.backend));
  const mask = options.mask === undefined ? undefined : parseMaskSelector(String(options.mask));
  const refine = options.refine ?? ENCODE_DEFAULTS.refine;
  if (typeof refine !== "number" || !(refine >= 0 && refine <= 100)) {
    throw invalidParameter("refine", "a number of cycles in [0, 100]", refine);
  }
  const levels = options.levels === undefined ? undefined : checkInteger(options.levels, "levels", 2, 256);
  const chromaLevels =
    options.chromaLevels === undefined
      ? undefined
      : checkInteger(options.chromaLevels, "chroma-levels", 2, 256);
  if (options.colour !== undefined && options.colour !== "ycbcr" && options.colour !== "none") {
    throw invalidParameter("colour", "ycbcr or none", options.colour);
  }
  if (options.tonal !== undefined && typeof options.tonal !== "boolean") {
    throw invalidParameter("tonal", "true or false", options.tonal);
  }
  const tonal = options.tonal ?? false;
  if (options.tonalSteps !== undefined) {
    if (!(tonal && backend === "gan")) {
      throw new MaskcodecError("--tonal-steps needs --tonal with --backend gan", "ERR_INVALID_PARAMETER");
    }
    checkInteger(options.tonalSteps, "tonal-steps", 1, 1000);
  }
  const seed = checkInteger(options.seed ?? ENCODE_DEFAULTS.seed, "seed", 0, 2 ** 31 - 1);
  if (options.model !== undefined && (typeof options.model !== "string" || options.model === "")) {
    throw invalidParameter("model", "a model folder", options.model);
  }
  const threads = checkThreads(options.threads);
  const result: ResolvedEncodeOptions = {
    density,
    backend,
    mask,
    refine,
    levels,
    chromaLevels,
    colour: options.colour,
    tonal,
    tonalSteps: options.tonalSteps,
    seed,
    model: options.model,
    threads,
    onProgress: options.onProgress,
  };
  resolved.add(result);
  return result;
}

/** The number of worker threads for the networks' windows, checked (default 1). */
function checkThreads(threads: unknown): number {
  return threads === undefined ? 1 : checkInteger(threads as number, "threads", 1, MAX_THREADS);
}

/** Option objects resolveEncodeOptions returned: encode() takes them as they are (validated once). */
const resolved = new WeakSet<object>();

export interface Encoded extends EncodeResult {
  /** The options as used, every default filled in. */
  options: ResolvedEncodeOptions & {
    mask: MaskSelectorName;
    colour: ColourTransform;
    quantiser: QuantiserParams;
  };
  /** gan: the model's id, as the stream's header carries it. */
  modelId?: string;
  /**
   * The image a decoder will reconstruct from `bytes` (one inpainting; nothing is re-parsed). With
   * `consumeKnown` the caller is done with `known`: the image may be written into it and returned (at 12 MP a
   * second float image, 144 MB, is not made); `known` then holds the reconstruction.
   */
  reconstruct(options?: InpaintOptions): Promise<Image>;
}

/** Compresses an image into .mgc bytes. */
export async function encode(image: Image, options: EncodeOptions | ResolvedEncodeOptions): Promise<Encoded> {
  const o = resolveEncodeOptions(options);
  if (!image || typeof image !== "object" || !(image.data instanceof Float32Array)) {
    throw invalidParameter("image", "an Image ({ width, height, channels, data: Float32Array })", image);
  }
  if (image.channels !== 1 && image.channels !== 3) {
    throw invalidParameter("image", "an image with 1 or 3 channels", image.channels);
  }
  const mask = o.mask ?? defaultMaskSelector(o.backend, image.width * image.height);
  if (o.tonal && o.backend === "gan") {
    // refused before the model loads: gan tonal optimisation differentiates through the untiled networks
    const { checkGanTonalSize } = await import("./nets/gan-tonal.ts");
    checkGanTonalSize(image.width, image.height);
  }
  const colour = o.colour ?? ENCODE_DEFAULTS.colour(image.channels);
  if (colour === "ycbcr" && image.channels !== 3) {
    throw invalidParameter("colour", 'colour "none" for a grey image', colour);
  }
  const defaults = ENCODE_DEFAULTS.quantiser(colour);
  const quantiser: QuantiserParams = {
    lumaLevels: o.levels ?? defaults.lumaLevels,
    chromaLevels: o.chromaLevels ?? o.levels ?? defaults.chromaLevels,
  };
  const setup: EncoderSetup = await encoderSetup({
    backend: o.backend,
    mask,
    density: o.density,
    seed: o.seed,
    model: o.model,
    tonal: o.tonal,
    tonalSteps: o.tonal && o.backend === "gan" ? (o.tonalSteps ?? ENCODE_DEFAULTS.tonalSteps) : undefined,
    refineCycles: o.refine,
    threads: o.threads,
    onProgress: o.onProgress,
  });
  const encoded = await encodeImage(image, {
    selector: setup.selector,
    density: o.density,
    backend: o.backend,
    modelId: setup.modelId,
    weightHash: setup.weightHash,
    colour,
    quantiser,
    tonal: setup.tonal,
  });
  return {
    ...encoded,
    options: { ...o, mask, colour, quantiser },
    modelId: setup.modelId,
    reconstruct: (how?: InpaintOptions) =>
      setup.inpainter.inpaint(
        encoded.known,
        encoded.mask,
        storedLevels(encoded.header.quantiser, encoded.header.colour),
        how,
      ),
  };
}

export interface DecodeOptions {
  /** gan model folder to decode with, in place of the registered model the header names. */
  model?: string;
  /** Largest image (pixels) the decoder accepts before allocating anything. */
  maxPixels?: number;
  /** Worker threads for the gan decoder's windows (default 1; Node only): the image is the same for any. */
  threads?: number;
}

/** Reconstructs an image from .mgc bytes, with the backend (and model) its header names. */
export async function decode(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodeResult> {
  if (!(bytes instanceof Uint8Array)) throw invalidParameter("bytes", "a Uint8Array", bytes);
  if (options.model !== undefined && (typeof options.model !== "string" || options.model === "")) {
    throw invalidParameter("model", "a model folder", options.model);
  }
  const threads = checkThreads(options.threads);
  return decodeBytes(bytes, (header) => inpainterFor(header, options.model, { threads }), {
    maxPixels: options.maxPixels,
  });
}

/** The mask selectors `encode` accepts. */
export const MASKS: readonly MaskSelectorName[] = MASK_SELECTORS;

export interface RateOptions {
  /** Target file size in bytes: the stream is at most this. Exactly one of `bytes` and `bpp`. */
  bytes?: number;
  /** Target rate in bits per pixel: the stream is at most floor(bpp · pixels / 8) bytes. */
  bpp?: number;
  /** Fix the tree mode's quantiser instead of letting the rate control choose among three. */
  levels?: number;
  chromaLevels?: number;
  /** Progress over the quantisers the rate control tries (minutes for a photo). */
  onProgress?: Progress;
  /**
   * Also return the decoded image (default true). Pass false when only the bytes are wanted: decoding a
   * 12 MP result costs about 15 s and a gigabyte (decode the bytes later, with the original let go).
   */
  decode?: boolean;
  /**
   * Threads for the least squares' windows of an image larger than 768 pixels on a side (default 1; Node
   * only): the stream is the same for any number.
   */
  threads?: number;
}

export interface RateEncoded {
  bytes: Uint8Array;
  /** The byte budget the stream was fitted to. */
  targetBytes: number;
  /** The tree mode's settings the rate control chose (points, levels, root cells). */
  settings: import("./lowrate/codec.ts").LowrateSettings;
  /** The image a decoder will reconstruct from `bytes`; absent with `decode: false`. */
  decoded?: Image;
  /** Known pixels stored for luma (or grey) and for chroma. */
  lumaPoints: number;
  chromaPoints: number;
  /** Streams the rate control wrote: its searches and its final streams (its cost). */
  searchStreams: number;
}

/**
 * Compresses an image into at most a given size, with the tree mode (src/lowrate, docs/lowrate.md): the
 * rate control searches the number of known pixels and the quantiser for the lowest error within the target
 * and lands within 5 % below it when the target is reachable. A target below the smallest possible stream
 * is a MaskcodecError.
 */
export async function encodeToRate(image: Image, options: RateOptions): Promise<RateEncoded> {
  if (!image || typeof image !== "object" || !(image.data instanceof Float32Array)) {
    throw invalidParameter("image", "an Image ({ width, height, channels, data: Float32Array })", image);
  }
  if ((options.bytes === undefined) === (options.bpp === undefined)) {
    throw invalidParameter("rate", "exactly one of bytes and bpp", JSON.stringify(options));
  }
  if (
    options.bpp !== undefined &&
    !(typeof options.bpp === "number" && options.bpp > 0 && options.bpp <= 64)
  ) {
    throw invalidParameter("bpp", "a number of bits per pixel in (0, 64]", options.bpp);
  }
  const pixels = image.width * image.height;
  const targetBytes = options.bytes ?? Math.floor(((options.bpp as number) * pixels) / 8);
  checkInteger(targetBytes, "size", 1, 2 ** 32);
  const { LOWRATE_DEFAULTS, encodeToSize } = await import("./lowrate/rate.ts");
  const lumaLevels =
    options.levels === undefined ? undefined : checkInteger(options.levels, "levels", 2, 256);
  const chromaLevels =
    options.chromaLevels === undefined
      ? lumaLevels
      : checkInteger(options.chromaLevels, "chroma-levels", 2, 256);
  const tuning = {
    ...LOWRATE_DEFAULTS,
    lumaLevels: lumaLevels ?? LOWRATE_DEFAULTS.lumaLevels,
    chromaLevels: chromaLevels ?? LOWRATE_DEFAULTS.chromaLevels,
  };
  // --levels fixes the quantiser; otherwise the rate control chooses one.
  const fixed = lumaLevels !== undefined || chromaLevels !== undefined;
  const { encoded, settings, evaluations } = encodeToSize(image, targetBytes, {
    tuning,
    levels: fixed ? [[tuning.lumaLevels, tuning.chromaLevels] as const] : undefined,
    onProgress: options.onProgress,
    decode: false,
    threads: checkThreads(options.threads),
  });
  // The least squares' threads (if any) gone, with their memory, before the decode (at 12 MP it peaks there)
  // or the caller's next step.
  await (await import("./baselines/tonal-pool.ts")).TonalPool.settled();
  const decoded =
    options.decode === false
      ? undefined
      : (await import("./lowrate/codec.ts")).decodeLowrate(encoded.bytes).image;
  return {
    bytes: encoded.bytes,
    targetBytes,
    settings,
    decoded,
    lumaPoints: encoded.lumaCount,
    chromaPoints: encoded.chromaCount,
    searchStreams: evaluations.plain + evaluations.tonal + evaluations.final,
  };
}
