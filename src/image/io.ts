import { existsSync, statSync } from "node:fs";
import sharp from "sharp";
import { MAX_PIXELS } from "../codec/limits.ts";
import { MaskcodecError } from "../errors.ts";
import { toBytes } from "./png.ts";
import { type Channels, createImage, type Image } from "./types.ts";

export { encodePng, toBytes, writePng } from "./png.ts";

/**
 * Image input through sharp: PNG, JPEG, WebP, AVIF, TIFF (anything libvips reads); PNG out (png.ts).
 * Inputs become grey (1 channel) or RGB (3); alpha is dropped with a warning, since the codec does not
 * store it, and of an animated or multi-page image only the first frame is read, also with a warning.
 */

/** Largest image we accept, in pixels: the format's limit (also passed to sharp as limitInputPixels). */
export { MAX_PIXELS } from "../codec/limits.ts";

export interface ReadOptions {
  maxPixels?: number;
  /** Called with a human-readable warning (default: print to stderr). */
  onWarning?: (message: string) => void;
}

function defaultWarning(message: string): void {
  process.stderr.write(`maskcodec: warning: ${message}\n`);
}

/** Reads an image file. Every failure a user can cause is a MaskcodecError naming the file. */
export async function readImage(path: string, options: ReadOptions = {}): Promise<Image> {
  if (!existsSync(path)) throw new MaskcodecError(`No such file: ${path}`, "ERR_INPUT_MISSING");
  if (statSync(path).isDirectory())
    throw new MaskcodecError(`Expected an image file but ${path} is a folder`, "ERR_INPUT");
  return decodeWith(sharp(path, sharpInputOptions(options)), path, options);
}

/** Decodes an encoded image (PNG, JPEG, …) held in memory. */
export async function decodeImageBuffer(
  buffer: Uint8Array,
  options: ReadOptions = {},
  label = "input",
): Promise<Image> {
  return decodeWith(sharp(buffer, sharpInputOptions(options)), label, options);
}

function sharpInputOptions(options: ReadOptions): sharp.SharpOptions {
  return { limitInputPixels: options.maxPixels ?? MAX_PIXELS, failOn: "error" };
}

async function decodeWith(input: sharp.Sharp, label: string, options: ReadOptions): Promise<Image> {
  const warn = options.onWarning ?? defaultWarning;
  const maxPixels = options.maxPixels ?? MAX_PIXELS;
  let metadata: sharp.Metadata;
  try {
    metadata = await input.metadata();
  } catch (error) {
    if (/pixel limit/.test(shortReason(error))) {
      throw new MaskcodecError(
        `Image ${label} is too large: over the limit of ${maxPixels} pixels`,
        "ERR_INPUT_SIZE",
      );
    }
    throw new MaskcodecError(`Cannot read ${label} as an image: ${shortReason(error)}`, "ERR_INPUT_FORMAT");
  }
  const width = metadata.autoOrient?.width ?? metadata.width ?? 0;
  const height = metadata.autoOrient?.height ?? metadata.height ?? 0;
  if (width < 1 || height < 1) {
    throw new MaskcodecError(`Image ${label} is empty (${width}×${height})`, "ERR_INPUT_SIZE");
  }
  if (width * height > maxPixels) {
    throw new MaskcodecError(
      `Image ${label} is too large: ${width}×${height} exceeds the limit of ${maxPixels} pixels`,
      "ERR_INPUT_SIZE",
    );
  }
  if (metadata.hasAlpha) warn(`${label} has an alpha channel; it is dropped (the codec stores no alpha)`);
  if ((metadata.pages ?? 1) > 1) {
    // sharp reads the first page unless told otherwise; the codec stores one still image
    warn(`${label} has ${metadata.pages} frames (animated or multi-page); only the first is encoded`);
  }
  const grey = metadata.channels !== undefined && metadata.channels <= 2 && metadata.space !== "cmyk";
  let pipeline = input.autoOrient().removeAlpha();
  pipeline = grey ? pipeline.toColourspace("b-w") : pipeline.toColourspace("srgb");
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    raw = await pipeline.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new MaskcodecError(`Cannot decode ${label}: ${shortReason(error)}`, "ERR_INPUT_FORMAT");
  }
  const channels = raw.info.channels;
  if (channels !== 1 && channels !== 3) {
    throw new MaskcodecError(
      `Image ${label} decoded to ${channels} channels; expected 1 or 3`,
      "ERR_INPUT_FORMAT",
    );
  }
  return createImage(raw.info.width, raw.info.height, channels as Channels, Float32Array.from(raw.data));
}

function shortReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0];
}

/** A sharp pipeline reading the image's 8-bit samples (for encoding to any format). */
export function toSharp(image: Image): sharp.Sharp {
  const pipeline = sharp(toBytes(image), {
    raw: { width: image.width, height: image.height, channels: image.channels },
  });
  // Without this sharp writes one-channel raw data as three-channel sRGB.
  return image.channels === 1 ? pipeline.toColourspace("b-w") : pipeline;
}

/** The centred size×size crop (or w×h), as in the paper's BSDS500 protocol. */
export function centreCrop(image: Image, width: number, height = width): Image {
  const w = Math.min(width, image.width);
  const h = Math.min(height, image.height);
  const x0 = Math.floor((image.width - w) / 2);
  const y0 = Math.floor((image.height - h) / 2);
  return crop(image, x0, y0, w, h);
}

export function crop(image: Image, x0: number, y0: number, width: number, height: number): Image {
  const c = image.channels;
  const out = createImage(width, height, c);
  for (let y = 0; y < height; y++) {
    const from = ((y0 + y) * image.width + x0) * c;
    out.data.set(image.data.subarray(from, from + width * c), y * width * c);
  }
  return out;
}

/** Luma (BT.601) of a colour image; grey images are returned as they are. */
export function toGrey(image: Image): Image {
  if (image.channels === 1) return image;
  const out = createImage(image.width, image.height, 1);
  for (let i = 0, j = 0; i < out.data.length; i++, j += 3) {
    out.data[i] = 0.299 * image.data[j] + 0.587 * image.data[j + 1] + 0.114 * image.data[j + 2];
  }
  return out;
}
