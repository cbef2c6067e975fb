/**
 * Two more ways to place a mask generator's pixels better, tried for issue 5 (session 5), on BSDS500
 * validation crops (128×128 centre crops, never test-dev), diffusion inpainting, values exact, mean MAE:
 *
 * 1. Electrostatic halftoning (Schmaltz, Gwosdek, Bruhn, Weickert 2010) instead of Floyd–Steinberg: the kept
 *    pixels are particles attracted by the density map p and repelling each other (2-D Coulomb forces, 1/r,
 *    cut off at 5 mean spacings), started from the Floyd–Steinberg mask and rounded back to the grid. Tests
 *    whether the dithering, not the density, is what separates the network's masks from PS+NLPE's. Applied
 *    to the analytic density and to the model's own (sigmoid(z − t), the map its dithering realises).
 * 2. First-order exchanges: the exact gradient dE/db of the diffusion MAE with respect to the mask (the
 *    signal the mask generator is trained with, src/nets/diffusion-op.ts) used directly on each image —
 *    remove the m known pixels whose removal it rates cheapest, insert the m best-rated unknown pixels
 *    (no two inserted ones adjacent), m = `--fraction` of the count, repeated for `--rounds` rounds without
 *    testing. How far does that signal go when it is exact and per image, against 0.5 cycles of NLPE?
 *
 *   npm run bench -- placement-limits [--limit 12] [--densities 0.05,0.1] [--fraction 0.02] [--rounds 10]
 *     [--model DIR]
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { analyticScores, greyOf } from "../src/baselines/analytic.ts";
import { inpaintDiffusion } from "../src/baselines/diffusion.ts";
import { densityMap, ditherScores } from "../src/baselines/dither.ts";
import { nlpe } from "../src/baselines/nlpe.ts";
import { mae } from "../src/image/metrics.ts";
import { createMask, type Image, targetCount } from "../src/image/types.ts";
import { loadGradients } from "../src/nets/backend.ts";
import { diffusionInterpolation } from "../src/nets/diffusion-op.ts";
import { DensityMeans } from "./_density-table.ts";
import { modelsByDensity, valCrop, valFiles } from "./_val-crops.ts";

/**
 * Electrostatic halftoning of density p (sum = the number of pixels of `start`), from the pixels of `start`.
 * The attraction field of p is precomputed on the grid (it does not depend on the particles) and
 * interpolated bilinearly; repulsion between particles through a bucket grid. Step τ = 0.1 s² (s the mean
 * spacing, so a neighbour at distance s moves a particle by 0.1 s), decaying to 0.02 s², capped at s / 2.
 */
export function electrostaticHalftone(
  p: Float64Array,
  w: number,
  h: number,
  start: Uint8Array,
  iterations = 60,
): Uint8Array {
  const n = w * h;
  const px: number[] = [];
  const py: number[] = [];
  for (let i = 0; i < n; i++) {
    if (start[i]) {
      px.push(i % w);
      py.push(Math.floor(i / w));
    }
  }
  const m = px.length;
  if (m === 0) return new Uint8Array(n);
  const s = Math.sqrt(n / m);
  const R = Math.max(3, Math.ceil(5 * s));
  const ax = new Float64Array(n);
  const ay = new Float64Array(n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let fx = 0;
      let fy = 0;
      for (let yy = Math.max(0, y - R); yy <= Math.min(h - 1, y + R); yy++) {
        for (let xx = Math.max(0, x - R); xx <= Math.min(w - 1, x + R); xx++) {
          const dx = xx - x;
          const dy = yy - y;
          const d2 = dx * dx + dy * dy;
          if (d2 === 0 || d2 > R * R) continue;
          const q = p[yy * w + xx] / d2;
          fx += q * dx;
          fy += q * dy;
        }
      }
      ax[y * w + x] = fx;
      ay[y * w + x] = fy;
    }
  }
  const gw = Math.ceil(w / R);
  const gh = Math.ceil(h / R);
  const cellOf = (k: number) =>
    Math.min(gh - 1, Math.floor(py[k] / R)) * gw + Math.min(gw - 1, Math.floor(px[k] / R));
  const fxs = new Float64Array(m);
  const fys = new Float64Array(m);
  for (let it = 0; it < iterations; it++) {
    const buckets: number[][] = Array.from({ length: gw * gh }, () => []);
    for (let k = 0; k < m; k++) buckets[cellOf(k)].push(k);
    for (let k = 0; k < m; k++) {
      const x0 = Math.min(w - 2, Math.max(0, Math.floor(px[k])));
      const y0 = Math.min(h - 2, Math.max(0, Math.floor(py[k])));
      const tx = px[k] - x0;
      const ty = py[k] - y0;
      const bilinear = (a: Float64Array) =>
        (1 - ty) * ((1 - tx) * a[y0 * w + x0] + tx * a[y0 * w + x0 + 1]) +
        ty * ((1 - tx) * a[(y0 + 1) * w + x0] + tx * a[(y0 + 1) * w + x0 + 1]);
      let fx = bilinear(ax);
      let fy = bilinear(ay);
      const c = cellOf(k);
      const cx = c % gw;
      const cy = (c - cx) / gw;
      for (let by = Math.max(0, cy - 1); by <= Math.min(gh - 1, cy + 1); by++) {
        for (let bx = Math.max(0, cx - 1); bx <= Math.min(gw - 1, cx + 1); bx++) {
          for (const j of buckets[by * gw + bx]) {
            if (j === k) continue;
            const dx = px[j] - px[k];
            const dy = py[j] - py[k];
            const d2 = dx * dx + dy * dy;
            if (d2 > R * R) continue;
            const q = 1 / Math.max(d2, 0.05);
            fx -= q * dx;
            fy -= q * dy;
          }
        }
      }
      fxs[k] = fx;
      fys[k] = fy;
    }
    const tau = 0.1 * s * s * (1 - (0.8 * it) / iterations);
    for (let k = 0; k < m; k++) {
      let dx = tau * fxs[k];
      let dy = tau * fys[k];
      const len = Math.hypot(dx, dy);
      if (len > s / 2) {
        dx *= s / 2 / len;
        dy *= s / 2 / len;
      }
      px[k] = Math.min(w - 1, Math.max(0, px[k] + dx));
      py[k] = Math.min(h - 1, Math.max(0, py[k] + dy));
    }
  }
  // back to the grid; a particle whose pixel is taken goes to the nearest free one
  const out = new Uint8Array(n);
  for (let k = 0; k < m; k++) {
    const xi = Math.round(px[k]);
    const yi = Math.round(py[k]);
    let target = yi * w + xi;
    for (let r = 1, best = Number.POSITIVE_INFINITY; out[target] && r < w + h; r++) {
      for (let y = Math.max(0, yi - r); y <= Math.min(h - 1, yi + r); y++) {
        for (let x = Math.max(0, xi - r); x <= Math.min(w - 1, xi + r); x++) {
          const d = (x - px[k]) ** 2 + (y - py[k]) ** 2;
          if (!out[y * w + x] && d < best) {
            best = d;
            target = y * w + x;
          }
        }
      }
    }
    out[target] = 1;
  }
  return out;
}

/** dE/db of E = mean |f − u|, u the diffusion inpainting of `mask` (exact gradient, one adjoint solve). */
function maskGradient(image: Image, mask: Uint8Array): Float32Array {
  const { width: w, height: h, channels } = image;
  return tf.tidy(() => {
    const f = tf.tensor4d(image.data, [1, h, w, channels]);
    const b = tf.tensor4d(Float32Array.from(mask), [1, h, w, 1]);
    const loss = (bb: tf.Tensor) =>
      tf.mean(tf.abs(tf.sub(f, diffusionInterpolation(f, bb as tf.Tensor4D)))) as tf.Scalar;
    return tf.grad(loss)(b).dataSync() as Float32Array;
  });
}

/** One round of m untested first-order exchanges (see the header). */
function firstOrderExchange(mask: Uint8Array, grad: Float32Array, w: number, m: number): Uint8Array {
  const n = mask.length;
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < n; i++) (mask[i] ? known : unknown).push(i);
  known.sort((a, b) => grad[b] - grad[a]); // removing i changes E by about −grad[i]: largest first
  unknown.sort((a, b) => grad[a] - grad[b]); // inserting j changes E by about +grad[j]: most negative first
  const out = Uint8Array.from(mask);
  const blocked = new Uint8Array(n);
  const inserted: number[] = [];
  for (const j of unknown) {
    if (inserted.length >= m) break;
    if (blocked[j]) continue;
    inserted.push(j);
    const x = j % w;
    const y = (j - x) / w;
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const k = (y + dy) * w + x + dx;
        if (x + dx >= 0 && x + dx < w && k >= 0 && k < n) blocked[k] = 1;
      }
    }
  }
  for (let r = 0; r < inserted.length; r++) out[known[r]] = 0;
  for (const j of inserted) out[j] = 1;
  return out;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      limit: { type: "string", default: "12" },
      densities: { type: "string", default: "0.05,0.1" },
      fraction: { type: "string", default: "0.02" },
      rounds: { type: "string", default: "10" },
      model: { type: "string" },
    },
  });
  await loadGradients();
  const densities = values.densities.split(",").map(Number);
  const fraction = Number(values.fraction);
  const rounds = Number(values.rounds);
  const files = valFiles(Number(values.limit));
  const models = await modelsByDensity(densities, values.model);
  const modelIds = [...new Set(models.map((m) => m.id))].join(", ");
  const means = new DensityMeans(densities, files.length);
  const maeOf = (image: Image, mask: Uint8Array) =>
    mae(image, inpaintDiffusion(image, createMask(image.width, image.height, mask)).image);
  const started = performance.now();
  for (const file of files) {
    const image = await valCrop(file);
    const { width: w, height: h, channels } = image;
    for (const [i, d] of densities.entries()) {
      const model = models[i];
      const count = targetCount(w * h, d);
      const analytic = analyticScores(greyOf(image.data, w * h, channels), w, h, d);
      const analyticFs = ditherScores(analytic, w, h, count);
      means.add(d, `analytic fs`, maeOf(image, analyticFs));
      means.add(
        d,
        "analytic eh",
        maeOf(image, electrostaticHalftone(densityMap(analytic, count), w, h, analyticFs)),
      );
      const z = await model.scores(image, d);
      const own = (await model.selector("dither").select(image, d)).data;
      means.add(d, `model fs`, maeOf(image, own));
      means.add(d, `model eh`, maeOf(image, electrostaticHalftone(densityMap(z, count), w, h, own)));
      let mask = own;
      for (let r = 1; r <= rounds; r++) {
        mask = firstOrderExchange(
          mask,
          maskGradient(image, mask),
          w,
          Math.max(1, Math.round(fraction * count)),
        );
        if (r === 1 || r === 3 || r === rounds) means.add(d, `fo ${r}`, maeOf(image, mask));
      }
      const refined = nlpe(image, createMask(w, h, own), { cycles: 0.5, seed: 0 }).mask.data;
      means.add(d, `nlpe`, maeOf(image, refined));
    }
    process.stderr.write(".");
  }
  process.stderr.write("\n");
  console.log(
    `\nPlacement beyond the dithered density: ${files.length} BSDS500 val crops (128×128), model ${modelIds} (by density), diffusion inpainting, mean MAE\n`,
  );
  means.printHeader();
  const row = (label: string, key: string) => means.printRow(label, key);
  row("analytic density, Floyd–Steinberg", "analytic fs");
  row("analytic density, electrostatic halftoning", "analytic eh");
  row("the model's density, Floyd–Steinberg (its mask)", "model fs");
  row("the model's density, electrostatic halftoning", "model eh");
  const rs = [...new Set([1, 3, rounds])].filter((r) => r <= rounds);
  for (const r of rs)
    row(`its mask + ${r} round(s) of first-order exchanges (${fraction * 100} %)`, `fo ${r}`);
  row("its mask + 0.5 NLPE cycles", "nlpe");
  console.log(`\n${((performance.now() - started) / 1000).toFixed(0)} s`);
}
