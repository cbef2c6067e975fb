import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fitLowRank, symmetricEigen } from "../../src/nets/factorise.ts";

/** A deterministic pseudo-random stream in [-1, 1). */
function stream(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

function matmul(a: Float64Array, b: Float64Array, r: number, s: number, t: number): Float64Array {
  const c = new Float64Array(r * t);
  for (let i = 0; i < r; i++)
    for (let j = 0; j < s; j++) for (let k = 0; k < t; k++) c[i * t + k] += a[i * s + j] * b[j * t + k];
  return c;
}

function gram(h: Float64Array, n: number, c: number): Float64Array {
  const g = new Float64Array(c * c);
  for (let r = 0; r < n; r++)
    for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) g[i * c + j] += h[r * c + i] * h[r * c + j];
  return g;
}

function norm2(a: Float64Array): number {
  return a.reduce((acc, v) => acc + v * v, 0);
}

describe("symmetricEigen", () => {
  it("diagonalises symmetric matrices: A V = V Λ, V orthonormal, Λ descending", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 1e6 }), (n, seed) => {
        const rnd = stream(seed);
        const a = new Float64Array(n * n);
        for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rnd();
        const { values, vectors } = symmetricEigen(a, n);
        const av = matmul(a, vectors, n, n, n);
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            expect(av[i * n + j]).toBeCloseTo(vectors[i * n + j] * values[j], 9);
            let dot = 0;
            for (let k = 0; k < n; k++) dot += vectors[k * n + i] * vectors[k * n + j];
            expect(dot).toBeCloseTo(i === j ? 1 : 0, 9);
          }
        }
        for (let j = 1; j < n; j++) expect(values[j]).toBeLessThanOrEqual(values[j - 1]);
      }),
      { numRuns: 30 },
    );
  });
});

describe("fitLowRank", () => {
  it("is exact when the inputs span no more than k directions", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 10 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 1e6 }),
        (cin, rank, cols, seed) => {
          const r = Math.min(rank, cin);
          const rnd = stream(seed);
          const n = 40;
          // inputs H = U W: n rows in an r-dimensional subspace of the cin channels
          const u = Float64Array.from({ length: n * r }, rnd);
          const w = Float64Array.from({ length: r * cin }, rnd);
          const h = matmul(u, w, n, r, cin);
          const m = Float64Array.from({ length: cin * cols }, rnd);
          const { a, b, kept } = fitLowRank(m, gram(h, n, cin), cin, cols, r);
          const exact = matmul(h, m, n, cin, cols);
          const fitted = matmul(matmul(h, a, n, cin, r), b, n, r, cols);
          const err = norm2(exact.map((v, i) => v - fitted[i]));
          expect(err).toBeLessThanOrEqual(1e-18 + 1e-18 * norm2(exact) * 1e8);
          expect(kept).toBeCloseTo(1, 9);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("is the best rank-k fit on the inputs: the error left is the dropped part (Eckart–Young)", () => {
    const rnd = stream(7);
    const cin = 8;
    const cols = 12;
    const n = 200;
    const h = Float64Array.from({ length: n * cin }, rnd);
    const m = Float64Array.from({ length: cin * cols }, rnd);
    const exact = matmul(h, m, n, cin, cols);
    let previous = Number.POSITIVE_INFINITY;
    for (let k = 1; k <= cin; k++) {
      const { a, b, kept } = fitLowRank(m, gram(h, n, cin), cin, cols, k);
      const fitted = matmul(matmul(h, a, n, cin, k), b, n, k, cols);
      const err = norm2(exact.map((v, i) => v - fitted[i])) / norm2(exact);
      expect(err).toBeCloseTo(1 - kept, 9);
      expect(err).toBeLessThan(previous + 1e-12);
      previous = err;
      // no other factorisation of this rank does better: perturbing the fit only adds error
      const a2 = a.map((v, i) => v + 1e-3 * Math.sin(i + k));
      const worse = matmul(matmul(h, a2, n, cin, k), b, n, k, cols);
      expect(norm2(exact.map((v, i) => v - worse[i])) / norm2(exact)).toBeGreaterThan(err);
    }
    expect(previous).toBeLessThan(1e-20);
  });
});
