/**
 * The paper's Table 3 protocol: 128×128 centre crops of the BSDS500 test-dev images,
 * colour, densities 5/10/20 %, values stored exactly. For each image and density: PS, then NLPE continuing
 * from PS's mask (so "PS+NLPE" = PS time + NLPE time, as one run of psNlpe), then tonal optimisation of the
 * PS+NLPE mask. Quality: MAE and SSIM of the diffusion inpainting (relative residual 1e-6) rounded to 8 bits,
 * as a decoder writes it. Time: CPU seconds of this process (the machine is shared, so CPU time is the fairer
 * "one core" figure) and wall seconds. Prints a markdown table beside the paper's numbers, plus the time of
 * PS+NLPE on one 768×512 Kodak image at 5 %; --out FILE writes every record as JSON.
 *
 *   npm run bench -- table3 [--limit N] [--densities 0.05,0.1,0.2] [--seed S] [--kodak kodim01.png|none]
 *                           [--out FILE.json]
 *   tuning: [--p P] [--q Q] [--radius R|auto] [--ps-eps E] [--candidates K] [--nlpe-eps E] [--cycles N]
 *           [--stages ps|ps,nlpe|ps,nlpe,tonal]   (skipped stages are reported as the previous one)
 */
import { readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { inpaintDiffusion } from "../src/baselines/diffusion.ts";
import { LocalInpainting } from "../src/baselines/local.ts";
import { type NlpeOptions, runNlpe } from "../src/baselines/nlpe.ts";
import { type PsOptions, runPs } from "../src/baselines/ps.ts";
import { optimiseTonal } from "../src/baselines/tonal.ts";
import { centreCrop, readImage } from "../src/image/io.ts";
import { mae, psnr, ssim } from "../src/image/metrics.ts";
import {
  createImage,
  createMask,
  type Image,
  type Mask,
  maskCount,
  targetCount,
} from "../src/image/types.ts";

const DATA = join(import.meta.dirname, "..", "..", "shared", "datasets");

/** Peter (PSIVT 2022), Table 3: MAE, SSIM and seconds per 128×128 colour image on one i5-6600K core. */
const PAPER: Record<
  string,
  { maePs: number; maeNlpe: number; ssimPs: number; ssimNlpe: number; sPs: number; sNlpe: number }
> = {
  "0.05": { maePs: 13.98, maeNlpe: 10.98, ssimPs: 0.69, ssimNlpe: 0.7, sPs: 58.8, sNlpe: 251 },
  "0.1": { maePs: 9.08, maeNlpe: 7.51, ssimPs: 0.8, ssimNlpe: 0.81, sPs: 33.9, sNlpe: 341 },
  "0.2": { maePs: 5.19, maeNlpe: 4.31, ssimPs: 0.9, ssimNlpe: 0.91, sPs: 18.9, sNlpe: 389 },
};

interface Row {
  image: string;
  density: number;
  count: number;
  mae_ps: number;
  ssim_ps: number;
  mae_nlpe: number;
  ssim_nlpe: number;
  mae_tonal: number;
  ssim_tonal: number;
  psnr_nlpe: number;
  psnr_tonal: number;
  cpu_ps: number;
  cpu_nlpe: number;
  cpu_tonal: number;
  wall_ps: number;
  wall_nlpe: number;
  wall_tonal: number;
  nlpe_accepted: number;
  nlpe_reverts: number;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Reconstruction rounded to 8 bits, as a decoder writes it. */
function reconstruct(values: Image, mask: Mask): Image {
  const out = inpaintDiffusion(values, mask).image;
  const data = out.data.map((v) => Math.min(255, Math.max(0, Math.round(v))));
  return createImage(out.width, out.height, out.channels, data);
}

function mean(rows: Row[], key: keyof Row): number {
  return rows.reduce((s, r) => s + (r[key] as number), 0) / rows.length;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      limit: { type: "string", default: "100" },
      densities: { type: "string", default: "0.05,0.1,0.2" },
      seed: { type: "string", default: "0" },
      kodak: { type: "string", default: "kodim01.png" },
      out: { type: "string" },
      p: { type: "string" },
      q: { type: "string" },
      radius: { type: "string" },
      "ps-eps": { type: "string" },
      candidates: { type: "string" },
      "nlpe-eps": { type: "string" },
      cycles: { type: "string" },
      stages: { type: "string", default: "ps,nlpe,tonal" },
    },
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const psOptions: PsOptions = {
    p: num(values.p),
    q: num(values.q),
    eps: num(values["ps-eps"]),
    radius: values.radius === undefined || values.radius === "auto" ? undefined : Number(values.radius),
  };
  const nlpeOptions: NlpeOptions = {
    candidates: num(values.candidates),
    eps: num(values["nlpe-eps"]),
    cycles: num(values.cycles),
  };
  const stages = new Set(values.stages.split(","));
  const limit = Number(values.limit);
  const densities = values.densities.split(",").map(Number);
  const seed = Number(values.seed);
  const dir = join(DATA, "bsds500", "test-dev");
  const files = readdirSync(dir)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort()
    .slice(0, limit);
  const rows: Row[] = [];
  for (const [k, file] of files.entries()) {
    const image = centreCrop(await readImage(join(dir, file)), 128);
    for (const density of densities) {
      const target = targetCount(image.width * image.height, density);
      const engine = new LocalInpainting(image);
      let c0 = cpuSeconds();
      let w0 = performance.now();
      runPs(engine, target, { ...psOptions, seed });
      const cpuPs = cpuSeconds() - c0;
      const wallPs = (performance.now() - w0) / 1000;
      const psMask = createMask(image.width, image.height, engine.maskData());
      c0 = cpuSeconds();
      w0 = performance.now();
      const nl = stages.has("nlpe")
        ? runNlpe(engine, { ...nlpeOptions, seed })
        : { accepted: 0, reverts: 0, maeBefore: 0, maeAfter: 0, iterations: 0 };
      const cpuNlpe = cpuSeconds() - c0;
      const wallNlpe = (performance.now() - w0) / 1000;
      const nlpeMask = createMask(image.width, image.height, engine.maskData());
      c0 = cpuSeconds();
      w0 = performance.now();
      const tonal = stages.has("tonal") ? optimiseTonal(image, nlpeMask) : { values: image };
      const cpuTonal = cpuSeconds() - c0;
      const wallTonal = (performance.now() - w0) / 1000;
      const ps = reconstruct(image, psMask);
      const nlpe = reconstruct(image, nlpeMask);
      const tonalOut = reconstruct(tonal.values, nlpeMask);
      const row: Row = {
        image: file,
        density,
        count: maskCount(nlpeMask),
        mae_ps: mae(image, ps),
        ssim_ps: ssim(image, ps),
        mae_nlpe: mae(image, nlpe),
        ssim_nlpe: ssim(image, nlpe),
        mae_tonal: mae(image, tonalOut),
        ssim_tonal: ssim(image, tonalOut),
        psnr_nlpe: psnr(image, nlpe),
        psnr_tonal: psnr(image, tonalOut),
        cpu_ps: cpuPs,
        cpu_nlpe: cpuPs + cpuNlpe,
        cpu_tonal: cpuTonal,
        wall_ps: wallPs,
        wall_nlpe: wallPs + wallNlpe,
        wall_tonal: wallTonal,
        nlpe_accepted: nl.accepted,
        nlpe_reverts: nl.reverts,
      };
      rows.push(row);
      console.error(
        `[${k + 1}/${files.length}] ${file} d=${density}: MAE PS ${row.mae_ps.toFixed(2)} ` +
          `+NLPE ${row.mae_nlpe.toFixed(2)} +tonal ${row.mae_tonal.toFixed(2)}; ` +
          `cpu ${cpuPs.toFixed(2)}s / ${(cpuPs + cpuNlpe).toFixed(2)}s / ${cpuTonal.toFixed(2)}s`,
      );
    }
  }

  console.log(`\nTable 3 protocol: ${files.length} BSDS500 test-dev images, 128×128 centre crops, colour.`);
  console.log(
    `Options: PS ${JSON.stringify(psOptions)}, NLPE ${JSON.stringify(nlpeOptions)}, stages ${values.stages}.`,
  );
  console.log(
    "Ours: mean over images; seconds are CPU seconds per image (wall in brackets). Paper in italics.\n",
  );
  console.log(
    "| density | MAE PS | MAE PS+NLPE | MAE +tonal | SSIM PS | SSIM PS+NLPE | SSIM +tonal | s PS | s PS+NLPE | s tonal | speed-up PS | speed-up PS+NLPE |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  const summary: Record<string, unknown>[] = [];
  for (const density of densities) {
    const r = rows.filter((x) => x.density === density);
    if (r.length === 0) continue;
    const p = PAPER[String(density)];
    const m = {
      density,
      images: r.length,
      mae_ps: mean(r, "mae_ps"),
      mae_nlpe: mean(r, "mae_nlpe"),
      mae_tonal: mean(r, "mae_tonal"),
      ssim_ps: mean(r, "ssim_ps"),
      ssim_nlpe: mean(r, "ssim_nlpe"),
      ssim_tonal: mean(r, "ssim_tonal"),
      psnr_nlpe: mean(r, "psnr_nlpe"),
      psnr_tonal: mean(r, "psnr_tonal"),
      cpu_ps: mean(r, "cpu_ps"),
      cpu_nlpe: mean(r, "cpu_nlpe"),
      cpu_tonal: mean(r, "cpu_tonal"),
      wall_ps: mean(r, "wall_ps"),
      wall_nlpe: mean(r, "wall_nlpe"),
      wall_tonal: mean(r, "wall_tonal"),
    };
    summary.push(m);
    const it = (v: number | undefined, d = 2) => (v === undefined ? "" : ` (_${v.toFixed(d)}_)`);
    console.log(
      `| ${(density * 100).toFixed(0)}% | ${m.mae_ps.toFixed(2)}${it(p?.maePs)} | ${m.mae_nlpe.toFixed(2)}${it(p?.maeNlpe)} | ` +
        `${m.mae_tonal.toFixed(2)} | ${m.ssim_ps.toFixed(3)}${it(p?.ssimPs)} | ${m.ssim_nlpe.toFixed(3)}${it(p?.ssimNlpe)} | ` +
        `${m.ssim_tonal.toFixed(3)} | ${m.cpu_ps.toFixed(3)} [${m.wall_ps.toFixed(3)}]${it(p?.sPs, 1)} | ` +
        `${m.cpu_nlpe.toFixed(3)} [${m.wall_nlpe.toFixed(3)}]${it(p?.sNlpe, 0)} | ${m.cpu_tonal.toFixed(3)} | ` +
        `${p ? `${(p.sPs / m.cpu_ps).toFixed(0)}×` : ""} | ${p ? `${(p.sNlpe / m.cpu_nlpe).toFixed(0)}×` : ""} |`,
    );
  }

  console.log("\nTonal optimisation (least squares) on the PS+NLPE masks, mean PSNR over images:");
  for (const m of summary) {
    const d = m as {
      density: number;
      psnr_nlpe: number;
      psnr_tonal: number;
      mae_nlpe: number;
      mae_tonal: number;
    };
    console.log(
      `  ${(d.density * 100).toFixed(0)}%: PSNR ${d.psnr_nlpe.toFixed(2)} → ${d.psnr_tonal.toFixed(2)} dB ` +
        `(${(d.psnr_tonal - d.psnr_nlpe).toFixed(2)} dB), MAE ${d.mae_nlpe.toFixed(2)} → ${d.mae_tonal.toFixed(2)}`,
    );
  }

  let kodak: Record<string, unknown> | undefined;
  if (values.kodak !== "none") {
    const image = await readImage(join(DATA, "kodak", values.kodak));
    const density = 0.05;
    const engine = new LocalInpainting(image);
    const c0 = cpuSeconds();
    const w0 = performance.now();
    runPs(engine, targetCount(image.width * image.height, density), { ...psOptions, seed });
    const cpuPs = cpuSeconds() - c0;
    const nl = runNlpe(engine, { ...nlpeOptions, seed });
    const cpuAll = cpuSeconds() - c0;
    const wall = (performance.now() - w0) / 1000;
    const mask = createMask(image.width, image.height, engine.maskData());
    const out = reconstruct(image, mask);
    kodak = {
      image: values.kodak,
      width: image.width,
      height: image.height,
      density,
      cpu_ps: cpuPs,
      cpu_ps_nlpe: cpuAll,
      wall_ps_nlpe: wall,
      mae_ps: nl.maeBefore,
      mae_ps_nlpe: mae(image, out),
      ssim_ps_nlpe: ssim(image, out),
    };
    console.log(
      `\n${values.kodak} (${image.width}×${image.height}, colour) at 5%: PS ${cpuPs.toFixed(1)} s, ` +
        `PS+NLPE ${cpuAll.toFixed(1)} s CPU (${wall.toFixed(1)} s wall); MAE ${nl.maeBefore.toFixed(2)} → ` +
        `${mae(image, out).toFixed(2)}`,
    );
  }
  if (values.out) {
    await writeFile(values.out, `${JSON.stringify({ summary, kodak, rows }, null, 1)}\n`);
    console.log(`\nwrote ${values.out}`);
  }
}
