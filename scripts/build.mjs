// `npm run build` (and `prepare`, so `npm ci` and `npm pack` run it): compiles src/ to dist/ with tsc, then
// copies beside the JavaScript the files it reads at run time (tsc emits only .js and .d.ts).
import { execFileSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { createRequire } from "node:module";

const root = new URL("..", import.meta.url);
rmSync(new URL("dist", root), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
for (const path of [
  "baselines/wasm/diffusion-kernels.wasm",
  "nets/wasm/conv-kernels.wasm",
  "codec/wasm/stream-decoders.wasm",
]) {
  cpSync(new URL(`src/${path}`, root), new URL(`dist/${path}`, root));
}
