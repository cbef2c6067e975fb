/**
 * Decode-time benchmark of homogeneous diffusion inpainting (target: a 768×512 colour image at 5 %
 * in under 0.3 s on one core). For the Kodak images and random masks at 2/5/10 %: seconds for the whole
 * inpainting (system set-up + multigrid-preconditioned CG to a relative residual of 1e-6, all channels), CG
 * iterations, and the MAE of the result. Baseline, measured in the same run on the first image: plain
 * (unpreconditioned) CG on the same system to the same tolerance; the ratio is printed. Time is CPU seconds
 * of this process (the machine is shared) and wall seconds; each figure is the best of --repeat runs. "Whole
 * decode" times decodeBytes on the image's .mgc (default quantiser): parsing, mask and value decoding, colour
 * conversion and the inpainting.
 *
 *   npm run bench -- diffusion [--limit N] [--densities 0.02,0.05,0.1] [--repeat 3] [--out FILE.json]
 */
import { readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { diffusionInpainter, inpaintDiffusion } from "../src/baselines/diffusion.ts";
import { DiffusionSystem, toPadded } from "../src/baselines/diffusion-system.ts";
import { randomMask } from "../src/baselines/selectors.ts";
import { decodeBytes, encodeImage } from "../src/codec/codec.ts";
import { readImage } from "../src/image/io.ts";
import { mae } from "../src/image/metrics.ts";
import { type Image, type Mask, targetCount } from "../src/image/types.ts";

const KODAK = join(import.meta.dirname, "..", "..", "shared", "datasets", "kodak");

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Best CPU and wall time of `repeat` runs of an async f. */
async function timeAsync<T>(repeat: number, f: () => Promise<T>): Promise<{ cpu: number; wall: number }> {
  let cpu = Infinity;
  let wall = Infinity;
  for (let k = 0; k < repeat; k++) {
    const c0 = cpuSeconds();
    const w0 = performance.now();
    await f();
    cpu = Math.min(cpu, cpuSeconds() - c0);
    wall = Math.min(wall, (performance.now() - w0) / 1000);
  }
  return { cpu, wall };
}

/** Best CPU and wall time of `repeat` runs of f. */
function timeIt<T>(repeat: number, f: () => T): { cpu: number; wall: number; value: T } {
  let cpu = Infinity;
  let wall = Infinity;
  let value: T | undefined;
  for (let k = 0; k < repeat; k++) {
    const c0 = cpuSeconds();
    const w0 = performance.now();
    value = f();
    cpu = Math.min(cpu, cpuSeconds() - c0);
    wall = Math.min(wall, (performance.now() - w0) / 1000);
  }
  return { cpu, wall, value: value as T };
}

/** The baseline: unpreconditioned CG, one channel at a time, same operator and stopping rule. */
function plainCg(image: Image, mask: Mask, tolerance: number): number {
  const C = image.channels;
  let iterations = 0;
  for (let c = 0; c < C; c++) {
    const grey: Image = {
      width: image.width,
      height: image.height,
      channels: 1,
      data: image.data.filter((_, i) => i % C === c),
    };
    const system = new DiffusionSystem(image.width, image.height, mask.data, 1);
    const n = system.length;
    const b = new Float64Array(n);
    system.rhs(toPadded(system, grey), b);
    const x = new Float64Array(n);
    const r = new Float64Array(b);
    const p = new Float64Array(b);
    const q = new Float64Array(n);
    let bb = 0;
    for (let i = 0; i < n; i++) bb += b[i] * b[i];
    let rr = bb;
    while (rr > tolerance * tolerance * bb && iterations < 100000) {
      iterations++;
      system.apply(p, q);
      let pq = 0;
      for (let i = 0; i < n; i++) pq += p[i] * q[i];
      const alpha = rr / pq;
      let rrNew = 0;
      for (let i = 0; i < n; i++) {
        x[i] += alpha * p[i];
        r[i] -= alpha * q[i];
        rrNew += r[i] * r[i];
      }
      const beta = rrNew / rr;
      rr = rrNew;
      for (let i = 0; i < n; i++) p[i] = r[i] + beta * p[i];
    }
  }
  return iterations;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      limit: { type: "string", default: "24" },
      densities: { type: "string", default: "0.02,0.05,0.1" },
      repeat: { type: "string", default: "3" },
      out: { type: "string" },
    },
  });
  const densities = values.densities.split(",").map(Number);
  const repeat = Number(values.repeat);
  const files = readdirSync(KODAK)
    .filter((f) => f.endsWith(".png"))
    .sort()
    .slice(0, Number(values.limit));
  const rows: Record<string, number | string>[] = [];
  const baselines: Record<string, number | string>[] = [];
  for (const [k, file] of files.entries()) {
    const image = await readImage(join(KODAK, file));
    for (const density of densities) {
      const mask = randomMask(image.width, image.height, targetCount(image.width * image.height, density), k);
      const t = timeIt(repeat, () => inpaintDiffusion(image, mask));
      // the whole decoder: .mgc bytes (default quantiser) -> header, mask and values decoding -> inpainting
      const encoded = await encodeImage(image, {
        selector: { id: "random", select: async () => mask },
        density,
        backend: "diffusion",
      });
      const decode = await timeAsync(repeat, () =>
        decodeBytes(encoded.bytes, async () => diffusionInpainter()),
      );
      const row = {
        image: file,
        density,
        cpu: t.cpu,
        wall: t.wall,
        decodeCpu: decode.cpu,
        decodeWall: decode.wall,
        iterations: Math.max(...t.value.iterations),
        mae: mae(image, t.value.image),
      };
      rows.push(row);
      console.error(
        `${file} d=${density}: ${t.cpu.toFixed(3)} s CPU (${t.wall.toFixed(3)} s wall), ` +
          `whole decode ${decode.cpu.toFixed(3)} s CPU, ` +
          `${row.iterations} iterations, MAE ${row.mae.toFixed(2)}`,
      );
      if (k === 0) {
        const b = timeIt(1, () => plainCg(image, mask, 1e-6));
        baselines.push({ image: file, density, cpu: b.cpu, wall: b.wall, iterations: b.value });
        console.error(
          `  baseline plain CG: ${b.cpu.toFixed(3)} s CPU, ${b.value} iterations over the channels`,
        );
      }
    }
  }
  console.log(
    `\nDiffusion inpainting, ${files.length} Kodak images (768×512 colour), random masks, tolerance 1e-6.`,
  );
  console.log(`Best of ${repeat} runs; CPU seconds (wall in brackets).\n`);
  console.log(
    "| density | mean s | max s | whole decode, mean s | mean CG iterations | mean MAE | plain CG s (first image) | speed-up |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  const summary: Record<string, number>[] = [];
  for (const density of densities) {
    const r = rows.filter((x) => x.density === density);
    const mean = (key: string) => r.reduce((s, x) => s + (x[key] as number), 0) / r.length;
    const max = Math.max(...r.map((x) => x.cpu as number));
    const b = baselines.find((x) => x.density === density);
    const first = r[0];
    const speedUp = b ? (b.cpu as number) / (first.cpu as number) : Number.NaN;
    summary.push({
      density,
      cpu: mean("cpu"),
      wall: mean("wall"),
      max,
      decodeCpu: mean("decodeCpu"),
      iterations: mean("iterations"),
      speedUp,
    });
    console.log(
      `| ${(density * 100).toFixed(0)}% | ${mean("cpu").toFixed(3)} [${mean("wall").toFixed(3)}] | ${max.toFixed(3)} | ` +
        `${mean("decodeCpu").toFixed(3)} [${mean("decodeWall").toFixed(3)}] | ` +
        `${mean("iterations").toFixed(1)} | ${mean("mae").toFixed(2)} | ${b ? (b.cpu as number).toFixed(2) : ""} | ` +
        `${speedUp.toFixed(1)}× |`,
    );
  }
  if (values.out) {
    await writeFile(values.out, `${JSON.stringify({ summary, baselines, rows }, null, 1)}\n`);
    console.log(`\nwrote ${values.out}`);
  }
}
