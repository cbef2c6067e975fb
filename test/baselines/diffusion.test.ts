import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { diffusionInpainter, inpaintDiffusion, inpaintPerChannel } from "../../src/baselines/diffusion.ts";
import { DiffusionSystem, toPadded } from "../../src/baselines/diffusion-system.ts";
import { KEEP_ARENA_BYTES, kernelArena, setWasmKernels } from "../../src/baselines/wasm-kernels.ts";
import { MaskcodecError } from "../../src/errors.ts";
import { type Channels, createImage, createMask, type Image, type Mask } from "../../src/image/types.ts";
import { createRng } from "../../src/mask/rng.ts";
import { randomMaskOf } from "./helpers.ts";

function randomImage(w: number, h: number, C: Channels, seed: number): Image {
  const rng = createRng(seed);
  const img = createImage(w, h, C);
  for (let i = 0; i < img.data.length; i++) img.data[i] = Math.round(rng.next() * 255);
  return img;
}

/** Dense Gaussian elimination of the 5-point Laplace system on the unknowns (reference solution). */
function denseSolve(img: Image, mask: Mask): Float64Array {
  const { width: w, height: h, channels: C } = img;
  const idx = new Int32Array(w * h).fill(-1);
  const unknowns: number[] = [];
  for (let i = 0; i < w * h; i++) if (!mask.data[i]) idx[i] = unknowns.push(i) - 1;
  const m = unknowns.length;
  const out = new Float64Array(img.data);
  for (let c = 0; c < C; c++) {
    const a = Array.from({ length: m }, () => new Float64Array(m + 1));
    unknowns.forEach((i, k) => {
      const x = i % w;
      const y = Math.floor(i / w);
      const nbrs: number[] = [];
      if (x > 0) nbrs.push(i - 1);
      if (x < w - 1) nbrs.push(i + 1);
      if (y > 0) nbrs.push(i - w);
      if (y < h - 1) nbrs.push(i + w);
      a[k][k] = nbrs.length;
      for (const j of nbrs) {
        if (mask.data[j]) a[k][m] += img.data[j * C + c];
        else a[k][idx[j]] -= 1;
      }
    });
    for (let col = 0; col < m; col++) {
      let piv = col;
      for (let r = col + 1; r < m; r++) if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) piv = r;
      [a[col], a[piv]] = [a[piv], a[col]];
      for (let r = 0; r < m; r++) {
        if (r === col) continue;
        const f = a[r][col] / a[col][col];
        if (f !== 0) for (let k = col; k <= m; k++) a[r][k] -= f * a[col][k];
      }
    }
    unknowns.forEach((i, k) => {
      out[i * C + c] = a[k][m] / a[k][k];
    });
  }
  return out;
}

describe("homogeneous diffusion inpainting", () => {
  it("keeps the known pixels exactly", () => {
    const img = randomImage(37, 23, 3, 1);
    const mask = randomMaskOf(37, 23, 0.1, 2);
    const out = inpaintDiffusion(img, mask).image;
    for (let i = 0; i < mask.data.length; i++) {
      if (!mask.data[i]) continue;
      for (let c = 0; c < 3; c++) expect(out.data[i * 3 + c]).toBe(img.data[i * 3 + c]);
    }
  });

  it("solving one channel at a time gives the joint solve's values bit for bit at the decoders' tolerance", () => {
    // the networks' diffusion input picks either by size (src/nets/diffusion-op.ts): a decoded image must not
    // depend on which ran
    for (const [w, h, density, seed] of [
      [45, 31, 0.06, 1],
      [130, 97, 0.02, 2],
      [64, 200, 0.15, 3],
    ]) {
      const img = randomImage(w, h, 3, seed);
      const mask = randomMaskOf(w, h, density, seed + 10);
      const joint = inpaintDiffusion(img, mask, { tolerance: 1e-4 });
      const split = inpaintPerChannel(img, mask, { tolerance: 1e-4 });
      expect(split.iterations).toEqual(joint.iterations);
      expect(split.image.data).toEqual(joint.image.data);
    }
  });

  it("solving one channel at a time (large images) gives the joint solve's values and keeps the known pixels", () => {
    const img = randomImage(45, 31, 3, 5);
    const mask = randomMaskOf(45, 31, 0.06, 6);
    const joint = inpaintDiffusion(img, mask, { tolerance: 1e-10 });
    const split = inpaintPerChannel(img, mask, { tolerance: 1e-10 });
    // the TypeScript loops too (large solves), where the right-hand side doubles as a work vector
    setWasmKernels(false);
    let splitHere: ReturnType<typeof inpaintPerChannel>;
    try {
      splitHere = inpaintPerChannel(img, mask, { tolerance: 1e-10 });
    } finally {
      setWasmKernels(true);
    }
    expect(split.iterations).toHaveLength(3);
    for (const result of [split, splitHere]) {
      for (let i = 0; i < img.data.length; i++) {
        if (mask.data[Math.floor(i / 3)]) expect(result.image.data[i]).toBe(img.data[i]);
        expect(Math.abs(result.image.data[i] - joint.image.data[i])).toBeLessThan(1e-4);
      }
    }
  });

  it("writes the solution into the known image when asked (inPlace), with the same values, joint or per channel", async () => {
    const img = randomImage(45, 31, 3, 7);
    const mask = randomMaskOf(45, 31, 0.06, 8);
    const known = createImage(
      45,
      31,
      3,
      img.data.map((v, i) => (mask.data[Math.floor(i / 3)] ? v : 0)),
    );
    for (const perChannelPixels of [undefined, 100]) {
      const copy = inpaintDiffusion(known, mask, { tolerance: 1e-4, perChannelPixels });
      const mine = createImage(45, 31, 3, new Float32Array(known.data));
      const inPlace = inpaintDiffusion(mine, mask, { tolerance: 1e-4, perChannelPixels, inPlace: true });
      expect(inPlace.image).toBe(mine);
      expect(inPlace.image.data).toEqual(copy.image.data);
    }
    // the decoder's inpainter: consumeKnown
    const mine = createImage(45, 31, 3, new Float32Array(known.data));
    const decoded = await diffusionInpainter({ tolerance: 1e-4 }).inpaint(mine, mask, undefined, {
      consumeKnown: true,
    });
    expect(decoded).toBe(mine);
    expect(decoded.data).toEqual(inpaintDiffusion(known, mask, { tolerance: 1e-4 }).image.data);
  });

  it("reproduces a linear ramp exactly when the image border is known (ramps are harmonic)", () => {
    const w = 40;
    const h = 30;
    const img = createImage(w, h, 1);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img.data[y * w + x] = 10 + 3 * x + 2 * y;
    const mask = randomMaskOf(w, h, 0.03, 5);
    for (let x = 0; x < w; x++) mask.data[x] = mask.data[(h - 1) * w + x] = 1;
    for (let y = 0; y < h; y++) mask.data[y * w] = mask.data[y * w + w - 1] = 1;
    const out = inpaintDiffusion(img, mask, { tolerance: 1e-10 }).image;
    for (let i = 0; i < w * h; i++) expect(out.data[i]).toBeCloseTo(img.data[i], 3);
  });

  it("reaches the requested relative residual", () => {
    const img = randomImage(64, 48, 3, 3);
    const mask = randomMaskOf(64, 48, 0.05, 4);
    const system = new DiffusionSystem(64, 48, mask.data, 3);
    const b = new Float64Array(system.length);
    system.rhs(toPadded(system, img), b);
    for (const tolerance of [1e-3, 1e-6, 1e-9]) {
      const x = new Float64Array(system.length);
      const result = system.solve(b, x, tolerance);
      for (const r of system.residual(b, x)) expect(r).toBeLessThanOrEqual(tolerance);
      for (const r of result.residuals) expect(r).toBeLessThanOrEqual(tolerance);
    }
    // Through the Image API (float32 output) the default tolerance holds too, up to float32 rounding.
    const out = inpaintDiffusion(img, mask).image;
    for (const r of system.residual(b, toPadded(system, out))) expect(r).toBeLessThan(1e-6 + 3e-7);
  });

  it("agrees with a dense direct solve on tiny images", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.constantFrom<Channels>(1, 3),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 1e6 }),
        (w, h, C, density, seed) => {
          const img = randomImage(w, h, C, seed);
          const mask = randomMaskOf(w, h, density, seed + 1);
          const out = inpaintDiffusion(img, mask, { tolerance: 1e-12 }).image;
          const ref = denseSolve(img, mask);
          for (let i = 0; i < ref.length; i++) expect(Math.abs(out.data[i] - ref[i])).toBeLessThan(1e-3);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("stays within the range of the known values (maximum principle)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0.001, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 1e6 }),
        (w, h, density, seed) => {
          const img = randomImage(w, h, 1, seed);
          const mask = randomMaskOf(w, h, density, seed + 7);
          let lo = 255;
          let hi = 0;
          for (let i = 0; i < w * h; i++) {
            if (mask.data[i]) {
              lo = Math.min(lo, img.data[i]);
              hi = Math.max(hi, img.data[i]);
            }
          }
          const out = inpaintDiffusion(img, mask).image;
          for (let i = 0; i < w * h; i++) {
            expect(out.data[i]).toBeGreaterThanOrEqual(lo - 1e-3);
            expect(out.data[i]).toBeLessThanOrEqual(hi + 1e-3);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("fills the whole image with the value of a single known pixel", () => {
    const img = randomImage(50, 31, 3, 9);
    const mask = createMask(50, 31);
    mask.data[17 * 50 + 3] = 1;
    const out = inpaintDiffusion(img, mask).image;
    for (let i = 0; i < 50 * 31; i++) {
      for (let c = 0; c < 3; c++) expect(out.data[i * 3 + c]).toBeCloseTo(img.data[(17 * 50 + 3) * 3 + c], 3);
    }
  });

  it("returns the image itself for a full mask, including 1×1 images", () => {
    for (const [w, h] of [
      [1, 1],
      [5, 3],
    ]) {
      const img = randomImage(w, h, 3, 11);
      const mask = createMask(w, h, new Uint8Array(w * h).fill(1));
      expect(Array.from(inpaintDiffusion(img, mask).image.data)).toEqual(Array.from(img.data));
    }
  });

  it("refuses an empty mask with the library's error", () => {
    const img = randomImage(4, 4, 1, 1);
    expect(() => inpaintDiffusion(img, createMask(4, 4))).toThrow(MaskcodecError);
  });

  it("refuses a mask of another size", () => {
    const img = randomImage(4, 4, 1, 1);
    expect(() => inpaintDiffusion(img, createMask(4, 5))).toThrow(MaskcodecError);
  });

  it("gives the same result from a warm start", () => {
    const img = randomImage(60, 40, 3, 12);
    const mask = randomMaskOf(60, 40, 0.08, 13);
    const cold = inpaintDiffusion(img, mask, { tolerance: 1e-10 });
    const nearly = inpaintDiffusion(img, mask, { tolerance: 1e-2 });
    const warm = inpaintDiffusion(img, mask, { tolerance: 1e-10, initial: nearly.image });
    for (let i = 0; i < img.data.length; i++) expect(warm.image.data[i]).toBeCloseTo(cold.image.data[i], 3);
  });

  it("is an Inpainter with id diffusion", async () => {
    const inpainter = diffusionInpainter();
    expect(inpainter.id).toBe("diffusion");
    const img = randomImage(8, 8, 1, 1);
    const out = await inpainter.inpaint(img, randomMaskOf(8, 8, 0.2, 2));
    expect(out.width).toBe(8);
  });
});

describe("WebAssembly kernels", () => {
  it("give bit for bit the solution of the TypeScript loops (grey and colour, odd sizes, cold and warm starts)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 50 }),
        fc.constantFrom<Channels>(1, 3),
        fc.double({ min: 0.005, max: 0.6, noNaN: true }),
        fc.integer({ min: 0, max: 1000 }),
        fc.boolean(),
        (w, h, C, density, seed, warm) => {
          const img = randomImage(w, h, C, seed);
          const mask = randomMaskOf(w, h, density, seed + 1);
          const initial = randomImage(w, h, C, seed + 2);
          const run = (wasm: boolean) => {
            setWasmKernels(wasm);
            try {
              // with the kernels, the system is built (and a cold start prepared) by their twins too
              return inpaintDiffusion(img, mask, warm ? { initial, tolerance: 1e-8 } : { tolerance: 1e-8 });
            } finally {
              setWasmKernels(true);
            }
          };
          const js = run(false);
          const wasm = run(true);
          expect(wasm.iterations).toEqual(js.iterations);
          expect(wasm.residuals).toEqual(js.residuals);
          expect(Buffer.from(wasm.image.data.buffer).equals(Buffer.from(js.image.data.buffer))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("leave the caller's vectors usable after a solve that grew their memory", () => {
    const small = randomImage(9, 7, 3, 1);
    const smallMask = randomMaskOf(9, 7, 0.2, 2);
    const before = inpaintDiffusion(small, smallMask).image.data.slice();
    // a larger solve grows the kernels' memory, detaching any view into it
    inpaintDiffusion(randomImage(300, 200, 3, 3), randomMaskOf(300, 200, 0.05, 4));
    expect(inpaintDiffusion(small, smallMask).image.data).toEqual(before);
    const system = new DiffusionSystem(9, 7, smallMask.data, 3);
    const b = new Float64Array(system.length);
    system.rhs(toPadded(system, small), b);
    const x = new Float64Array(system.length);
    system.solve(b, x);
    expect(x.byteLength).toBe(system.length * 8);
    expect(Math.max(...system.residual(b, x))).toBeLessThanOrEqual(1e-6);
  });

  it("a resident system (built in the kernels' memory) solves to the same bits, reusing its dirty memory", () => {
    for (const [w, h, C, seed] of [
      [37, 29, 1, 7],
      [23, 17, 3, 8],
    ] as const) {
      const img = randomImage(w, h, C, seed);
      const mask = randomMaskOf(w, h, 0.08, seed + 1);
      const system = new DiffusionSystem(w, h, mask.data, C);
      const b = new Float64Array(system.length);
      system.rhs(toPadded(system, img), b);
      const expected = new Float64Array(system.length);
      const reference = system.solve(b, expected, 1e-8);
      // twice: the second layout reuses memory the first one wrote, which must come back zeroed
      for (let k = 0; k < 2; k++) {
        const resident = DiffusionSystem.resident(w, h, mask.data, C);
        expect(resident).not.toBeNull();
        const rb = resident?.vector() ?? b;
        const x = resident?.vector() ?? expected;
        rb.set(b);
        expect(resident?.solve(rb, x, 1e-8, 500, k === 1)).toEqual(reference);
        expect(x).toEqual(expected);
        // leaves other values all over the kernels' memory
        inpaintDiffusion(randomImage(w, h, 3, seed + 2), randomMaskOf(w, h, 0.3, seed + 3));
      }
    }
  });

  it("a resident system refuses a solve once another solve has reused its memory, and vectors not its own", () => {
    const mask = randomMaskOf(20, 15, 0.1, 9);
    const resident = DiffusionSystem.resident(20, 15, mask.data) as DiffusionSystem;
    const b = resident.vector();
    b[30] = 1;
    expect(() => resident.solve(new Float64Array(resident.length), resident.vector())).toThrow(
      "solves with its own vectors",
    );
    inpaintDiffusion(randomImage(20, 15, 3, 10), mask);
    expect(() => resident.solve(b, resident.vector())).toThrow("reused by another solve");
    const full = DiffusionSystem.resident(20, 15, mask.data) as DiffusionSystem;
    for (let k = 0; k < 6; k++) full.vector(); // b, x and CG's four: the room it has
    expect(() => full.vector()).toThrow("handed out all the vectors");
  });

  it("replaces an arena beyond the keep size when a solve needs less than a quarter of it", () => {
    const first = kernelArena();
    expect(first).not.toBeNull();
    expect(kernelArena(0)).toBe(first); // small arenas are always kept
    const big = (first as NonNullable<typeof first>).memory;
    big.grow(Math.ceil((KEEP_ARENA_BYTES + 1 - big.buffer.byteLength) / 65536));
    expect(kernelArena(big.buffer.byteLength / 2)).toBe(first); // a large solve keeps it
    const img = randomImage(40, 30, 3, 5);
    const mask = randomMaskOf(40, 30, 0.1, 6);
    const expected = inpaintDiffusion(img, mask).image.data; // needs far less: replaced
    const second = kernelArena();
    expect(second).not.toBe(first);
    expect((second as NonNullable<typeof second>).memory.buffer.byteLength).toBeLessThan(KEEP_ARENA_BYTES);
    setWasmKernels(false);
    try {
      expect(inpaintDiffusion(img, mask).image.data).toEqual(expected);
    } finally {
      setWasmKernels(true);
    }
  });

  it("the committed .wasm was built from the committed C source", () => {
    const dir = join(import.meta.dirname, "..", "..", "src", "baselines", "wasm");
    const source = readFileSync(join(dir, "diffusion-kernels.c"));
    const recorded = readFileSync(join(dir, "diffusion-kernels.c.sha256"), "utf8").trim();
    expect(createHash("sha256").update(source).digest("hex")).toBe(recorded);
    expect(kernelArena()).not.toBeNull();
  });
});
