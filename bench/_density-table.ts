/**
 * Mean figures per density and row over a set of crops, printed as a markdown table with one column per
 * density: the shape every placement benchmark reports (mask-placement, mask-refine, placement-limits).
 */
export class DensityMeans {
  private readonly sums = new Map<string, number>();

  constructor(
    readonly densities: readonly number[],
    private readonly samples: number,
  ) {}

  /** Adds one crop's value (the mean is over `samples` crops). */
  add(density: number, key: string, value: number): void {
    const k = `${density}|${key}`;
    this.sums.set(k, (this.sums.get(k) ?? 0) + value / this.samples);
  }

  /** The mean so far; NaN for a key never added. */
  mean(density: number, key: string): number {
    return this.sums.get(`${density}|${key}`) ?? Number.NaN;
  }

  /** The table's header: a first column named `first`, then one per density. */
  printHeader(first = "mask"): void {
    console.log(`| ${first} | ${this.densities.map((d) => `${d * 100} %`).join(" | ")} |`);
    console.log(`| --- | ${this.densities.map(() => "---").join(" | ")} |`);
  }

  /** One row; each density's cell from `cell` (default: the mean of `key` to two decimals). */
  printRow(label: string, key: string, cell = (d: number) => this.mean(d, key).toFixed(2)): void {
    console.log(`| ${label} | ${this.densities.map(cell).join(" | ")} |`);
  }
}
