import type { Command } from "commander";

/** `maskcodec models`: the registered gan models (models/registry.json), which density each serves. */
export function register(program: Command): void {
  program
    .command("models")
    .description("list the registered gan models and the densities each is the default for")
    .option("--json", "print the registry's entries as one JSON array")
    .action(async (flags: { json?: boolean }) => {
      const { readRegistry } = await import("../nets/registry.ts");
      const models = readRegistry();
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(models)}\n`);
        return;
      }
      const starts = models.flatMap((m) => (m.defaultFrom === undefined ? [] : [m.defaultFrom])).sort();
      const role = (from?: number) => {
        if (from === undefined) return "base / decode only";
        const next = starts.find((s) => s > from);
        return next === undefined ? `default from ${from}` : `default for ${from} ≤ D < ${next}`;
      };
      const rows = models.map((m) => [
        m.id,
        role(m.defaultFrom),
        `${m.densityRange[0]}–${m.densityRange[1]}`,
        m.baseShards.join(", ") || "–",
        m.figures.perDensity
          .map(
            (f) =>
              `D ${f.density}: MAE ${f.mae.toFixed(2)}${f.ssim === undefined ? "" : ` SSIM ${f.ssim.toFixed(3)}`}`,
          )
          .join("; "),
        m.weightHash.slice(0, 12),
      ]);
      const header = ["model", "role", "trained D", "base shards", "validation (card)", "weights"];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
      const line = (cells: string[]) =>
        cells
          .map((c, i) => c.padEnd(widths[i]))
          .join("  ")
          .trimEnd();
      process.stdout.write(`${[line(header), ...rows.map(line)].join("\n")}\n`);
    });
}
