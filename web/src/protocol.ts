import type { BackendId } from "../../src/codec/types.ts";

/** Messages between the page (main.ts) and the codec's worker (worker.ts). */

export interface Picture {
  width: number;
  height: number;
  /** 8-bit RGBA, opaque (grey images replicated into R, G and B). */
  rgba: Uint8ClampedArray<ArrayBuffer>;
}

/** One reconstruction of the original at (about) the same file size, with its figures. */
export interface Compared {
  label: string;
  bytes: number;
  bpp: number;
  psnr: number;
  ssim: number;
  picture: Picture;
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
  picture: Picture;
  /** 1 where a pixel is stored in the stream, row by row. */
  mask: Uint8Array<ArrayBuffer>;
  /** SHA-256 (hex) of the decoded RGBA bytes: the figure Node's decoder is compared on. */
  rgbaSha256: string;
  png: Blob;
  seconds: number;
}

export interface Encoded {
  original: Picture;
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
