import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { MaskcodecError } from "../../src/errors.ts";
import { centreCrop, decodeImageBuffer, encodePng, readImage, writePng } from "../../src/image/io.ts";
import { createImage } from "../../src/image/types.ts";

const dir = mkdtempSync(join(tmpdir(), "maskcodec-io-"));

function gradient(width: number, height: number, channels: 1 | 3) {
  const image = createImage(width, height, channels);
  for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 7) % 256;
  return image;
}

describe("image input and output", () => {
  it("a PNG written and read back is the same image, grey and colour", async () => {
    for (const channels of [1, 3] as const) {
      const image = gradient(13, 9, channels);
      const path = join(dir, `g${channels}.png`);
      await writePng(image, path);
      const back = await readImage(path);
      expect(back.channels).toBe(channels);
      expect(Array.from(back.data)).toEqual(Array.from(image.data));
    }
  });

  it("PNG output rounds and clamps the samples to 8 bits, and sharp reads it as such (1×1 to wide)", async () => {
    for (const [w, h, channels] of [
      [1, 1, 3],
      [300, 2, 1],
      [5, 7, 3],
    ] as const) {
      const image = createImage(w, h, channels);
      for (let i = 0; i < image.data.length; i++) image.data[i] = ((i * 37) % 300) - 20 + 0.49;
      const png = await encodePng(image);
      const meta = await sharp(png).metadata();
      expect([meta.width, meta.height, meta.channels, meta.depth]).toEqual([w, h, channels, "uchar"]);
      const back = await decodeImageBuffer(png);
      const expected = Array.from(image.data, (v) => Math.min(255, Math.max(0, Math.round(v))));
      expect(Array.from(back.data)).toEqual(expected);
    }
  });

  it("reads JPEG, WebP, AVIF and TIFF through sharp", async () => {
    const raw = sharp({
      create: { width: 16, height: 8, channels: 3, background: { r: 200, g: 100, b: 50 } },
    });
    for (const format of ["jpeg", "webp", "avif", "tiff"] as const) {
      const buffer = await raw.clone().toFormat(format).toBuffer();
      const image = await decodeImageBuffer(buffer);
      expect([image.width, image.height, image.channels]).toEqual([16, 8, 3]);
      expect(Math.abs(image.data[0] - 200)).toBeLessThan(12);
    }
  });

  it("drops alpha with a warning", async () => {
    const rgba = await sharp({ create: { width: 4, height: 4, channels: 4, background: "#11223380" } })
      .png()
      .toBuffer();
    const warnings: string[] = [];
    const image = await decodeImageBuffer(rgba, { onWarning: (m) => warnings.push(m) });
    expect(image.channels).toBe(3);
    expect(warnings.join()).toMatch(/alpha/);
  });

  it("warns that only the first frame of an animated GIF or WebP is encoded, and reads that frame", async () => {
    const [w, h] = [16, 12];
    const frame = (v: number) =>
      sharp(Buffer.alloc(w * h * 3, v), { raw: { width: w, height: h, channels: 3 } })
        .png()
        .toBuffer();
    const frames = [await frame(40), await frame(200)];
    for (const format of ["gif", "webp"] as const) {
      const animated = await sharp(frames, { join: { animated: true } })
        [format]({ loop: 0, delay: [100, 100] })
        .toBuffer();
      const warnings: string[] = [];
      const image = await decodeImageBuffer(animated, { onWarning: (m) => warnings.push(m) }, format);
      expect([image.width, image.height]).toEqual([w, h]);
      // (libvips may also report alpha for a GIF; that warning is the alpha test's business)
      expect(warnings).toContain(
        `${format} has 2 frames (animated or multi-page); only the first is encoded`,
      );
      const mean = image.data.reduce((a, b) => a + b, 0) / image.data.length;
      expect(Math.abs(mean - 40)).toBeLessThan(10); // the first frame's grey, not the second's
    }
    const still: string[] = [];
    await decodeImageBuffer(frames[0], { onWarning: (m) => still.push(m) });
    expect(still).toEqual([]);
  });

  it("refuses a missing file, a non-image, and an image over the pixel limit with MaskcodecError", async () => {
    await expect(readImage(join(dir, "nope.png"))).rejects.toThrow(/No such file/);
    const junk = join(dir, "junk.png");
    writeFileSync(junk, "this is not an image");
    await expect(readImage(junk)).rejects.toBeInstanceOf(MaskcodecError);
    const big = join(dir, "big.png");
    writeFileSync(big, await encodePng(gradient(64, 64, 1)));
    await expect(readImage(big, { maxPixels: 1000 })).rejects.toThrow(/too large/);
  });

  it("centre crop takes the middle", () => {
    const image = gradient(10, 6, 1);
    const c = centreCrop(image, 4, 2);
    expect(c.width).toBe(4);
    expect(c.data[0]).toBe(image.data[2 * 10 + 3]);
  });
});
