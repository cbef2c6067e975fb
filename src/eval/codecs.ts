import { BACKEND_CODES, type StreamHeader } from "../codec/types.ts";
import { DEFAULT_SEED } from "../defaults.ts";
import { invalidParameter, MaskcodecError } from "../errors.ts";
import type { StoredLevels } from "../image/seams.ts";
import type { Image, Mask } from "../image/types.ts";

/**
 * Every codec the rate–distortion toolkit measures, behind one small interface (after CompressAI's
 * codec classes): given an image and a configuration, encode to real bytes, decode those bytes, and time
 * both. The sweep measures size and quality from what comes back, never from what a codec claims.
 */

export type ConfigValue = string | number | boolean;
/** One operating point of a codec, e.g. { quality: 50 } or { mask: "random", density: 0.05, levels: 32 }. */
export type CodecConfig = Readonly<Record<string, ConfigValue>>;

export interface CodecRun {
  /** The complete encoded file, exactly as it would be written to disk. */
  bytes: Uint8Array;
  /** The image decoded from `bytes`. */
  decoded: Image;
  encode_s: number;
  decode_s: number;
  /** The known pixels, for the mask codec backends. */
  mask?: Mask;
  /** Codec-specific figures worth keeping (actual density, bytes of mask and values, levels, model id). */
  details?: Record<string, ConfigValue>;
}

export interface EvalCodec {
  /** Name as typed in --codecs: "jpeg", "webp", "avif", "diffusion", "gan", "tree". */
  readonly name: string;
  /** The configuration key swept along one curve ("quality", "density" or the tree mode's target "bpp"). */
  readonly sweepKey: string;
  run(image: Image, config: CodecConfig): Promise<CodecRun>;
}

export const REFERENCE_CODECS = ["jpeg", "webp", "avif"] as const;
/** The mask codecs are the format's backends. */
export const MASK_CODECS = BACKEND_CODES;
/** The tree mode (src/lowrate, format version 2), swept by its rate control's target rate. */
export const TREE_CODEC = "tree";
export const ALL_CODECS = [...MASK_CODECS, TREE_CODEC, ...REFERENCE_CODECS] as const;
export type CodecName = (typeof ALL_CODECS)[number];
export type ReferenceCodecName = (typeof REFERENCE_CODECS)[number];

export function isReferenceCodec(name: string): name is ReferenceCodecName {
  return (REFERENCE_CODECS as readonly string[]).includes(name);
}

export function isMaskCodec(name: string): name is (typeof MASK_CODECS)[number] {
  return (MASK_CODECS as readonly string[]).includes(name);
}

export function parseCodecName(value: string): CodecName {
  if (!(ALL_CODECS as readonly string[]).includes(value)) {
    throw invalidParameter("codec", `one of ${ALL_CODECS.join(", ")}`, value);
  }
  return value as CodecName;
}

/** The configuration key a codec's curves sweep. */
export function sweepKeyFor(name: string): string {
  if (name === TREE_CODEC) return "bpp";
  return isReferenceCodec(name) ? "quality" : "density";
}

/** The range of the quality setting each reference codec accepts (sharp's). */
export const QUALITY_RANGE: Record<ReferenceCodecName, [number, number]> = {
  jpeg: [1, 100],
  webp: [1, 100],
  avif: [1, 100],
};

function seconds(start: number): number {
  return (performance.now() - start) / 1000;
}

/** JPEG (mozjpeg), WebP and AVIF through sharp, at a quality setting. */
export function referenceCodec(name: ReferenceCodecName): EvalCodec {
  return {
    name,
    sweepKey: "quality",
    async run(image, config) {
      const quality = config.quality;
      const [lo, hi] = QUALITY_RANGE[name];
      if (typeof quality !== "number" || !Number.isInteger(quality) || quality < lo || quality > hi) {
        throw invalidParameter(`${name} quality`, `an integer between ${lo} and ${hi}`, quality);
      }
      const { toSharp, decodeImageBuffer } = await import("../image/io.ts");
      const t0 = performance.now();
      let pipeline = toSharp(image);
      if (name === "jpeg") pipeline = pipeline.jpeg({ quality, mozjpeg: true });
      else if (name === "webp") pipeline = pipeline.webp({ quality });
      else pipeline = pipeline.avif({ quality });
      const bytes = new Uint8Array(await pipeline.toBuffer());
      const encode_s = seconds(t0);
      const t1 = performance.now();
      let decoded = await decodeImageBuffer(bytes, { onWarning: () => {} }, name);
      const decode_s = seconds(t1);
      decoded = matchChannels(decoded, image.channels);
      return { bytes, decoded, encode_s, decode_s };
    },
  };
}

/** A decoder may hand back RGB for a grey original (or the reverse); compare like with like. */
function matchChannels(image: Image, channels: 1 | 3): Image {
  if (image.channels === channels) return image;
  const n = image.width * image.height;
  const data = new Float32Array(n * channels);
  if (channels === 1) {
    for (let i = 0; i < n; i++) {
      data[i] = 0.299 * image.data[3 * i] + 0.587 * image.data[3 * i + 1] + 0.114 * image.data[3 * i + 2];
    }
  } else {
    for (let i = 0; i < n; i++) data.fill(image.data[i], 3 * i, 3 * i + 3);
  }
  return { width: image.width, height: image.height, channels, data };
}

/**
 * A mask codec backend ("diffusion" or "gan") through the real codec: encodeImage writes the .mgc bytes,
 * decodeBytes parses them and inpaints with the inpainter the header names. Config keys: mask (selector
 * name), density, levels (quantiser levels for luma and chroma; codec default when absent), tonal
 * (diffusion only), seed. The mask chosen for an image and density is memoised, so sweeping the
 * quantiser levels does not repeat an expensive selection (PS, NLPE).
 */
export function maskCodec(backend: "diffusion" | "gan", options: { model?: string } = {}): EvalCodec {
  const masks = new WeakMap<Image, Map<string, Promise<Mask>>>();
  const tonals = new WeakMap<Mask, Map<string, Promise<Image>>>();
  const setups = new Map<string, Promise<import("../backends.ts").EncoderSetup>>();
  return {
    name: backend,
    sweepKey: "density",
    async run(image, config) {
      const { encoderSetup, parseMaskSelector, inpainterFor, defaultMaskSelector } = await import(
        "../backends.ts"
      );
      const { encodeImage, decodeBytes, defaultQuantiser, defaultColour } = await import("../codec/codec.ts");
      const { maskDensity } = await import("../image/types.ts");
      const density = config.density;
      if (typeof density !== "number") throw invalidParameter("density", "a number in (0, 1]", density);
      const mask = parseMaskSelector(String(config.mask ?? defaultMaskSelector(backend)));
      const tonal = config.tonal === true;
      const seed = typeof config.seed === "number" ? config.seed : DEFAULT_SEED;
      // One setup per (mask, density, seed, tonal) and codec instance: loading a gan model allocates its
      // weights as tensors, and loading it again for every point exhausted the wasm heap in long sweeps.
      const setupKey = JSON.stringify([mask, density, seed, tonal]);
      let pending = setups.get(setupKey);
      if (!pending) {
        pending = encoderSetup({ backend, mask, density, seed, tonal, model: options.model });
        pending.catch(() => setups.delete(setupKey));
        setups.set(setupKey, pending);
      }
      const setup = await pending;

      // Memoise the selection (and the tonal values for a mask) across quantiser settings.
      const selectionKey = JSON.stringify([mask, density, seed, options.model ?? ""]);
      let perImage = masks.get(image);
      if (!perImage) masks.set(image, (perImage = new Map()));
      const memo = perImage;
      const selector = {
        id: setup.selector.id,
        select(img: Image, d: number): Promise<Mask> {
          if (img !== image || d !== density) return setup.selector.select(img, d);
          let selected = memo.get(selectionKey);
          if (!selected) {
            selected = setup.selector.select(img, d);
            selected.catch(() => memo.delete(selectionKey));
            memo.set(selectionKey, selected);
          }
          return selected;
        },
      };

      const colour = defaultColour(image.channels);
      const defaults = defaultQuantiser(colour);
      const levels = config.levels;
      if (levels !== undefined && (typeof levels !== "number" || !Number.isInteger(levels))) {
        throw invalidParameter("levels", "an integer between 2 and 256", levels);
      }
      const quantiser =
        levels === undefined ? defaults : { lumaLevels: levels as number, chromaLevels: levels as number };
      const optimiser = setup.tonal;
      // diffusion's least squares ignore the quantiser, so its values serve every level count; gan's
      // optimiser finishes on the quantised values, so they are kept per quantiser
      const tonalKey = backend === "gan" ? JSON.stringify(quantiser) : "";
      const tonalMemo = optimiser && {
        optimise(
          img: Image,
          m: Mask,
          quantise?: (values: Image) => Image,
          stored?: StoredLevels,
        ): Promise<Image> {
          if (img !== image) return optimiser.optimise(img, m, quantise, stored);
          let byKey = tonals.get(m);
          if (!byKey) tonals.set(m, (byKey = new Map()));
          let values = byKey.get(tonalKey);
          if (!values) byKey.set(tonalKey, (values = optimiser.optimise(img, m, quantise, stored)));
          return values;
        },
      };
      const t0 = performance.now();
      const encoded = await encodeImage(image, {
        selector,
        density,
        backend,
        modelId: setup.modelId,
        weightHash: setup.weightHash,
        colour,
        quantiser,
        tonal: tonalMemo,
      });
      const encode_s = seconds(t0);
      const t1 = performance.now();
      const decoded = await decodeBytes(encoded.bytes, async (header: StreamHeader) =>
        header.backend === backend && header.modelId === setup.modelId
          ? setup.inpainter
          : inpainterFor(header, options.model),
      );
      const decode_s = seconds(t1);
      if (decoded.image.width !== image.width || decoded.image.height !== image.height) {
        throw new MaskcodecError(`${backend} decoded to a different size`, "ERR_EVAL");
      }
      const details: Record<string, ConfigValue> = {
        density_actual: maskDensity(encoded.mask),
        bytes_mask: encoded.sizes.mask,
        bytes_values: encoded.sizes.values,
        luma_levels: quantiser.lumaLevels,
        chroma_levels: quantiser.chromaLevels,
      };
      if (setup.modelId) details.model = setup.modelId;
      if (setup.weightHash) details.weight_hash = setup.weightHash;
      return {
        bytes: encoded.bytes,
        decoded: decoded.image,
        encode_s,
        decode_s,
        mask: encoded.mask,
        details,
      };
    },
  };
}

/**
 * The tree mode through its rate control: encodeToRate fits the stream into the target rate (config key
 * bpp), decodeBytes parses the version 2 stream and inpaints with the inpainter its header names.
 */
export function treeCodec(): EvalCodec {
  return {
    name: TREE_CODEC,
    sweepKey: "bpp",
    async run(image, config) {
      const { encodeToRate } = await import("../api.ts");
      const { inpainterFor } = await import("../backends.ts");
      const { decodeBytes } = await import("../codec/codec.ts");
      const t0 = performance.now();
      const encoded = await encodeToRate(image, { bpp: config.bpp as number });
      const encode_s = seconds(t0);
      const t1 = performance.now();
      const decoded = await decodeBytes(encoded.bytes, (header) => inpainterFor(header));
      const decode_s = seconds(t1);
      const { settings } = encoded;
      if (decoded.image.width !== image.width || decoded.image.height !== image.height) {
        throw new MaskcodecError("tree decoded to a different size", "ERR_EVAL");
      }
      return {
        bytes: encoded.bytes,
        decoded: decoded.image,
        encode_s,
        decode_s,
        mask: decoded.mask,
        details: {
          bytes_target: encoded.targetBytes,
          luma_points: encoded.lumaPoints,
          chroma_points: encoded.chromaPoints,
          luma_levels: settings.lumaLevels,
          chroma_levels: settings.chromaLevels,
          search_streams: encoded.searchStreams,
        },
      };
    },
  };
}

/** The codec registry the sweep uses by default. */
export function createCodec(name: CodecName, options: { model?: string } = {}): EvalCodec {
  if (name === TREE_CODEC) return treeCodec();
  return isReferenceCodec(name) ? referenceCodec(name) : maskCodec(name, options);
}
