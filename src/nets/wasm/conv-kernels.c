/*
 * The networks' convolutions at inference, for the tfjs wasm backend: compiled to WebAssembly with SIMD
 * (scripts/build-wasm.sh) and instantiated on the tfjs backend's own memory, so they read and write its
 * tensors in place (src/nets/wasm-conv.ts).
 *
 * Two arithmetics. `conv` (format versions 1 and 3, and the encoder's mask generator) is float32: each output
 * is summed in the order of XNNPACK's convolution (what tfjs' wasm backend runs): the bias, then
 * the taps row by row, each tap's input channels in order, every product rounded to float32 before it is
 * added. So the values are the same bit for bit (test/nets/wasm-conv.test.ts); what differs is the cost.
 * XNNPACK computes 8 output channels at a time, so the 3- and 4-channel branches of the width-4 models paid
 * for 8; here a vector holds 4 outputs and several pixels share each loaded weight vector. `quantise` and
 * `conv_q` (format version 5's decoder) take the products on 16-bit integers: see "Sixteen-bit arithmetic".
 *
 * Layout: x is H x W x C (one sample, channels innermost); the weights w are [K*K][C][O4] with O4 = O rounded
 * up to a multiple of 4 (the extra outputs' weights zero), the bias b is [O4]. Output pixel p's channel o goes
 * to out[p * os + oo + o], so a call can write one branch into its place among the channels of a
 * concatenation. "same" zero padding of (K - 1) / 2 * d on every side, stride 1.
 *
 * No stack, no data, no globals: the module owns no memory of its own and must not write outside the
 * pointers it is given, since the memory is tfjs'.
 */
#include <wasm_simd128.h>

typedef float f32;

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Stores the first n (1-4) lanes of v at o; with accumulate, adds them to what is there (one rounding). */
ALWAYS_INLINE void put(f32 *o, v128_t v, int n, int accumulate) {
  if (accumulate) {
    f32 a = wasm_f32x4_extract_lane(v, 0), b = wasm_f32x4_extract_lane(v, 1);
    f32 c = wasm_f32x4_extract_lane(v, 2), d = wasm_f32x4_extract_lane(v, 3);
    o[0] += a;
    if (n > 1) o[1] += b;
    if (n > 2) o[2] += c;
    if (n > 3) o[3] += d;
    return;
  }
  if (n == 4) {
    wasm_v128_store(o, v);
    return;
  }
  o[0] = wasm_f32x4_extract_lane(v, 0);
  if (n > 1) o[1] = wasm_f32x4_extract_lane(v, 1);
  if (n > 2) o[2] = wasm_f32x4_extract_lane(v, 2);
}

/* The taps k (0 <= k < K) whose offset k·d − r from position i lands inside [0, n): [*k0, *k1). */
ALWAYS_INLINE void tap_range(int i, int n, int K, int d, int r, int *k0, int *k1) {
  int lo = 0, hi = K;
  while (lo < K && i + lo * d - r < 0) lo++;
  while (hi > lo && i + (hi - 1) * d - r >= n) hi--;
  *k0 = lo;
  *k1 = hi;
}

/*
 * Pixels j0..j1-1 of row i, any position: the taps outside the image are left out (each would add a zero
 * product, which leaves a sum unchanged), the others summed in the same order as everywhere.
 */
static void edge_pixels(const f32 *x, int H, int W, int C, int K, const f32 *w, const f32 *b, int O, int O4,
                        int d, f32 *out, int os, int oo, int acc_mode, int i, int j0, int j1) {
  int r = (K - 1) / 2 * d;
  int ky0, ky1;
  tap_range(i, H, K, d, r, &ky0, &ky1);
  for (int j = j0; j < j1; j++) {
    int kx0, kx1;
    tap_range(j, W, K, d, r, &kx0, &kx1);
    for (int q = 0; q < O4; q += 4) {
      v128_t acc = wasm_v128_load(b + q);
      for (int ky = ky0; ky < ky1; ky++) {
        const f32 *row = x + ((long)(i + ky * d - r) * W + j - r) * C;
        for (int kx = kx0; kx < kx1; kx++) {
          const f32 *xp = row + kx * d * C;
          const f32 *wp = w + (ky * K + kx) * C * O4 + q;
          for (int c = 0; c < C; c++) {
            acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load32_splat(xp + c), wasm_v128_load(wp + c * O4)));
          }
        }
      }
      int n = O - q < 4 ? O - q : 4;
      put(out + ((long)i * W + j) * os + oo + q, acc, n, acc_mode);
    }
  }
}

/*
 * Pixels j0..j1-1 of row i whose taps all lie inside the image horizontally, with the rows of taps [ky0, ky1)
 * (those inside it vertically), NP pixels at a time with NV vectors of 4
 * outputs each (O4 == 4 * NV): NP * NV accumulators, each weight vector loaded once for NP pixels. Written
 * out per shape (no arrays), so the accumulators stay in locals: the module must not use a stack.
 */
#define MAC(a, p, wv) a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load32_splat(xp + (p) * C + c), wv))
#define TAPS(BODY)                                                                                           \
  for (int ky = ky0; ky < ky1; ky++) {                                                                       \
    const f32 *row = x + ((long)(i + ky * d - r) * W + j - r) * C;                                           \
    for (int kx = 0; kx < K; kx++) {                                                                         \
      const f32 *xp = row + kx * d * C;                                                                      \
      const f32 *wp = w + (ky * K + kx) * C * O4;                                                            \
      for (int c = 0; c < C; c++) {                                                                          \
        BODY                                                                                                 \
      }                                                                                                      \
    }                                                                                                        \
  }
#define PUT(p, v, a) put(out + ((long)i * W + j + (p)) * os + oo + 4 * (v), a, O - 4 * (v) < 4 ? O - 4 * (v) : 4, acc_mode)

/* 4 outputs: 4 pixels at a time */
static void interior4(const f32 *x, int H, int W, int C, int K, const f32 *w, const f32 *b, int O, int d, f32 *out,
                      int os, int oo, int acc_mode, int i, int j0, int j1, int ky0, int ky1) {
  const int O4 = 4;
  int r = (K - 1) / 2 * d;
  int j = j0;
  v128_t bias = wasm_v128_load(b);
  for (; j + 4 <= j1; j += 4) {
    v128_t a0 = bias, a1 = bias, a2 = bias, a3 = bias;
    TAPS(v128_t w0 = wasm_v128_load(wp + c * 4); MAC(a0, 0, w0); MAC(a1, 1, w0); MAC(a2, 2, w0); MAC(a3, 3, w0);)
    PUT(0, 0, a0);
    PUT(1, 0, a1);
    PUT(2, 0, a2);
    PUT(3, 0, a3);
  }
  if (j < j1) edge_pixels(x, H, W, C, K, w, b, O, O4, d, out, os, oo, acc_mode, i, j, j1);
}

/* 8 outputs: 4 pixels at a time */
static void interior8(const f32 *x, int H, int W, int C, int K, const f32 *w, const f32 *b, int O, int d, f32 *out,
                      int os, int oo, int acc_mode, int i, int j0, int j1, int ky0, int ky1) {
  const int O4 = 8;
  int r = (K - 1) / 2 * d;
  int j = j0;
  v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
  for (; j + 4 <= j1; j += 4) {
    v128_t a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
    TAPS(v128_t w0 = wasm_v128_load(wp + c * 8); v128_t w1 = wasm_v128_load(wp + c * 8 + 4);
         MAC(a00, 0, w0); MAC(a10, 1, w0); MAC(a20, 2, w0); MAC(a30, 3, w0);
         MAC(a01, 0, w1); MAC(a11, 1, w1); MAC(a21, 2, w1); MAC(a31, 3, w1);)
    PUT(0, 0, a00);
    PUT(0, 1, a01);
    PUT(1, 0, a10);
    PUT(1, 1, a11);
    PUT(2, 0, a20);
    PUT(2, 1, a21);
    PUT(3, 0, a30);
    PUT(3, 1, a31);
  }
  if (j < j1) edge_pixels(x, H, W, C, K, w, b, O, O4, d, out, os, oo, acc_mode, i, j, j1);
}

/* 16 outputs: 2 pixels at a time */
static void interior16(const f32 *x, int H, int W, int C, int K, const f32 *w, const f32 *b, int O, int d, f32 *out,
                       int os, int oo, int acc_mode, int i, int j0, int j1, int ky0, int ky1) {
  const int O4 = 16;
  int r = (K - 1) / 2 * d;
  int j = j0;
  v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4), b2 = wasm_v128_load(b + 8),
         b3 = wasm_v128_load(b + 12);
  for (; j + 2 <= j1; j += 2) {
    v128_t a00 = b0, a01 = b1, a02 = b2, a03 = b3, a10 = b0, a11 = b1, a12 = b2, a13 = b3;
    TAPS(v128_t w0 = wasm_v128_load(wp + c * 16); v128_t w1 = wasm_v128_load(wp + c * 16 + 4);
         v128_t w2 = wasm_v128_load(wp + c * 16 + 8); v128_t w3 = wasm_v128_load(wp + c * 16 + 12);
         MAC(a00, 0, w0); MAC(a10, 1, w0); MAC(a01, 0, w1); MAC(a11, 1, w1);
         MAC(a02, 0, w2); MAC(a12, 1, w2); MAC(a03, 0, w3); MAC(a13, 1, w3);)
    PUT(0, 0, a00);
    PUT(0, 1, a01);
    PUT(0, 2, a02);
    PUT(0, 3, a03);
    PUT(1, 0, a10);
    PUT(1, 1, a11);
    PUT(1, 2, a12);
    PUT(1, 3, a13);
  }
  if (j < j1) edge_pixels(x, H, W, C, K, w, b, O, O4, d, out, os, oo, acc_mode, i, j, j1);
}

/*
 * One convolution of one sample: x (H x W x C), a K x K kernel (K odd) at dilation d, into out as described
 * above; with accumulate set, each output is added to the value already there (after its own sum, as
 * tf.add(previous, conv) does). O4 = O rounded up to 4 must be 4, 8 or 16 for the fast paths; other widths
 * take the per-pixel path.
 */
__attribute__((export_name("conv")))
void conv(const f32 *x, int H, int W, int C, int K, const f32 *w, const f32 *b, int O, int d, f32 *out, int os,
          int oo, int accumulate) {
  int O4 = (O + 3) & ~3;
  int r = (K - 1) / 2 * d;
  for (int i = 0; i < H; i++) {
    if (W <= 2 * r || (O4 != 4 && O4 != 8 && O4 != 16)) {
      edge_pixels(x, H, W, C, K, w, b, O, O4, d, out, os, oo, accumulate, i, 0, W);
      continue;
    }
    int ky0, ky1;
    tap_range(i, H, K, d, r, &ky0, &ky1);
    edge_pixels(x, H, W, C, K, w, b, O, O4, d, out, os, oo, accumulate, i, 0, r);
    if (O4 == 4) {
      interior4(x, H, W, C, K, w, b, O, d, out, os, oo, accumulate, i, r, W - r, ky0, ky1);
    } else if (O4 == 8) {
      interior8(x, H, W, C, K, w, b, O, d, out, os, oo, accumulate, i, r, W - r, ky0, ky1);
    } else {
      interior16(x, H, W, C, K, w, b, O, d, out, os, oo, accumulate, i, r, W - r, ky0, ky1);
    }
    edge_pixels(x, H, W, C, K, w, b, O, O4, d, out, os, oo, accumulate, i, W - r, W);
  }
}

/*
 * A 1 × 1 convolution (no bias: the sums start at zero, as XNNPACK's with a zero bias) of the concatenation of
 * `low` upsampled 2× by repetition (nearest neighbour) and `skip`, without making either: the hourglass' up
 * path (tf.image.resizeNearestNeighbor, concatenated with the skip connection, then the next block's
 * bottleneck projection). low is (H/2) × (W/2) × cl, skip H × W × cs, w [cl + cs][O4], out H × W × O.
 */
__attribute__((export_name("project_upsampled")))
void project_upsampled(const f32 *low, int cl, const f32 *skip, int cs, int H, int W, const f32 *w, int O,
                       f32 *out) {
  int O4 = (O + 3) & ~3;
  int wl = W / 2;
  for (int i = 0; i < H; i++) {
    const f32 *lrow = low + (long)(i / 2) * wl * cl;
    const f32 *srow = skip + (long)i * W * cs;
    f32 *orow = out + (long)i * W * O;
    if (O4 == 8) {
      /* two pixels at a time: they read the same low pixel, so its part of their sums is the same
         (computed once, the same operations in the same order) */
      const f32 *wskip = w + cl * 8;
      for (int j = 0; j < W; j += 2) {
        const f32 *lp = lrow + (long)(j / 2) * cl;
        v128_t u0 = wasm_f32x4_splat(0.0f), u1 = wasm_f32x4_splat(0.0f);
        for (int c = 0; c < cl; c++) {
          v128_t l = wasm_v128_load32_splat(lp + c);
          u0 = wasm_f32x4_add(u0, wasm_f32x4_mul(l, wasm_v128_load(w + c * 8)));
          u1 = wasm_f32x4_add(u1, wasm_f32x4_mul(l, wasm_v128_load(w + c * 8 + 4)));
        }
        v128_t a0 = u0, a1 = u1, b0 = u0, b1 = u1;
        const f32 *s0 = srow + (long)j * cs;
        const f32 *s1 = s0 + cs;
        for (int c = 0; c < cs; c++) {
          v128_t w0 = wasm_v128_load(wskip + c * 8), w1 = wasm_v128_load(wskip + c * 8 + 4);
          v128_t x0 = wasm_v128_load32_splat(s0 + c), x1 = wasm_v128_load32_splat(s1 + c);
          a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(x0, w0));
          a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(x0, w1));
          b0 = wasm_f32x4_add(b0, wasm_f32x4_mul(x1, w0));
          b1 = wasm_f32x4_add(b1, wasm_f32x4_mul(x1, w1));
        }
        f32 *o = orow + (long)j * O;
        put(o, a0, O < 4 ? O : 4, 0);
        put(o + 4, a1, O - 4, 0);
        put(o + O, b0, O < 4 ? O : 4, 0);
        put(o + O + 4, b1, O - 4, 0);
      }
      continue;
    }
    for (int j = 0; j < W; j++) {
      const f32 *lp = lrow + (long)(j / 2) * cl;
      const f32 *sp = srow + (long)j * cs;
      f32 *o = orow + (long)j * O;
      for (int q = 0; q < O4; q += 4) {
        v128_t acc = wasm_f32x4_splat(0.0f);
        const f32 *wp = w + q;
        for (int c = 0; c < cl; c++, wp += O4) {
          acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load32_splat(lp + c), wasm_v128_load(wp)));
        }
        for (int c = 0; c < cs; c++, wp += O4) {
          acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load32_splat(sp + c), wasm_v128_load(wp)));
        }
        put(o + q, acc, O - q < 4 ? O - q : 4, 0);
      }
    }
  }
}

/* Copies k channels of each of n pixels from src (n × k) into channels offset..offset+k-1 of dst (n × total). */
__attribute__((export_name("interleave")))
void interleave(const f32 *src, int k, int n, f32 *dst, int total, int offset) {
  dst += offset;
  if (k == 1) {
    for (int p = 0; p < n; p++) dst[(long)p * total] = src[p];
    return;
  }
  for (int p = 0; p < n; p++, src += k, dst += total) {
    for (int c = 0; c < k; c++) dst[c] = src[c];
  }
}

/*
 * ---- Sixteen-bit arithmetic (format version 5) ----
 *
 * The same convolutions with the products taken on 16-bit integers: i32x4.dot_i16x8_s multiplies 8 pairs and
 * adds them pairwise into 4 lanes, so one instruction does two input channels of 4 outputs, twice the work of
 * a float multiply and add. The input is quantised once per block (quantise: one scale for the whole tensor,
 * from its largest magnitude, to ±32767), the weights once per model (wasm-conv.ts: per output channel, to at
 * most ±16383 and so that no row of taps can overflow), and each row of taps is summed exactly in 32 bits, then
 * converted and added in float. Every step is integer or IEEE float arithmetic without fused operations, so the
 * result is the same on every engine; it differs from the float32 path by about the 15-bit quantisation.
 *
 * Layout: the quantised input xq is zero-padded, (H + 2R) rows of (W + 2R + 8) pixels, each C2 pairs of int16
 * (channels 2c and 2c+1; a missing last channel is zero), pixel (y, x) of the image at row y + R, column x + R.
 * A tap outside the image reads a zero, which adds nothing to an integer sum (exactly, unlike a float −0), so
 * every pixel takes the blocked path, and the 8 extra columns let the last block of a row run whole. R must be
 * at least (K − 1) / 2 · d. The weights wq are [K*K][C2][O4][2] int16; winv[O4] are the weights' inverse scales,
 * b[O4] the bias.
 */

/* The largest magnitude of n floats, NaN ignored (0 where there is none). */
static f32 max_raw(const f32 *x, long n) {
  v128_t m = wasm_f32x4_splat(0.0f);
  long i = 0;
  for (; i + 4 <= n; i += 4) m = wasm_f32x4_pmax(m, wasm_f32x4_abs(wasm_v128_load(x + i)));
  f32 a = wasm_f32x4_extract_lane(m, 0), b = wasm_f32x4_extract_lane(m, 1);
  f32 c = wasm_f32x4_extract_lane(m, 2), d = wasm_f32x4_extract_lane(m, 3);
  f32 r = a > b ? a : b;
  r = r > c ? r : c;
  r = r > d ? r : d;
  for (; i < n; i++) {
    f32 v = x[i] < 0 ? -x[i] : x[i];
    r = v > r ? v : r;
  }
  return r;
}

/* The scale's magnitude from max_raw: 1 where there is none or it is not finite (then every value quantises
   to zero or saturates, deterministically). */
ALWAYS_INLINE f32 magnitude_rule(f32 r) { return r > 0 && r <= 3.4e38f ? r : 1.0f; }

static f32 max_magnitude(const f32 *x, long n) { return magnitude_rule(max_raw(x, n)); }

/* One float rounded to the nearest integer within ±32767 (NaN to 0), as the vector path rounds it. */
ALWAYS_INLINE short quantise_one(f32 v) {
  v = __builtin_nearbyintf(v);
  v = v > 32767.0f ? 32767.0f : v < -32767.0f ? -32767.0f : v;
  return v == v ? (short)v : 0;
}

/* Rounds n floats times s into n int16 at q, 8 at a time where it can. */
static void round_run(const f32 *x, long n, v128_t sv, f32 s, short *q) {
  v128_t hi = wasm_f32x4_splat(32767.0f), lo = wasm_f32x4_splat(-32767.0f);
  long i = 0;
  for (; i + 8 <= n; i += 8) {
    v128_t a = wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(x + i), sv));
    v128_t b = wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(x + i + 4), sv));
    /* NaN fails both comparisons of pmax/pmin and stays NaN; trunc_sat makes it 0, as quantise_one does */
    a = wasm_f32x4_pmin(wasm_f32x4_pmax(a, lo), hi);
    b = wasm_f32x4_pmin(wasm_f32x4_pmax(b, lo), hi);
    wasm_v128_store(q + i, wasm_i16x8_narrow_i32x4(wasm_i32x4_trunc_sat_f32x4(a), wasm_i32x4_trunc_sat_f32x4(b)));
  }
  for (; i < n; i++) q[i] = quantise_one(x[i] * s);
}

static void zero_shorts(short *q, long n) {
  for (long i = 0; i < n; i++) q[i] = 0;
}

/*
 * Quantises x (H x W pixels of C channels) into xq, laid out and padded as above with R, with one scale,
 * 32767 / max|x|, rounding to nearest (ties to even). Returns the inverse scale, max|x| / 32767, which the
 * convolutions multiply back.
 *
 * Each row is rounded in one contiguous pass. For even C that is already its layout; for odd C the pass writes
 * the row's W·C values at the end of its W·(C + 1) places and each pixel is then moved down to its place with a
 * zero after it: moving forward is safe, as pixel p goes to p·(C + 1), below where it and every later pixel of
 * the row still wait (W + p·C).
 */
__attribute__((export_name("quantise")))
f32 quantise(const f32 *x, int H, int W, int C, int R, short *xq) {
  f32 m = max_magnitude(x, (long)H * W * C);
  f32 s = 32767.0f / m;
  v128_t sv = wasm_f32x4_splat(s);
  long P = (C + 1) & ~1; /* int16 per pixel */
  long rowLength = ((long)W + 2 * R + 8) * P;
  zero_shorts(xq, R * rowLength);
  for (int y = 0; y < H; y++) {
    short *row = xq + (long)(y + R) * rowLength;
    zero_shorts(row, R * P);
    short *q = row + R * P;
    const f32 *xr = x + (long)y * W * C;
    if (C % 2 == 0) {
      round_run(xr, (long)W * C, sv, s, q);
    } else {
      short *flat = q + W;
      round_run(xr, (long)W * C, sv, s, flat);
      for (long p = 0; p < W; p++) {
        const short *from = flat + p * C;
        short *to = q + p * (C + 1);
        int c = 0;
        if (C >= 8) {
          wasm_v128_store(to, wasm_v128_load(from));
          c = 8;
        }
        for (; c < C; c++) to[c] = from[c];
        to[C] = 0;
      }
    }
    zero_shorts(q + (long)W * P, (R + 8) * P);
  }
  zero_shorts(xq + (long)(H + R) * rowLength, R * rowLength);
  return m / 32767.0f;
}

/*
 * quantise for an input given as parts to be joined along the channels (the first block's noise, mask, known
 * values, interpolation and density planes), without making the joined tensor: the caller takes max_abs of
 * every part, zeroes the frame once (quantise_frame) and writes each part at its channel offset
 * (quantise_part, with the largest of the maxima). The same int16 as quantise of the joined tensor: its scale
 * comes from the largest magnitude over all values, and each value is rounded alone (quantise_one rounds as
 * the vector path does).
 */
__attribute__((export_name("max_abs")))
f32 max_abs(const f32 *x, int n) { return max_raw(x, n); }

/* The layout's zeros for C channels: the R rows above and below, R pixels left, R + 8 right, the odd pad. */
__attribute__((export_name("quantise_frame")))
void quantise_frame(int H, int W, int C, int R, short *xq) {
  long P = (C + 1) & ~1;
  long rowLength = ((long)W + 2 * R + 8) * P;
  zero_shorts(xq, R * rowLength);
  for (int y = 0; y < H; y++) {
    short *row = xq + (long)(y + R) * rowLength;
    zero_shorts(row, R * P);
    if (C % 2) {
      for (long p = 0; p < W; p++) row[(R + p) * P + C] = 0;
    }
    zero_shorts(row + (R + W) * P, (R + 8) * P);
  }
  zero_shorts(xq + (long)(H + R) * rowLength, R * rowLength);
}

/* One part of Cp channels into channels [offset, offset + Cp) of the C-channel layout; returns the inverse
   scale, as quantise does. */
__attribute__((export_name("quantise_part")))
f32 quantise_part(const f32 *x, int H, int W, int Cp, int offset, int C, int R, f32 largest, short *xq) {
  f32 m = magnitude_rule(largest);
  f32 s = 32767.0f / m;
  long P = (C + 1) & ~1;
  long rowLength = ((long)W + 2 * R + 8) * P;
  for (int y = 0; y < H; y++) {
    short *q = xq + (long)(y + R) * rowLength + R * P + offset;
    const f32 *xr = x + (long)y * W * Cp;
    if (Cp == 1) {
      for (long p = 0; p < W; p++) q[p * P] = quantise_one(xr[p] * s);
    } else {
      for (long p = 0; p < W; p++) {
        for (int c = 0; c < Cp; c++) q[p * P + c] = quantise_one(xr[p * Cp + c] * s);
      }
    }
  }
  return m / 32767.0f;
}

/* e^v − 1 for v <= 0 (the negative half of ELU), in float operations only: v = k·ln2 + t with |t| <= ln2/2,
   e^t by its Taylor series to t^7 (relative error below 2e-8 there), times 2^k. Below −20 the result is −1 in
   float anyway. */
ALWAYS_INLINE v128_t expm1_negative(v128_t v) {
  v = wasm_f32x4_pmax(v, wasm_f32x4_splat(-20.0f));
  v128_t k = wasm_f32x4_nearest(wasm_f32x4_mul(v, wasm_f32x4_splat(1.44269504f)));
  v128_t t = wasm_f32x4_sub(v, wasm_f32x4_mul(k, wasm_f32x4_splat(0.693145752f)));
  t = wasm_f32x4_sub(t, wasm_f32x4_mul(k, wasm_f32x4_splat(1.42860677e-6f)));
  v128_t p = wasm_f32x4_splat(1.0f / 5040.0f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), wasm_f32x4_splat(1.0f / 720.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), wasm_f32x4_splat(1.0f / 120.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), wasm_f32x4_splat(1.0f / 24.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), wasm_f32x4_splat(1.0f / 6.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), wasm_f32x4_splat(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), wasm_f32x4_splat(1.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), wasm_f32x4_splat(1.0f)); /* e^t */
  v128_t two_k = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(k), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_sub(wasm_f32x4_mul(p, two_k), wasm_f32x4_splat(1.0f));
}

/* What a quantised sum becomes: bias + f·scale, then by mode 0 stored, 1 added to what is there, 2 ELU and
   stored; the first n (1-4) lanes at o. Not inlined: its constants would crowd the blocked loops' registers. */
__attribute__((noinline)) static void finish_q(f32 *o, v128_t f, v128_t bias, v128_t scale, int n, int mode) {
  v128_t v = wasm_f32x4_add(bias, wasm_f32x4_mul(f, scale));
  if (mode == 2) v = wasm_v128_bitselect(v, expm1_negative(v), wasm_f32x4_gt(v, wasm_f32x4_splat(0.0f)));
  put(o, v, n, mode == 1);
}

/*
 * finish_q for a block's 8 vectors at once: vector k is output group k % G (4 outputs each) of pixel k / G, and
 * pixels from `valid` on are not stored. The 8 ELUs are independent, so they overlap instead of waiting on each
 * polynomial in turn; the same operations per value as finish_q.
 */
__attribute__((noinline)) static void finish_block_q(f32 *o, int os, int valid, int G, const f32 *b,
                                                     const f32 *winv, f32 xinv, int O, int mode, v128_t f0,
                                                     v128_t f1, v128_t f2, v128_t f3, v128_t f4, v128_t f5,
                                                     v128_t f6, v128_t f7) {
  v128_t v[8] = {f0, f1, f2, f3, f4, f5, f6, f7};
  v128_t xs = wasm_f32x4_splat(xinv);
  for (int k = 0; k < 8; k++) {
    int q = 4 * (k % G);
    v[k] = wasm_f32x4_add(wasm_v128_load(b + q), wasm_f32x4_mul(v[k], wasm_f32x4_mul(wasm_v128_load(winv + q), xs)));
  }
  if (mode == 2) {
    for (int k = 0; k < 8; k++)
      v[k] = wasm_v128_bitselect(v[k], expm1_negative(v[k]), wasm_f32x4_gt(v[k], wasm_f32x4_splat(0.0f)));
  }
  for (int k = 0; k < 8; k++) {
    int p = k / G, q = 4 * (k % G);
    if (p < valid) put(o + (long)p * os + q, v[k], O - q < 4 ? O - q : 4, mode == 1);
  }
}

#define QDOT(a, p, wv) a = wasm_i32x4_add(a, wasm_i32x4_dot_i16x8(wasm_v128_load32_splat(xp + (p) * P + 2 * c), wv))
#define QFLUSH(f, a) f = wasm_f32x4_add(f, wasm_f32x4_convert_i32x4(a))
/* The taps of row ky for the block of pixels from j of row i: BODY per input pair c. */
#define QTAPS(BODY)                                                                                          \
  const short *row = x + ((long)(i + R + ky * d - r) * Wp + j + R - r) * P;                                  \
  for (int kx = 0; kx < K; kx++) {                                                                           \
    const short *xp = row + kx * d * P;                                                                      \
    const short *wp = w + (ky * K + kx) * C2 * O4 * 2;                                                       \
    for (int c = 0; c < C2; c++) {                                                                           \
      BODY                                                                                                   \
    }                                                                                                        \
  }

#define QARGS                                                                                                \
  const short *x, int H, int W, int C2, int R, int K, const short *w, const f32 *b, const f32 *winv, f32 xinv, \
      int O, int d, f32 *out, int os, int oo, int mode
#define QSETUP                                                                                               \
  int r = (K - 1) / 2 * d;                                                                                   \
  int P = 2 * C2;                                                                                            \
  long Wp = (long)W + 2 * R + 8;                                                                             \
  v128_t z = wasm_i32x4_splat(0);

/*
 * The blocked convolution of G vectors of 4 outputs (O4 = 4·G) for NP = 8 / G pixels at a time: 8 int32
 * accumulators per row of taps (vector k: group k % G of pixel k / G), each weight vector loaded once for the
 * NP pixels, each row flushed into 8 float sums. The arrays have constant indices only, so the compiler keeps
 * them in locals (the module must not use a stack: scripts/build-wasm.sh checks).
 */
#define CONV_Q(NAME, G)                                                                                      \
  static void NAME(QARGS) {                                                                                  \
    const int O4 = 4 * (G), NP = 8 / (G);                                                                    \
    QSETUP                                                                                                   \
    for (int i = 0; i < H; i++) {                                                                            \
      for (int j = 0; j < W; j += NP) {                                                                      \
        v128_t f[8];                                                                                         \
        for (int k = 0; k < 8; k++) f[k] = wasm_f32x4_splat(0.0f);                                           \
        for (int ky = 0; ky < K; ky++) {                                                                     \
          v128_t a[8];                                                                                       \
          for (int k = 0; k < 8; k++) a[k] = z;                                                              \
          QTAPS(for (int g = 0; g < (G); g++) {                                                              \
            v128_t wv = wasm_v128_load(wp + c * O4 * 2 + g * 8);                                             \
            for (int p = 0; p < NP; p++) QDOT(a[p * (G) + g], p, wv);                                        \
          })                                                                                                 \
          for (int k = 0; k < 8; k++) QFLUSH(f[k], a[k]);                                                    \
        }                                                                                                    \
        finish_block_q(out + ((long)i * W + j) * os + oo, os, W - j, (G), b, winv, xinv, O, mode, f[0], f[1], \
                       f[2], f[3], f[4], f[5], f[6], f[7]);                                                  \
      }                                                                                                      \
    }                                                                                                        \
  }

/* 4 outputs: 8 pixels at a time; 8 outputs: 4 pixels; 16 outputs: 2 pixels */
CONV_Q(conv4_q, 1)
CONV_Q(conv8_q, 2)
CONV_Q(conv16_q, 4)

/* Any other multiple of 4 outputs: one pixel and one vector of 4 at a time (no network here needs it). */
static void conv_any_q(QARGS) {
  int O4 = (O + 3) & ~3;
  QSETUP
  v128_t xs = wasm_f32x4_splat(xinv);
  for (int i = 0; i < H; i++) {
    for (int j = 0; j < W; j++) {
      for (int q = 0; q < O4; q += 4) {
        v128_t f = wasm_f32x4_splat(0.0f);
        for (int ky = 0; ky < K; ky++) {
          v128_t a = z;
          const short *row = x + ((long)(i + R + ky * d - r) * Wp + j + R - r) * P;
          for (int kx = 0; kx < K; kx++) {
            const short *xp = row + kx * d * P;
            const short *wp = w + ((ky * K + kx) * C2 * O4 + q) * 2;
            for (int c = 0; c < C2; c++) QDOT(a, 0, wasm_v128_load(wp + c * O4 * 2));
          }
          QFLUSH(f, a);
        }
        v128_t scale = wasm_f32x4_mul(wasm_v128_load(winv + q), xs);
        int n = O - q < 4 ? O - q : 4;
        finish_q(out + ((long)i * W + j) * os + oo + q, f, wasm_v128_load(b + q), scale, n, mode);
      }
    }
  }
}

/*
 * One convolution of quantised, padded input (see above): out as for conv, with mode 0 (store), 1 (add to what
 * is there) or 2 (ELU, then store).
 */
__attribute__((export_name("conv_q")))
void conv_q(QARGS) {
  int O4 = (O + 3) & ~3;
  if (O4 == 4) {
    conv4_q(x, H, W, C2, R, K, w, b, winv, xinv, O, d, out, os, oo, mode);
  } else if (O4 == 8) {
    conv8_q(x, H, W, C2, R, K, w, b, winv, xinv, O, d, out, os, oo, mode);
  } else if (O4 == 16) {
    conv16_q(x, H, W, C2, R, K, w, b, winv, xinv, O, d, out, os, oo, mode);
  } else {
    conv_any_q(x, H, W, C2, R, K, w, b, winv, xinv, O, d, out, os, oo, mode);
  }
}
