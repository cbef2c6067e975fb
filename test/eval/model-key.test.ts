import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ganModelFiles } from "../../src/eval/rd.ts";
import { MODELS_DIR } from "../../src/nets/registry.ts";

describe("rd's cache key", () => {
  it("covers exactly the gan models a run uses", () => {
    const gan = (density: number) => ({ codec: "gan" as const, config: { mask: "gan", density } });
    expect(ganModelFiles([gan(0.05), gan(0.06)])).toEqual([
      join(MODELS_DIR, "maskgan-v11-d05"),
      join(MODELS_DIR, "maskgan-v8-d05", "weights.bin"),
    ]);
    expect(ganModelFiles([gan(0.2), { codec: "jpeg", config: { quality: 50 } }])).toEqual([
      join(MODELS_DIR, "maskgan-v5"),
    ]);
    expect(ganModelFiles([{ codec: "diffusion", config: { mask: "ps", density: 0.05 } }])).toEqual([]);
    expect(ganModelFiles([gan(0.05)], "/some/model")).toEqual(["/some/model"]);
  });
});
