import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { diffusionInpainter, inpaintDiffusion } from "../../src/baselines/diffusion.ts";
import { DiffusionSystem, toPadded } from "../../src/baselines/diffusion-system.ts";
import { setWasmKernels } from "../../src/baselines/wasm-kernels.ts";
import { createImage, createMask, type Image, type Mask } from "../../src/image/types.ts";
import { randomMaskOf, syntheticImage } from "./helpers.ts";

// The float32 solver of version 7's decodes (src/baselines/cg-f32.ts).

const sha = (image: Image) => createHash("sha256").update(image.data).digest("hex");

/** The float32 solve on the loops (no WebAssembly) and on the kernels. */
function bothWays(known: Image, mask: Mask, tolerance = 1e-4) {
  setWasmKernels(false);
  try {
    const loops = inpaintDiffusion(known, mask, { tolerance, arithmetic: "float32" });
    setWasmKernels(true);
    const kernels = inpaintDiffusion(known, mask, { tolerance, arithmetic: "float32" });
    return { loops, kernels };
  } finally {
    setWasmKernels(true);
  }
}

/** The relative residual ‖b − A x‖ / ‖b‖ per channel of a solution, in float64. */
function relativeResidual(solution: Image, known: Image, mask: Mask): number[] {
  const system = new DiffusionSystem(known.width, known.height, mask.data, 3);
  const b = new Float64Array(system.length);
  system.rhs(toPadded(system, known), b);
  const x = toPadded(system, solution);
  for (let i = 0; i < mask.data.length; i++) {
    if (!mask.data[i]) continue;
    const y = Math.floor(i / known.width);
    const q = system.index(i - y * known.width, y) * 3;
    x[q] = x[q + 1] = x[q + 2] = 0;
  }
  return system.residual(b, x);
}

describe("the float32 diffusion solver (format version 7)", () => {
  it("the kernels give bit for bit the loops' solution (odd sizes, one row, one column, a single level)", () => {
    const cases: Array<[number, number, number]> = [
      [37, 29, 0.1],
      [64, 48, 0.03],
      [33, 1, 0.2],
      [1, 41, 0.2],
      [7, 5, 0.3],
      [96, 65, 0.02],
    ];
    for (const [seed, [w, h, density]] of cases.entries()) {
      const known = syntheticImage(w, h, 3, seed + 1);
      const mask = randomMaskOf(w, h, density, seed + 7);
      const { loops, kernels } = bothWays(known, mask);
      expect(sha(kernels.image), `${w}×${h}`).toBe(sha(loops.image));
      expect(kernels.iterations).toEqual(loops.iterations);
      expect(kernels.residuals).toEqual(loops.residuals);
    }
  });

  it("kernels and loops, joint and per channel, agree on any small image and mask (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0.01, max: 0.6, noNaN: true }),
        fc.constantFrom(1 as const, 3 as const),
        fc.integer({ min: 1, max: 1000 }),
        (w, h, density, channels, seed) => {
          const known = syntheticImage(w, h, channels, seed);
          const mask = randomMaskOf(w, h, density, seed + 1);
          const { loops, kernels } = bothWays(known, mask);
          expect(sha(kernels.image)).toBe(sha(loops.image));
          if (channels === 3) {
            const options = { tolerance: 1e-4, arithmetic: "float32" as const, perChannelPixels: 0 };
            expect(sha(inpaintDiffusion(known, mask, options).image)).toBe(sha(kernels.image));
          }
        },
      ),
      { numRuns: 40, seed: 7 },
    );
  });

  it("reaches the stopping rule's relative residual, measured in float64, with float64's iterations", () => {
    const known = syntheticImage(160, 120, 3, 3);
    const mask = randomMaskOf(160, 120, 0.05, 4);
    const tolerance = 1e-4;
    const f32 = inpaintDiffusion(known, mask, { tolerance, arithmetic: "float32" });
    const f64 = inpaintDiffusion(known, mask, { tolerance });
    for (const r of f32.residuals) expect(r).toBeLessThanOrEqual(tolerance);
    // recomputed from the solution in float64: float32 rounding of x adds little to the recursive residual
    for (const r of relativeResidual(f32.image, known, mask)) expect(r).toBeLessThan(2 * tolerance);
    expect(f32.iterations).toEqual(f64.iterations);
  });

  it("is as close to the converged solution as the float64 solve at the decoders' stop", () => {
    const known = syntheticImage(200, 150, 3, 5);
    const mask = randomMaskOf(200, 150, 0.04, 6);
    const converged = inpaintDiffusion(known, mask, { tolerance: 1e-10 }).image.data;
    const distance = (image: Image) => {
      let largest = 0;
      for (let i = 0; i < converged.length; i++)
        largest = Math.max(largest, Math.abs(image.data[i] - converged[i]));
      return largest;
    };
    const f32 = distance(inpaintDiffusion(known, mask, { tolerance: 1e-4, arithmetic: "float32" }).image);
    const f64 = distance(inpaintDiffusion(known, mask, { tolerance: 1e-4 }).image);
    expect(f32).toBeGreaterThan(0);
    // float32's own rounding (a few thousandths of a level at these values) on top of the same iterations
    expect(Math.abs(f32 - f64)).toBeLessThan(0.01);
  });

  it("keeps the known pixels, writes into the known image when asked, and gives the same values either way", () => {
    const known = syntheticImage(50, 40, 3, 8);
    const mask = randomMaskOf(50, 40, 0.1, 9);
    const copy = createImage(50, 40, 3, new Float32Array(known.data));
    const fresh = inpaintDiffusion(known, mask, { tolerance: 1e-4, arithmetic: "float32" }).image;
    expect(known.data).toEqual(copy.data);
    for (let i = 0; i < mask.data.length; i++) {
      if (mask.data[i]) for (let c = 0; c < 3; c++) expect(fresh.data[3 * i + c]).toBe(known.data[3 * i + c]);
    }
    const inPlace = inpaintDiffusion(copy, mask, { tolerance: 1e-4, arithmetic: "float32", inPlace: true });
    expect(inPlace.image).toBe(copy);
    expect(sha(copy)).toBe(sha(fresh));
  });

  it("solves a channel whose known values are all 0 to 0, on the kernels and the loops alike", () => {
    const known = syntheticImage(30, 20, 3, 10);
    for (let i = 0; i < 30 * 20; i++) known.data[3 * i + 1] = 0;
    const mask = randomMaskOf(30, 20, 0.1, 11);
    const { loops, kernels } = bothWays(known, mask);
    expect(sha(kernels.image)).toBe(sha(loops.image));
    for (let i = 0; i < 30 * 20; i++) expect(kernels.image.data[3 * i + 1]).toBe(0);
  });

  it("solves a colour image channel by channel to the joint solve's values, on the kernels and the loops", () => {
    const known = syntheticImage(70, 45, 3, 12);
    const mask = randomMaskOf(70, 45, 0.06, 13);
    const joint = inpaintDiffusion(known, mask, { tolerance: 1e-4, arithmetic: "float32" });
    const options = { tolerance: 1e-4, arithmetic: "float32" as const, perChannelPixels: 1 };
    const perChannel = inpaintDiffusion(known, mask, options);
    expect(sha(perChannel.image)).toBe(sha(joint.image));
    expect(perChannel.iterations).toEqual(joint.iterations);
    setWasmKernels(false);
    try {
      expect(sha(inpaintDiffusion(known, mask, options).image)).toBe(sha(joint.image));
    } finally {
      setWasmKernels(true);
    }
  });

  it("solves grey images in float32 too (kernels and loops alike), close to the float64 solve", () => {
    for (const [seed, [w, h]] of [
      [40, 30],
      [33, 1],
      [57, 44],
    ].entries()) {
      const grey = syntheticImage(w, h, 1, 20 + seed);
      const mask = randomMaskOf(w, h, 0.1, 30 + seed);
      const { loops, kernels } = bothWays(grey, mask);
      expect(sha(kernels.image), `${w}×${h}`).toBe(sha(loops.image));
      const f64 = inpaintDiffusion(grey, mask, { tolerance: 1e-4 });
      expect(kernels.iterations).toEqual(f64.iterations);
      let largest = 0;
      for (let i = 0; i < grey.data.length; i++)
        largest = Math.max(largest, Math.abs(kernels.image.data[i] - f64.image.data[i]));
      // float32 rounding only: thousandths of a level, at values up to 255
      expect(largest).toBeLessThan(0.01);
    }
  });

  it("leaves warm starts and the default to the float64 solver", () => {
    const colour = syntheticImage(40, 30, 3, 14);
    const mask = randomMaskOf(40, 30, 0.1, 13);
    const f32 = inpaintDiffusion(colour, mask, { tolerance: 1e-4, arithmetic: "float32" });
    const f64 = inpaintDiffusion(colour, mask, { tolerance: 1e-4 });
    expect(sha(f32.image)).not.toBe(sha(f64.image));
    const initial = inpaintDiffusion(colour, mask, { tolerance: 1e-4, initial: f64.image });
    const warm = inpaintDiffusion(colour, mask, {
      tolerance: 1e-4,
      initial: f64.image,
      arithmetic: "float32",
    });
    expect(sha(warm.image)).toBe(sha(initial.image));
  });

  it("refuses an empty mask with the float64 solver's error", () => {
    const known = syntheticImage(20, 10, 3, 17);
    const empty = createMask(20, 10);
    for (const channels of [1, 3] as const) {
      const image = channels === 3 ? known : syntheticImage(20, 10, 1, 18);
      expect(() => inpaintDiffusion(image, empty, { arithmetic: "float32" })).toThrow(
        expect.objectContaining({ code: "ERR_EMPTY_MASK" }),
      );
    }
  });

  it("is what the diffusion Inpainter runs when asked for float32", async () => {
    const known = syntheticImage(45, 35, 3, 15);
    const mask = randomMaskOf(45, 35, 0.08, 16);
    const inpainter = diffusionInpainter({ tolerance: 1e-4, arithmetic: "float32" });
    const image = await inpainter.inpaint(known, mask);
    expect(sha(image)).toBe(
      sha(inpaintDiffusion(known, mask, { tolerance: 1e-4, arithmetic: "float32" }).image),
    );
  });
});
