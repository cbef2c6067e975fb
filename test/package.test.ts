import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The package as a user gets it: `npm pack` (which builds dist/ through `prepare`), then `npm install` of the
 * tarball into an empty project, offline. The project's node_modules links the package's dependencies to this
 * checkout's installed ones first, so npm finds them satisfied and fetches nothing; the package itself is
 * unpacked from the tarball, and resolves nothing from this checkout (no tsx, no sources).
 */

const ROOT = join(import.meta.dirname, "..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function run(command: string, args: string[], cwd: string): string {
  const env = { ...process.env };
  delete env.MASKCODEC_SOURCE;
  return execFileSync(command, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

describe("the packed package", () => {
  it("installs offline from its tarball and encodes and decodes through the API and the CLI", () => {
    const work = mkdtempSync(join(tmpdir(), "maskcodec-pack-"));
    const packed = JSON.parse(run(npm, ["pack", "--json", "--pack-destination", work], ROOT)) as Array<{
      filename: string;
      size: number;
      entryCount: number;
      files: Array<{ path: string }>;
    }>;
    const { filename, size, entryCount, files } = packed[0];
    console.log(`npm pack: ${filename}, ${(size / 1e6).toFixed(2)} MB packed, ${entryCount} files`);
    const paths = files.map((f) => f.path);
    expect(paths).toContain("dist/index.js");
    expect(paths).toContain("dist/index.d.ts");
    expect(paths).toContain("models/registry.json");
    expect(paths.filter((p) => /^(src|test|bench|torch|checkpoints)\//.test(p))).toEqual([]);

    const project = join(work, "consumer");
    mkdirSync(join(project, "node_modules"), { recursive: true });
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }),
    );
    const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(manifest.dependencies)).not.toContain("tsx");
    for (const dep of Object.keys(manifest.dependencies)) {
      mkdirSync(dirname(join(project, "node_modules", dep)), { recursive: true });
      symlinkSync(join(ROOT, "node_modules", dep), join(project, "node_modules", dep), "junction");
    }
    run(npm, ["install", "--offline", "--no-audit", "--no-fund", join(work, filename)], project);

    writeFileSync(
      join(project, "check.mjs"),
      `import { createImage, decode, encode, models } from "maskcodec";
const image = createImage(40, 24, 3);
for (let y = 0; y < 24; y++)
  for (let x = 0; x < 40; x++)
    for (let c = 0; c < 3; c++) image.data[(y * 40 + x) * 3 + c] = 128 + 90 * Math.sin(0.2 * x + c) * Math.cos(0.15 * y);
const out = {};
for (const backend of ["gan", "diffusion"]) {
  const encoded = await encode(image, { density: 0.1, backend });
  const decoded = await decode(encoded.bytes);
  const expected = await encoded.reconstruct();
  let same = decoded.image.data.length === expected.data.length;
  for (let i = 0; same && i < expected.data.length; i++) same = decoded.image.data[i] === expected.data[i];
  out[backend] = { bytes: encoded.bytes.length, model: encoded.modelId ?? null, width: decoded.image.width, height: decoded.image.height, same };
}
let tsx = true;
try { await import("tsx"); } catch { tsx = false; }
out.tsx = tsx;
out.models = models().map((m) => m.id);
console.log(JSON.stringify(out));
`,
    );
    const result = JSON.parse(run(process.execPath, ["check.mjs"], project));
    for (const backend of ["gan", "diffusion"]) {
      expect(result[backend].width).toBe(40);
      expect(result[backend].height).toBe(24);
      expect(result[backend].bytes).toBeGreaterThan(0);
      // the decoder reproduces exactly what the encoder reported it would
      expect(result[backend].same).toBe(true);
    }
    expect(result.gan.model).toBe("maskgan-v12-d10");
    expect(result.models).toContain("maskgan-v12-d10");
    expect(result.tsx).toBe(false);

    const bin = join(project, "node_modules", ".bin", "maskcodec");
    const cli = spawnSync(bin, ["models", "--json"], {
      cwd: project,
      encoding: "utf8",
      env: { ...process.env, MASKCODEC_SOURCE: "" },
    });
    expect(cli.status).toBe(0);
    expect((JSON.parse(cli.stdout) as Array<{ id: string }>).map((m) => m.id)).toEqual(result.models);
  }, 300_000);
});
