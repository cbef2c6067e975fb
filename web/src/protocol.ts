import type { BackendId } from "../../src/codec/types.ts";

/** Messages between the page (main.ts) and the codec's worker (worker.ts). */

/**
 * A picture as the page shows it: the full size, and a bitmap of at most PREVIEW_SIDE pixels a side (the full
 * picture when it fits), so that a large image's pixels stay in the worker, once.
 */
export interface Preview {
  width: number;
  height: number;
  bitmap: ImageBitmap;
}

/** One reconstruction of the original at (about) the same file size, with its figures. */
export interface Compared {
  label: string;
  bytes: number;
  bpp: number;
  psnr: number;
  ssim: number;
  picture: Preview;
  /** The encoded file (the page offers it as a download). */
  file: Blob;
}

export interface StreamSummary {
  width: number;
  height: number;
  channels: number;
  backend: BackendId;
  model?: string;
  density: number;
  bytes: number;
}

export interface Decoded {
  summary: StreamSummary;
  picture: Preview;
  /** The stored pixels in red (in a preview: the blocks holding any), transparent elsewhere. */
  mask: ImageBitmap;
  /** SHA-256 (hex) of the decoded RGBA bytes: the figure Node's decoder is compared on. */
  rgbaSha256: string;
  png: Blob;
  seconds: number;
}

export interface Encoded {
  original: Preview;
  mgc: Uint8Array<ArrayBuffer>;
  decoded: Decoded;
  /** maskcodec, then the browser's JPEG and WebP at the largest quality that is not larger. */
  compared: Compared[];
  encodeSeconds: number;
}

export type Request =
  | { id: number; type: "encode"; file: ArrayBuffer; name: string; density: number; backend: BackendId }
  | { id: number; type: "decode"; file: ArrayBuffer; name: string };

export type Response =
  | { type: "ready"; assetBytes: number }
  | { type: "failed-to-start"; message: string }
  | { id: number; type: "progress"; fraction: number; stage: string }
  | { id: number; type: "error"; message: string }
  | { id: number; type: "encoded"; result: Encoded }
  | { id: number; type: "decoded"; result: Decoded };
