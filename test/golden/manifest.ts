import { createHash } from "node:crypto";

/** The manifest of one format version's golden streams (test/golden/v<N>/manifest.json). */
export interface GoldenManifest {
  /** The format version the streams were written in. */
  version: number;
  /** What pixelsSha256 hashes. */
  pixels: string;
  streams: GoldenEntry[];
}

export interface GoldenEntry {
  file: string;
  backend: string;
  /** The mask selector and density the stream was encoded with (the stream itself stores the mask). */
  mask: string;
  density: number;
  model?: string;
  width: number;
  height: number;
  channels: number;
  colour: string;
  lumaLevels: number;
  chromaLevels: number;
  bytes: number;
  /** SHA-256 of the stream file. */
  sha256: string;
  /** SHA-256 of the decoded pixels (see GoldenManifest.pixels). */
  pixelsSha256: string;
}

export function pixelsSha256(samples: Uint8Array): string {
  return createHash("sha256").update(samples).digest("hex");
}
