/**
 * The page's view of the repository files the codec reads at run time (model manifests, cards and weight
 * shards; the diffusion wasm kernels; the model registry): the build copies them under fs/ and lists them in
 * fs/index.json. The browser builds of node:fs and node:fs/promises (./shims) read from here, so the codec's
 * own loaders run unchanged: small files are fetched once when the worker starts (synchronous reads need
 * them in memory), weight shards when a model is first loaded.
 */

export interface AssetIndex {
  /** Paths from the repository root ("/models/maskgan-v5/model.json") with their sizes in bytes. */
  files: Array<{ path: string; size: number; eager: boolean }>;
}

const sizes = new Map<string, number>();
const dirs = new Map<string, Set<string>>();
const loaded = new Map<string, Uint8Array>();
let rootUrl = "";

function addToDirs(path: string): void {
  const parts = path.split("/").filter(Boolean);
  let dir = "/";
  for (const part of parts) {
    if (!dirs.has(dir)) dirs.set(dir, new Set());
    dirs.get(dir)?.add(part);
    dir = dir === "/" ? `/${part}` : `${dir}/${part}`;
  }
}

async function fetchBytes(path: string): Promise<Uint8Array> {
  const response = await fetch(`${rootUrl}${path}`);
  if (!response.ok) throw new Error(`cannot fetch ${path}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Reads fs/index.json under `root` (a URL ending in "/fs") and fetches the files marked eager. */
export async function mountAssets(root: string): Promise<void> {
  rootUrl = root;
  const index = JSON.parse(new TextDecoder().decode(await fetchBytes("/index.json"))) as AssetIndex;
  for (const file of index.files) {
    sizes.set(file.path, file.size);
    addToDirs(file.path);
  }
  await Promise.all(
    index.files.filter((f) => f.eager).map(async (f) => loaded.set(f.path, await fetchBytes(f.path))),
  );
}

export function normalise(path: string): string {
  const out: string[] = [];
  for (const part of String(path).split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return `/${out.join("/")}`;
}

export function isFile(path: string): boolean {
  return sizes.has(normalise(path));
}

export function isDirectory(path: string): boolean {
  return dirs.has(normalise(path));
}

export function fileSize(path: string): number {
  return sizes.get(normalise(path)) ?? 0;
}

export function listDirectory(path: string): string[] {
  return [...(dirs.get(normalise(path)) ?? [])].sort();
}

/** A file already in memory (fetched at start or by an earlier readFile). */
export function loadedFile(path: string): Uint8Array | undefined {
  return loaded.get(normalise(path));
}

export async function readAsset(path: string): Promise<Uint8Array> {
  const key = normalise(path);
  const have = loaded.get(key);
  if (have) return have;
  if (!sizes.has(key)) throw missing(path);
  const bytes = await fetchBytes(key);
  loaded.set(key, bytes);
  return bytes;
}

export function missing(path: string): Error {
  return Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: "ENOENT" });
}

/** Bytes of all fetched files (what the page has downloaded for the codec). */
export function loadedBytes(): number {
  let total = 0;
  for (const bytes of loaded.values()) total += bytes.length;
  return total;
}
