import { readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { decode } from "../../src/api.ts";
import { type CodecName, type CodecRun, createCodec, type EvalCodec } from "../../src/eval/codecs.ts";
import { planPoints } from "../../src/eval/plan.ts";
import { runRd } from "../../src/eval/rd.ts";
import { readImage } from "../../src/image/io.ts";
import { psnr } from "../../src/image/metrics.ts";
import { tempDir, testImage, writeTestPng } from "./helpers.ts";

let dir: string;
let path: string;

beforeAll(async () => {
  dir = tempDir();
  path = await writeTestPng(dir, "a.png", testImage(64, 48, 5));
});

/** The real tree codec, keeping what each run returned (by target rate) for the checks. */
function recordingTree(runs: Map<number, CodecRun>): (name: CodecName) => EvalCodec {
  return (name) => {
    const inner = createCodec(name);
    return {
      ...inner,
      async run(image, config) {
        const result = await inner.run(image, config);
        runs.set(config.bpp as number, result);
        return result;
      },
    };
  };
}

describe("the tree codec in the sweep", () => {
  it("plans one point per target rate, swept by bpp", () => {
    const points = planPoints({ codecs: ["tree"], targets: [0.1, 0.3] });
    expect(points).toEqual([
      { codec: "tree", config: { bpp: 0.1 } },
      { codec: "tree", config: { bpp: 0.3 } },
    ]);
  });

  it("each stream is at most its target and decodes to the image the record measured", async () => {
    const out = join(dir, "rd");
    const targets = [0.5, 1];
    const runs = new Map<number, CodecRun>();
    const options = {
      inputs: [path],
      out,
      codecs: ["tree"] as CodecName[],
      targets,
      jobs: 1,
      codecFor: recordingTree(runs),
      noPlots: true,
    };
    const { records, summary, failures } = await runRd(options);
    expect(failures).toEqual([]);
    expect(records.map((r) => r.config.bpp).sort()).toEqual(targets);
    const original = await readImage(path);
    const pixels = original.width * original.height;
    for (const r of records) {
      const target = r.config.bpp as number;
      const run = runs.get(target);
      if (!run) throw new Error(`no run for ${target}`);
      expect(r.curve).toBe("tree");
      expect(r.bytes).toBe(run.bytes.length);
      expect(r.bytes).toBeLessThanOrEqual(Math.floor((target * pixels) / 8));
      expect(r.bpp).toBeLessThanOrEqual(target);
      // an independent decode of the bytes is the image the sweep measured
      const decoded = await decode(run.bytes);
      expect(Array.from(decoded.image.data)).toEqual(Array.from(run.decoded.data));
      expect(r.psnr).toBeCloseTo(psnr(original, decoded.image), 9);
    }
    const [low, high] = [...records].sort((a, b) => a.bpp - b.bpp);
    expect(high.psnr).toBeGreaterThan(low.psnr);
    expect(summary.curves.find((c) => c.curve === "tree")).toMatchObject({ images: 1, points: 2 });

    // the cache tells the targets apart: a re-run computes nothing
    expect(readdirSync(join(out, "cache"))).toHaveLength(2);
    runs.clear();
    const again = await runRd(options);
    expect(again.cached).toBe(2);
    expect(runs.size).toBe(0);
  });
});
