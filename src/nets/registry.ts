import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { MaskcodecError } from "../errors.ts";

/**
 * The model zoo: `models/registry.json` lists every shipped gan model. It is the only thing that decides
 * which model serves a density and which model ids a decoder accepts, so a folder dropped into models/
 * changes nothing until it is registered (`npx tsx torch/register.ts`). Reads the file system only (no
 * tfjs), so the diffusion path and `maskcodec models` stay light.
 */

/** Folder of the shipped models and their registry (repository or package root / models). */
export const MODELS_DIR = resolve(import.meta.dirname, "..", "..", "models");
export const REGISTRY_FILE = "registry.json";

/** One figure of a model card: mean MAE (0–255) and SSIM on validation crops at one density. */
export interface CardFigure {
  density: number;
  mae: number;
  ssim?: number;
}

export interface RegisteredModel {
  /** Folder name under models/ and the id a stream's header carries. */
  id: string;
  /**
   * The model is the default for densities from this value up to the next registered `defaultFrom`; absent:
   * not a default (a base that others load shards from, or a model kept only for decoding).
   */
  defaultFrom?: number;
  /** Densities the model was trained for. */
  densityRange: [number, number];
  /** Weight shards of a base model it loads, relative to models/ ("maskgan-v8-d05/weights.bin"). */
  baseShards: string[];
  /** sha256 (hex) of all its weight shards in manifest order (what loadWeights computes). */
  weightHash: string;
  /** The card's validation figures, and what they were measured on. */
  figures: { validation: string; perDensity: CardFigure[] };
}

interface RegistryFile {
  models: RegisteredModel[];
}

const cache = new Map<string, { text: string; models: RegisteredModel[] }>();

function registryError(root: string, detail: string): MaskcodecError {
  return new MaskcodecError(`Invalid model registry ${join(root, REGISTRY_FILE)}: ${detail}`, "ERR_MODEL");
}

/** The registered models of `root` (empty when it has no registry), checked for shape and consistency. */
export function readRegistry(root: string = MODELS_DIR): RegisteredModel[] {
  const file = join(root, REGISTRY_FILE);
  if (!existsSync(file)) return [];
  const text = readFileSync(file, "utf8");
  const hit = cache.get(file);
  if (hit?.text === text) return hit.models;
  let parsed: RegistryFile;
  try {
    parsed = JSON.parse(text) as RegistryFile;
  } catch (error) {
    throw registryError(root, (error as Error).message);
  }
  if (!Array.isArray(parsed?.models)) throw registryError(root, "no `models` array");
  const ids = new Set<string>();
  const starts = new Set<number>();
  for (const m of parsed.models) {
    if (typeof m?.id !== "string" || !/^[A-Za-z0-9._-]+$/.test(m.id) || m.id.startsWith(".")) {
      throw registryError(root, `bad model id ${JSON.stringify(m?.id)}`);
    }
    if (ids.has(m.id)) throw registryError(root, `${m.id} is listed twice`);
    ids.add(m.id);
    const range = m.densityRange;
    if (!Array.isArray(range) || range.length !== 2 || !(range[0] > 0 && range[0] <= range[1])) {
      throw registryError(root, `${m.id} has no valid densityRange`);
    }
    if (typeof m.weightHash !== "string" || !/^[0-9a-f]{64}$/.test(m.weightHash)) {
      throw registryError(root, `${m.id} has no sha256 weightHash`);
    }
    if (!Array.isArray(m.baseShards)) throw registryError(root, `${m.id} has no baseShards list`);
    if (m.defaultFrom !== undefined) {
      if (typeof m.defaultFrom !== "number" || !(m.defaultFrom >= 0 && m.defaultFrom <= 1)) {
        throw registryError(root, `${m.id} has a defaultFrom outside [0, 1]`);
      }
      if (starts.has(m.defaultFrom)) throw registryError(root, `two defaults start at ${m.defaultFrom}`);
      starts.add(m.defaultFrom);
    }
  }
  if (starts.size > 0 && !starts.has(0)) throw registryError(root, "no default starts at density 0");
  cache.set(file, { text, models: parsed.models });
  return parsed.models;
}

/** The registered model of that id, or undefined. */
export function registeredModel(id: string, root: string = MODELS_DIR): RegisteredModel | undefined {
  return readRegistry(root).find((m) => m.id === id);
}

/** The registered model the defaults use for a density: the one with the largest defaultFrom <= density. */
export function defaultModel(density: number, root: string = MODELS_DIR): RegisteredModel {
  let best: RegisteredModel | undefined;
  for (const m of readRegistry(root)) {
    if (m.defaultFrom === undefined || m.defaultFrom > density) continue;
    if (!best || m.defaultFrom > (best.defaultFrom as number)) best = m;
  }
  if (!best) {
    throw new MaskcodecError(
      `No default gan model registered in ${join(root, REGISTRY_FILE)}; register one or pass --model DIR`,
      "ERR_MODEL",
    );
  }
  return best;
}

/** Folder of the default model for a density. */
export function defaultModelDir(density: number, root: string = MODELS_DIR): string {
  return join(root, defaultModel(density, root).id);
}

/** Folders and shard files a registered model reads: its own folder and its base shards. */
export function modelFiles(model: RegisteredModel, root: string = MODELS_DIR): string[] {
  return [join(root, model.id), ...model.baseShards.map((s) => join(root, ...s.split("/")))];
}

/** The model folder a stream's model id names, refused when the id is not registered. */
export function registeredModelDir(id: string | undefined, root: string = MODELS_DIR): string {
  const model = id === undefined ? undefined : registeredModel(id, root);
  if (!model) {
    throw new MaskcodecError(
      `The stream names gan model ${JSON.stringify(id ?? "")}, which is not in this installation's model registry; decode with --model DIR if you have its folder`,
      "ERR_MODEL_UNKNOWN",
    );
  }
  return join(root, model.id);
}

/**
 * The registry entry for an exported model folder under `root`, from its model.json (hash, range, shards) and
 * card.json (figures): what torch/register.ts writes.
 */
export async function registryEntry(
  dir: string,
  options: { root?: string; defaultFrom?: number } = {},
): Promise<RegisteredModel> {
  const root = resolve(options.root ?? dirname(resolve(dir)));
  const folder = resolve(dir);
  const read = async (name: string) => {
    try {
      return JSON.parse(await readFile(join(folder, name), "utf8"));
    } catch (error) {
      throw new MaskcodecError(`Cannot read ${join(folder, name)}: ${(error as Error).message}`, "ERR_MODEL");
    }
  };
  const json = (await read("model.json")) as {
    maskcodec?: { densityRange?: [number, number]; weightHash?: string };
    weightsManifest: Array<{ paths: string[] }>;
  };
  const card = (await read("card.json")) as CardJson;
  const baseShards = json.weightsManifest
    .flatMap((g) => g.paths)
    .filter((p) => p.startsWith("../"))
    .map((p) => relative(root, join(folder, p)).split(sep).join("/"));
  const weightHash = json.maskcodec?.weightHash ?? card.weightHash;
  const densityRange = json.maskcodec?.densityRange;
  if (!weightHash || !densityRange) {
    throw new MaskcodecError(`${folder}/model.json has no weightHash or densityRange`, "ERR_MODEL");
  }
  return {
    id: basename(folder),
    ...(options.defaultFrom === undefined ? {} : { defaultFrom: options.defaultFrom }),
    densityRange,
    baseShards,
    weightHash,
    figures: cardFigures(card),
  };
}

interface CardJson {
  weightHash?: string;
  training?: { validation?: string };
  validation?: { perDensity?: Array<{ density: number; maeExact: number; ssimExact?: number }> };
  refinement?: {
    validation?: string;
    selected?: { mae: number; ssim?: number };
    runs?: Array<{ density?: number | number[] }>;
  };
}

/** A card's headline figures: a refiner's selected validation, else the joint training's per density. */
function cardFigures(card: CardJson): RegisteredModel["figures"] {
  const r = card.refinement;
  if (r?.selected && r.validation) {
    const at = /D=([0-9.]+)/.exec(r.validation);
    const density = at ? Number(at[1]) : Number([r.runs?.at(-1)?.density].flat()[0]);
    return {
      validation: r.validation,
      perDensity: [{ density, mae: r.selected.mae, ssim: r.selected.ssim }],
    };
  }
  return {
    validation: card.training?.validation ?? "",
    perDensity: (card.validation?.perDensity ?? []).map((p) => ({
      density: p.density,
      mae: Math.round(p.maeExact * 1000) / 1000,
      ...(p.ssimExact === undefined ? {} : { ssim: Math.round(p.ssimExact * 10000) / 10000 }),
    })),
  };
}
