// The decoding side of the range coder (rangecoder.ts), the mask model (maskcoder.ts) and the value model
// (valuecoder.ts), compiled to WebAssembly (scripts/build-wasm.sh) for the decoder: a fresh process runs the
// TypeScript loops cold (interpreted, then optimised part-way through), which made reading a 768 × 512
// stream take 0.1 s of a 0.4 s decode. Line for line the TypeScript models, with the same double arithmetic,
// so every stream decodes to the same mask and values, and a corrupt one fails with the same error
// (stream-decoders.ts maps the status codes to the TypeScript messages; test/codec/wasm-decoders.test.ts
// compares the two on valid, truncated and garbled streams). The encoder stays TypeScript only.
//
// Memory: the module's own; stream-decoders.ts lays the stream and the outputs out from __heap_base up and
// grows the memory itself, and the work arrays of each call go above what it passes as `scratch`.

typedef unsigned char u8;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;

#define EXPORT __attribute__((visibility("default")))

// Status codes (stream-decoders.ts turns them into the TypeScript coder's messages).
enum {
  OK = 0,
  BAD_START = 1,      // "… does not start with a valid code value"
  TRUNCATED = 2,      // "… ends too early (truncated)"
  TRAILING = 3,       // "… has N unused trailing byte(s)" (N: trailing())
  WRONG_COUNT = 4,    // the mask decodes to the wrong number of known pixels
  OUT_OF_RANGE = 5,   // a value outside the quantiser's range
};

static double floor_(double x) { return __builtin_floor(x); }

// ---- the range decoder (RangeDecoder) ----

#define TOP 16777216.0

static const u8 *bytes;
static u32 pos, end;
static double code, range;
static i32 status;

static u32 next_byte(void) {
  u32 p = pos++;
  if (p < end) return bytes[p];
  if (p >= end + 3 && status == OK) status = TRUNCATED;
  return 0;
}

// Starts decoding bytes[start, end). Returns a status.
static i32 start_decoder(const u8 *b, u32 start, u32 stop) {
  bytes = b;
  pos = start;
  end = stop;
  status = OK;
  code = 0;
  range = 4294967295.0;
  for (int i = 0; i < 4; i++) code = code * 256 + next_byte();
  if (status != OK) return status;
  if (code >= range) return BAD_START;
  return OK;
}

// A group of binary contexts: counts[2k] = c0, counts[2k + 1] = c1 (half-counts), halved above limit.
typedef struct {
  u32 *counts;
  u32 limit;
} Contexts;

// The bit below or above `bound` in the current range, the range narrowed to it.
static int decide(double bound) {
  if (code < bound) {
    range = bound;
    return 0;
  }
  code -= bound;
  range -= bound;
  return 1;
}

// Brings the range back above TOP, a byte at a time.
static void normalise(void) {
  while (range < TOP) {
    range *= 256;
    code = code * 256 + next_byte();
  }
}

static int decode_bit(Contexts *ctx, u32 k) {
  u32 *m = ctx->counts + 2 * k;
  double c0 = m[0];
  int bit = decide(floor_((range * c0) / (c0 + m[1])));
  m[bit] += 2;
  if (m[0] + m[1] > ctx->limit) {
    m[0] = (m[0] + 1) >> 1;
    m[1] = (m[1] + 1) >> 1;
  }
  normalise();
  return bit;
}

static int decode_even(void) {
  int bit = decide(floor_(range / 2));
  normalise();
  return bit;
}

static u32 trailing_bytes;

// RangeDecoder.finish: every byte of the section used.
static i32 finish_decoder(void) {
  if (status != OK) return status;
  if (pos < end) {
    trailing_bytes = end - pos;
    return TRAILING;
  }
  return OK;
}

EXPORT u32 trailing(void) { return trailing_bytes; }

// ---- scratch memory ----

static u8 *scratch_top;

static void *take(u32 bytes_) {
  u8 *p = scratch_top;
  scratch_top += (bytes_ + 7) & ~7u;
  return p;
}

static void zero(void *p, u32 n) {
  u8 *b = (u8 *)p;
  for (u32 i = 0; i < n; i++) b[i] = 0;
}

static void init_contexts(Contexts *ctx, u32 size, u32 limit, u32 p0, u32 p1) {
  ctx->counts = (u32 *)take(8 * size);
  ctx->limit = limit;
  for (u32 k = 0; k < size; k++) {
    ctx->counts[2 * k] = p0;
    ctx->counts[2 * k + 1] = p1;
  }
}

// ---- the mask (codeMask) ----

#define ROW_CONTEXTS 12
#define PIXEL_CONTEXTS (32 * 3 * 4)

static i32 min_i(i32 a, i32 b) { return a < b ? a : b; }

// Decodes the mask section bytes[start, stop) into data (width × height bytes, zeroed) with `count` known
// pixels. p0, p1: the pixel contexts' initial counts; R, th0..th2: the local density's window and thresholds
// (computed by the caller as codeMask does). Work arrays from `scratch` up. Returns a status.
EXPORT i32 decode_mask(const u8 *b, u32 start, u32 stop, u8 *data, i32 width, i32 height, i32 count, u32 p0,
                       u32 p1, i32 R, double th0, double th1, double th2, u8 *scratch) {
  scratch_top = scratch;
  i32 st = start_decoder(b, start, stop);
  if (st != OK) return st;
  const i32 n = width * height;
  Contexts rowCtx, pixCtx;
  init_contexts(&rowCtx, ROW_CONTEXTS, 1 << 16, 1, 1);
  init_contexts(&pixCtx, PIXEL_CONTEXTS, 1 << 16, p0, p1);
  i32 *colCum = (i32 *)take(4 * (u32)width);
  zero(colCum, 4 * (u32)width);
  i32 *onesX = (i32 *)take(4 * (u32)count);
  i32 *rowFirst = (i32 *)take(4 * ((u32)height + 1));
  i32 ones = 0;
  i32 remaining = count;
  i32 p = -1, q = -1, pRow = -1, qRow = -1;
  for (i32 y = 0; y < height; y++) {
    if (remaining == 0) return finish_decoder();
    const i32 rowStart = y * width;
    const i32 pixelsLeft = n - rowStart;
    rowFirst[y] = ones;
    if (y >= 1)
      for (i32 k = rowFirst[y - 1]; k < ones; k++) colCum[onesX[k]]++;
    if (y - 1 - R >= 0)
      for (i32 k = rowFirst[y - 1 - R]; k < rowFirst[y - R]; k++) colCum[onesX[k]]--;
    if (remaining == pixelsLeft) {
      for (i32 i = rowStart; i < n; i++) data[i] = 1;
      return finish_decoder();
    }
    int rowIsSet;
    if (remaining > pixelsLeft - width) {
      rowIsSet = 1;
    } else {
      i32 rc;
      if (pRow < 0)
        rc = 0;
      else {
        const i32 since = y - pRow;
        if (qRow >= 0) {
          const i32 gap = pRow - qRow;
          rc = since < gap ? 1 : since == gap ? 2 : 3;
          if (since == 1) rc += 3;
        } else
          rc = 7 + min_i(since, 4) - 1;
      }
      rowIsSet = decode_bit(&rowCtx, (u32)rc);
    }
    if (!rowIsSet) continue;

    i32 seen = 0;
    i32 above = 0;
    for (i32 x = 0; x <= R && x < width; x++) above += colCum[x];
    i32 leftOnes = 0;
    for (i32 x = 0; x < width; x++) {
      const i32 i = rowStart + x;
      const i32 left = n - i;
      int bit;
      if (remaining == 0) {
        bit = 0;
      } else if (remaining == left) {
        bit = 1;
      } else if (seen == 0 && x == width - 1) {
        bit = 1;
      } else {
        const i32 W = x >= 1 ? data[i - 1] : 0;
        const i32 WW = x >= 2 ? data[i - 2] : 0;
        i32 N = 0, NW = 0, NE = 0, NN = 0;
        i32 outer = x >= 3 ? data[i - 3] : 0;
        if (p >= 0) {
          const i32 pi = p + x;
          N = data[pi];
          if (x >= 1) NW = data[pi - 1];
          if (x + 1 < width) NE = data[pi + 1];
          if (x >= 2) outer += data[pi - 2];
          if (x + 2 < width) outer += data[pi + 2];
        }
        if (q >= 0) {
          const i32 qi = q + x;
          NN = data[qi];
          if (x >= 1) outer += data[qi - 1];
          if (x + 1 < width) outer += data[qi + 1];
        }
        const double c = above + leftOnes;
        const i32 local = c < th0 ? 0 : c < th1 ? 1 : c < th2 ? 2 : 3;
        const i32 k = ((W | (N << 1) | (NW << 2) | (NE << 3) | (NN << 4)) * 3 + min_i(outer + WW, 2)) * 4 + local;
        bit = decode_bit(&pixCtx, (u32)k);
      }
      data[i] = (u8)bit;
      if (bit) onesX[ones++] = x;
      seen += bit;
      remaining -= bit;
      leftOnes += bit;
      if (x - R >= 0) leftOnes -= data[i - R];
      if (x + 1 + R < width) above += colCum[x + 1 + R];
      if (x - R >= 0) above -= colCum[x - R];
    }
    q = p;
    qRow = pRow;
    p = rowStart;
    pRow = y;
  }
  if (remaining != 0) return status != OK ? status : WRONG_COUNT;
  return finish_decoder();
}

// ---- the values (codeValues, codeResidual) ----

#define MAX_RADIUS 48
#define ACT_BUCKETS 12
#define CROSS_BUCKETS 3
#define MAX_CLASS 9

static const double ACT_THRESHOLDS[11] = {0.25, 0.5, 1, 1.5, 2.5, 4, 6, 9, 14, 21, 32};

static i32 activity_bucket(double a) {
  i32 k = 0;
  while (k < 11 && a >= ACT_THRESHOLDS[k]) k++;
  return k;
}

// JavaScript's Math.round: the nearest integer, halves up (x - floor(x) is exact for these magnitudes).
static double js_round(double x) {
  double r = floor_(x);
  return x - r >= 0.5 ? r + 1 : r;
}

static i32 class_of(i32 m) { return m <= 1 ? 0 : 32 - __builtin_clz((u32)(m - 1)); }

typedef struct {
  Contexts zero, sign, unary, msb;
} Group;

static void init_group(Group *g, u32 limit) {
  init_contexts(&g->zero, ACT_BUCKETS * CROSS_BUCKETS, limit, 1, 1);
  init_contexts(&g->sign, CROSS_BUCKETS * 3, limit, 1, 1);
  init_contexts(&g->unary, ACT_BUCKETS * CROSS_BUCKETS * MAX_CLASS, limit, 1, 1);
  init_contexts(&g->msb, MAX_CLASS, limit, 1, 1);
}

// codeResidual's decoding: the residual, or a status through *bad.
static i32 decode_residual(Group *g, i32 ctxBase, i32 signCtx, i32 p, i32 L, i32 *bad) {
  if (decode_bit(&g->zero, (u32)ctxBase)) return 0;
  i32 negative;
  if (p == 0)
    negative = 0;
  else if (p == L - 1)
    negative = 1;
  else
    negative = decode_bit(&g->sign, (u32)signCtx);
  const i32 maxMag = negative ? p : L - 1 - p;
  const i32 maxCls = class_of(maxMag);
  i32 k = 0;
  const i32 unaryBase = ctxBase * MAX_CLASS;
  while (k < maxCls && decode_bit(&g->unary, (u32)(unaryBase + k))) k++;
  i32 mag;
  if (k <= 1)
    mag = k + 1;
  else {
    const i32 lo = (1 << (k - 1)) + 1;
    const i32 nbits = k - 1;
    const i32 top = decode_bit(&g->msb, (u32)k);
    i32 rest = 0;
    for (i32 bi = 0; bi < nbits - 1; bi++) rest = rest * 2 + decode_even();
    mag = lo + ((top << (nbits - 1)) | rest);
  }
  if (mag > maxMag) {
    *bad = OUT_OF_RANGE;
    return 0;
  }
  return negative ? -mag : mag;
}

// Decodes the values section bytes[start, stop) into q (count × channels level indices, pixel-major) for
// the known pixels of mask (width × height, raster order), as codeValues does with power 1 or 2, the
// `nearest` closest neighbours (0: all), `inter` quarters of the first channel's residual and no bias
// (stream-decoders.ts leaves other models to the TypeScript coder). levels: the channels' level counts;
// R: the window radius. Work arrays from `scratch` up. Returns a status.
EXPORT i32 decode_values(const u8 *b, u32 start, u32 stop, const u8 *mask, i32 width, i32 height, i32 channels,
                         i32 L0, i32 L1, i32 L2, i32 R, i32 power, i32 nearest, i32 inter,
                         u32 limit, u8 *q, u8 *scratch) {
  scratch_top = scratch;
  i32 st = start_decoder(b, start, stop);
  if (st != OK) return st;
  const i32 levels[3] = {L0, L1, L2};
  i32 *colRow = (i32 *)take(4 * (u32)width);
  i32 *colIdx = (i32 *)take(4 * (u32)width);
  for (i32 x = 0; x < width; x++) colRow[x] = -1;
  Group groups[2];
  init_group(&groups[0], limit);
  init_group(&groups[1], limit);
  double lastValue[3], sum[3];
  for (i32 c = 0; c < channels; c++) lastValue[c] = (levels[c] - 1) >> 1;
  double *candD2 = (double *)take(8 * (2 * MAX_RADIUS + 1));
  double *candW = (double *)take(8 * (2 * MAX_RADIUS + 1));
  i32 *candIdx = (i32 *)take(4 * (2 * MAX_RADIUS + 1));

  i32 j = 0;
  for (i32 y = 0; y < height; y++) {
    const i32 rowStart = y * width;
    for (i32 x = 0; x < width; x++) {
      if (!mask[rowStart + x]) continue;
      i32 nc = 0;
      const i32 x0 = x - R > 0 ? x - R : 0;
      const i32 x1 = x + R < width - 1 ? x + R : width - 1;
      for (i32 cx = x0; cx <= x1; cx++) {
        const i32 r = colRow[cx];
        if (r < 0) continue;
        const i32 dy = y - r;
        if (dy > R) continue;
        const i32 dx = cx - x;
        candD2[nc] = (double)(dx * dx + dy * dy);
        candIdx[nc] = colIdx[cx];
        nc++;
      }
      if (nearest > 0 && nc > nearest) {
        for (i32 a = 0; a < nearest; a++) {
          i32 best = a;
          for (i32 bb = a + 1; bb < nc; bb++)
            if (candD2[bb] < candD2[best]) best = bb;
          if (best != a) {
            const double d = candD2[a];
            candD2[a] = candD2[best];
            candD2[best] = d;
            const i32 t = candIdx[a];
            candIdx[a] = candIdx[best];
            candIdx[best] = t;
          }
        }
        nc = nearest;
      }
      double wsum = 0;
      for (i32 c = 0; c < channels; c++) sum[c] = 0;
      for (i32 k = 0; k < nc; k++) {
        const double d2 = candD2[k];
        const double w = power == 2 ? 1 / (d2 * d2) : 1 / d2;
        candW[k] = w;
        wsum += w;
        const i32 base = candIdx[k] * channels;
        for (i32 c = 0; c < channels; c++) sum[c] += w * q[base + c];
      }
      const i32 here = j * channels;
      i32 firstResidual = 0;
      for (i32 c = 0; c < channels; c++) {
        const i32 L = levels[c];
        double pred;
        i32 act;
        if (wsum > 0) {
          const double mean = sum[c] / wsum;
          double dev = 0;
          for (i32 k = 0; k < nc; k++) {
            const double v = q[candIdx[k] * channels + c] - mean;
            dev += candW[k] * (v < 0 ? -v : v);
          }
          act = activity_bucket(dev / wsum);
          pred = mean;
        } else {
          pred = lastValue[c];
          act = ACT_BUCKETS - 1;
        }
        const i32 gi = c == 0 ? 0 : 1;
        i32 cross = 0;
        if (c > 0) {
          pred += (double)(inter * firstResidual) / 4;
          const i32 a = firstResidual < 0 ? -firstResidual : firstResidual;
          cross = a == 0 ? 0 : a <= 2 ? 1 : 2;
        }
        double pr = js_round(pred);
        if (pr < 0)
          pr = 0;
        else if (pr > L - 1)
          pr = L - 1;
        const i32 pv = (i32)pr;
        const i32 ctxBase = act * CROSS_BUCKETS + cross;
        const double third = (double)L / 3, twoThirds = (double)(2 * L) / 3;
        const i32 signCtx = cross * 3 + (pv < third ? 0 : pv < twoThirds ? 1 : 2);
        i32 bad = OK;
        const i32 e = decode_residual(&groups[gi], ctxBase, signCtx, pv, L, &bad);
        if (bad != OK) return status != OK ? status : bad;
        const i32 value = pv + e;
        q[here + c] = (u8)value;
        lastValue[c] = value;
        if (c == 0) firstResidual = e;
      }
      colRow[x] = y;
      colIdx[x] = j;
      j++;
    }
  }
  return finish_decoder();
}
