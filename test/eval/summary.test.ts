import { describe, expect, it } from "vitest";
import type { RdRecord } from "../../src/eval/records.ts";
import { plotData, summarise, summaryTable } from "../../src/eval/summary.ts";

function record(codec: string, image: string, bpp: number, psnr: number): RdRecord {
  return {
    codec,
    curve: codec,
    config: { quality: Math.round(bpp * 100) },
    image,
    image_hash: image,
    width: 10,
    height: 10,
    channels: 3,
    bytes: (bpp * 100) / 8,
    bpp,
    psnr,
    ssim: psnr / 50,
    mae: 50 - psnr,
    encode_s: 0,
    decode_s: 0,
  };
}

/** jpeg: PSNR = 30 + 5 log2(bpp / 0.25) on two images (one 1 dB better); "half" needs half the rate. */
function records(): RdRecord[] {
  const out: RdRecord[] = [];
  const rates = [0.1, 0.2, 0.4, 0.8, 1.6];
  for (const [image, offset] of [
    ["x", 0],
    ["y", 1],
  ] as const) {
    for (const r of rates) {
      const psnr = 30 + offset + 5 * Math.log2(r / 0.25);
      out.push(record("jpeg", image, r, psnr));
      out.push(record("half", image, r / 2, psnr));
    }
  }
  return out;
}

describe("summary", () => {
  it("gives the mean PSNR at the table's rates and the BD figures against jpeg", () => {
    const s = summarise(records());
    const jpeg = s.curves.find((c) => c.curve === "jpeg")!;
    const half = s.curves.find((c) => c.curve === "half")!;
    expect(jpeg.images).toBe(2);
    // at 0.25 bpp: 30 and 31 → 30.5; at 0.5: 35.5; at 1.0: 40.5
    expect(jpeg.psnr[2]).toBeCloseTo(30.5, 10);
    expect(jpeg.psnr[3]).toBeCloseTo(35.5, 10);
    expect(jpeg.psnr[4]).toBeCloseTo(40.5, 10);
    // "half" reaches 0.05..0.8 bpp: not 1.0
    expect(half.psnr[4]).toBeNull();
    expect(half.psnr[0]).toBeCloseTo(30.5 + 5 * Math.log2(0.2 / 0.25), 10); // = jpeg at 0.2
    for (const method of ["cubic", "pchip"] as const) {
      expect(half.bd[method].rate).toBeCloseTo(-50, 8);
      expect(half.bd[method].psnr).toBeCloseTo(5, 8); // halving the rate is worth 5 dB on these curves
      expect(half.bd[method].images).toBe(2);
      expect(jpeg.bd[method].rate).toBeNull();
    }
    const table = summaryTable(s);
    expect(table).toContain("anchor");
    expect(table).toContain("-50.0 %");
    expect(table).toContain("+5.00 dB");
    expect(table.split("\n")).toHaveLength(4);
  });

  it("plots lines only where every image reaches the rate", () => {
    const rs = records().filter((r) => !(r.image === "y" && r.bpp >= 1.6));
    const lines = plotData(rs, "psnr").filter((p) => p.curve === "jpeg" && p.kind === "mean at matched bpp");
    expect(Math.max(...lines.map((p) => p.bpp))).toBeCloseTo(0.8, 10);
    expect(Math.min(...lines.map((p) => p.bpp))).toBeCloseTo(0.1, 10);
  });
});
