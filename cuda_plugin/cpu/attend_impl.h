// attend_impl.h — cpu_simd.h's attention kernel (SimdKernels::attend) written once over a vector
// type V (see the attend_*.cpp files, which include it inside an anonymous namespace after their
// target pragma). Flash-style: keys are walked in blocks of kAttendBlock positions with an online
// softmax, so no buffer grows with the context, and a tile of query rows reads each block once.
// V provides: T, W (lanes), zero, set1, load, store, add, sub, mul, max, fma, round, scale_pow2,
// zero_below, reduce, reduce_lanes.

// 2^r on [−1/2, 1/2] as 1 + r·(c1 + r·(c2 + …)): a relative-error fit (≈ 1.2 ulp in f32), c0 = 1 so
// that 2^0 is exactly 1.
constexpr float kExp2C1 = 0.693147182f;
constexpr float kExp2C2 = 0.240226477f;
constexpr float kExp2C3 = 0.0555033237f;
constexpr float kExp2C4 = 0.00961843692f;
constexpr float kExp2C5 = 0.0013398875f;
constexpr float kExp2C6 = 0.000153533605f;
// Below 2^−125 the result is 0 (−∞ included), which keeps every nonzero result normal.
constexpr float kExp2Floor = -125.0f;
constexpr float kLog2e = 1.44269504f;

// 2^x for x <= 0, lane by lane: x = n + r with n an integer and |r| <= 1/2 (the split is exact).
static V::T exp2_nonpositive(V::T x) {
  const V::T floor = V::set1(kExp2Floor);
  const V::T clamped = V::max(x, floor);
  const V::T n = V::round(clamped);
  const V::T r = V::sub(clamped, n);
  V::T p = V::fma(V::set1(kExp2C6), r, V::set1(kExp2C5));
  p = V::fma(p, r, V::set1(kExp2C4));
  p = V::fma(p, r, V::set1(kExp2C3));
  p = V::fma(p, r, V::set1(kExp2C2));
  p = V::fma(p, r, V::set1(kExp2C1));
  p = V::fma(p, r, V::set1(1.0f));
  return V::zero_below(V::scale_pow2(p, n), x, floor);
}

// The same function for one value (the rescale factors), so that it too is the vector one.
static float exp2_scalar(float x) {
  float lanes[V::W];
  V::store(lanes, exp2_nonpositive(V::set1(x)));
  return lanes[0];
}

// (q · key) · scale for one key: the dot product in the vector lanes, reduced, then the tail.
static float score_one(const float* q, const float* key, int head_dim, float scale) {
  V::T acc = V::zero();
  int j = 0;
  for (; j + V::W <= head_dim; j += V::W) acc = V::fma(V::load(q + j), V::load(key + j), acc);
  float sum = V::reduce(acc);
  for (; j < head_dim; j++) sum += q[j] * key[j];
  return sum * scale;
}

// score_one for W consecutive keys at once, into scores[0 .. W): the same lanes and the same
// reduction per key (reduce_lanes reduces W vectors in reduce's order), with no horizontal step
// per key.
static void score_group(float* scores, const float* q, const float* keys, int head_dim, float scale) {
  V::T acc[V::W];
#pragma GCC unroll 16
  for (int t = 0; t < V::W; t++) acc[t] = V::zero();
  int j = 0;
  for (; j + V::W <= head_dim; j += V::W) {
    const V::T qv = V::load(q + j);
#pragma GCC unroll 16
    for (int t = 0; t < V::W; t++) acc[t] = V::fma(qv, V::load(keys + t * head_dim + j), acc[t]);
  }
  V::store(scores, V::reduce_lanes(acc));
  if (j < head_dim) {
    for (int t = 0; t < V::W; t++) {
      for (int i = j; i < head_dim; i++) scores[t] += q[i] * keys[t * head_dim + i];
    }
  }
  V::store(scores, V::mul(V::load(scores), V::set1(scale)));
}

// o = o · c over head_dim values.
static void rescale(float* o, float c, int head_dim) {
  const V::T cv = V::set1(c);
  int j = 0;
  for (; j + V::W <= head_dim; j += V::W) V::store(o + j, V::mul(V::load(o + j), cv));
  for (; j < head_dim; j++) o[j] = o[j] * c;
}

// o += p[i] · values[i] for i < count, in i order for every element of o.
static void accumulate_values(float* o, const float* p, const float* values, int count, int head_dim) {
  int j = 0;
  for (; j + 4 * V::W <= head_dim; j += 4 * V::W) {
    V::T a0 = V::load(o + j), a1 = V::load(o + j + V::W), a2 = V::load(o + j + 2 * V::W), a3 = V::load(o + j + 3 * V::W);
    for (int i = 0; i < count; i++) {
      const V::T pv = V::set1(p[i]);
      const float* v = values + static_cast<int64_t>(i) * head_dim + j;
      a0 = V::fma(pv, V::load(v), a0);
      a1 = V::fma(pv, V::load(v + V::W), a1);
      a2 = V::fma(pv, V::load(v + 2 * V::W), a2);
      a3 = V::fma(pv, V::load(v + 3 * V::W), a3);
    }
    V::store(o + j, a0);
    V::store(o + j + V::W, a1);
    V::store(o + j + 2 * V::W, a2);
    V::store(o + j + 3 * V::W, a3);
  }
  for (; j + V::W <= head_dim; j += V::W) {
    V::T a = V::load(o + j);
    for (int i = 0; i < count; i++) a = V::fma(V::set1(p[i]), V::load(values + static_cast<int64_t>(i) * head_dim + j), a);
    V::store(o + j, a);
  }
  for (; j < head_dim; j++) {
    float a = o[j];
    for (int i = 0; i < count; i++) a = a + p[i] * values[static_cast<int64_t>(i) * head_dim + j];
    o[j] = a;
  }
}

// The running state of one (row, head): max m (in log2 units), sum l, and unnormalised output o.
struct AttendState {
  float* m;  // per (row, head)
  float* l;
  float* o;  // head_dim per (row, head)
};

static void reset(const AttendState& s, int heads, int head_dim) {
  for (int h = 0; h < heads; h++) {
    s.m[h] = -INFINITY;
    s.l[h] = 0.0f;
  }
  for (int64_t j = 0; j < static_cast<int64_t>(heads) * head_dim; j++) s.o[j] = 0.0f;
}

// Row r's positions among the W keys from t0: [lo, hi); false where it has none.
static inline bool row_keys(const SimdAttend& a, int r, int t0, int* lo, int* hi) {
  *lo = a.begin[r] > t0 ? a.begin[r] : t0;
  *hi = a.end[r] < t0 + V::W ? a.end[r] : t0 + V::W;
  return *lo < *hi;
}

// One block of keys [b, b + kAttendBlock) for every row that attends into it: scores, then the
// online-softmax step m' = max(m, max s), c = 2^(m − m'), p = 2^(s − m'), l = l·c + Σp,
// o = o·c + Σ p·v. Each row reads only its own positions [begin, end) within the block.
static void attend_block(const SimdAttend& a, int b, const AttendState& s, float* scores, float scale) {
  const int hd = a.head_dim;
  const int lanes = kAttendBlock / V::W;
  // Scores, W keys at a time, every row and head of the tile reading the same keys while they are hot.
  for (int r = 0; r < a.rows; r++) {
    const bool partial = a.begin[r] > b || a.end[r] < b + kAttendBlock;
    if (!partial || a.begin[r] >= b + kAttendBlock || a.end[r] <= b) continue;
    for (int i = 0; i < a.group * kAttendBlock; i++) scores[r * a.group * kAttendBlock + i] = -INFINITY;
  }
  for (int t0 = b; t0 < b + kAttendBlock; t0 += V::W) {
    const float* keys = a.keys + static_cast<int64_t>(t0) * hd;
    for (int r = 0; r < a.rows; r++) {
      int lo, hi;
      if (!row_keys(a, r, t0, &lo, &hi)) continue;
      for (int g = 0; g < a.group; g++) {
        const int h = r * a.group + g;
        const float* q = a.q + r * a.ld + g * hd;
        float* score = scores + h * kAttendBlock + (t0 - b);
        if (hi - lo == V::W) {
          score_group(score, q, keys, hd, scale);
        } else {
          for (int t = lo; t < hi; t++) score[t - t0] = score_one(q, a.keys + static_cast<int64_t>(t) * hd, hd, scale);
        }
      }
    }
  }
  // The softmax step per (row, head); the scores become the weights p.
  for (int r = 0; r < a.rows; r++) {
    if (a.begin[r] >= b + kAttendBlock || a.end[r] <= b) continue;
    for (int g = 0; g < a.group; g++) {
      const int h = r * a.group + g;
      float* score = scores + h * kAttendBlock;
      V::T top = V::load(score);
      for (int i = 1; i < lanes; i++) top = V::max(top, V::load(score + i * V::W));
      float tops[V::W];
      V::store(tops, top);
      float m = s.m[h];
      for (int i = 0; i < V::W; i++) m = tops[i] > m ? tops[i] : m;
      const float c = exp2_scalar(s.m[h] - m);
      const V::T mv = V::set1(m);
      V::T total = V::zero();
      for (int i = 0; i < lanes; i++) {
        const V::T p = exp2_nonpositive(V::sub(V::load(score + i * V::W), mv));
        V::store(score + i * V::W, p);
        total = V::add(total, p);
      }
      s.l[h] = s.l[h] * c + V::reduce(total);
      s.m[h] = m;
      rescale(s.o + static_cast<int64_t>(h) * hd, c, hd);
    }
  }
  // o += p·v, W keys at a time so that the values stay hot across the tile's rows and heads.
  for (int t0 = b; t0 < b + kAttendBlock; t0 += V::W) {
    for (int r = 0; r < a.rows; r++) {
      int lo, hi;
      if (!row_keys(a, r, t0, &lo, &hi)) continue;
      for (int g = 0; g < a.group; g++) {
        const int h = r * a.group + g;
        accumulate_values(s.o + static_cast<int64_t>(h) * hd, scores + h * kAttendBlock + (lo - b),
                          a.values + static_cast<int64_t>(lo) * hd, hi - lo, hd);
      }
    }
  }
}

// total ⊕= part for one (row, head): m = max, each side scaled by 2^(its m − m), then added.
static void merge(const AttendState& total, const AttendState& part, int h, int hd) {
  const float m = part.m[h] > total.m[h] ? part.m[h] : total.m[h];
  const float c_total = exp2_scalar(total.m[h] - m);
  const float c_part = exp2_scalar(part.m[h] - m);
  total.l[h] = total.l[h] * c_total + part.l[h] * c_part;
  total.m[h] = m;
  float* o = total.o + static_cast<int64_t>(h) * hd;
  const float* po = part.o + static_cast<int64_t>(h) * hd;
  const V::T ct = V::set1(c_total), cp = V::set1(c_part);
  int j = 0;
  for (; j + V::W <= hd; j += V::W) V::store(o + j, V::fma(V::load(po + j), cp, V::mul(V::load(o + j), ct)));
  for (; j < hd; j++) o[j] = o[j] * c_total + po[j] * c_part;
}

// A state laid out as cpu_simd.h's attend_segment writes it: m and l for every (row, head), then o.
static AttendState state_at(float* at, int heads) { return {at, at + heads, at + 2 * heads}; }

static bool meets(const SimdAttend& a, int r, int segment) {
  return a.begin[r] < segment + kAttendSegment && a.end[r] > segment;
}

// The state of one segment (positions [segment, segment + kAttendSegment)) from a fresh start.
static void segment_state(const SimdAttend& a, int segment, const AttendState& part, float* scores) {
  const int hd = a.head_dim;
  const float scale = kLog2e / sqrtf(static_cast<float>(hd));  // scores in log2 units: e^x = 2^(x·log2 e)
  int lo = segment + kAttendSegment, hi = segment;
  for (int r = 0; r < a.rows; r++) {
    if (!meets(a, r, segment)) continue;
    lo = a.begin[r] < lo ? a.begin[r] : lo;
    hi = a.end[r] > hi ? a.end[r] : hi;
  }
  reset(part, a.rows * a.group, hd);
  const int first = lo > segment ? lo / kAttendBlock * kAttendBlock : segment;
  const int last = hi < segment + kAttendSegment ? hi : segment + kAttendSegment;
  for (int b = first; b < last; b += kAttendBlock) attend_block(a, b, part, scores, scale);
}

// out = o · (1 / l) for every (row, head).
static void normalise(const SimdAttend& a, const AttendState& total) {
  for (int r = 0; r < a.rows; r++) {
    for (int g = 0; g < a.group; g++) {
      const int h = r * a.group + g;
      const float inv = 1.0f / total.l[h];
      const float* o = total.o + static_cast<int64_t>(h) * a.head_dim;
      float* out = a.out + r * a.ld + g * a.head_dim;
      for (int j = 0; j < a.head_dim; j++) out[j] = o[j] * inv;
    }
  }
}

// The segments a tile's rows meet, in order: each one's state from a fresh start, merged into the
// total; a row's arithmetic depends only on its own q, begin and end, never on the other rows.
static void attend_impl(const SimdAttend& a) {
  const int heads = a.rows * a.group;
  const int64_t state = 2 * heads + static_cast<int64_t>(heads) * a.head_dim;
  const AttendState total = state_at(a.scratch, heads);
  const AttendState part = state_at(a.scratch + state, heads);
  float* scores = a.scratch + 2 * state;
  int lo = a.begin[0], hi = a.end[0];
  for (int r = 1; r < a.rows; r++) {
    lo = a.begin[r] < lo ? a.begin[r] : lo;
    hi = a.end[r] > hi ? a.end[r] : hi;
  }
  reset(total, heads, a.head_dim);
  for (int segment = lo / kAttendSegment * kAttendSegment; segment < hi; segment += kAttendSegment) {
    segment_state(a, segment, part, scores);
    for (int r = 0; r < a.rows; r++) {
      if (!meets(a, r, segment)) continue;
      for (int g = 0; g < a.group; g++) merge(total, part, r * a.group + g, a.head_dim);
    }
  }
  normalise(a, total);
}

// attend_impl split in two (cpu_simd.h's attend_segment and attend_finish): the segments' states,
// computed anywhere, then merged in the same order with the same arithmetic.
static void attend_segment_impl(const SimdAttend& a, int segment, float* state) {
  segment_state(a, segment * kAttendSegment, state_at(state, a.rows * a.group),
                a.scratch + 2 * (2 * a.rows * a.group + static_cast<int64_t>(a.rows) * a.group * a.head_dim));
}

static void attend_finish_impl(const SimdAttend& a, const float* states, int first, int count) {
  const int heads = a.rows * a.group;
  const int64_t state = 2 * heads + static_cast<int64_t>(heads) * a.head_dim;
  const AttendState total = state_at(a.scratch, heads);
  reset(total, heads, a.head_dim);
  for (int i = 0; i < count; i++) {
    const AttendState part = state_at(const_cast<float*>(states) + i * state, heads);
    for (int r = 0; r < a.rows; r++) {
      if (!meets(a, r, (first + i) * kAttendSegment)) continue;
      for (int g = 0; g < a.group; g++) merge(total, part, r * a.group + g, a.head_dim);
    }
  }
  normalise(a, total);
}
