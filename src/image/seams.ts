import type { Image, Mask } from "./types.ts";

/**
 * The two seams the design hangs on (see README, Architecture). The codec core depends on these only;
 * src/baselines and src/nets implement them; src/cli and src/eval wire them together.
 */

/** Chooses which pixels to keep. Must return exactly targetCount(width*height, density) known pixels. */
export interface MaskSelector {
  /** Stable id used on the command line and in results, e.g. "grid", "random", "ps", "ps+nlpe", "gan". */
  readonly id: string;
  /**
   * `density` is in (0, 1]: the front doors check it (src/api.ts resolveEncodeOptions, the rd toolkit's
   * planPoints), so selectors take it as it is.
   */
  select(image: Image, density: number): Promise<Mask>;
}

/**
 * How the known values were stored: the level counts of the codec's quantiser for luma and chroma (for a
 * stream without a colour transform both are its one level count). An inpainter may use it to undo some
 * of the quantisation error (a gan model with a quantised refiner does); absent: exact values.
 */
export interface StoredLevels {
  luma: number;
  chroma: number;
}

/**
 * Reconstructs an image from its known pixels. `known` holds valid samples where mask = 1 (anything
 * elsewhere); the result must equal `known` exactly on the mask (Eq. 1 of the paper).
 */
export interface Inpainter {
  /** Stable id, e.g. "diffusion", or "gan:<model-id>". */
  readonly id: string;
  inpaint(known: Image, mask: Mask, stored?: StoredLevels, options?: InpaintOptions): Promise<Image>;
}

export interface InpaintOptions {
  /**
   * The caller has no further use for `known`: the inpainter may write the result into its buffer and return
   * it (the decoder: a 12 MP photo's second float image, 144 MB, never exists). Default false.
   */
  consumeKnown?: boolean;
}

/**
 * Optional hook for backends that choose the stored values too (tonal optimisation for diffusion):
 * given the mask and the original, return the values to store at mask positions (same layout as Image).
 */
export interface TonalOptimiser {
  /**
   * `quantise`, when given, maps values to what the decoder will receive (the stream's quantisation, 0-255
   * scale, meaningful at mask pixels): an optimiser may use it to optimise for the quantised values.
   * `stored` is what the decoder's inpainter will be told about them (Inpainter.inpaint).
   */
  optimise(
    image: Image,
    mask: Mask,
    quantise?: (values: Image) => Image,
    stored?: StoredLevels,
  ): Promise<Image>;
}
