/**
 * The one error type the library throws for problems a user can fix (bad input, bad arguments, corrupt
 * files). The CLI prints `message` on one line and exits non-zero; anything else is a bug and gets a stack.
 */
export class MaskcodecError extends Error {
  constructor(
    message: string,
    /** Stable machine-readable kind, e.g. "ERR_INVALID_PARAMETER", "ERR_CORRUPT_STREAM". */
    readonly code: string = "ERR_MASKCODEC",
  ) {
    super(message);
    this.name = "MaskcodecError";
  }
}

/** Builds every parameter error the same way (after sharp): "Expected X for NAME but received Y". */
export function invalidParameter(name: string, expected: string, received: unknown): MaskcodecError {
  const shown =
    typeof received === "string"
      ? JSON.stringify(received)
      : typeof received === "number"
        ? String(received)
        : typeof received;
  return new MaskcodecError(
    `Expected ${expected} for ${name} but received ${shown}`,
    "ERR_INVALID_PARAMETER",
  );
}

/** A `.mgc` stream that cannot be decoded: truncated, corrupted, or of an unknown version. */
export function corruptStream(detail: string): MaskcodecError {
  return new MaskcodecError(`Invalid .mgc stream: ${detail}`, "ERR_CORRUPT_STREAM");
}

/** Density must lie in (0, 1]. */
export function checkDensity(density: unknown, name = "density"): number {
  if (typeof density !== "number" || !Number.isFinite(density) || density <= 0 || density > 1) {
    throw invalidParameter(name, "a number in (0, 1]", density);
  }
  return density;
}

/** Integer in [min, max]. */
export function checkInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalidParameter(name, `an integer between ${min} and ${max}`, value);
  }
  return value;
}
