import type { Channels, Image, Mask } from "../image/types.ts";

/**
 * The contract of the .mgc container, shared by the codec core (which writes and parses it), the CLI and
 * the rate–distortion toolkit. The core never imports tfjs: backends are named here, resolved elsewhere.
 */

/**
 * The format's enums, in one place: a stream stores a backend and a colour transform as their index in these
 * lists (stream.ts), so entries are only ever appended, never reordered.
 */
export const BACKEND_CODES = ["diffusion", "gan"] as const;
export const COLOUR_CODES = ["none", "ycbcr"] as const;

export type BackendId = (typeof BACKEND_CODES)[number];

/** How colour samples are transformed before quantisation. "none" = stored as given (RGB or grey). */
export type ColourTransform = (typeof COLOUR_CODES)[number];

export interface QuantiserParams {
  /** Number of uniform levels over [0, 255] for luma (or every channel when colour = "none"), 2..256. */
  lumaLevels: number;
  /** Same for the two chroma channels when colour = "ycbcr"; ignored otherwise. */
  chromaLevels: number;
}

export interface StreamHeader {
  /** Format version of the stream (the codec writes its current one; unknown ones are refused). */
  version: number;
  width: number;
  height: number;
  channels: Channels;
  colour: ColourTransform;
  backend: BackendId;
  /** For "gan": the model's id (folder name under models/) and a hex hash of its weights. */
  modelId?: string;
  weightHash?: string;
  quantiser: QuantiserParams;
}

/** What the encoder hands the stream writer: the header, the mask, and the values to store at the mask. */
export interface StreamContent {
  header: StreamHeader;
  mask: Mask;
  /** Values at mask positions on the 0–255 scale, RGB/grey (the writer applies colour transform + quantiser). */
  values: Image;
}

/** Sizes of the parts of a written stream, in bytes (sum = total file size). */
export interface StreamSizes {
  total: number;
  header: number;
  mask: number;
  values: number;
  /** CRC and any framing. */
  other: number;
}

/** What the parser returns: the header, the mask, and the dequantised known values (0 off the mask). */
export interface DecodedStream {
  header: StreamHeader;
  mask: Mask;
  known: Image;
  sizes: StreamSizes;
}
