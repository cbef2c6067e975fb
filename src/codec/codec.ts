import { invalidParameter } from "../errors.ts";
import type { Inpainter, MaskSelector, TonalOptimiser } from "../image/seams.ts";
import type { Image, Mask } from "../image/types.ts";
import { decodeLowrateWith } from "../lowrate/decode.ts";
import { isLowrateStream } from "../lowrate/stream.ts";
import { storedLevels } from "./quantiser.ts";
import { FORMAT_VERSION, parseStream, quantiseValues, writeStream } from "./stream.ts";
import type { BackendId, ColourTransform, QuantiserParams, StreamHeader, StreamSizes } from "./types.ts";

/**
 * The codec end to end, independent of any backend: the encoder chooses a mask through a MaskSelector,
 * optionally lets a TonalOptimiser choose the stored values, and writes the .mgc bytes; the decoder parses
 * them and asks the caller for the Inpainter the header names.
 */

export interface EncodeOptions {
  selector: MaskSelector;
  /**
   * In (0, 1], validated by the callers' front doors (src/api.ts resolveEncodeOptions, the rd toolkit's
   * planPoints); passed on to the selector as it is.
   */
  density: number;
  backend: BackendId;
  modelId?: string;
  weightHash?: string;
  /** Default: "ycbcr" for colour images, "none" for grey. */
  colour?: ColourTransform;
  /** Default: defaultQuantiser(colour). */
  quantiser?: QuantiserParams;
  tonal?: TonalOptimiser;
}

export interface EncodeResult {
  bytes: Uint8Array;
  sizes: StreamSizes;
  header: StreamHeader;
  mask: Mask;
  /** The dequantised known values exactly as the decoder will see them (0 off the mask). */
  known: Image;
}

export interface DecodeResult {
  image: Image;
  header: StreamHeader;
  mask: Mask;
  sizes: StreamSizes;
}

/**
 * Default quantiser levels: 16 for luma and 16 for chroma (and 16 for every channel without a colour
 * transform). Measured (docs/notes/codec.md, `npm run bench -- mask-coding --levels`): at equal bpp, with
 * diffusion inpainting and random, grid or PS masks on Kodak, 16/16 gave the highest PSNR of the pairs
 * 8/8 … 256/256 (e.g. +0.5 dB over 32/32 and +1 dB over 64/32 with PS masks): the inpainting error dominates,
 * so bits are better spent on more known pixels than on finer values; chroma below 16 levels costs more than
 * it saves.
 */
export function defaultQuantiser(_colour: ColourTransform): QuantiserParams {
  // the same 16/16 with and without a colour transform (measured best for both); the colour stays a parameter
  // so that callers ask for the quantiser of their transform and a future split needs no call-site change
  return { lumaLevels: 16, chromaLevels: 16 };
}

/** The colour transform an image gets when none is asked for: YCbCr for colour, none for grey. */
export function defaultColour(channels: number): ColourTransform {
  return channels === 3 ? "ycbcr" : "none";
}

export async function encodeImage(image: Image, options: EncodeOptions): Promise<EncodeResult> {
  if (!image || (image.channels !== 1 && image.channels !== 3)) {
    throw invalidParameter("image", "an image with 1 or 3 channels", image?.channels);
  }
  const colour = options.colour ?? defaultColour(image.channels);
  if (colour === "ycbcr" && image.channels !== 3) {
    throw invalidParameter("colour", 'colour "none" for a grey image', colour);
  }
  const header: StreamHeader = {
    version: FORMAT_VERSION,
    width: image.width,
    height: image.height,
    channels: image.channels,
    colour,
    backend: options.backend,
    quantiser: { ...(options.quantiser ?? defaultQuantiser(colour)) },
  };
  if (options.modelId !== undefined) header.modelId = options.modelId;
  if (options.weightHash !== undefined) header.weightHash = options.weightHash;

  const mask = await options.selector.select(image, options.density);
  const values = options.tonal
    ? await options.tonal.optimise(
        image,
        mask,
        (v) => quantiseValues(header, mask, v),
        storedLevels(header.quantiser, header.colour),
      )
    : image;
  const { bytes, sizes } = writeStream({ header, mask, values });
  const known = quantiseValues(header, mask, values);
  return { bytes, sizes, header, mask, known };
}

export async function decodeBytes(
  bytes: Uint8Array,
  inpainterFor: (header: StreamHeader) => Promise<Inpainter>,
  options: { maxPixels?: number } = {},
): Promise<DecodeResult> {
  // Version 2 (tree mode: subdivision trees, one inpainting per plane) has its own parser.
  if (isLowrateStream(bytes)) return decodeLowrateWith(bytes, inpainterFor, options);
  const { header, mask, known, sizes } = parseStream(bytes, options);
  const inpainter = await inpainterFor(header);
  // known is the parser's and used by nothing after: the inpainter may write the image into it
  const image = await inpainter.inpaint(known, mask, storedLevels(header.quantiser, header.colour), {
    consumeKnown: true,
  });
  return { image, header, mask, sizes };
}
