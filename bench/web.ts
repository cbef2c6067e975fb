/**
 * The page's budgets, measured in headless Chromium (Debian's chromium through web/harness.ts):
 *
 * - page weight: every file the page can fetch (HTML, JS, the tfjs SIMD wasm, the diffusion kernels, the
 *   default gan models with their base shards) — budget 6 MB;
 * - decoding a 768×512 .mgc (the Kodak image encoded by Node with the page's default settings) in a freshly
 *   loaded page — budget 3 s;
 * - encoding that image with the default settings (gan, density 0.05) in a freshly loaded page — budget 6 s;
 * - the tab's peak memory (VmHWM of the renderer process, which runs the page and its worker) encoding the
 *   image upscaled to each --sizes megapixels — budget 1.5 GB at 12 MP.
 *
 * Times are wall seconds from choosing the file to the page showing the result (the worker's own figure for
 * the codec alone in brackets); the first request of a page includes starting tfjs and fetching the model.
 *
 *   npm run bench -- web [--image kodim23.png] [--sizes 0.4,2,4,12] [--density 0.05]
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { encode } from "../src/api.ts";
import { readImage } from "../src/image/io.ts";
import { buildWeb } from "../web/build.ts";
import { openPage, runFile } from "../web/harness.ts";
import { MAX_PAGE_PIXELS } from "../web/src/limits.ts";

const KODAK = join(import.meta.dirname, "..", "..", "shared", "datasets", "kodak");
const MB = 1e6;

/** Peak resident memory (VmHWM, bytes) of the browser's renderer processes: the largest one. */
function rendererPeakBytes(browserPid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  let peak = 0;
  const queue = [browserPid];
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    queue.push(...(children.get(pid) ?? []));
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--type=renderer")) continue;
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (hwm) peak = Math.max(peak, Number(hwm[1]) * 1024);
    } catch {
      // gone
    }
  }
  return peak;
}

async function timed<T>(f: () => Promise<T>): Promise<{ result: T; wall: number }> {
  const start = performance.now();
  const result = await f();
  return { result, wall: (performance.now() - start) / 1000 };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      image: { type: "string", default: "kodim23.png" },
      sizes: { type: "string", default: "0.4,2,4,12" },
      density: { type: "string", default: "0.05" },
    },
  });
  const density = Number(values.density);
  const dir = join(tmpdir(), "maskcodec-bench-web");
  mkdirSync(dir, { recursive: true });
  const build = await buildWeb();
  const rows: string[][] = [];
  const add = (row: string[]) => {
    rows.push(row);
    process.stderr.write(`${row.join("  ")}\n`);
  };

  const weight = Object.values(build.weights).reduce((a, b) => a + b, 0);
  const part = (test: (f: string) => boolean) =>
    Object.entries(build.weights)
      .filter(([f]) => test(f))
      .reduce((a, [, b]) => a + b, 0);
  const js = part((f) => f.endsWith(".js") || f.endsWith(".html"));
  const wasm = part((f) => f.endsWith(".wasm"));
  const models = part((f) => f.startsWith("fs/models/"));
  add([
    "page weight",
    `${(weight / MB).toFixed(2)} MB (HTML+JS ${(js / MB).toFixed(2)}, wasm ${(wasm / MB).toFixed(2)}, models ${(models / MB).toFixed(2)})`,
    "≤ 6 MB",
    weight <= 6 * MB ? "yes" : "no",
  ]);

  const source = join(KODAK, values.image as string);
  const png = join(dir, "kodak.png");
  const { width, height } = await sharp(source).metadata();
  await sharp(source).png().toFile(png);
  const mgc = join(dir, "kodak.mgc");
  writeFileSync(mgc, (await encode(await readImage(png), { density })).bytes);

  {
    const session = await openPage({ build });
    const first = await timed(() => runFile(session.page, mgc));
    const again = await timed(() => runFile(session.page, mgc));
    await session.close();
    for (const [label, r] of [
      ["decode, first after load", first],
      ["decode, again", again],
    ] as const) {
      add([
        `${label} (${width}×${height})`,
        r.result.state === "done"
          ? `${r.wall.toFixed(2)} s (worker ${r.result.decodeSeconds?.toFixed(2)} s)`
          : r.result.error,
        "≤ 3 s",
        r.result.state === "done" && r.wall <= 3 ? "yes" : "no",
      ]);
    }
  }
  {
    const session = await openPage({ build });
    const first = await timed(() => runFile(session.page, png, { density, backend: "gan" }));
    const again = await timed(() => runFile(session.page, png, { density, backend: "gan" }));
    const peak = rendererPeakBytes(session.browser.process()?.pid ?? 0);
    await session.close();
    for (const [label, r] of [
      ["encode gan, first after load", first],
      ["encode gan, again", again],
    ] as const) {
      add([
        `${label} (${width}×${height}, d ${density})`,
        r.result.state === "done"
          ? `${r.wall.toFixed(2)} s (worker: encode ${r.result.encodeSeconds?.toFixed(2)} s, decode ${r.result.decodeSeconds?.toFixed(2)} s; the rest is JPEG/WebP matching and metrics)`
          : r.result.error,
        "≤ 6 s",
        r.result.state === "done" && r.wall <= 6 ? "yes" : "no",
      ]);
    }
    add([
      `tab peak memory, the two encodes of ${width}×${height}`,
      `${(peak / 2 ** 20).toFixed(0)} MiB`,
      "≤ 1.5 GB",
      peak <= 1.5 * 2 ** 30 ? "yes" : "no",
    ]);
  }

  for (const mp of (values.sizes as string).split(",").map(Number)) {
    const scale = Math.sqrt((mp * MB) / ((width ?? 1) * (height ?? 1)));
    const w = Math.round((width ?? 1) * scale);
    const h = Math.round((height ?? 1) * scale);
    const file = join(dir, `kodak-${mp}mp.png`);
    await sharp(source).resize(w, h).png({ compressionLevel: 1 }).toFile(file);
    const session = await openPage({ build });
    const pid = session.browser.process()?.pid ?? 0;
    const r = await timed(() => runFile(session.page, file, { density, backend: "gan" }, 590_000));
    const peak = rendererPeakBytes(pid);
    await session.close();
    const refused = r.result.state !== "done";
    add([
      `tab peak memory, encode gan ${w}×${h} (${((w * h) / MB).toFixed(1)} MP)`,
      refused
        ? `refused: ${r.result.error} (peak ${(peak / 2 ** 20).toFixed(0)} MiB)`
        : `${(peak / 2 ** 20).toFixed(0)} MiB, ${r.wall.toFixed(1)} s`,
      "≤ 1.5 GB",
      !refused && peak <= 1.5 * 2 ** 30 ? "yes" : "no",
    ]);
  }

  const table = [
    "| figure | measured | budget | within |",
    "| --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
  process.stdout.write(`${table}\n\npage pixel limit: ${MAX_PAGE_PIXELS}\n`);
  writeFileSync(join(dir, "web.md"), table);
}
