import { encodeToRate } from "../../src/api.ts";
import { inpainterFor } from "../../src/backends.ts";
import { decodeBytes } from "../../src/codec/codec.ts";
import { LOWRATE_VERSION } from "../../src/codec/stream.ts";
import { toBytes } from "../../src/image/io.ts";
import type { Channels } from "../../src/image/types.ts";
import { LowrateEncoder } from "../../src/lowrate/codec.ts";
import { settingsFor } from "../../src/lowrate/rate.ts";
import { syntheticImage } from "../codec/helpers.ts";
import { type GoldenEntry, goldenEntry, pixelsSha256, writeGoldenFolder } from "./manifest.ts";

interface TreeCase {
  name: string;
  channels: Channels;
  size: [number, number];
  /** A fixed luma point budget (`--mask tree --density`), or a byte target (`--size`). */
  density?: number;
  bytes?: number;
}

const CASES: TreeCase[] = [
  { name: "tree-rgb-d0.05", channels: 3, size: [64, 48], density: 0.05 },
  { name: "tree-grey-d0.05", channels: 1, size: [64, 48], density: 0.05 },
  { name: "tree-rgb-size300", channels: 3, size: [96, 64], bytes: 300 },
];

async function make(c: TreeCase): Promise<{ bytes: Uint8Array; entry: GoldenEntry }> {
  const [width, height] = c.size;
  const image = syntheticImage(width, height, c.channels, c.channels === 3 ? 11 : 12);
  const bytes =
    c.bytes !== undefined
      ? (await encodeToRate(image, { bytes: c.bytes })).bytes
      : new LowrateEncoder(image).encode(settingsFor(Math.round((c.density as number) * width * height)))
          .bytes;
  const decoded = await decodeBytes(bytes, (header) => inpainterFor(header));
  const pixels = pixelsSha256(toBytes(decoded.image));
  return {
    bytes,
    entry: goldenEntry(c.name, { mask: "tree", density: c.density ?? 0 }, decoded.header, bytes, pixels),
  };
}

async function main(): Promise<void> {
  await writeGoldenFolder(
    LOWRATE_VERSION,
    "SHA-256 of the decoded image as 8-bit samples (rounded, clamped), row-major, RGB or grey",
    CASES,
    make,
  );
}

await main();
