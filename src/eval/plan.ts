import { MASK_SELECTORS } from "../backends.ts";
import { DEFAULT_SWEEP_DIFFUSION_MASKS } from "../defaults.ts";
import { checkDensity, invalidParameter } from "../errors.ts";
import {
  type CodecConfig,
  type CodecName,
  isMaskCodec,
  isReferenceCodec,
  QUALITY_RANGE,
  type ReferenceCodecName,
  TREE_CODEC,
} from "./codecs.ts";
import type { SweepPoint } from "./sweep.ts";

/** The default parameter grids of a sweep, and the expansion of the rd options into sweep points. */

/** Quality settings per reference codec: spread so the curves span about 0.1 to 2 bpp on photographs. */
export const DEFAULT_QUALITIES: Record<ReferenceCodecName, number[]> = {
  jpeg: [2, 5, 10, 15, 20, 30, 40, 50, 60, 75, 90],
  webp: [1, 5, 10, 20, 30, 40, 50, 60, 75, 90],
  avif: [1, 5, 10, 20, 30, 40, 50, 60, 75, 90],
};

export const DEFAULT_DENSITIES = [0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3];
/** Target rates (bpp) of the tree mode's rate control. */
export const DEFAULT_TARGETS = [0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.35, 0.5];
export const DEFAULT_DIFFUSION_MASKS: readonly string[] = DEFAULT_SWEEP_DIFFUSION_MASKS;

export interface PlanOptions {
  codecs: CodecName[];
  densities?: number[];
  /** Quantiser levels; undefined = the codec's default quantiser. */
  levels?: number[];
  /** Mask selectors: "NAME" applies to diffusion, "BACKEND:NAME" to that backend. */
  masks?: string[];
  qualities?: number[];
  /** Target rates (bpp) for the tree mode. */
  targets?: number[];
  /** Also sweep diffusion and gan with tonal optimisation of the stored values (in addition to without). */
  tonal?: boolean;
  seed?: number;
}

const SELECTORS: readonly string[] = MASK_SELECTORS;

/** Mask selectors per mask codec backend. gan defaults to its own mask network. */
export function masksFor(backend: "diffusion" | "gan", masks: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const entry of masks ?? []) {
    const [a, b] = entry.includes(":") ? entry.split(":", 2) : ["diffusion", entry];
    if (!isMaskCodec(a) || !SELECTORS.includes(b)) {
      throw invalidParameter(
        "masks",
        `entries NAME or BACKEND:NAME with NAME one of ${SELECTORS.join(", ")}`,
        entry,
      );
    }
    if (a === backend) out.push(b);
  }
  if (out.length === 0) return backend === "gan" ? ["gan"] : [...DEFAULT_DIFFUSION_MASKS];
  return [...new Set(out)];
}

/**
 * The sweep points of the rd options. The rd toolkit's front door for the mask codecs' parameters: runRd is
 * a public entry point, and its densities go from here to the codec (encodeImage) and the model registry
 * (defaultModel) unchecked.
 */
export function planPoints(options: PlanOptions): SweepPoint[] {
  const densities = (options.densities ?? DEFAULT_DENSITIES).map((d) => checkDensity(d, "densities"));
  const points: SweepPoint[] = [];
  for (const codec of options.codecs) {
    if (isReferenceCodec(codec)) {
      const [lo, hi] = QUALITY_RANGE[codec];
      const qualities = options.qualities
        ? options.qualities.filter((q) => q >= lo && q <= hi)
        : DEFAULT_QUALITIES[codec];
      if (qualities.length === 0) {
        throw invalidParameter(
          "qualities",
          `at least one value between ${lo} and ${hi} for ${codec}`,
          "none",
        );
      }
      for (const quality of qualities) points.push({ codec, config: { quality } });
      continue;
    }
    if (codec === TREE_CODEC) {
      for (const bpp of options.targets ?? DEFAULT_TARGETS) points.push({ codec, config: { bpp } });
      continue;
    }
    const backend = codec as "diffusion" | "gan";
    const tonalOptions = options.tonal ? [false, true] : [false];
    for (const mask of masksFor(backend, options.masks)) {
      for (const tonal of tonalOptions) {
        for (const levels of options.levels ?? [undefined]) {
          for (const density of densities) {
            const config: Record<string, string | number | boolean> = { mask, density };
            if (levels !== undefined) config.levels = levels;
            if (tonal) config.tonal = true;
            if (options.seed !== undefined && options.seed !== 1) config.seed = options.seed;
            points.push({ codec, config: config as CodecConfig });
          }
        }
      }
    }
  }
  return points;
}
