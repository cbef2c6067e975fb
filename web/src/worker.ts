import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { defaultMaskSelector, encoderSetup, inpainterFor } from "../../src/backends.ts";
import { decodeBytes, defaultQuantiser, encodeImage } from "../../src/codec/codec.ts";
import type { BackendId } from "../../src/codec/types.ts";
import { MaskcodecError } from "../../src/errors.ts";
import { quality } from "../../src/image/metrics.ts";
import { type Channels, createImage, type Image, maskDensity } from "../../src/image/types.ts";
import type { Progress } from "../../src/util/progress.ts";
import { imageDimensions } from "./image-size.ts";
import { MAX_PAGE_PIXELS } from "./limits.ts";
import type { Compared, Decoded, Encoded, Picture, Request, Response } from "./protocol.ts";
import { loadedBytes, mountAssets } from "./vfs.ts";

/**
 * The codec in a Web Worker: the same encoder and decoder as the CLI (src/backends.ts, src/codec), with tfjs
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

self.onmessage = async (event: MessageEvent<Request>) => {
  const request = event.data;
  await ready;
  try {
    if (request.type === "encode") {
      const result = await encode(request, progressOf(request.id));
      post({ id: request.id, type: "encoded", result }, transfers(result.decoded, result.mgc.buffer));
    } else {
      const start = performance.now();
      const result = await decode(new Uint8Array(request.file), start);
      post({ id: request.id, type: "decoded", result }, transfers(result));
    }
  } catch (error) {
    post({ id: request.id, type: "error", message: oneLine(error) });
  }
};

function transfers(decoded: Decoded, ...more: ArrayBuffer[]): Transferable[] {
  return [decoded.picture.rgba.buffer, decoded.mask.buffer, ...more];
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
  const image = await decodeImageFile(bytes, request.name);
  const backend: BackendId = request.backend;
  report(0.05, backend === "gan" ? "loading the networks" : "choosing the mask");
  const setup = await encoderSetup({
    backend,
    mask: defaultMaskSelector(backend),
    density: request.density,
    seed: 1,
    onProgress: stepProgress(report, 0.05, 0.6, "choosing the mask"),
  });
  report(0.3, "choosing the mask");
  const colour = image.channels === 3 ? "ycbcr" : "none";
  const encoded = await encodeImage(image, {
    selector: setup.selector,
    density: request.density,
    backend,
    modelId: setup.modelId,
    weightHash: setup.weightHash,
    colour,
    quantiser: defaultQuantiser(colour),
  });
  const encodeSeconds = (performance.now() - start) / 1000;
  report(0.6, "decoding the stream");
  const mgc = encoded.bytes as Uint8Array<ArrayBuffer>;
  const decoded = await decode(mgc, performance.now());
  report(0.8, "JPEG and WebP at the same size");
  const original = toPicture(image);
  const compared: Compared[] = [
    {
      label: "maskcodec",
      bytes: mgc.length,
      bpp: (mgc.length * 8) / (width * height),
      ...figures(image, decoded.picture),
      picture: decoded.picture,
      file: new Blob([mgc], { type: "application/octet-stream" }),
    },
  ];
  for (const [label, type] of [
    ["JPEG", "image/jpeg"],
    ["WebP", "image/webp"],
  ] as const) {
    compared.push(await atSameSize(original, image, mgc.length, label, type));
  }
  report(1, "done");
  return { original, mgc, decoded, compared, encodeSeconds };
}

async function decode(bytes: Uint8Array, start: number): Promise<Decoded> {
  const result = await decodeBytes(bytes, (header) => inpainterFor(header), { maxPixels: MAX_PAGE_PIXELS });
  const picture = toPicture(result.image);
  const seconds = (performance.now() - start) / 1000;
  const { header } = result;
  return {
    summary: {
      width: header.width,
      height: header.height,
      channels: header.channels,
      backend: header.backend,
      model: header.modelId,
      density: maskDensity(result.mask),
      bytes: bytes.length,
    },
    picture,
    mask: result.mask.data as Uint8Array<ArrayBuffer>,
    rgbaSha256: await sha256Hex(picture.rgba),
    png: await encodePicture(picture, "image/png"),
    seconds,
  };
}

/** An image file to an Image: grey (one channel) when R = G = B everywhere, as the codec stores it cheaper. */
async function decodeImageFile(bytes: Uint8Array<ArrayBuffer>, name: string): Promise<Image> {
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
  for (let i = 0; i < n && grey; i++)
    grey = rgba[4 * i] === rgba[4 * i + 1] && rgba[4 * i] === rgba[4 * i + 2];
  const channels: Channels = grey ? 1 : 3;
  const image = createImage(bitmap.width, bitmap.height, channels);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels; c++) image.data[i * channels + c] = rgba[4 * i + c];
  }
  bitmap.close();
  return image;
}

function pixelsOf(source: ImageBitmap): Uint8ClampedArray {
  const canvas = new OffscreenCanvas(source.width, source.height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (!context) throw new MaskcodecError("The browser gave no 2D canvas", "ERR_BACKEND");
  context.drawImage(source, 0, 0);
  return context.getImageData(0, 0, source.width, source.height).data;
}

/** 8-bit RGBA of an Image: samples rounded and clamped as every 8-bit output of the codec (toBytes). */
function toPicture(image: Image): Picture {
  const { width, height, channels, data } = image;
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.round(data[i * channels + (channels === 3 ? c : 0)]);
      rgba[4 * i + c] = Math.min(255, Math.max(0, v));
    }
    rgba[4 * i + 3] = 255;
  }
  return { width, height, rgba };
}

function fromPicture(picture: Picture, channels: Channels): Image {
  const image = createImage(picture.width, picture.height, channels);
  const n = picture.width * picture.height;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels; c++) image.data[i * channels + c] = picture.rgba[4 * i + c];
  }
  return image;
}

function figures(reference: Image, picture: Picture): { psnr: number; ssim: number } {
  const q = quality(reference, fromPicture(picture, reference.channels as Channels));
  return { psnr: q.psnr, ssim: q.ssim };
}

async function encodePicture(picture: Picture, type: string, q?: number): Promise<Blob> {
  const canvas = new OffscreenCanvas(picture.width, picture.height);
  const context = canvas.getContext("2d");
  if (!context) throw new MaskcodecError("The browser gave no 2D canvas", "ERR_BACKEND");
  context.putImageData(new ImageData(picture.rgba, picture.width, picture.height), 0, 0);
  return canvas.convertToBlob({ type, quality: q });
}

/**
 * The browser's encoder of `type` at the highest quality whose file is not larger than `budget` bytes
 * (bisection over quality), else at its lowest quality.
 */
async function atSameSize(
  original: Picture,
  reference: Image,
  budget: number,
  label: string,
  type: string,
): Promise<Compared> {
  let best = await encodePicture(original, type, 0);
  let lo = 0;
  let hi = 1;
  for (let step = 0; step < 10 && best.size <= budget; step++) {
    const mid = (lo + hi) / 2;
    const blob = await encodePicture(original, type, mid);
    if (blob.size <= budget) {
      best = blob;
      lo = mid;
    } else {
      hi = mid;
    }
  }
  const picture = {
    ...original,
    rgba: pixelsOf(await createImageBitmap(best)) as Uint8ClampedArray<ArrayBuffer>,
  };
  return {
    label,
    bytes: best.size,
    bpp: (best.size * 8) / (original.width * original.height),
    ...figures(reference, picture),
    picture,
    file: best,
  };
}

async function sha256Hex(bytes: Uint8ClampedArray<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
