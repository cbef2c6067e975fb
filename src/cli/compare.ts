import type { Command } from "commander";
import { DEFAULT_SWEEP_DIFFUSION_MASKS } from "../defaults.ts";
import type { CodecName } from "../eval/codecs.ts";
import { parseCodecList } from "../eval/inputs.ts";
import { integerParser, parseDensityOption } from "./options.ts";

interface CompareFlags {
  out: string;
  density: number;
  codecs?: CodecName[];
  masks?: string;
  levels?: number;
  match: string;
  crop?: number;
  columns?: number;
  seed?: number;
  model?: string;
  force?: boolean;
}

export function register(program: Command): void {
  program
    .command("compare")
    .description(
      "one PNG with the original, the reconstructions (codec, bpp, PSNR) and the masks, like the paper's " +
        "Figures 2 and 3; the reference codecs are set to the size (or PSNR) of the first mask-codec result",
    )
    .argument("<image>", "image file")
    .requiredOption("-o, --out <file>", "output PNG")
    .option("-d, --density <d>", "mask density for the mask codecs", parseDensityOption, 0.05)
    .option(
      "-c, --codecs <list>",
      "comma-separated codecs (default: the mask codecs available, jpeg, webp, avif)",
      parseCodecList,
    )
    .option(
      "-m, --masks <list>",
      `mask selectors for diffusion, or BACKEND:NAME (default: ${DEFAULT_SWEEP_DIFFUSION_MASKS.join(",")})`,
    )
    .option("-l, --levels <n>", "quantiser levels for the mask codecs", integerParser("levels", 2, 256))
    .option("--match <what>", "match the reference codecs by size or psnr", "size")
    .option("--crop <n>", "use the centred n×n crop of the image", integerParser("crop", 8, 1 << 16))
    .option("--columns <n>", "panels per row (default: up to 4)", integerParser("columns", 1, 16))
    .option("--seed <n>", "seed for random mask choices", integerParser("seed", 0, 2 ** 31 - 1))
    .option("--model <dir>", "gan model folder")
    .option("-f, --force", "overwrite an existing output file")
    .action(async (image: string, flags: CompareFlags) => {
      await runCompare(image, flags);
    });
}

async function runCompare(imagePath: string, flags: CompareFlags): Promise<void> {
  const { MaskcodecError, invalidParameter } = await import("../errors.ts");
  const { checkOutputPath, writeFileAtomic } = await import("../util/files.ts");
  const { readImage, centreCrop } = await import("../image/io.ts");
  const { quality } = await import("../image/metrics.ts");
  const { maskDensity } = await import("../image/types.ts");
  const { isMaskCodec, isReferenceCodec, maskCodec } = await import("../eval/codecs.ts");
  const { masksFor } = await import("../eval/plan.ts");
  const { findClose } = await import("../eval/findclose.ts");
  const { composeFigure, maskImage } = await import("../eval/figure.ts");
  const { defaultCodecNames } = await import("../eval/rd.ts");
  const { MODELS_DIR } = await import("../backends.ts");
  const { terminalProgress } = await import("../util/progress.ts");

  if (flags.match !== "size" && flags.match !== "psnr")
    throw invalidParameter("match", "size or psnr", flags.match);
  const masks = flags.masks?.split(",").map((s) => s.trim());
  masksFor("diffusion", masks);
  checkOutputPath(flags.out, { force: flags.force, inputs: [imagePath] });
  const codecs: CodecName[] = flags.codecs ?? defaultCodecNames(MODELS_DIR);
  // the figure compares at one density; the tree mode is swept by rate in `maskcodec rd --codecs tree`
  const unsupported = codecs.filter((c) => !isMaskCodec(c) && !isReferenceCodec(c));
  if (unsupported.length > 0) {
    throw invalidParameter(
      "codecs",
      "gan, diffusion, jpeg, webp or avif (compare works at one density; rd --codecs tree sweeps the tree mode)",
      unsupported.join(","),
    );
  }
  if (!codecs.some(isMaskCodec)) {
    throw new MaskcodecError(
      "compare needs at least one mask codec (gan or diffusion) in --codecs: the reference codecs are matched to it",
      "ERR_INVALID_PARAMETER",
    );
  }

  let image = await readImage(imagePath);
  if (flags.crop) image = centreCrop(image, flags.crop);
  const pixels = image.width * image.height;
  const panels: Array<{ image: typeof image; label: string[] }> = [
    { image, label: ["original", `${image.width}×${image.height}`] },
  ];
  const masksPanels: typeof panels = [];
  let target: number | undefined;
  const jobs = codecs.flatMap((codec) =>
    isMaskCodec(codec) ? masksFor(codec, masks).map((mask) => ({ codec, mask })) : [],
  );
  const progress = terminalProgress("compare");
  let done = 0;
  const total = jobs.length + codecs.filter(isReferenceCodec).length;
  for (const { codec, mask } of jobs) {
    progress.update(done, total, `${codec} ${mask}`);
    const config: Record<string, string | number> = { mask, density: flags.density };
    if (flags.levels) config.levels = flags.levels;
    if (flags.seed !== undefined) config.seed = flags.seed;
    const run = await maskCodec(codec as "diffusion" | "gan", { model: flags.model }).run(image, config);
    const figures = quality(image, run.decoded);
    const bpp = (run.bytes.length * 8) / pixels;
    target ??= flags.match === "size" ? run.bytes.length : figures.psnr;
    panels.push({
      image: run.decoded,
      label: [`${codec} (${mask} mask)`, `${bpp.toFixed(3)} bpp, PSNR ${figures.psnr.toFixed(2)} dB`],
    });
    if (run.mask) {
      masksPanels.push({
        image: maskImage(run.mask),
        label: [`${mask} mask`, `${(100 * maskDensity(run.mask)).toFixed(2)} % known`],
      });
    }
    done++;
  }
  for (const codec of codecs) {
    if (!isReferenceCodec(codec) || target === undefined) continue;
    progress.update(done, total, codec);
    const close = await findClose(image, codec, flags.match, target);
    panels.push({
      image: close.run.decoded,
      label: [
        `${codec} (quality ${close.quality})`,
        `${close.bpp.toFixed(3)} bpp, PSNR ${close.psnr.toFixed(2)} dB`,
      ],
    });
    done++;
  }
  progress.done();
  const all = [...panels, ...masksPanels];
  const png = await composeFigure(all, flags.columns ?? Math.min(4, all.length));
  await writeFileAtomic(flags.out, png, { overwrite: flags.force });
  process.stdout.write(`${flags.out}: ${all.length} panels\n`);
  for (const p of all.slice(1)) process.stdout.write(`  ${p.label.join(": ")}\n`);
}
