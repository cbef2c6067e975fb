import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.ts";
import { MaskcodecError } from "../../src/errors.ts";
import { referenceCodec } from "../../src/eval/codecs.ts";
import {
  expandImageInputs,
  parseCodecList,
  parseDensityList,
  parseJobs,
  parseLevelsList,
} from "../../src/eval/inputs.ts";
import { planPoints } from "../../src/eval/plan.ts";
import { runRd } from "../../src/eval/rd.ts";
import { tempDir, testImage } from "./helpers.ts";

function expectError(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(MaskcodecError);
  expect((caught as Error).message).toMatch(message);
}

describe("bad arguments give clear errors", () => {
  it("an unknown codec is named, with the valid ones", () => {
    expectError(
      () => parseCodecList("jpeg,jpeg2000"),
      /Expected one of diffusion, gan, tree, jpeg, webp, avif for codec but received "jpeg2000"/,
    );
  });

  it("densities must be numbers in (0, 1]", () => {
    expectError(
      () => parseDensityList("0.05,1.5"),
      /Expected a number in \(0, 1\] for densities but received 1.5/,
    );
    expectError(() => parseDensityList("0.05,,0.1"), /without empty entries/);
    expectError(() => parseDensityList("5%"), /list of numbers/);
    expect(parseDensityList("0.1, 0.05,0.1")).toEqual([0.05, 0.1]);
  });

  it("runRd checks the densities of a library call before it reads an image or loads a model", async () => {
    expectError(() => planPoints({ codecs: ["gan"], densities: [0.05, 0] }), /for densities but received 0/);
    expectError(() => planPoints({ codecs: ["diffusion"], densities: [Number.NaN] }), /densities/);
    const dir = tempDir();
    await expect(
      runRd({
        inputs: [join(dir, "nope.png")],
        out: join(dir, "o"),
        codecs: ["gan"],
        densities: [1.5],
        jobs: 1,
      }),
    ).rejects.toThrow(/Expected a number in \(0, 1\] for densities but received 1.5/);
  });

  it("levels, jobs and mask names are checked", () => {
    expectError(() => parseLevelsList("1,16"), /levels/);
    expectError(() => parseJobs("0"), /jobs/);
    expectError(() => planPoints({ codecs: ["diffusion"], masks: ["sobel"] }), /masks/);
  });

  it("a quality outside the codec's range is refused", async () => {
    await expect(referenceCodec("jpeg").run(testImage(8, 8), { quality: 0 })).rejects.toThrow(
      /Expected an integer between 1 and 100 for jpeg quality but received 0/,
    );
  });

  it("missing paths and empty folders are named", async () => {
    const dir = tempDir();
    expectError(() => expandImageInputs([join(dir, "nope.png")]), /No such file or folder: .*nope\.png/);
    mkdirSync(join(dir, "empty"));
    writeFileSync(join(dir, "empty", "notes.txt"), "x");
    expectError(() => expandImageInputs([join(dir, "empty")]), /No image files in folder/);
    expectError(() => expandImageInputs([]), /No images given/);
    writeFileSync(join(dir, "file"), "x");
    await expect(
      runRd({ inputs: [join(dir, "nope.png")], out: join(dir, "o"), codecs: ["jpeg"], jobs: 1 }),
    ).rejects.toThrow(/No such file/);
  });

  it("the command line reports them in one line and exits 1", async () => {
    const dir = tempDir();
    const errors: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      errors.push(String(chunk));
      return true;
    });
    try {
      const code = await main(["node", "maskcodec", "rd", dir, "--out", join(dir, "o"), "--codecs", "png"]);
      expect(code).toBe(1);
      expect(errors.join("")).toMatch(/^maskcodec: Expected one of .* for codec but received "png"\n$/);
    } finally {
      spy.mockRestore();
    }
  });
});
