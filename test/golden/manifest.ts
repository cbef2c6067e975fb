import { createHash } from "node:crypto";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StreamHeader } from "../../src/codec/types.ts";

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

/** A manifest entry for a stream, from the header its decoder read (what the golden test compares). */
export function goldenEntry(
  name: string,
  encodedWith: { mask: string; density: number },
  header: StreamHeader,
  bytes: Uint8Array,
  pixels: string,
): GoldenEntry {
  return {
    file: `${name}.mgc`,
    backend: header.backend,
    mask: encodedWith.mask,
    density: encodedWith.density,
    model: header.modelId,
    width: header.width,
    height: header.height,
    channels: header.channels,
    colour: header.colour,
    lumaLevels: header.quantiser.lumaLevels,
    chromaLevels: header.quantiser.chromaLevels,
    bytes: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    pixelsSha256: pixels,
  };
}

export function pixelsSha256(samples: Uint8Array): string {
  return createHash("sha256").update(samples).digest("hex");
}

/**
 * Writes one version's golden folder (test/golden/v<N>/): each case's stream and the manifest. An existing
 * folder is kept unless `--force` is on the command line: golden streams of a released version stay as they
 * are.
 */
export async function writeGoldenFolder<C>(
  version: number,
  pixels: string,
  cases: readonly C[],
  make: (c: C) => Promise<{ bytes: Uint8Array; entry: GoldenEntry }>,
): Promise<void> {
  const folder = join(import.meta.dirname, `v${version}`);
  if (existsSync(folder)) {
    if (!process.argv.includes("--force")) {
      throw new Error(
        `${folder} exists: golden streams of a released version stay as they are (--force replaces them)`,
      );
    }
    rmSync(folder, { recursive: true });
  }
  mkdirSync(folder);
  const manifest: GoldenManifest = { version, pixels, streams: [] };
  for (const c of cases) {
    const { bytes, entry } = await make(c);
    writeFileSync(join(folder, entry.file), bytes);
    manifest.streams.push(entry);
    console.log(`${entry.file}: ${entry.bytes} bytes${entry.model ? `, ${entry.model}` : ""}`);
  }
  writeFileSync(join(folder, "manifest.json"), `${JSON.stringify(manifest, null, 1)}\n`);
}
