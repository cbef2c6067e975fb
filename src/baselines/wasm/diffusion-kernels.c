/*
 * The inner loops of the multigrid-preconditioned CG solver of src/baselines/diffusion.ts, compiled to
 * WebAssembly (build: `npm run build:wasm`, clang 14 or later with the wasm32 target; the .wasm is
 * committed). Each function is a line-for-line port of the TypeScript loop it replaces, with the same
 * arithmetic in the same order (WebAssembly has no fused multiply-add), so results are bit for bit those
 * of the TypeScript version. Why: these stencils run ~1.4x faster as WebAssembly than as V8-compiled
 * JavaScript (no bounds or overflow checks); see docs/notes/baselines.md, "WebAssembly kernels".
 *
 * Layout: padded grids of (w + 2) x (h + 2) pixels with row stride s = w + 2; coefficients are float32
 * (diag, invDiag, wE, wS), vectors are float64 with C = 1 or 3 channels interleaved. Pointers are byte
 * offsets into the module's (imported) memory. Functions that reduce write their sums to `out`.
 */

#include <wasm_simd128.h>

static double out[3];

double *result(void) { return out; }

/* ---------------- set-up of a system built in this memory (DiffusionSystem.resident) ---------------- */

/* invDiag = 1 / diag where diag > 0 (finishLevel), the division in double as in JavaScript */
static void finish(int n, const float *diag, float *invDiag) {
  for (int i = 0; i < n; i++) invDiag[i] = diag[i] > 0 ? (float)(1.0 / (double)diag[i]) : 0.0f;
}

/* The finest level of a mask's system (zeroed arrays in), as DiffusionSystem's constructor builds it. */
void assemble(int w, int h, const unsigned char *mask, float *diag, float *invDiag, float *wE, float *wS) {
  int s = w + 2;
  for (int y = 0; y < h; y++) {
    for (int x = 0; x < w; x++) {
      int i = y * w + x;
      if (mask[i]) continue;
      int p = (y + 1) * s + x + 1;
      diag[p] = (float)((x > 0) + (x < w - 1) + (y > 0) + (y < h - 1));
      if (x < w - 1 && !mask[i + 1]) wE[p] = 1;
      if (y < h - 1 && !mask[i + w]) wS[p] = 1;
    }
  }
  finish(s * (h + 2), diag, invDiag);
}

/* The next coarser level of a fine one of fw x fh (multigrid.ts: coarsen), sums in double as there. */
void coarsen(int fw, int fh, const float *diag, const float *wE, const float *wS, float *cdiag, float *cinvDiag,
             float *cwE, float *cwS) {
  int s = fw + 2;
  int wc = (fw + 1) >> 1;
  int hc = (fh + 1) >> 1;
  int sc = wc + 2;
  for (int Y = 0; Y < hc; Y++) {
    for (int X = 0; X < wc; X++) {
      int P = (Y + 1) * sc + X + 1;
      int p00 = (2 * Y + 1) * s + 2 * X + 1;
      int p01 = p00 + 1;
      int p10 = p00 + s;
      int p11 = p10 + 1;
      double d = (double)diag[p00] + diag[p01] + diag[p10] + diag[p11] -
                 2 * ((double)wE[p00] + wE[p10] + wS[p00] + wS[p01]);
      cdiag[P] = d > 1e-9 ? (float)d : 0.0f;
      cwE[P] = (float)((double)wE[p01] + wE[p11]);
      cwS[P] = (float)((double)wS[p10] + wS[p11]);
    }
  }
  finish(sc * (hc + 2), cdiag, cinvDiag);
}

/*
 * The right-hand side and starting guess of a cold solve (DiffusionSystem.coldStart) of an image of C
 * interleaved channels: b = the sum of an unknown pixel's known neighbours, x = the known pixels' mean.
 */
void cold_start(int w, int h, int C, const unsigned char *mask, const float *data, double *b, double *x) {
  int s = w + 2;
  double mean[3] = {0, 0, 0};
  int n = 0;
  for (int i = 0; i < w * h; i++) {
    if (!mask[i]) continue;
    for (int c = 0; c < C; c++) mean[c] += data[i * C + c];
    n++;
  }
  for (int c = 0; c < C; c++) mean[c] /= n;
  for (int y = 0; y < h; y++) {
    for (int xx = 0; xx < w; xx++) {
      int i = y * w + xx;
      if (mask[i]) continue;
      int q = ((y + 1) * s + xx + 1) * C;
      int west = xx > 0 && mask[i - 1] != 0;
      int east = xx < w - 1 && mask[i + 1] != 0;
      int north = y > 0 && mask[i - w] != 0;
      int south = y < h - 1 && mask[i + w] != 0;
      for (int c = 0; c < C; c++) {
        double v = 0;
        if (west) v += data[(i - 1) * C + c];
        if (east) v += data[(i + 1) * C + c];
        if (north) v += data[(i - w) * C + c];
        if (south) v += data[(i + w) * C + c];
        b[q + c] = v;
        x[q + c] = mean[c];
      }
    }
  }
}

/* ---------------- Gauss–Seidel sweeps ---------------- */

/* One pixel of the first forward sweep, from e = 0 (only the west and north neighbours are read). */
#define GZ1(p) (e[p] = invDiag[p] * (r[p] + wE[p - 1] * e[p - 1] + wS[p - s] * e[p - s]))

/* Two rows at a time, the second one pixel behind (see smooth_forward1 below): the same values. */
void smooth_from_zero1(int w, int h, int s, const float *invDiag, const float *wE, const float *wS,
                       const double *r, double *e) {
  int y = 1;
  for (; y + 1 <= h; y += 2) {
    int a = y * s + 1;
    int b = a + s;
    GZ1(a);
    for (int j = 1; j < w; j++) {
      a++;
      GZ1(a);
      GZ1(b);
      b++;
    }
    GZ1(b);
  }
  if (y == h) {
    for (int p = y * s + 1; p <= y * s + w; p++) GZ1(p);
  }
}

void smooth_from_zero3(int w, int h, int s, const float *invDiag, const float *wE, const float *wS,
                       const double *r, double *e) {
  int s3 = 3 * s;
  for (int y = 1; y <= h; y++) {
    int end = y * s + w;
    for (int p = y * s + 1; p <= end; p++) {
      double id = invDiag[p];
      double b = wE[p - 1];
      double d = wS[p - s];
      int q = 3 * p;
      e[q] = id * (r[q] + b * e[q - 3] + d * e[q - s3]);
      e[q + 1] = id * (r[q + 1] + b * e[q - 2] + d * e[q + 1 - s3]);
      e[q + 2] = id * (r[q + 2] + b * e[q - 1] + d * e[q + 2 - s3]);
    }
  }
}

/* One pixel of a full Gauss–Seidel sweep (either direction): the TypeScript loops' expression. */
#define GS1(p)                                                                                              \
  (e[p] = invDiag[p] *                                                                                      \
          (r[p] + wE[p] * e[p + 1] + wE[p - 1] * e[p - 1] + wS[p] * e[p + s] + wS[p - s] * e[p - s]))

/*
 * Full sweeps two rows at a time, the second row one pixel behind the first (a wavefront): every pixel still
 * reads the neighbours before it in the sweep's order updated and those after it not yet, so every value is
 * the lexicographic sweep's, bit for bit; but the two rows' dependency chains (each pixel waits for the one
 * before it) interleave, and a sweep is bound by that latency, not by memory. (Four rows: slower again.)
 */
void smooth_forward1(int w, int h, int s, const float *invDiag, const float *wE, const float *wS,
                     const double *r, double *e) {
  int y = 1;
  for (; y + 1 <= h; y += 2) {
    int a = y * s + 1; /* row y, leading */
    int b = a + s;     /* row y + 1, one pixel behind */
    GS1(a);
    for (int j = 1; j < w; j++) {
      a++;
      GS1(a);
      GS1(b);
      b++;
    }
    GS1(b);
  }
  if (y == h) {
    for (int p = y * s + 1; p <= y * s + w; p++) GS1(p);
  }
}

void smooth_backward1(int w, int h, int s, const float *invDiag, const float *wE, const float *wS,
                      const double *r, double *e) {
  int y = h;
  for (; y >= 2; y -= 2) {
    int a = y * s + w; /* row y, leading */
    int b = a - s;     /* row y - 1, one pixel behind */
    GS1(a);
    for (int j = 1; j < w; j++) {
      a--;
      GS1(a);
      GS1(b);
      b--;
    }
    GS1(b);
  }
  if (y == 1) {
    for (int p = s + w; p >= s + 1; p--) GS1(p);
  }
}

void smooth_forward3(int w, int h, int s, const float *invDiag, const float *wE, const float *wS,
                     const double *r, double *e) {
  int s3 = 3 * s;
  for (int y = 1; y <= h; y++) {
    int end = y * s + w;
    for (int p = y * s + 1; p <= end; p++) {
      double id = invDiag[p];
      double a = wE[p];
      double b = wE[p - 1];
      double c = wS[p];
      double d = wS[p - s];
      int q = 3 * p;
      e[q] = id * (r[q] + a * e[q + 3] + b * e[q - 3] + c * e[q + s3] + d * e[q - s3]);
      e[q + 1] = id * (r[q + 1] + a * e[q + 4] + b * e[q - 2] + c * e[q + 1 + s3] + d * e[q + 1 - s3]);
      e[q + 2] = id * (r[q + 2] + a * e[q + 5] + b * e[q - 1] + c * e[q + 2 + s3] + d * e[q + 2 - s3]);
    }
  }
}

/* backward sweep, r·e per channel over the final e into out */
void smooth_backward_dot3(int w, int h, int s, const float *invDiag, const float *wE, const float *wS,
                          const double *r, double *e) {
  int s3 = 3 * s;
  double d0 = 0, d1 = 0, d2 = 0;
  for (int y = h; y >= 1; y--) {
    int start = y * s + 1;
    for (int p = y * s + w; p >= start; p--) {
      double id = invDiag[p];
      double a = wE[p];
      double b = wE[p - 1];
      double c = wS[p];
      double d = wS[p - s];
      int q = 3 * p;
      double e0 = id * (r[q] + a * e[q + 3] + b * e[q - 3] + c * e[q + s3] + d * e[q - s3]);
      double e1 = id * (r[q + 1] + a * e[q + 4] + b * e[q - 2] + c * e[q + 1 + s3] + d * e[q + 1 - s3]);
      double e2 = id * (r[q + 2] + a * e[q + 5] + b * e[q - 1] + c * e[q + 2 + s3] + d * e[q + 2 - s3]);
      e[q] = e0;
      e[q + 1] = e1;
      e[q + 2] = e2;
      d0 += r[q] * e0;
      d1 += r[q + 1] * e1;
      d2 += r[q + 2] * e2;
    }
  }
  out[0] = d0;
  out[1] = d1;
  out[2] = d2;
}

/* ---------------- residuals and grid transfer ---------------- */

/* out = r - A x */
void residual_of1(int w, int h, int s, const float *diag, const float *wE, const float *wS, const double *x,
                  const double *r, double *res) {
  for (int y = 1; y <= h; y++) {
    int end = y * s + w;
    for (int p = y * s + 1; p <= end; p++) {
      res[p] = r[p] - (diag[p] * x[p] - wE[p] * x[p + 1] - wE[p - 1] * x[p - 1] - wS[p] * x[p + s] -
                       wS[p - s] * x[p - s]);
    }
  }
}

void residual_of3(int w, int h, int s, const float *diag, const float *wE, const float *wS, const double *x,
                  const double *r, double *res) {
  int s3 = 3 * s;
  for (int y = 1; y <= h; y++) {
    int end = y * s + w;
    for (int p = y * s + 1; p <= end; p++) {
      double g = diag[p];
      double a = wE[p];
      double b = wE[p - 1];
      double c = wS[p];
      double d = wS[p - s];
      int q = 3 * p;
      res[q] = r[q] - (g * x[q] - a * x[q + 3] - b * x[q - 3] - c * x[q + s3] - d * x[q - s3]);
      res[q + 1] = r[q + 1] - (g * x[q + 1] - a * x[q + 4] - b * x[q - 2] - c * x[q + 1 + s3] - d * x[q + 1 - s3]);
      res[q + 2] = r[q + 2] - (g * x[q + 2] - a * x[q + 5] - b * x[q - 1] - c * x[q + 2 + s3] - d * x[q + 2 - s3]);
    }
  }
}

/* restriction of the residual left by smooth_from_zero alone (see restrictSweepResidual in diffusion.ts) */
void restrict_sweep_residual1(int fh, int s, const float *wE, const float *wS, const double *e, int cw, int ch,
                              int sc, double *rc) {
  for (int Y = 0; Y < ch; Y++) {
    int p = (2 * Y + 1) * s + 1;
    int P = (Y + 1) * sc + 1;
    int bottomRing = 2 * Y + 2 > fh;
    for (int X = 0; X < cw; X++, p += 2, P++) {
      int p1 = p + 1;
      int p2 = p + s;
      int p3 = p2 + 1;
      if (bottomRing) {
        rc[P] = wE[p] * e[p + 1] + wS[p] * e[p + s] + wE[p1] * e[p1 + 1] + wS[p1] * e[p1 + s];
        continue;
      }
      rc[P] = wE[p] * e[p + 1] + wS[p] * e[p + s] + wE[p1] * e[p1 + 1] + wS[p1] * e[p1 + s] + wE[p2] * e[p2 + 1] +
              wS[p2] * e[p2 + s] + wE[p3] * e[p3 + 1] + wS[p3] * e[p3 + s];
    }
  }
}

void restrict_sweep_residual3(int fh, int s, const float *wE, const float *wS, const double *e, int cw, int ch,
                              int sc, double *rc) {
  int s3 = 3 * s;
  for (int Y = 0; Y < ch; Y++) {
    int p = (2 * Y + 1) * s + 1;
    int P = (Y + 1) * sc + 1;
    int bottomRing = 2 * Y + 2 > fh;
    for (int X = 0; X < cw; X++, p += 2, P++) {
      double a0 = wE[p];
      double b0 = wS[p];
      double a1 = wE[p + 1];
      double b1 = wS[p + 1];
      int q = 3 * p;
      int Q = 3 * P;
      if (bottomRing) {
        for (int c = 0; c < 3; c++) {
          int k = q + c;
          rc[Q + c] = a0 * e[k + 3] + b0 * e[k + s3] + a1 * e[k + 6] + b1 * e[k + 3 + s3];
        }
        continue;
      }
      double a2 = wE[p + s];
      double b2 = wS[p + s];
      double a3 = wE[p + s + 1];
      double b3 = wS[p + s + 1];
      for (int c = 0; c < 3; c++) {
        int k = q + c;
        rc[Q + c] = a0 * e[k + 3] + b0 * e[k + s3] + a1 * e[k + 6] + b1 * e[k + 3 + s3] + a2 * e[k + s3 + 3] +
                    b2 * e[k + 2 * s3] + a3 * e[k + s3 + 6] + b3 * e[k + 2 * s3 + 3];
      }
    }
  }
}

/* sums of t over each 2x2 aggregate */
void restrict1(int s, int cw, int ch, int sc, const double *t, double *rc) {
  for (int Y = 0; Y < ch; Y++) {
    int p = (2 * Y + 1) * s + 1;
    int P = (Y + 1) * sc + 1;
    for (int X = 0; X < cw; X++, p += 2, P++) rc[P] = t[p] + t[p + 1] + t[p + s] + t[p + s + 1];
  }
}

void restrict3(int s, int cw, int ch, int sc, const double *t, double *rc) {
  int s3 = 3 * s;
  for (int Y = 0; Y < ch; Y++) {
    int q = 3 * ((2 * Y + 1) * s + 1);
    int Q = 3 * ((Y + 1) * sc + 1);
    for (int X = 0; X < cw; X++, q += 6, Q += 3) {
      rc[Q] = t[q] + t[q + 3] + t[q + s3] + t[q + s3 + 3];
      rc[Q + 1] = t[q + 1] + t[q + 4] + t[q + s3 + 1] + t[q + s3 + 4];
      rc[Q + 2] = t[q + 2] + t[q + 5] + t[q + s3 + 2] + t[q + s3 + 5];
    }
  }
}

/* adds scale * the coarse correction to the unknowns (invDiag != 0) of each aggregate */
void prolong(int C, int s, const float *act, int cw, int ch, int sc, const double *ec, double *e, double scale) {
  for (int Y = 0; Y < ch; Y++) {
    int p = (2 * Y + 1) * s + 1;
    int P = (Y + 1) * sc + 1;
    for (int X = 0; X < cw; X++, p += 2, P++) {
      double m0 = act[p] != 0 ? scale : 0;
      double m1 = act[p + 1] != 0 ? scale : 0;
      double m2 = act[p + s] != 0 ? scale : 0;
      double m3 = act[p + s + 1] != 0 ? scale : 0;
      if (C == 1) {
        double v = ec[P];
        e[p] += m0 * v;
        e[p + 1] += m1 * v;
        e[p + s] += m2 * v;
        e[p + s + 1] += m3 * v;
      } else {
        for (int c = 0; c < 3; c++) {
          double v = ec[3 * P + c];
          e[3 * p + c] += m0 * v;
          e[3 * (p + 1) + c] += m1 * v;
          e[3 * (p + s) + c] += m2 * v;
          e[3 * (p + s + 1) + c] += m3 * v;
        }
      }
    }
  }
}

/* ---------------- CG steps ---------------- */

/* x += a p, r -= a q (per channel), r·r into out, fused with the from-zero forward sweep on the new r into e */
/* One pixel of update_and_sweep1; v is its new residual. */
#define GU1(i, v)                                                                                           \
  do {                                                                                                      \
    x[i] += a * p[i];                                                                                       \
    v = r[i] - a * q[i];                                                                                    \
    r[i] = v;                                                                                               \
    e[i] = invDiag[i] * (v + wE[i - 1] * e[i - 1] + wS[i - s] * e[i - s]);                                  \
  } while (0)

/*
 * Two rows at a time, the second one pixel behind, as smooth_from_zero1. r·r is summed in raster order all
 * the same: the leading row's terms as they come, the second row's from r once the pair is done (the row
 * is still in cache), so the sum is the one-row loop's, bit for bit.
 */
void update_and_sweep1(int w, int h, int s, const float *invDiag, const float *wE, const float *wS, double *x,
                       double *r, const double *p, const double *q, double a, double *e) {
  double acc = 0;
  double v;
  int y = 1;
  for (; y + 1 <= h; y += 2) {
    int i = y * s + 1; /* row y, leading */
    int k = i + s;     /* row y + 1, one pixel behind */
    GU1(i, v);
    acc += v * v;
    for (int j = 1; j < w; j++) {
      i++;
      GU1(i, v);
      acc += v * v;
      GU1(k, v);
      k++;
    }
    GU1(k, v);
    for (int m = (y + 1) * s + 1; m <= (y + 1) * s + w; m++) acc += r[m] * r[m];
  }
  if (y == h) {
    for (int i = y * s + 1; i <= y * s + w; i++) {
      GU1(i, v);
      acc += v * v;
    }
  }
  out[0] = acc;
}

void update_and_sweep3(int w, int h, int s, const float *invDiag, const float *wE, const float *wS, double *x,
                       double *r, const double *p, const double *q, double a0, double a1, double a2, double *e) {
  int s3 = 3 * s;
  double s0 = 0, s1 = 0, s2 = 0;
  for (int y = 1; y <= h; y++) {
    int end = y * s + w;
    for (int i = y * s + 1; i <= end; i++) {
      int k = 3 * i;
      x[k] += a0 * p[k];
      x[k + 1] += a1 * p[k + 1];
      x[k + 2] += a2 * p[k + 2];
      double v0 = r[k] - a0 * q[k];
      double v1 = r[k + 1] - a1 * q[k + 1];
      double v2 = r[k + 2] - a2 * q[k + 2];
      r[k] = v0;
      r[k + 1] = v1;
      r[k + 2] = v2;
      s0 += v0 * v0;
      s1 += v1 * v1;
      s2 += v2 * v2;
      double id = invDiag[i];
      double b = wE[i - 1];
      double d = wS[i - s];
      e[k] = id * (v0 + b * e[k - 3] + d * e[k - s3]);
      e[k + 1] = id * (v1 + b * e[k - 2] + d * e[k + 1 - s3]);
      e[k + 2] = id * (v2 + b * e[k - 1] + d * e[k + 2 - s3]);
    }
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
}

/* q = A p and p·q per channel into out */
void apply_dot1(int w, int h, int s, const float *diag, const float *wE, const float *wS, const double *p,
                double *q) {
  double acc = 0;
  for (int y = 1; y <= h; y++) {
    int end = y * s + w;
    for (int i = y * s + 1; i <= end; i++) {
      double v = diag[i] * p[i] - wE[i] * p[i + 1] - wE[i - 1] * p[i - 1] - wS[i] * p[i + s] - wS[i - s] * p[i - s];
      q[i] = v;
      acc += v * p[i];
    }
  }
  out[0] = acc;
}

void apply_dot3(int w, int h, int s, const float *diag, const float *wE, const float *wS, const double *p,
                double *q) {
  int s3 = 3 * s;
  double a0 = 0, a1 = 0, a2 = 0;
  for (int y = 1; y <= h; y++) {
    int end = y * s + w;
    for (int i = y * s + 1; i <= end; i++) {
      double g = diag[i];
      double a = wE[i];
      double b = wE[i - 1];
      double c = wS[i];
      double d = wS[i - s];
      int k = 3 * i;
      double v0 = g * p[k] - a * p[k + 3] - b * p[k - 3] - c * p[k + s3] - d * p[k - s3];
      double v1 = g * p[k + 1] - a * p[k + 4] - b * p[k - 2] - c * p[k + 1 + s3] - d * p[k + 1 - s3];
      double v2 = g * p[k + 2] - a * p[k + 5] - b * p[k - 1] - c * p[k + 2 + s3] - d * p[k + 2 - s3];
      q[k] = v0;
      q[k + 1] = v1;
      q[k + 2] = v2;
      a0 += v0 * p[k];
      a1 += v1 * p[k + 1];
      a2 += v2 * p[k + 2];
    }
  }
  out[0] = a0;
  out[1] = a1;
  out[2] = a2;
}

/* per-channel dot products of two interleaved vectors of n values into out */
void dot(int C, int n, const double *a, const double *b) {
  if (C == 1) {
    double s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    out[0] = s;
    return;
  }
  double s0 = 0, s1 = 0, s2 = 0;
  for (int i = 0; i < n; i += 3) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
}

/* p = keep * (z + beta p) per channel */
void update_p(int C, int n, double *p, const double *z, double b0, double b1, double b2, double k0, double k1,
              double k2) {
  if (C == 1) {
    for (int i = 0; i < n; i++) p[i] = k0 * (z[i] + b0 * p[i]);
    return;
  }
  for (int i = 0; i < n; i += 3) {
    p[i] = k0 * (z[i] + b0 * p[i]);
    p[i + 1] = k1 * (z[i + 1] + b1 * p[i + 1]);
    p[i + 2] = k2 * (z[i + 2] + b2 * p[i + 2]);
  }
}

/* x = 0 at the known pixels and the padding ring (where invDiag is 0) of an interleaved vector of C channels,
   n pixels (conjugateGradients' set-up; a loop a fresh process would otherwise run on V8's interpreter) */
void zero_known(int C, int n, const float *invDiag, double *x) {
  if (C == 1) {
    for (int j = 0; j < n; j++)
      if (invDiag[j] == 0) x[j] = 0;
    return;
  }
  for (int j = 0; j < n; j++) {
    if (invDiag[j] == 0) {
      x[3 * j] = 0;
      x[3 * j + 1] = 0;
      x[3 * j + 2] = 0;
    }
  }
}

/* ================ the float32 solver of colour decodes (format version 7, cg-f32.ts) ================
 *
 * Vectors hold each padded pixel's three channels in one four-lane group (the fourth lane stays 0), float32;
 * the coefficients are the float64 solver's own (diag, invDiag, wE, wS). Every lane takes the scalar
 * expression's operations in the order written, rounded to float32 (WebAssembly SIMD has no fused
 * multiply-add), so cg-f32.ts's loops with Math.fround give the same values, bit for bit. Sums (dot products)
 * are taken per row: a float32 sum of the row's terms in the loop's order, added into a double per channel
 * row after row. The Gauss–Seidel sweeps run two rows at a time, the second one pixel behind (the float64
 * one-channel sweeps' wavefront: the lexicographic sweep's values), and one group carries all three
 * channels, so a sweep is one dependency chain per row instead of three per pixel.
 */



typedef v128_t f4;

#define LD(p) wasm_v128_load(p)
#define ST(p, v) wasm_v128_store(p, v)
#define ADD wasm_f32x4_add
#define SUB wasm_f32x4_sub
#define MUL wasm_f32x4_mul
#define SPLAT(p) wasm_v128_load32_splat(p)

static double acc4[3];

/* adds a row's float32 sums (lanes 0-2) into the doubles */
static inline void add_row(f4 rs) {
  acc4[0] += (double)wasm_f32x4_extract_lane(rs, 0);
  acc4[1] += (double)wasm_f32x4_extract_lane(rs, 1);
  acc4[2] += (double)wasm_f32x4_extract_lane(rs, 2);
}

static inline void start_sums(void) { acc4[0] = acc4[1] = acc4[2] = 0; }

static inline void end_sums(void) {
  out[0] = acc4[0];
  out[1] = acc4[1];
  out[2] = acc4[2];
}

/*
 * b and x of a cold solve: b = the sum of an unknown pixel's known neighbours (west, east, north, south, in
 * that order, from 0), x = the known pixels' mean (a double, rounded) on the unknowns. data: float32, three
 * channels interleaved, w × h; b and x zeroed.
 */
void cold_start4(int w, int h, const unsigned char *mask, const float *data, float *b, float *x) {
  int s = w + 2;
  double mean[3] = {0, 0, 0};
  int n = 0;
  for (int i = 0; i < w * h; i++) {
    if (!mask[i]) continue;
    for (int c = 0; c < 3; c++) mean[c] += data[i * 3 + c];
    n++;
  }
  float m[3];
  for (int c = 0; c < 3; c++) m[c] = (float)(mean[c] / n);
  for (int y = 0; y < h; y++) {
    for (int xx = 0; xx < w; xx++) {
      int i = y * w + xx;
      if (mask[i]) continue;
      int q = ((y + 1) * s + xx + 1) * 4;
      int west = xx > 0 && mask[i - 1] != 0;
      int east = xx < w - 1 && mask[i + 1] != 0;
      int north = y > 0 && mask[i - w] != 0;
      int south = y < h - 1 && mask[i + w] != 0;
      for (int c = 0; c < 3; c++) {
        float v = 0;
        if (west) v += data[(i - 1) * 3 + c];
        if (east) v += data[(i + 1) * 3 + c];
        if (north) v += data[(i - w) * 3 + c];
        if (south) v += data[(i + w) * 3 + c];
        b[q + c] = v;
        x[q + c] = m[c];
      }
    }
  }
}

/* e_p from zero (west and north neighbours only): id (r + b W + d N) */
static inline f4 gz4(int p, int s, const float *invDiag, const float *wE, const float *wS, const float *r,
                     float *e) {
  f4 v = LD(r + 4 * p);
  v = ADD(v, MUL(SPLAT(wE + p - 1), LD(e + 4 * (p - 1))));
  v = ADD(v, MUL(SPLAT(wS + p - s), LD(e + 4 * (p - s))));
  v = MUL(SPLAT(invDiag + p), v);
  ST(e + 4 * p, v);
  return v;
}

/* a full Gauss–Seidel update of e_p: id (r + a E + b W + c S + d N) */
static inline f4 gs4(int p, int s, const float *invDiag, const float *wE, const float *wS, const float *r,
                     float *e) {
  f4 v = LD(r + 4 * p);
  v = ADD(v, MUL(SPLAT(wE + p), LD(e + 4 * (p + 1))));
  v = ADD(v, MUL(SPLAT(wE + p - 1), LD(e + 4 * (p - 1))));
  v = ADD(v, MUL(SPLAT(wS + p), LD(e + 4 * (p + s))));
  v = ADD(v, MUL(SPLAT(wS + p - s), LD(e + 4 * (p - s))));
  v = MUL(SPLAT(invDiag + p), v);
  ST(e + 4 * p, v);
  return v;
}

/* Rows y and y + 1 of a forward sweep (from zero, or full), the second one pixel behind. */
#define FORWARD_PAIR(PIXEL, y)                                                                              \
  {                                                                                                         \
    int a = (y) * s + 1;                                                                                    \
    int b = a + s;                                                                                          \
    PIXEL(a, s, invDiag, wE, wS, r, e);                                                                     \
    for (int j = 1; j < w; j++) {                                                                           \
      a++;                                                                                                  \
      PIXEL(a, s, invDiag, wE, wS, r, e);                                                                   \
      PIXEL(b, s, invDiag, wE, wS, r, e);                                                                   \
      b++;                                                                                                  \
    }                                                                                                       \
    PIXEL(b, s, invDiag, wE, wS, r, e);                                                                     \
  }

/* The last row of an odd height, alone. */
#define FORWARD_ROW(PIXEL, y)                                                                               \
  for (int k = (y) * s + 1; k <= (y) * s + w; k++) PIXEL(k, s, invDiag, wE, wS, r, e);

/* A whole forward sweep, two rows at a time. */
#define FORWARD_PAIRS(PIXEL)                                                                                \
  int y = 1;                                                                                                \
  for (; y + 1 <= h; y += 2) FORWARD_PAIR(PIXEL, y)                                                         \
  if (y == h) FORWARD_ROW(PIXEL, y)

void smooth_from_zero4(int w, int h, int s, const float *invDiag, const float *wE, const float *wS,
                       const float *r, float *e) {
  FORWARD_PAIRS(gz4)
}

void smooth_forward4(int w, int h, int s, const float *invDiag, const float *wE, const float *wS,
                     const float *r, float *e) {
  FORWARD_PAIRS(gs4)
}

/* backward sweep, two rows at a time; r·e per channel over the final e (row by row, right to left) */
void smooth_backward_dot4(int w, int h, int s, const float *invDiag, const float *wE, const float *wS,
                          const float *r, float *e) {
  start_sums();
  int y = h;
  for (; y >= 2; y -= 2) {
    int a = y * s + w; /* row y, leading */
    int b = a - s;     /* row y - 1, one pixel behind */
    f4 rs = wasm_f32x4_splat(0);
    f4 v = gs4(a, s, invDiag, wE, wS, r, e);
    rs = ADD(rs, MUL(LD(r + 4 * a), v));
    for (int j = 1; j < w; j++) {
      a--;
      v = gs4(a, s, invDiag, wE, wS, r, e);
      rs = ADD(rs, MUL(LD(r + 4 * a), v));
      gs4(b, s, invDiag, wE, wS, r, e);
      b--;
    }
    gs4(b, s, invDiag, wE, wS, r, e);
    add_row(rs);
    rs = wasm_f32x4_splat(0);
    for (int p = (y - 1) * s + w; p >= (y - 1) * s + 1; p--) rs = ADD(rs, MUL(LD(r + 4 * p), LD(e + 4 * p)));
    add_row(rs);
  }
  if (y == 1) {
    f4 rs = wasm_f32x4_splat(0);
    for (int p = s + w; p >= s + 1; p--) {
      f4 v = gs4(p, s, invDiag, wE, wS, r, e);
      rs = ADD(rs, MUL(LD(r + 4 * p), v));
    }
    add_row(rs);
  }
  end_sums();
}

/* A p at pixel i: g P − a E − b W − c S − d N */
static inline f4 apply4(int i, int s, const float *diag, const float *wE, const float *wS, const float *p) {
  f4 v = MUL(SPLAT(diag + i), LD(p + 4 * i));
  v = SUB(v, MUL(SPLAT(wE + i), LD(p + 4 * (i + 1))));
  v = SUB(v, MUL(SPLAT(wE + i - 1), LD(p + 4 * (i - 1))));
  v = SUB(v, MUL(SPLAT(wS + i), LD(p + 4 * (i + s))));
  v = SUB(v, MUL(SPLAT(wS + i - s), LD(p + 4 * (i - s))));
  return v;
}

/* q = A p and p·q per channel */
void apply_dot4(int w, int h, int s, const float *diag, const float *wE, const float *wS, const float *p,
                float *q) {
  start_sums();
  for (int y = 1; y <= h; y++) {
    f4 rs = wasm_f32x4_splat(0);
    for (int i = y * s + 1; i <= y * s + w; i++) {
      f4 v = apply4(i, s, diag, wE, wS, p);
      ST(q + 4 * i, v);
      rs = ADD(rs, MUL(v, LD(p + 4 * i)));
    }
    add_row(rs);
  }
  end_sums();
}

/* out = r − A x */
void residual_of4(int w, int h, int s, const float *diag, const float *wE, const float *wS, const float *x,
                  const float *r, float *res) {
  for (int y = 1; y <= h; y++) {
    for (int i = y * s + 1; i <= y * s + w; i++) ST(res + 4 * i, SUB(LD(r + 4 * i), apply4(i, s, diag, wE, wS, x)));
  }
}

/*
 * x += α p and r −= α q, r·r per channel, then the first forward sweep from zero on the new r into e; two
 * rows at a time (both rows' updates first, in raster order, then their sweep).
 */
static inline void update_row(int from, int w, float *x, float *r, const float *p, const float *q, f4 al) {
  f4 rs = wasm_f32x4_splat(0);
  for (int i = from; i < from + w; i++) {
    ST(x + 4 * i, ADD(LD(x + 4 * i), MUL(al, LD(p + 4 * i))));
    f4 v = SUB(LD(r + 4 * i), MUL(al, LD(q + 4 * i)));
    ST(r + 4 * i, v);
    rs = ADD(rs, MUL(v, v));
  }
  add_row(rs);
}

void update_and_sweep4(int w, int h, int s, const float *invDiag, const float *wE, const float *wS, float *x,
                       float *r, const float *p, const float *q, double a0, double a1, double a2, float *e) {
  f4 al = wasm_f32x4_make((float)a0, (float)a1, (float)a2, 0);
  start_sums();
  int y = 1;
  for (; y + 1 <= h; y += 2) {
    update_row(y * s + 1, w, x, r, p, q, al);
    update_row((y + 1) * s + 1, w, x, r, p, q, al);
    FORWARD_PAIR(gz4, y)
  }
  if (y == h) {
    update_row(y * s + 1, w, x, r, p, q, al);
    FORWARD_ROW(gz4, y)
  }
  end_sums();
}

/*
 * The restriction of the residual left by a from-zero sweep (restrict_sweep_residual3): per 2×2 aggregate,
 * the sum of wE e_east + wS e_south over its pixels, in the order p, p+1, p+s, p+s+1.
 */
void restrict_sweep_residual4(int fh, int s, const float *wE, const float *wS, const float *e, int cw, int ch,
                              int sc, float *rc) {
  for (int Y = 0; Y < ch; Y++) {
    int p = (2 * Y + 1) * s + 1;
    int P = (Y + 1) * sc + 1;
    int bottomRing = 2 * Y + 2 > fh;
    for (int X = 0; X < cw; X++, p += 2, P++) {
      int p1 = p + 1;
      f4 v = MUL(SPLAT(wE + p), LD(e + 4 * (p + 1)));
      v = ADD(v, MUL(SPLAT(wS + p), LD(e + 4 * (p + s))));
      v = ADD(v, MUL(SPLAT(wE + p1), LD(e + 4 * (p1 + 1))));
      v = ADD(v, MUL(SPLAT(wS + p1), LD(e + 4 * (p1 + s))));
      if (!bottomRing) {
        int p2 = p + s;
        int p3 = p2 + 1;
        v = ADD(v, MUL(SPLAT(wE + p2), LD(e + 4 * (p2 + 1))));
        v = ADD(v, MUL(SPLAT(wS + p2), LD(e + 4 * (p2 + s))));
        v = ADD(v, MUL(SPLAT(wE + p3), LD(e + 4 * (p3 + 1))));
        v = ADD(v, MUL(SPLAT(wS + p3), LD(e + 4 * (p3 + s))));
      }
      ST(rc + 4 * P, v);
    }
  }
}

/* sums t over each 2×2 aggregate: ((t00 + t01) + t10) + t11 */
void restrict4(int s, int cw, int ch, int sc, const float *t, float *rc) {
  for (int Y = 0; Y < ch; Y++) {
    int p = (2 * Y + 1) * s + 1;
    int P = (Y + 1) * sc + 1;
    for (int X = 0; X < cw; X++, p += 2, P++) {
      f4 v = ADD(ADD(ADD(LD(t + 4 * p), LD(t + 4 * (p + 1))), LD(t + 4 * (p + s))), LD(t + 4 * (p + s + 1)));
      ST(rc + 4 * P, v);
    }
  }
}

#define PROLONG4(q) ST(e + 4 * (q), ADD(LD(e + 4 * (q)), MUL(act[q] != 0 ? sv : zero, v)))

/* e += m ec over each aggregate's pixels, m = scale (a float) where the pixel is unknown, else 0 */
void prolong4(int s, const float *act, int cw, int ch, int sc, const float *ec, float *e, float scale) {
  f4 zero = wasm_f32x4_splat(0);
  f4 sv = wasm_f32x4_splat(scale);
  for (int Y = 0; Y < ch; Y++) {
    int p = (2 * Y + 1) * s + 1;
    int P = (Y + 1) * sc + 1;
    for (int X = 0; X < cw; X++, p += 2, P++) {
      f4 v = LD(ec + 4 * P);
      PROLONG4(p);
      PROLONG4(p + 1);
      PROLONG4(p + s);
      PROLONG4(p + s + 1);
    }
  }
}

/* p = keep (z + β p) per channel over the interior rows */
void update_p4(int w, int h, int s, float *p, const float *z, double b0, double b1, double b2, double k0,
               double k1, double k2) {
  f4 be = wasm_f32x4_make((float)b0, (float)b1, (float)b2, 0);
  f4 ke = wasm_f32x4_make((float)k0, (float)k1, (float)k2, 0);
  for (int y = 1; y <= h; y++) {
    for (int i = y * s + 1; i <= y * s + w; i++) {
      ST(p + 4 * i, MUL(ke, ADD(LD(z + 4 * i), MUL(be, LD(p + 4 * i)))));
    }
  }
}

/* a·b per channel over the interior rows */
void dot4(int w, int h, int s, const float *a, const float *b) {
  start_sums();
  for (int y = 1; y <= h; y++) {
    f4 rs = wasm_f32x4_splat(0);
    for (int i = y * s + 1; i <= y * s + w; i++) rs = ADD(rs, MUL(LD(a + 4 * i), LD(b + 4 * i)));
    add_row(rs);
  }
  end_sums();
}

/*
 * The same solver for one channel (cg-f32.ts with one lane per pixel: grey images, colour images over 2^21
 * pixels solved channel by channel, and the gan decoder's diffusion input beside worker threads): float32
 * scalars with each lane's operations of the `…4` kernels in the same order, so a channel solved alone takes
 * the values it takes in a joint solve, bit for bit.
 */

static double acc1;

/* b and x of a cold solve of one channel (w × h, float32) */
void cold_start1f(int w, int h, const unsigned char *mask, const float *data, float *b, float *x) {
  int s = w + 2;
  double mean = 0;
  int n = 0;
  for (int i = 0; i < w * h; i++) {
    if (!mask[i]) continue;
    mean += data[i];
    n++;
  }
  float m = (float)(mean / n);
  for (int y = 0; y < h; y++) {
    for (int xx = 0; xx < w; xx++) {
      int i = y * w + xx;
      if (mask[i]) continue;
      int q = (y + 1) * s + xx + 1;
      float v = 0;
      if (xx > 0 && mask[i - 1]) v += data[i - 1];
      if (xx < w - 1 && mask[i + 1]) v += data[i + 1];
      if (y > 0 && mask[i - w]) v += data[i - w];
      if (y < h - 1 && mask[i + w]) v += data[i + w];
      b[q] = v;
      x[q] = m;
    }
  }
}

static inline float gz1f(int p, int s, const float *invDiag, const float *wE, const float *wS, const float *r,
                         float *e) {
  float v = r[p];
  v = v + wE[p - 1] * e[p - 1];
  v = v + wS[p - s] * e[p - s];
  v = invDiag[p] * v;
  e[p] = v;
  return v;
}

static inline float gs1f(int p, int s, const float *invDiag, const float *wE, const float *wS, const float *r,
                         float *e) {
  float v = r[p];
  v = v + wE[p] * e[p + 1];
  v = v + wE[p - 1] * e[p - 1];
  v = v + wS[p] * e[p + s];
  v = v + wS[p - s] * e[p - s];
  v = invDiag[p] * v;
  e[p] = v;
  return v;
}

void smooth_from_zero1f(int w, int h, int s, const float *invDiag, const float *wE, const float *wS,
                        const float *r, float *e) {
  FORWARD_PAIRS(gz1f)
}

void smooth_forward1f(int w, int h, int s, const float *invDiag, const float *wE, const float *wS,
                      const float *r, float *e) {
  FORWARD_PAIRS(gs1f)
}

void smooth_backward_dot1f(int w, int h, int s, const float *invDiag, const float *wE, const float *wS,
                           const float *r, float *e) {
  acc1 = 0;
  int y = h;
  for (; y >= 2; y -= 2) {
    int a = y * s + w;
    int b = a - s;
    float rs = 0;
    rs = rs + r[a] * gs1f(a, s, invDiag, wE, wS, r, e);
    for (int j = 1; j < w; j++) {
      a--;
      rs = rs + r[a] * gs1f(a, s, invDiag, wE, wS, r, e);
      gs1f(b, s, invDiag, wE, wS, r, e);
      b--;
    }
    gs1f(b, s, invDiag, wE, wS, r, e);
    acc1 += (double)rs;
    rs = 0;
    for (int p = (y - 1) * s + w; p >= (y - 1) * s + 1; p--) rs = rs + r[p] * e[p];
    acc1 += (double)rs;
  }
  if (y == 1) {
    float rs = 0;
    for (int p = s + w; p >= s + 1; p--) rs = rs + r[p] * gs1f(p, s, invDiag, wE, wS, r, e);
    acc1 += (double)rs;
  }
  out[0] = acc1;
}

static inline float apply1f(int i, int s, const float *diag, const float *wE, const float *wS, const float *p) {
  float v = diag[i] * p[i];
  v = v - wE[i] * p[i + 1];
  v = v - wE[i - 1] * p[i - 1];
  v = v - wS[i] * p[i + s];
  v = v - wS[i - s] * p[i - s];
  return v;
}

void apply_dot1f(int w, int h, int s, const float *diag, const float *wE, const float *wS, const float *p,
                 float *q) {
  acc1 = 0;
  for (int y = 1; y <= h; y++) {
    float rs = 0;
    for (int i = y * s + 1; i <= y * s + w; i++) {
      float v = apply1f(i, s, diag, wE, wS, p);
      q[i] = v;
      rs = rs + v * p[i];
    }
    acc1 += (double)rs;
  }
  out[0] = acc1;
}

void residual_of1f(int w, int h, int s, const float *diag, const float *wE, const float *wS, const float *x,
                   const float *r, float *res) {
  for (int y = 1; y <= h; y++) {
    for (int i = y * s + 1; i <= y * s + w; i++) res[i] = r[i] - apply1f(i, s, diag, wE, wS, x);
  }
}

static inline void update_row1f(int from, int w, float *x, float *r, const float *p, const float *q, float al) {
  float rs = 0;
  for (int i = from; i < from + w; i++) {
    x[i] = x[i] + al * p[i];
    float v = r[i] - al * q[i];
    r[i] = v;
    rs = rs + v * v;
  }
  acc1 += (double)rs;
}

void update_and_sweep1f(int w, int h, int s, const float *invDiag, const float *wE, const float *wS, float *x,
                        float *r, const float *p, const float *q, double a0, float *e) {
  float al = (float)a0;
  acc1 = 0;
  int y = 1;
  for (; y + 1 <= h; y += 2) {
    update_row1f(y * s + 1, w, x, r, p, q, al);
    update_row1f((y + 1) * s + 1, w, x, r, p, q, al);
    FORWARD_PAIR(gz1f, y)
  }
  if (y == h) {
    update_row1f(y * s + 1, w, x, r, p, q, al);
    FORWARD_ROW(gz1f, y)
  }
  out[0] = acc1;
}

void restrict_sweep_residual1f(int fh, int s, const float *wE, const float *wS, const float *e, int cw, int ch,
                               int sc, float *rc) {
  for (int Y = 0; Y < ch; Y++) {
    int p = (2 * Y + 1) * s + 1;
    int P = (Y + 1) * sc + 1;
    int bottomRing = 2 * Y + 2 > fh;
    for (int X = 0; X < cw; X++, p += 2, P++) {
      int p1 = p + 1;
      float v = wE[p] * e[p + 1];
      v = v + wS[p] * e[p + s];
      v = v + wE[p1] * e[p1 + 1];
      v = v + wS[p1] * e[p1 + s];
      if (!bottomRing) {
        int p2 = p + s;
        int p3 = p2 + 1;
        v = v + wE[p2] * e[p2 + 1];
        v = v + wS[p2] * e[p2 + s];
        v = v + wE[p3] * e[p3 + 1];
        v = v + wS[p3] * e[p3 + s];
      }
      rc[P] = v;
    }
  }
}

void restrict1f(int s, int cw, int ch, int sc, const float *t, float *rc) {
  for (int Y = 0; Y < ch; Y++) {
    int p = (2 * Y + 1) * s + 1;
    int P = (Y + 1) * sc + 1;
    for (int X = 0; X < cw; X++, p += 2, P++) rc[P] = ((t[p] + t[p + 1]) + t[p + s]) + t[p + s + 1];
  }
}

#define PROLONG1F(q) (e[q] = e[q] + (act[q] != 0 ? scale : 0.0f) * v)

void prolong1f(int s, const float *act, int cw, int ch, int sc, const float *ec, float *e, float scale) {
  for (int Y = 0; Y < ch; Y++) {
    int p = (2 * Y + 1) * s + 1;
    int P = (Y + 1) * sc + 1;
    for (int X = 0; X < cw; X++, p += 2, P++) {
      float v = ec[P];
      PROLONG1F(p);
      PROLONG1F(p + 1);
      PROLONG1F(p + s);
      PROLONG1F(p + s + 1);
    }
  }
}

void update_p1f(int w, int h, int s, float *p, const float *z, double b0, double k0) {
  float be = (float)b0;
  float ke = (float)k0;
  for (int y = 1; y <= h; y++) {
    for (int i = y * s + 1; i <= y * s + w; i++) p[i] = ke * (z[i] + be * p[i]);
  }
}

void dot1f(int w, int h, int s, const float *a, const float *b) {
  acc1 = 0;
  for (int y = 1; y <= h; y++) {
    float rs = 0;
    for (int i = y * s + 1; i <= y * s + w; i++) rs = rs + a[i] * b[i];
    acc1 += (double)rs;
  }
  out[0] = acc1;
}
