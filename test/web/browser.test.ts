import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decode, encode } from "../../src/api.ts";
import type { BackendId } from "../../src/codec/types.ts";
import type { MaskcodecError } from "../../src/errors.ts";
import { readImage, toBytes } from "../../src/image/io.ts";
import type { Image } from "../../src/image/types.ts";
import { openPage, type PageSession, runFile } from "../../web/harness.ts";
import { MAX_PAGE_PIXELS } from "../../web/src/limits.ts";

/**
 * The page in headless Chromium, driven through its UI: images encoded in the page give the same .mgc bytes
 * as Node's encoder, and pages and Node decode every stream to the same RGBA bytes (SHA-256), for both
 * backends and each default gan model. Needs Debian's chromium (.ci/run installs it); without it this fails.
 */

const dir = join(tmpdir(), "maskcodec-web-test");
let session: PageSession;

/** A colour test picture: gradients, a disc with a sharp edge, fine texture. */
async function makePicture(path: string, width: number, height: number, grey = false): Promise<void> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const disc = (x - width * 0.6) ** 2 + (y - height * 0.45) ** 2 < (height * 0.3) ** 2;
      raw[i] = disc ? 220 : Math.round((x * 255) / width);
      raw[i + 1] = disc ? 60 : Math.round((y * 255) / height);
      raw[i + 2] = 128 + Math.round(60 * Math.sin(x / 3) * Math.cos(y / 5));
    }
  }
  const image = sharp(raw, { raw: { width, height, channels: 3 } });
  await (grey ? image.toColourspace("b-w") : image).png().toFile(path);
}

function rgbaSha256(image: Image): string {
  const bytes = toBytes(image);
  const n = image.width * image.height;
  const rgba = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) rgba[4 * i + c] = bytes[i * image.channels + (image.channels === 3 ? c : 0)];
    rgba[4 * i + 3] = 255;
  }
  return createHash("sha256").update(rgba).digest("hex");
}

async function nodeDecode(bytes: Uint8Array): Promise<{ sha: string; model?: string }> {
  const decoded = await decode(bytes);
  return { sha: rgbaSha256(decoded.image), model: decoded.header.modelId };
}

/** What `maskcodec encode FILE -d D -b BACKEND` writes, in process. */
async function nodeEncode(file: string, density: number, backend: BackendId): Promise<Uint8Array> {
  const encoded = await encode(await readImage(file), { density, backend });
  return encoded.bytes;
}

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  await makePicture(join(dir, "colour.png"), 160, 112);
  await makePicture(join(dir, "grey.png"), 128, 96, true);
  // wider than one tile of the networks' tiled inference
  await makePicture(join(dir, "wide.png"), 1040, 96);
  session = await openPage();
}, 60_000);

afterAll(async () => {
  await session?.close();
});

const cases: Array<{ file: string; backend: BackendId; density: number }> = [
  { file: "colour.png", backend: "gan", density: 0.02 },
  { file: "colour.png", backend: "gan", density: 0.05 },
  { file: "colour.png", backend: "gan", density: 0.1 },
  { file: "colour.png", backend: "gan", density: 0.2 },
  { file: "wide.png", backend: "gan", density: 0.05 },
  { file: "colour.png", backend: "diffusion", density: 0.05 },
  { file: "grey.png", backend: "diffusion", density: 0.1 },
];

describe("the page in Chromium", () => {
  const modelsUsed = new Set<string>();

  it.each(cases)(
    "encodes $file with $backend at $density bit-exactly as Node, and decodes Node's stream to the same pixels",
    async ({ file, backend, density }) => {
      const path = join(dir, file);
      const encoded = await runFile(session.page, path, { density, backend });
      expect(encoded.error).toBe("");
      expect(encoded.state).toBe("done");
      const nodeStream = await nodeEncode(path, density, backend);
      expect(Buffer.from(encoded.mgc ?? []).equals(Buffer.from(nodeStream))).toBe(true);
      const node = await nodeDecode(nodeStream);
      expect(encoded.rgbaSha256).toBe(node.sha);
      if (node.model) modelsUsed.add(node.model);

      const streamFile = join(dir, `${backend}-${density}.mgc`);
      writeFileSync(streamFile, nodeStream);
      const decoded = await runFile(session.page, streamFile);
      expect(decoded.state).toBe("done");
      expect(decoded.rgbaSha256).toBe(node.sha);
    },
  );

  it("used every default gan model the page ships", () => {
    const shipped = Object.keys(session.build.weights)
      .map((f) => /^fs\/models\/([^/]+)\/model\.json$/.exec(f)?.[1])
      .filter((id): id is string => id !== undefined)
      .sort();
    expect([...modelsUsed].sort()).toEqual(shipped);
  });

  it("shows the CLI's one-line error for a damaged stream", async () => {
    const good = await nodeEncode(join(dir, "grey.png"), 0.1, "diffusion");
    const bad = good.slice(0, Math.floor(good.length / 2));
    const file = join(dir, "damaged.mgc");
    writeFileSync(file, bad);
    const cli = await decode(bad).then(
      () => "",
      (error: MaskcodecError) => error.message,
    );
    expect(cli).not.toBe("");
    const result = await runFile(session.page, file);
    expect(result.state).toBe("error");
    expect(result.error).toBe(cli);
  });

  it("refuses an image over the page's pixel limit before decoding it", async () => {
    const side = Math.ceil(Math.sqrt(MAX_PAGE_PIXELS)) + 1;
    const file = join(dir, "huge.png");
    await sharp({ create: { width: side, height: side, channels: 3, background: "#808080" } })
      .png()
      .toFile(file);
    const result = await runFile(session.page, file);
    expect(result.state).toBe("error");
    expect(result.error).toMatch(/too large for the page/);
    expect(result.error).not.toMatch(/\n/);
  });

  it("keeps a screenshot of the project's sample picture, encoded (MASKCODEC_SCREENSHOT=1: into docs/)", async () => {
    const sample = join(import.meta.dirname, "..", "..", "corpus", "sample.png");
    const result = await runFile(session.page, sample, { density: 0.05, backend: "gan" });
    expect(result.state).toBe("done");
    const shot =
      process.env.MASKCODEC_SCREENSHOT === "1"
        ? join(import.meta.dirname, "..", "..", "docs", "web-page.png")
        : join(dir, "page.png");
    const height = await session.page.evaluate(
      () => Math.ceil(document.body.getBoundingClientRect().bottom) + 16,
    );
    const screenshot = await session.page.screenshot({ clip: { x: 0, y: 0, width: 1200, height } });
    await sharp(screenshot).png({ palette: true }).toFile(shot);
    expect((await sharp(shot).metadata()).width).toBe(1200);
    expect(session.problems).toEqual([]);
  });
});
