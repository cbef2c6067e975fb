import { invalidParameter, MaskcodecError } from "../errors.ts";
import { requireWasmBackend, tf } from "./tf.ts";

/**
 * Chooses the tfjs backend at run time, behind the one tfjs-core API the networks are written against.
 *
 * - "auto" (default): `@tensorflow/tfjs-node-gpu` if it is installed, else `@tensorflow/tfjs-node`, else wasm.
 *   The native packages register a backend named "tensorflow"; they are optional (they download libtensorflow
 *   while installing, which needs internet), so they are only tried with a dynamic import.
 * - "wasm": `@tensorflow/tfjs-backend-wasm` (SIMD; one thread in Node).
 * - "tensorflow": one of the native packages, or an error if neither is installed.
 * - "cpu": the pure-JS backend; fine for tiny inference, refused for training (30x slower than wasm for
 *   convolutions, 1000x for their filter gradients).
 */
export type BackendName = "auto" | "wasm" | "tensorflow" | "cpu";

export const BACKEND_NAMES: readonly BackendName[] = ["auto", "wasm", "tensorflow", "cpu"];

let initialised: string | undefined;
let gradientsLoaded = false;

/**
 * Registers tfjs-core's gradient functions, which training needs and inference does not.
 *
 * Why this way: the package's Node entry (dist/tf-core.node.js) ships without them, and its ESM file
 * dist/register_all_gradients.js cannot be imported by Node (extensionless and directory imports). We bundle
 * that file with esbuild (installed with tsx) in memory (~0.15 s) and import the result. The copy shares the
 * tfjs engine and the gradient registry with the main tfjs-core, since tfjs keeps both on the global object.
 */
export async function loadGradients(): Promise<void> {
  if (gradientsLoaded) return;
  const { createRequire } = await import("node:module");
  const require = createRequire(import.meta.url);
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [require.resolve("@tensorflow/tfjs-core/dist/register_all_gradients.js")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    logLevel: "silent",
  });
  const code = Buffer.from(result.outputFiles[0].contents).toString("base64");
  await import(`data:text/javascript;base64,${code}`);
  gradientsLoaded = true;
}

async function tryNative(): Promise<boolean> {
  for (const name of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      await import(name);
      if (tf.findBackend("tensorflow")) return await tf.setBackend("tensorflow");
    } catch {
      // not installed (or libtensorflow missing): try the next one
    }
  }
  return false;
}

async function useWasm(): Promise<void> {
  // The wasm backend's Emscripten runtime installs process handlers that rethrow any uncaught error from
  // inside the handler: Node then prints the one minified line of tfjs-backend-wasm.js it came from (a
  // screenful) and exits with code 7. Those handlers are removed again once the backend is up (below).
  // In a browser (web/) there is no process and nothing to remove.
  const node = typeof process === "object" && typeof process.listeners === "function";
  const before = {
    uncaughtException: node ? process.listeners("uncaughtException") : [],
    unhandledRejection: node ? process.listeners("unhandledRejection") : [],
  };
  const wasm = requireWasmBackend();
  // One thread: in Node the wasm backend has no worker pool, and training uses one core by design.
  if (typeof wasm.setThreadsCount === "function") {
    try {
      wasm.setThreadsCount(1);
    } catch {
      // already initialised
    }
  }
  if (!(await tf.setBackend("wasm"))) {
    throw new MaskcodecError("Could not initialise the tfjs wasm backend", "ERR_BACKEND");
  }
  await tf.ready();
  if (!node) return;
  for (const handler of process.listeners("uncaughtException")) {
    if (!before.uncaughtException.includes(handler)) process.removeListener("uncaughtException", handler);
  }
  for (const handler of process.listeners("unhandledRejection")) {
    if (!before.unhandledRejection.includes(handler)) process.removeListener("unhandledRejection", handler);
  }
}

/**
 * Initialises the backend (once per process; later calls with a different name switch backends).
 * Returns the name of the active tfjs backend ("wasm", "tensorflow" or "cpu").
 */
export async function initBackend(
  name: string = "auto",
  options: { training?: boolean } = {},
): Promise<string> {
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw invalidParameter("tf-backend", `one of ${BACKEND_NAMES.join(", ")}`, name);
  }
  if (name === "cpu" && options.training) {
    throw new MaskcodecError(
      "Refusing to train on the pure-JS cpu backend: it is about 30x slower than wasm for convolutions and " +
        "1000x slower for their gradients. Use --tf-backend wasm (the default) or install @tensorflow/tfjs-node.",
      "ERR_BACKEND",
    );
  }
  if (initialised === name) return tf.getBackend();
  if (name === "auto") {
    if (!(await tryNative())) await useWasm();
  } else if (name === "tensorflow") {
    if (!(await tryNative())) {
      throw new MaskcodecError(
        "--tf-backend tensorflow needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu " +
          "(npm install @tensorflow/tfjs-node; it downloads libtensorflow while installing)",
        "ERR_BACKEND",
      );
    }
  } else if (name === "wasm") {
    await useWasm();
  } else {
    await import("@tensorflow/tfjs-backend-cpu");
    await tf.setBackend("cpu");
  }
  await tf.ready();
  if (options.training) await loadGradients();
  initialised = name;
  return tf.getBackend();
}
