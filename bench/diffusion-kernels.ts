/**
 * The diffusion solver's two costliest kernels at one fine level, float64 (three interleaved channels, the
 * solve of versions 1–6) against float32 (one four-lane group per pixel, version 7's colour solve,
 * src/baselines/cg-f32.ts): the backward Gauss–Seidel sweep with its dot products and the operator with its
 * dot products, on a W × H level with a random mask, warm, best of --repeat calls, wall milliseconds. The
 * ratios are measured in the same run.
 *
 *   npm run bench -- diffusion-kernels [--width 768] [--height 512] [--density 0.05] [--repeat 30]
 */
import { parseArgs } from "node:util";
import { assembleLevels } from "../src/baselines/diffusion-system.ts";
import { at } from "../src/baselines/kernel-binding.ts";
import { kernelArena } from "../src/baselines/wasm-kernels.ts";
import { createRng } from "../src/mask/rng.ts";

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      width: { type: "string", default: "768" },
      height: { type: "string", default: "512" },
      density: { type: "string", default: "0.05" },
      repeat: { type: "string", default: "30" },
    },
  });
  const w = Number(values.width);
  const h = Number(values.height);
  const repeat = Number(values.repeat);
  const rng = createRng(1);
  const mask = new Uint8Array(w * h);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.next() < Number(values.density) ? 1 : 0;
  const size = (w + 2) * (h + 2);
  // the two float64 and two float32 vectors, the levels' coefficients (a third more for the coarse ones), the mask
  const bytes = 2 * 24 * size + 2 * 16 * size + 4 * 4 * size * 1.4 + w * h + (1 << 20);
  const arena = kernelArena(bytes);
  if (!arena?.reset(bytes)) throw new Error("the WebAssembly kernels are unavailable");
  const { levels } = assembleLevels(w, h, mask, 0, arena);
  const { s, diag, invDiag, wE, wS } = levels[0];
  const r64 = arena.f64(3 * size, true);
  const e64 = arena.f64(3 * size, true);
  const r32 = arena.f32(4 * size, true);
  const e32 = arena.f32(4 * size, true);
  for (let i = 0; i < w * h; i++) {
    const p = (Math.floor(i / w) + 1) * s + (i % w) + 1;
    if (mask[i]) continue;
    for (let c = 0; c < 3; c++) {
      const v = rng.next() * 255;
      r64[3 * p + c] = v;
      r32[4 * p + c] = v;
    }
  }
  const k = arena.k;
  const best = (f: () => void) => {
    let t = Infinity;
    for (let i = 0; i < repeat; i++) {
      const t0 = performance.now();
      f();
      t = Math.min(t, performance.now() - t0);
    }
    return t;
  };
  const rows: Array<[string, number, number]> = [
    [
      "backward sweep with r·e",
      best(() => k.smooth_backward_dot3(w, h, s, at(invDiag), at(wE), at(wS), at(r64), at(e64))),
      best(() => k.smooth_backward_dot4(w, h, s, at(invDiag), at(wE), at(wS), at(r32), at(e32))),
    ],
    [
      "operator with p·Ap",
      best(() => k.apply_dot3(w, h, s, at(diag), at(wE), at(wS), at(r64), at(e64))),
      best(() => k.apply_dot4(w, h, s, at(diag), at(wE), at(wS), at(r32), at(e32))),
    ],
  ];
  console.log(
    `\nOne ${w} × ${h} colour level, mask density ${values.density}, warm, best of ${repeat} calls.\n`,
  );
  console.log(
    "| kernel | float64, 3 channels interleaved (ms) | float32, one 4-lane group per pixel (ms) | ratio |",
  );
  console.log("| --- | --- | --- | --- |");
  for (const [name, a, b] of rows) {
    console.log(`| ${name} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(a / b).toFixed(2)}× |`);
  }
}
