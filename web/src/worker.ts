import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { decode as decodeStream, type EncodeOptions, encode as encodeStream } from "../../src/api.ts";
import type { BackendId } from "../../src/codec/types.ts";
import { MaskcodecError } from "../../src/errors.ts";
import { quality } from "../../src/image/metrics.ts";
import { type Channels, createImage, type Image, maskDensity } from "../../src/image/types.ts";
import type { Progress } from "../../src/util/progress.ts";
import { imageDimensions } from "./image-size.ts";
import { COMPARE_MAX_PIXELS, MAX_PAGE_PIXELS } from "./limits.ts";
import type { Compared, Decoded, Encoded, Preview, Request, Response } from "./protocol.ts";
import { loadedBytes, mountAssets } from "./vfs.ts";

/**
 * The codec in a Web Worker: the library's encode and decode (src/api.ts, as the CLI uses them), with tfjs
 * on its wasm backend and the diffusion solver on its wasm kernels. Images come in and go out through
 * OffscreenCanvas; JPEG and WebP are the browser's own encoders.
 */

const post = (message: Response, transfer: Transferable[] = []) => self.postMessage(message, { transfer });
const here = new URL("./", self.location.href).href;
setWasmPaths(here);
const ready = mountAssets(`${here}fs`).then(
  () => post({ type: "ready", assetBytes: loadedBytes() }),
  (error: unknown) => post({ type: "failed-to-start", message: oneLine(error) }),
);

/** Requests run one after the other, in the order they came. */
let queue: Promise<void> = ready;
self.onmessage = (event: MessageEvent<Request>) => {
  queue = queue.then(() => handle(event.data));
};

async function handle(request: Request): Promise<void> {
  try {
    if (request.type === "encode") {
      const result = await encode(request, progressOf(request.id));
      const bitmaps = [result.original.bitmap, ...result.compared.map((c) => c.picture.bitmap)];
      post(
        { id: request.id, type: "encoded", result },
        transfers(result.decoded, result.mgc.buffer, ...bitmaps),
      );
    } else {
      const start = performance.now();
      const { result } = await decode(new Uint8Array(request.file), start);
      post({ id: request.id, type: "decoded", result }, transfers(result));
    }
  } catch (error) {
    post({ id: request.id, type: "error", message: oneLine(error) });
  }
}

/** Everything a result hands over rather than copies, each once. */
function transfers(decoded: Decoded, ...more: Transferable[]): Transferable[] {
  return [...new Set([decoded.picture.bitmap, decoded.mask, ...more])];
}

/** The message a user sees: a MaskcodecError's as it is, anything else's first line. */
function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0];
}

type Report = (fraction: number, stage: string) => void;

function progressOf(id: number): Report {
  return (fraction, stage) => post({ id, type: "progress", fraction, stage });
}

/** Progress of a long step (PS, NLPE) mapped into [from, to] of the whole. */
function stepProgress(report: Report, from: number, to: number, stage: string): Progress {
  return {
    update(done, total) {
      report(from + (to - from) * (total > 0 ? Math.min(1, done / total) : 0), stage);
    },
    done() {},
  };
}

function checkPixels(width: number, height: number, name: string): void {
  if (width * height > MAX_PAGE_PIXELS) {
    throw new MaskcodecError(
      `Image ${name} is too large for the page: ${width}×${height} is over its limit of ${MAX_PAGE_PIXELS} pixels; use the CLI (maskcodec encode)`,
      "ERR_INPUT_SIZE",
    );
  }
}

async function encode(request: Extract<Request, { type: "encode" }>, report: Report): Promise<Encoded> {
  const bytes = new Uint8Array(request.file);
  const { width, height } = imageDimensions(bytes, request.name);
  checkPixels(width, height, request.name);
  report(0.02, "reading the image");
  const start = performance.now();
  const backend: BackendId = request.backend;
  report(0.05, backend === "gan" ? "loading the networks" : "choosing the mask");
  const mgc = await encodeFile(bytes, request.name, {
    density: request.density,
    backend,
    onProgress: stepProgress(report, 0.05, 0.6, "choosing the mask"),
  });
  const encodeSeconds = (performance.now() - start) / 1000;
  report(0.6, "decoding the stream");
  const decoded = await decode(mgc, performance.now());
  const codec: Compared = {
    label: "maskcodec",
    bytes: mgc.length,
    bpp: (mgc.length * 8) / (width * height),
    psnr: Number.NaN,
    ssim: Number.NaN,
    picture: decoded.result.picture,
    file: new Blob([mgc], { type: "application/octet-stream" }),
  };
  if (width * height > COMPARE_MAX_PIXELS) {
    // the original only as a preview, decoded at that size
    const small = previewSize(width, height);
    const bitmap = await createImageBitmap(new Blob([bytes]), {
      colorSpaceConversion: "none",
      resizeWidth: small.width,
      resizeHeight: small.height,
      resizeQuality: "medium",
    });
    report(1, "done");
    return {
      original: { width, height, bitmap },
      mgc,
      decoded: decoded.result,
      compared: [codec],
      encodeSeconds,
    };
  }
  report(0.8, "JPEG and WebP at the same size");
  const { image, bitmap } = await decodeImageFile(bytes, request.name);
  const original = await preview(bitmap, width, height);
  const canvas = new OffscreenCanvas(width, height);
  context2d(canvas).drawImage(bitmap, 0, 0);
  bitmap.close();
  const figures = quality(image, fromRgba(decoded.rgba, width, height, image.channels));
  const compared: Compared[] = [{ ...codec, psnr: figures.psnr, ssim: figures.ssim }];
  for (const [label, type] of [
    ["JPEG", "image/jpeg"],
    ["WebP", "image/webp"],
  ] as const) {
    compared.push(await atSameSize(canvas, image, mgc.length, label, type));
  }
  report(1, "done");
  return { original, mgc, decoded: decoded.result, compared, encodeSeconds };
}

/**
 * The file's image encoded. Only the stream outlives the call: the image (and the encoder's other,
 * image-sized outputs) are let go before the decoder allocates its own buffers, the tab's peak; the
 * comparison reads the file again.
 */
async function encodeFile(
  bytes: Uint8Array<ArrayBuffer>,
  name: string,
  options: EncodeOptions,
): Promise<Uint8Array<ArrayBuffer>> {
  const { image, bitmap } = await decodeImageFile(bytes, name);
  bitmap.close();
  return (await encodeStream(image, options)).bytes as Uint8Array<ArrayBuffer>;
}

/** The stream decoded as the page shows it, and its 8-bit RGBA (what the PNG holds). */
async function decode(
  bytes: Uint8Array,
  start: number,
): Promise<{ result: Decoded; rgba: Uint8ClampedArray }> {
  const { image, header, mask } = await decodeStream(bytes, { maxPixels: MAX_PAGE_PIXELS });
  const seconds = (performance.now() - start) / 1000;
  const rgba = toRgba(image);
  const { width, height } = header;
  const canvas = new OffscreenCanvas(width, height);
  context2d(canvas).putImageData(new ImageData(rgba, width, height), 0, 0);
  return {
    result: {
      summary: {
        width,
        height,
        channels: header.channels,
        backend: header.backend,
        model: header.modelId,
        density: maskDensity(mask),
        bytes: bytes.length,
      },
      picture: await preview(canvas, width, height),
      mask: await maskOverlay(mask.data, width, height),
      rgbaSha256: await sha256Hex(rgba),
      png: await canvas.convertToBlob({ type: "image/png" }),
      seconds,
    },
    rgba,
  };
}

/** An image file to an Image: grey (one channel) when R = G = B everywhere, as the codec stores it cheaper. */
async function decodeImageFile(
  bytes: Uint8Array<ArrayBuffer>,
  name: string,
): Promise<{ image: Image; bitmap: ImageBitmap }> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes]), {
      colorSpaceConversion: "none",
      premultiplyAlpha: "none",
    });
  } catch {
    throw new MaskcodecError(`Cannot decode ${name}: the browser could not read it`, "ERR_INPUT_FORMAT");
  }
  const rgba = pixelsOf(bitmap);
  const n = bitmap.width * bitmap.height;
  let grey = true;
  for (let i = 0; i < n && grey; i++) {
    grey = rgba[4 * i] === rgba[4 * i + 1] && rgba[4 * i] === rgba[4 * i + 2];
  }
  const channels: Channels = grey ? 1 : 3;
  const image = createImage(bitmap.width, bitmap.height, channels);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels; c++) image.data[i * channels + c] = rgba[4 * i + c];
  }
  return { image, bitmap };
}

function context2d(canvas: OffscreenCanvas): OffscreenCanvasRenderingContext2D {
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (!context) throw new MaskcodecError("The browser gave no 2D canvas", "ERR_BACKEND");
  return context;
}

function pixelsOf(source: ImageBitmap): Uint8ClampedArray<ArrayBuffer> {
  const canvas = new OffscreenCanvas(source.width, source.height);
  const context = context2d(canvas);
  context.drawImage(source, 0, 0);
  return context.getImageData(0, 0, source.width, source.height).data;
}

/** 8-bit RGBA of an Image: samples rounded and clamped as every 8-bit output of the codec (toBytes). */
function toRgba(image: Image): Uint8ClampedArray<ArrayBuffer> {
  const { width, height, channels, data } = image;
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.round(data[i * channels + (channels === 3 ? c : 0)]);
      rgba[4 * i + c] = Math.min(255, Math.max(0, v));
    }
    rgba[4 * i + 3] = 255;
  }
  return rgba;
}

function fromRgba(rgba: Uint8ClampedArray, width: number, height: number, channels: Channels): Image {
  const image = createImage(width, height, channels);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < channels; c++) image.data[i * channels + c] = rgba[4 * i + c];
  }
  return image;
}

/** Longest side of the bitmaps the page shows. */
const PREVIEW_SIDE = 1600;

function previewSize(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(1, PREVIEW_SIDE / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

async function preview(
  source: ImageBitmap | OffscreenCanvas,
  width: number,
  height: number,
): Promise<Preview> {
  const size = previewSize(width, height);
  const bitmap =
    size.width === width
      ? await createImageBitmap(source)
      : await createImageBitmap(source, {
          resizeWidth: size.width,
          resizeHeight: size.height,
          resizeQuality: "medium",
        });
  return { width, height, bitmap };
}

/** The stored pixels in red at preview size: a preview pixel is red when its block holds any. */
function maskOverlay(mask: Uint8Array, width: number, height: number): Promise<ImageBitmap> {
  const size = previewSize(width, height);
  const overlay = new ImageData(size.width, size.height);
  for (let y = 0; y < height; y++) {
    const row = Math.floor((y * size.height) / height) * size.width;
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      const p = 4 * (row + Math.floor((x * size.width) / width));
      overlay.data[p] = 255;
      overlay.data[p + 3] = 200;
    }
  }
  return createImageBitmap(overlay);
}

/**
 * The browser's encoder of `type` at the highest quality whose file is not larger than `budget` bytes
 * (bisection over quality), else at its lowest quality. `canvas` holds the original.
 */
async function atSameSize(
  canvas: OffscreenCanvas,
  reference: Image,
  budget: number,
  label: string,
  type: string,
): Promise<Compared> {
  let best = await canvas.convertToBlob({ type, quality: 0 });
  let lo = 0;
  let hi = 1;
  for (let step = 0; step < 8 && best.size <= budget; step++) {
    const mid = (lo + hi) / 2;
    const blob = await canvas.convertToBlob({ type, quality: mid });
    if (blob.size <= budget) {
      best = blob;
      lo = mid;
    } else {
      hi = mid;
    }
  }
  const bitmap = await createImageBitmap(best);
  const { width, height } = bitmap;
  const q = quality(reference, fromRgba(pixelsOf(bitmap), width, height, reference.channels));
  return {
    label,
    bytes: best.size,
    bpp: (best.size * 8) / (width * height),
    psnr: q.psnr,
    ssim: q.ssim,
    picture: await preview(bitmap, width, height),
    file: best,
  };
}

async function sha256Hex(bytes: Uint8ClampedArray<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
