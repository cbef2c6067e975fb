import type { StoredLevels } from "../image/seams.ts";
import type { Channels } from "../image/types.ts";
import type { ColourTransform, QuantiserParams } from "./types.ts";

/**
 * Uniform scalar quantiser over [0, 255] with `levels` reconstruction points 0, 255/(L-1), …, 255
 * (both ends included, so black and white survive every setting; L = 256 is the identity on integers).
 */

export const MIN_LEVELS = 2;
export const MAX_LEVELS = 256;

/** Index of the nearest level (values are clamped to [0, 255]; NaN counts as 0). */
export function quantise(value: number, levels: number): number {
  const v = value > 0 ? Math.min(value, 255) : 0;
  return Math.round((v * (levels - 1)) / 255);
}

/** The value of level `index`. */
export function dequantise(index: number, levels: number): number {
  return (index * 255) / (levels - 1);
}

/** Levels used for channel c of a stream: luma levels for channel 0 and for everything when colour = "none". */
export function channelLevels(
  quantiser: QuantiserParams,
  colour: ColourTransform,
  channels: Channels,
): number[] {
  const out: number[] = [];
  for (let c = 0; c < channels; c++) {
    out.push(colour === "ycbcr" && c > 0 ? quantiser.chromaLevels : quantiser.lumaLevels);
  }
  return out;
}

/**
 * What an inpainter is told about the values of a stream (StoredLevels): the luma and chroma level counts;
 * without a colour transform every channel has the luma levels.
 */
export function storedLevels(quantiser: QuantiserParams, colour: ColourTransform): StoredLevels {
  return {
    luma: quantiser.lumaLevels,
    chroma: colour === "ycbcr" ? quantiser.chromaLevels : quantiser.lumaLevels,
  };
}
