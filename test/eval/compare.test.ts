import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { referenceCodec } from "../../src/eval/codecs.ts";
import { composeFigure, maskImage } from "../../src/eval/figure.ts";
import { findClose } from "../../src/eval/findclose.ts";
import { quality } from "../../src/image/metrics.ts";
import { createMask } from "../../src/image/types.ts";
import { testImage } from "./helpers.ts";

describe("find-close", () => {
  const image = testImage(40, 32, 5);

  it("finds the jpeg quality whose size is closest to a target, as an exhaustive search does", async () => {
    const sizes: number[] = [];
    for (let q = 1; q <= 100; q++)
      sizes.push((await referenceCodec("jpeg").run(image, { quality: q })).bytes.length);
    for (const target of [sizes[36], Math.round((sizes[10] + sizes[11]) / 2) + 0.25, 1]) {
      const close = await findClose(image, "jpeg", "size", target);
      const best = Math.min(...sizes.map((s) => Math.abs(s - target)));
      expect(Math.abs(close.bytes - target)).toBe(best);
      expect(close.bytes).toBe(sizes[close.quality - 1]);
      expect(close.evaluations).toBeLessThan(20);
    }
  });

  it("matches by PSNR too, and reports the real figures of the chosen setting", async () => {
    const close = await findClose(image, "webp", "psnr", 33);
    const again = await referenceCodec("webp").run(image, { quality: close.quality });
    expect(close.psnr).toBeCloseTo(quality(image, again.decoded).psnr, 10);
    for (const q of [close.quality - 1, close.quality + 1]) {
      if (q < 1 || q > 100) continue;
      const other = await referenceCodec("webp").run(image, { quality: q });
      expect(Math.abs(close.psnr - 33)).toBeLessThanOrEqual(
        Math.abs(quality(image, other.decoded).psnr - 33),
      );
    }
  });
});

describe("comparison figure", () => {
  it("lays the panels out in a grid with room for the labels, masks in black on white", async () => {
    const image = testImage(40, 30, 2);
    const mask = createMask(40, 30);
    mask.data[5] = 1;
    const m = maskImage(mask);
    expect(m.data[5]).toBe(0);
    expect(m.data[6]).toBe(255);
    const png = await composeFigure(
      [
        { image, label: ["original", "40×30"] },
        { image, label: ["jpeg <q10> & more", "0.5 bpp"] },
        { image: m, label: ["mask"] },
      ],
      2,
    );
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe("png");
    expect(meta.width).toBe(2 * 40 + 3 * 12);
    expect(meta.height).toBeGreaterThan(2 * 30 + 2 * 20);
    // the known pixel of the mask panel (second row, first column) is black
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const rowHeight = 30 + (2 * 20 + 6) + 12;
    const x = 12 + 5;
    const y = 12 + rowHeight;
    expect(data[(y * info.width + x) * info.channels]).toBe(0);
    expect(data[(y * info.width + x + 1) * info.channels]).toBe(255);
  });
});
