import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/backends.ts";
import { crc32 } from "../../src/codec/crc32.ts";
import { writeStream } from "../../src/codec/stream.ts";
import type { StreamHeader } from "../../src/codec/types.ts";
import { DEFAULT_DIFFUSION_MASKS } from "../../src/eval/plan.ts";
import { writePng } from "../../src/image/io.ts";
import { fixCrc, randomMask, syntheticImage } from "../codec/helpers.ts";

/**
 * The CLI against hostile streams and surroundings: streams naming models outside models/, short weight
 * hashes, concurrent runs writing the same output, signals during the final write, and its exit codes.
 */

const BIN = join(import.meta.dirname, "..", "..", "bin", "maskcodec.js");
const dir = mkdtempSync(join(tmpdir(), "maskcodec-hostile-"));

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], cwd = dir): Result {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function start(args: string[], env: Record<string, string> = {}, cwd = dir): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env } });
}

function finished(child: ChildProcess): Promise<Result> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  return new Promise((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

/** A user mistake: the given exit code, exactly one line on stderr, no stack trace. */
function expectCleanFailure(r: Result, code: number, pattern: RegExp) {
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.code).toBe(code);
}

/** The stream with its weight hash replaced (and the CRC recomputed): the writer refuses short hashes. */
function withWeightHash(stream: Uint8Array, weightHash: string): Uint8Array {
  const idLengthAt = 11; // magic, version, 1-byte width and height, 5 one-byte fields
  const hashLengthAt = idLengthAt + 1 + stream[idLengthAt];
  const hash = new TextEncoder().encode(weightHash);
  const out = new Uint8Array([
    ...stream.subarray(0, hashLengthAt),
    hash.length,
    ...hash,
    ...stream.subarray(hashLengthAt + 1 + stream[hashLengthAt]),
  ]);
  return fixCrc(out, crc32);
}

const temporaries = (folder: string) => readdirSync(folder).filter((f) => f.endsWith(".tmp"));

/** A CRC-valid gan stream of a 48×32 image naming `modelId` with weight hash `weightHash`. */
function ganStream(modelId: string, weightHash: string): Uint8Array {
  const header: StreamHeader = {
    version: 1,
    width: 48,
    height: 32,
    channels: 3,
    colour: "ycbcr",
    backend: "gan",
    modelId,
    weightHash,
    quantiser: { lumaLevels: 16, chromaLevels: 16 },
  };
  return writeStream({ header, mask: randomMask(48, 32, 0.1, 3), values: syntheticImage(48, 32, 3, 3) })
    .bytes;
}

/** A shipped model with its weights in its own folder, and the first 16 hex digits of its hash. */
const SHIPPED = "maskgan-v5";
const shippedHash = (): string =>
  JSON.parse(readFileSync(join(MODELS_DIR, SHIPPED, "model.json"), "utf8")).maskcodec.weightHash.slice(0, 16);

beforeAll(async () => {
  await writePng(syntheticImage(48, 32, 3, 1), join(dir, "photo.png"));
  const header: StreamHeader = {
    version: 1,
    width: 48,
    height: 32,
    channels: 3,
    colour: "ycbcr",
    backend: "diffusion",
    quantiser: { lumaLevels: 16, chromaLevels: 16 },
  };
  const values = syntheticImage(48, 32, 3, 2);
  writeFileSync(
    join(dir, "diffusion.mgc"),
    writeStream({ header, mask: randomMask(48, 32, 0.1, 2), values }).bytes,
  );
});

describe("exit codes", () => {
  it("2 for a command line that cannot be parsed, 1 for other mistakes, 0 for help and version", () => {
    expectCleanFailure(cli(["encode", "photo.png", "--density", "0.1", "--bogus"]), 2, /unknown option/);
    expectCleanFailure(cli(["frobnicate"]), 2, /unknown command/);
    expectCleanFailure(cli(["encode", "photo.png"]), 2, /required option/);
    expectCleanFailure(cli(["decode"]), 2, /missing required argument/);
    expectCleanFailure(cli(["info", "a.mgc", "b.mgc"]), 2, /too many arguments/);
    expectCleanFailure(cli(["encode", "photo.png", "--density", "2"]), 1, /for density/);
    expectCleanFailure(cli(["decode", "missing.mgc"]), 1, /No such file/);
    expect(cli(["--help"]).code).toBe(0);
    expect(cli(["encode", "--help"]).code).toBe(0);
    expect(cli(["--version"]).code).toBe(0);
  });
});

describe("help texts", () => {
  it("compare and rd --help name the default masks that run", () => {
    expect(DEFAULT_DIFFUSION_MASKS).toContain("analytic");
    for (const command of ["compare", "rd"]) {
      const help = cli([command, "--help"]).stdout.replace(/\s+/g, " ");
      expect(help).toContain(`(default: ${DEFAULT_DIFFUSION_MASKS.join(",")})`);
    }
  });
});

describe("the model a stream names", () => {
  it("a stream naming a folder outside models/ is refused, naming the id, even when that folder holds a model", () => {
    const evil = join(dir, "x", "evil");
    mkdirSync(join(dir, "x"), { recursive: true });
    cpSync(join(MODELS_DIR, SHIPPED), evil, { recursive: true });
    const id = `${"../".repeat(12)}${evil.slice(1)}`;
    writeFileSync(join(dir, "evil.mgc"), ganStream(id, shippedHash()));
    const refused = cli(["decode", "evil.mgc", "-o", "evil.png"]);
    expectCleanFailure(refused, 1, /not a model name/);
    expect(refused.stderr).toContain(JSON.stringify(id));
    expect(existsSync(join(dir, "evil.png"))).toBe(false);
    // the same folder passed explicitly is the user's choice
    expect(cli(["decode", "evil.mgc", "-o", "evil.png", "--model", evil]).code).toBe(0);

    writeFileSync(join(dir, "etc.mgc"), ganStream("../../../../../../etc", shippedHash()));
    const etc = cli(["decode", "etc.mgc", "-o", "etc.png"]);
    expectCleanFailure(
      etc,
      1,
      /The stream names model "..\/..\/..\/..\/..\/..\/etc", which is not a model name/,
    );
    expect(existsSync(join(dir, "etc.png"))).toBe(false);

    writeFileSync(join(dir, "nosuch.mgc"), ganStream("maskgan-v999", shippedHash()));
    expectCleanFailure(
      cli(["decode", "nosuch.mgc", "-o", "nosuch.png"]),
      1,
      /"maskgan-v999", which is not in/,
    );
  });

  it("a stream with a weight hash shorter than 16 hex digits is refused; the full 16 decode", () => {
    const full = shippedHash();
    const stream = ganStream(SHIPPED, full);
    expect(withWeightHash(stream, full)).toEqual(stream);
    writeFileSync(join(dir, "short.mgc"), withWeightHash(stream, full.slice(0, 1)));
    expectCleanFailure(
      cli(["decode", "short.mgc", "-o", "short.png"]),
      1,
      /weight hash of 1 hex digits \(a gan stream carries 16 to 128\)/,
    );
    expect(existsSync(join(dir, "short.png"))).toBe(false);
    writeFileSync(join(dir, "full.mgc"), stream);
    expect(cli(["decode", "full.mgc", "-o", "full.png"]).code).toBe(0);
  });
});

describe("writing the output", () => {
  it("of four concurrent encodes to the same new path without --force, exactly one writes it", async () => {
    const folder = mkdtempSync(join(dir, "race-"));
    const args = ["encode", "../photo.png", "-o", "out.mgc", "-d", "0.1", "-b", "diffusion", "-m", "grid"];
    // each run holds its finished temporary file for a while, so all four pass the early existence check
    const runs = await Promise.all(
      [0, 1, 2, 3].map(() => finished(start(args, { MASKCODEC_TEST_HOLD_TEMP_MS: "3000" }, folder))),
    );
    const winners = runs.filter((r) => r.code === 0);
    expect(winners).toHaveLength(1);
    const losers = runs.filter((r) => r.code !== 0);
    for (const r of losers) expectCleanFailure(r, 1, /Output file exists: out\.mgc/);
    // at least one got past the early check and was stopped by the exclusive create at the end
    expect(losers.some((r) => /it appeared while this command ran/.test(r.stderr))).toBe(true);
    expect(readdirSync(folder)).toEqual(["out.mgc"]);

    // with --force the last one wins, and every run succeeds
    const forced = await Promise.all(
      [0, 1].map(() => finished(start([...args, "--force"], { MASKCODEC_TEST_HOLD_TEMP_MS: "500" }, folder))),
    );
    expect(forced.map((r) => r.code)).toEqual([0, 0]);
    expect(readdirSync(folder)).toEqual(["out.mgc"]);
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal} during the final write removes the temporary file and ends the process by that signal`, async () => {
      const folder = mkdtempSync(join(dir, `signal-${signal}-`));
      const child = start(
        ["decode", "../diffusion.mgc", "-o", "out.png"],
        { MASKCODEC_TEST_HOLD_TEMP_MS: "20000" },
        folder,
      );
      const done = finished(child);
      const t0 = Date.now();
      while (temporaries(folder).length === 0 && Date.now() - t0 < 30_000) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(temporaries(folder)).toHaveLength(1);
      child.kill(signal);
      const r = await done;
      // ended by the signal itself (re-raised), which a shell reports as 130 or 143
      expect(r.signal).toBe(signal);
      expect(r.stderr).toBe("");
      expect(readdirSync(folder)).toEqual([]);
    });
  }
});
