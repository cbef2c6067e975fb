import { encoderSetup, inpainterFor, type MaskSelectorName } from "../../src/backends.ts";
import { decodeBytes, defaultQuantiser, encodeImage } from "../../src/codec/codec.ts";
import { FORMAT_VERSION } from "../../src/codec/stream.ts";
import type { BackendId, ColourTransform } from "../../src/codec/types.ts";
import { toBytes } from "../../src/image/io.ts";
import type { Channels, Image } from "../../src/image/types.ts";
import { defaultModelDir } from "../../src/nets/gan-backend.ts";
import { syntheticImage } from "../codec/helpers.ts";
import { type GoldenEntry, goldenEntry, pixelsSha256, writeGoldenFolder } from "./manifest.ts";

interface Case {
  name: string;
  backend: BackendId;
  mask: MaskSelectorName;
  density: number;
  channels: Channels;
  colour?: ColourTransform;
  levels?: [number, number];
  /** Default WIDTH × HEIGHT. */
  size?: [number, number];
}

const WIDTH = 32;
const HEIGHT = 24;

/** Diffusion: every mask kind the stream can carry alike, colour and grey, three quantisers. */
const DIFFUSION: Case[] = [
  { name: "diffusion-grid-rgb-q16x16", backend: "diffusion", mask: "grid", density: 0.1, channels: 3 },
  {
    name: "diffusion-random-rgb-q8x4",
    backend: "diffusion",
    mask: "random",
    density: 0.1,
    channels: 3,
    levels: [8, 4],
  },
  { name: "diffusion-ps-rgb-q16x16", backend: "diffusion", mask: "ps", density: 0.1, channels: 3 },
  {
    name: "diffusion-random-rgb-exact256",
    backend: "diffusion",
    mask: "random",
    density: 0.1,
    channels: 3,
    colour: "none",
    levels: [256, 256],
  },
  { name: "diffusion-grid-grey-q16", backend: "diffusion", mask: "grid", density: 0.1, channels: 1 },
  {
    name: "diffusion-ps-grey-q8",
    backend: "diffusion",
    mask: "ps",
    density: 0.1,
    channels: 1,
    levels: [8, 8],
  },
  // larger, so that the adaptive coders' counts reach their rescaling limits
  {
    name: "diffusion-random-rgb-exact256-128x96",
    backend: "diffusion",
    mask: "random",
    density: 0.2,
    channels: 3,
    colour: "none",
    levels: [256, 256],
    size: [128, 96],
  },
  {
    name: "diffusion-random-grey-q16-256x192",
    backend: "diffusion",
    mask: "random",
    density: 0.05,
    channels: 1,
    size: [256, 192],
  },
  {
    name: "diffusion-random-grey-exact256",
    backend: "diffusion",
    mask: "random",
    density: 0.1,
    channels: 1,
    levels: [256, 256],
  },
];

/** gan: the model the defaults choose for each of these densities (defaultModelDir), colour; one grey. */
const GAN_DENSITIES = [0.02, 0.05, 0.1, 0.2];

function ganCases(): Case[] {
  const cases: Case[] = GAN_DENSITIES.map((density) => ({
    name: `gan-d${density}-rgb-q16x16`,
    backend: "gan",
    mask: "gan",
    density,
    channels: 3,
  }));
  cases.push({ name: "gan-d0.1-grey-q16", backend: "gan", mask: "gan", density: 0.1, channels: 1 });
  return cases;
}

function source(channels: Channels, [width, height]: [number, number]): Image {
  return syntheticImage(width, height, channels, channels === 3 ? 11 : 12);
}

async function make(c: Case): Promise<{ bytes: Uint8Array; entry: GoldenEntry }> {
  const image = source(c.channels, c.size ?? [WIDTH, HEIGHT]);
  const colour = c.colour ?? (c.channels === 3 ? "ycbcr" : "none");
  const defaults = defaultQuantiser(colour);
  const quantiser = c.levels ? { lumaLevels: c.levels[0], chromaLevels: c.levels[1] } : defaults;
  const setup = await encoderSetup({
    backend: c.backend,
    mask: c.mask,
    density: c.density,
    seed: 1,
    model: c.backend === "gan" ? defaultModelDir(c.density) : undefined,
  });
  const encoded = await encodeImage(image, {
    selector: setup.selector,
    density: c.density,
    backend: c.backend,
    modelId: setup.modelId,
    weightHash: setup.weightHash,
    colour,
    quantiser,
  });
  // decoded exactly as `maskcodec decode` does: the model found from the header
  const decoded = await decodeBytes(encoded.bytes, (header) => inpainterFor(header));
  const again = await decodeBytes(encoded.bytes, (header) => inpainterFor(header));
  const pixels = pixelsSha256(toBytes(decoded.image));
  if (pixelsSha256(toBytes(again.image)) !== pixels)
    throw new Error(`${c.name}: decoding is not deterministic`);
  return {
    bytes: encoded.bytes,
    entry: goldenEntry(c.name, c, encoded.header, encoded.bytes, pixels),
  };
}

async function main(): Promise<void> {
  process.env.MASKCODEC_TF_BACKEND = "wasm";
  await writeGoldenFolder(
    FORMAT_VERSION,
    "SHA-256 of the decoded image as 8-bit samples (rounded, clamped), row-major, RGB or grey; gan on the tfjs wasm backend",
    [...DIFFUSION, ...ganCases()],
    make,
  );
}

await main();
