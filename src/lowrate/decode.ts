/**
 * Decoding a version-2 (tree mode) stream through the Inpainter seam, so that the codec core's decodeBytes
 * can handle it without importing a backend: the parsed stream becomes one inpainting job per plane (its
 * group's points and dequantised values), and the inpainted planes become the image.
 */
import type { DecodeResult } from "../codec/codec.ts";
import type { StreamHeader } from "../codec/types.ts";
import type { Inpainter } from "../image/seams.ts";
import { createImage, createMask, type Image, type Mask } from "../image/types.ts";
import { fromPlanes } from "./planes.ts";
import { type ParsedGroup, type ParsedLowrate, parseLowrate, rangeDequantise } from "./stream.ts";

export interface PlaneJob {
  /** Dequantised values at the mask's points, 0 elsewhere; one channel. */
  known: Image;
  mask: Mask;
}

function* groupJobs(width: number, height: number, g: ParsedGroup, planes: number): Generator<PlaneJob> {
  const mask = createMask(width, height, g.mask);
  for (let p = 0; p < planes; p++) {
    const known = createImage(width, height, 1);
    const [lo, hi] = g.ranges[p];
    let j = 0;
    for (let i = 0; i < g.mask.length; i++) {
      if (!g.mask[i]) continue;
      known.data[i] = rangeDequantise(g.indices[j * planes + p], g.levels, lo, hi);
      j++;
    }
    yield { known, mask };
  }
}

/**
 * The planes to inpaint, in order: Y (or grey), then Cb and Cr; each made when asked for, so that a decoder
 * holds one plane's known values at a time (48 MB each at 12 MP).
 */
export function* inpaintingJobs(parsed: ParsedLowrate): Generator<PlaneJob> {
  yield* groupJobs(parsed.width, parsed.height, parsed.luma, 1);
  if (parsed.chroma) yield* groupJobs(parsed.width, parsed.height, parsed.chroma, 2);
}

/** The image from its inpainted planes. */
export function assemblePlanes(parsed: ParsedLowrate, planes: readonly Image[]): Image {
  return fromPlanes(planes, parsed.channels);
}

/** Version-2 header fields in the shape of a version-1 header, for the CLI and the eval toolkit. */
export function lowrateHeader(parsed: ParsedLowrate): StreamHeader {
  return {
    version: parsed.version,
    width: parsed.width,
    height: parsed.height,
    channels: parsed.channels,
    colour: parsed.channels === 3 ? "ycbcr" : "none",
    backend: "diffusion",
    quantiser: { lumaLevels: parsed.luma.levels, chromaLevels: parsed.chroma?.levels ?? parsed.luma.levels },
  };
}

/**
 * decodeBytes' answer for a version-2 stream: the image, a version-1-shaped header, the luma points as the
 * mask, and the sizes (trees and values share one range-coded payload, reported as the values).
 */
export async function decodeLowrateWith(
  bytes: Uint8Array,
  inpainterFor: (header: StreamHeader) => Promise<Inpainter>,
  options: { maxPixels?: number } = {},
): Promise<DecodeResult> {
  const parsed = parseLowrate(bytes, options);
  const header = lowrateHeader(parsed);
  const inpainter = await inpainterFor(header);
  const planes: Image[] = [];
  for (const job of inpaintingJobs(parsed)) planes.push(await inpainter.inpaint(job.known, job.mask));
  return {
    image: assemblePlanes(parsed, planes),
    header,
    mask: createMask(parsed.width, parsed.height, parsed.luma.mask),
    sizes: {
      total: parsed.sizes.total,
      header: parsed.sizes.header,
      mask: 0,
      values: parsed.sizes.payload,
      other: 4,
    },
  };
}
