import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { tempDir, writeGeneratedImages } from "./helpers.ts";

const BIN = join(import.meta.dirname, "..", "..", "bin", "maskcodec.js");

function run(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      onStderr?.(stderr, child);
    });
    child.on("exit", (code) => resolve({ code, stderr }));
  });
}

describe("maskcodec train", () => {
  let data: string;
  beforeAll(async () => {
    data = await writeGeneratedImages(tempDir("cli-data"), 3, 24);
  });

  const common = (root: string) => [
    "train",
    "--density",
    "0.05:0.2",
    "--data",
    data,
    "--out",
    join(root, "cli-model"),
    "--run-dir",
    join(root, "run"),
    "--size",
    "16",
    "--batch",
    "2",
    "--width",
    "2",
    "--levels",
    "2",
    "--critic-width",
    "2",
    "--warmup-steps",
    "2",
    "--json",
  ];

  it("writes a usable checkpoint on Ctrl-C, and --resume continues from it", async () => {
    const root = tempDir("cli");
    let sent = false;
    const first = await run(
      [...common(root), "--steps", "1000000", "--checkpoint-minutes", "1000"],
      (text, child) => {
        if (!sent && text.includes("fresh start")) {
          sent = true;
          setTimeout(() => child.kill("SIGINT"), 1500);
        }
      },
    );
    expect(first.stderr).toMatch(/interrupt/);
    expect(first.code).toBe(0);
    const state = JSON.parse(readFileSync(join(root, "run", "checkpoint", "state.json"), "utf8"));
    expect(state.step).toBeGreaterThan(0);
    expect(state.step).toBeLessThan(1000000);
    // the defaults are the shipped model's recipe
    expect(state.options.arch.diffusionInput).toBe(true);
    expect(state.options.arch.analyticMask).toBe(true);
    expect(state.options.ditherMasks).toBe(true);
    expect(existsSync(join(root, "cli-model", "model.json"))).toBe(true);

    const second = await run([...common(root), "--resume", "--steps", String(state.step + 2)]);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain(`resumed at step ${state.step}`);
    const after = JSON.parse(readFileSync(join(root, "run", "checkpoint", "state.json"), "utf8"));
    expect(after.step).toBe(state.step + 2);
  });

  it("rejects a bad density and the cpu backend with one-line messages", async () => {
    const root = tempDir("cli-bad");
    const bad = await run([...common(root).map((a) => (a === "0.05:0.2" ? "0.3:0.1" : a)), "--steps", "1"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Expected MIN:MAX with MIN <= MAX for density/);
    const cpu = await run([...common(root), "--steps", "1", "--tf-backend", "cpu"]);
    expect(cpu.code).toBe(1);
    expect(cpu.stderr).toMatch(/Refusing to train on the pure-JS cpu backend/);
  });
});
