import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { build, type Plugin } from "esbuild";
import { MODELS_DIR, readRegistry } from "../src/nets/registry.ts";
import type { AssetIndex } from "./src/vfs.ts";

/**
 * Builds the page (web/dist) from web/src and the codec's own src/ with esbuild: main.js (the page),
 * worker.js (the codec, in a Web Worker), tfjs' wasm binaries, and under fs/ the repository files the codec
 * reads at run time (default models with their base shards, the WebAssembly modules), listed in
 * fs/index.json. Node's fs/path/crypto are replaced by the small browser versions in web/src/shims.
 */

const ROOT = resolve(import.meta.dirname, "..");
const SHIMS = join(import.meta.dirname, "src", "shims");

const NODE_SHIMS: Record<string, string> = {
  "node:fs": "fs.ts",
  "node:fs/promises": "fs-promises.ts",
  "node:path": "path.ts",
  "node:crypto": "crypto.ts",
  "node:timers/promises": "timers-promises.ts",
  "node:module": "module.ts",
};

/** Node built-ins the codec imports only inside functions the page never calls (training, CLI, window threads). */
const NEVER_CALLED = ["esbuild", "node:worker_threads"];

/**
 * Node modules to their browser versions; `import.meta.dirname` in src/ to the file's folder under the
 * virtual root "/" (so MODELS_DIR is "/models" and the kernels are at "/src/baselines/wasm").
 */
const browserPlugin: Plugin = {
  name: "maskcodec-browser",
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => {
      const shim = NODE_SHIMS[args.path];
      if (shim) return { path: join(SHIMS, shim) };
      if (NEVER_CALLED.includes(args.path)) return { path: args.path, external: true };
      return { errors: [{ text: `${args.path} has no browser version (imported by ${args.importer})` }] };
    });
    b.onResolve({ filter: /^esbuild$/ }, (args) => ({ path: args.path, external: true }));
    b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      if (!source.includes("import.meta.dirname")) return undefined;
      const dir = `/${relative(ROOT, dirname(args.path)).split("\\").join("/")}`;
      return { contents: source.replaceAll("import.meta.dirname", JSON.stringify(dir)), loader: "ts" };
    });
  },
};

/** The registry and the gan models it makes defaults, with every shard their manifests name. */
export function defaultModelFiles(): string[] {
  const dirs = readRegistry()
    .filter((m) => m.defaultFrom !== undefined)
    .map((m) => join(MODELS_DIR, m.id));
  const files = new Set<string>([join(MODELS_DIR, "registry.json")]);
  for (const dir of dirs) {
    const json = JSON.parse(readFileSync(join(dir, "model.json"), "utf8")) as {
      weightsManifest: Array<{ paths: string[] }>;
    };
    files.add(join(dir, "model.json"));
    if (existsSync(join(dir, "card.json"))) files.add(join(dir, "card.json"));
    for (const group of json.weightsManifest) for (const path of group.paths) files.add(resolve(dir, path));
  }
  return [...files].sort();
}

export interface WebBuild {
  outDir: string;
  /** Bytes of each file a page load and a first encode with each default model can fetch. */
  weights: Record<string, number>;
}

export async function buildWeb(outDir = join(ROOT, "web", "dist")): Promise<WebBuild> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: {
      main: join(import.meta.dirname, "src", "main.ts"),
      worker: join(import.meta.dirname, "src", "worker.ts"),
    },
    outdir: outDir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    logLevel: "warning",
    define: { "process.env": JSON.stringify({ MASKCODEC_TF_BACKEND: "wasm" }) },
    plugins: [browserPlugin],
  });
  copyFileSync(join(import.meta.dirname, "index.html"), join(outDir, "index.html"));
  const require = createRequire(import.meta.url);
  const tfjsWasmDir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"));
  for (const name of ["tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm.wasm"]) {
    copyFileSync(join(tfjsWasmDir, name), join(outDir, name));
  }
  const assets = [
    join(ROOT, "src", "baselines", "wasm", "diffusion-kernels.wasm"),
    join(ROOT, "src", "nets", "wasm", "conv-kernels.wasm"),
    join(ROOT, "src", "codec", "wasm", "stream-decoders.wasm"),
    ...defaultModelFiles(),
  ];
  const index: AssetIndex = { files: [] };
  for (const file of assets) {
    const path = `/${relative(ROOT, file).split("\\").join("/")}`;
    const target = join(outDir, "fs", path);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file, target);
    index.files.push({ path, size: statSync(file).size, eager: !path.endsWith(".bin") });
  }
  writeFileSync(join(outDir, "fs", "index.json"), JSON.stringify(index));
  const weights: Record<string, number> = {};
  for (const name of ["index.html", "main.js", "worker.js", "tfjs-backend-wasm-simd.wasm"]) {
    weights[name] = statSync(join(outDir, name)).size;
  }
  for (const file of index.files) weights[`fs${file.path}`] = file.size;
  return { outDir, weights };
}
