/* K-Means clustering: greedy k-means++ (or random, or given) seeding, then Lloyd
 * iterations, as scikit-learn's KMeans(algorithm="lloyd"). docs/models/kmeans.md
 * has the math and the measurements.
 *
 * Legend: n samples, d features, k clusters, kp = k rounded up to 16 (one SIMD
 * vector of centers), R rows of a register tile, CH rows of a chunk.
 *
 * The E-step is a GEMM (X C^T) fused with the argmin: rows are shifted on the
 * fly by (an estimate of) the data mean (as scikit-learn centers X, so that
 * ||c||^2 - 2 x.c does not lose float32 digits to a common offset), multiplied by the transposed
 * centers in a register tile of R rows x (16 G) centers that never leaves the
 * registers, turned into ||c||^2 - 2 x.c and reduced to the nearest center; the
 * distance matrix is never stored. The M-step sums each row into its cluster in
 * double while the row is still in cache, and so do the inertia and the column
 * statistics that scale tol: one pass over X per iteration. Rows are split into chunks fixed by
 * (n, k, d), never by the thread count; chunk partial sums are added in chunk
 * order, so a seed gives the same bits with 1 or 16 threads.
 *
 * After the first iteration, Hamerly's bounds (with a margin for the E-step's
 * float32 rounding) skip the rows whose label provably stays: only the others
 * are read, through the same kernel, and the sums follow the moved rows only.
 * The labels of every iteration are those of the plain Lloyd
 * (MFS_KMEANS_PLAIN=1 runs that, for the tests).
 *
 * The optional "sample_weight" input w_i >= 0 (scikit-learn's): centers are
 * weighted means, the inertia is sum_i w_i ||x_i - c||^2, k-means++ draws with
 * probability proportional to w_i D(x_i)^2 (the first center to w_i), random
 * init draws distinct rows with probability proportional to w_i. A row of
 * weight 0 is absent from the sums, the seeding and the relocation (it still
 * gets a label). Without weights (or with all weights 1) every weighted
 * branch is skipped: the same bits as before. Not on CUDA yet. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/internal.h"
#include "core/rng.h"
#include "mfs/kmeans.h"
#include "src_cuda/cuda_api.h"
#ifdef _OPENMP
#include <omp.h>
#endif

static const char FIT[] = "mfs_fit";

enum {
    CH = 512,   /* rows per chunk: the unit of parallel work and of partial sums */
    VL = 16,    /* floats per vector */
    RMAX = 16   /* most rows in a register tile */
};

/* 16 floats: one AVX-512 register (two AVX2 ones, or scalar code elsewhere). */
typedef float v16 __attribute__((vector_size(64)));

static inline v16 v16_load(const float *p) {
    v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* ---- params ------------------------------------------------------------- */

void mfs_kmeans_params_default(mfs_kmeans_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->n_clusters = 8;
    p->init = MFS_KMEANS_INIT_K_MEANS_PP;
    p->n_init = 1;
    p->max_iter = 300;
    p->tol = 1e-4;
    p->random_state = 0;
}

static mfs_status check_params(const void *params) {
    const mfs_kmeans_params *p = (const mfs_kmeans_params *)params;
    static const char fn[] = "mfs_model_create";
    if (p->n_clusters < 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_clusters is %d, it must be >= 1", fn, (int)p->n_clusters);
    if (p->init < MFS_KMEANS_INIT_K_MEANS_PP || p->init > MFS_KMEANS_INIT_ARRAY)
        return mfs__error(MFS_E_INVALID_ARG, "%s: init is %d, expected 0 (k-means++), 1 (random) or 2 (array)",
                          fn, (int)p->init);
    if (p->n_init < 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_init is %d, it must be >= 1", fn, (int)p->n_init);
    if (p->max_iter < 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: max_iter is %d, it must be >= 1", fn, (int)p->max_iter);
    if (!(p->tol >= 0.0) || !isfinite(p->tol))
        return mfs__error(MFS_E_INVALID_ARG, "%s: tol is %g, it must be a finite number >= 0", fn, p->tol);
    return MFS_OK;
}

mfs_status mfs_kmeans_create(const mfs_kmeans_params *params, mfs_device device, mfs_model **out) {
    return mfs__model_new("mfs_kmeans_create", MFS_MODEL_KMEANS, params, sizeof *params, device, out);
}

/* ---- small kernels ---------------------------------------------------------- */

/* ||a - b||^2 over d floats, 16 lanes at a time (explicit differences: no
 * cancellation, used where a distance itself is wanted). */
static inline float sqdist_row(const float *a, const float *b, int64_t d) {
    v16 acc = {0};
    int64_t j = 0;
    for (; j + VL <= d; j += VL) {
        v16 u = v16_load(a + j) - v16_load(b + j);
        acc += u * u;
    }
    float s = 0.0f;
    for (; j < d; j++) {
        float u = a[j] - b[j];
        s += u * u;
    }
    for (int l = 0; l < VL; l++) s += acc[l];
    return s;
}

/* dots (R, 16 G) = xs (R, d) . ct[:, 0:16 G] with ct (d, kp) the transposed
 * centers: a GEMM micro-kernel whose R x G accumulators stay in registers;
 * the rows are read directly (no packing: a row block is already in L1). */
#define DEFINE_TILE(R, G)                                                                  \
    static void tile_##R##_##G(const float *restrict xs, int64_t d, const float *restrict ct, \
                               int64_t kp, float *restrict dots) {                         \
        v16 acc[R][G];                                                                     \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)                               \
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) acc[r][g] = (v16){0};       \
        for (int64_t j = 0; j < d; j++) {                                                  \
            v16 c[G];                                                                      \
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++)                            \
                c[g] = *(const v16 *)(ct + j * kp + g * VL);                               \
            _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {                         \
                float xv = xs[r * d + j];                                                  \
                _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) acc[r][g] += xv * c[g]; \
            }                                                                              \
        }                                                                                  \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)                               \
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++)                            \
                memcpy(dots + (r * G + g) * VL, &acc[r][g], sizeof(v16));                  \
    }
DEFINE_TILE(16, 1)
DEFINE_TILE(8, 2)
DEFINE_TILE(5, 3)
DEFINE_TILE(4, 4)
DEFINE_TILE(4, 1)
DEFINE_TILE(4, 2)
DEFINE_TILE(4, 3)

/* Rows per tile for kv = kp / 16 center vectors: R x min(kv, 4) <= 16 registers. */
static int tile_rows(int64_t kv) { return kv == 1 ? 16 : kv == 2 ? 8 : kv == 3 ? 5 : 4; }

/* The centers prepared for the E-step: ct (d, kp) = (centers - shift)^T with
 * zero padding, cn (kp) = squared norms of the shifted centers. */
typedef struct centers_t {
    int64_t k, kp, d;
    float *ct, *cn;
    const float *shift; /* (d): subtracted from rows and centers */
    double cmax;        /* >= the largest ||center - shift|| (for the error bounds) */
} centers_t;

static void centers_prepare(centers_t *c, const float *centers) {
    int64_t k = c->k, kp = c->kp, d = c->d;
    double cm = 0.0;
    memset(c->ct, 0, (size_t)(d * kp) * sizeof(float));
    for (int64_t q = 0; q < k; q++) {
        double s = 0.0;
        for (int64_t j = 0; j < d; j++) {
            float v = centers[q * d + j] - c->shift[j];
            c->ct[j * kp + q] = v;
            s += (double)v * v;
        }
        c->cn[q] = (float)s;
        if (s > cm) cm = s;
    }
    for (int64_t q = k; q < kp; q++) c->cn[q] = 0.0f;
    c->cmax = sqrt(cm) * (1.0 + 1e-6);
}

/* Nearest center of R (shifted) rows in xs: labels bi (R), their values
 * ||c||^2 - 2 x.c in bv (R) and, if bv2 is not NULL, the second smallest value
 * (INFINITY when k == 1) in bv2. dots is (R, 64) scratch. */
static void block_argmin(const centers_t *c, const float *xs, int R, float *dots, float *bv, float *bv2,
                         int32_t *bi) {
    int64_t kv = c->kp / VL, d = c->d, k = c->k;
    for (int r = 0; r < R; r++) { bv[r] = INFINITY; bi[r] = 0; }
    if (bv2)
        for (int r = 0; r < R; r++) bv2[r] = INFINITY;
    for (int64_t g0 = 0; g0 < kv; g0 += 4) {
        int64_t G = kv - g0 < 4 ? kv - g0 : 4;
        const float *ct = c->ct + g0 * VL;
        switch (R * 10 + (int)G) {
        case 161: tile_16_1(xs, d, ct, c->kp, dots); break;
        case 82: tile_8_2(xs, d, ct, c->kp, dots); break;
        case 53: tile_5_3(xs, d, ct, c->kp, dots); break;
        case 44: tile_4_4(xs, d, ct, c->kp, dots); break;
        case 41: tile_4_1(xs, d, ct, c->kp, dots); break;
        case 42: tile_4_2(xs, d, ct, c->kp, dots); break;
        default: tile_4_3(xs, d, ct, c->kp, dots); break;
        }
        int64_t q0 = g0 * VL, q1 = (g0 + G) * VL < k ? (g0 + G) * VL : k;
        for (int r = 0; r < R; r++) {
            const float *dr = dots + r * G * VL - q0;
            float best = bv[r];
            int32_t arg = bi[r];
            /* first minimum wins, as numpy's argmin and scikit-learn's loop */
            if (bv2) {
                float second = bv2[r];
                for (int64_t q = q0; q < q1; q++) {
                    float v = c->cn[q] - 2.0f * dr[q];
                    if (v < best) { second = best; best = v; arg = (int32_t)q; }
                    else if (v < second) second = v;
                }
                bv2[r] = second;
            } else {
                for (int64_t q = q0; q < q1; q++) {
                    float v = c->cn[q] - 2.0f * dr[q];
                    if (v < best) { best = v; arg = (int32_t)q; }
                }
            }
            bv[r] = best;
            bi[r] = arg;
        }
    }
}

/* ---- exact pruning bounds ------------------------------------------------------- */

/* The E-step's value for center q, v_q = ||c_q - s||^2 - 2 (x - s).(c_q - s)
 * computed in float32 (s the shift), differs from the exact
 * ||x - c_q||^2 - ||x - s||^2 by at most about (d/2 + 10) u (X + C)^2, with
 * u = 2^-24, X >= ||x - s||, C >= max ||c_q - s|| (d u X C from the d-term
 * float dot product doubled, ~8 u (X + C)^2 from rounding x - s and c - s,
 * u C^2 from the norm, u |v| from the subtraction). err_coef(d) (X + C)^2 is
 * more than twice |error of v_a| + |error of v_q|; the spare factor also covers
 * the float lanes of ||x - s||^2 and the double rounding of the bounds below. */
static inline double err_coef(int64_t d) { return 4.0 * (double)(d + 16) * 0x1p-24; }

/* xr = x - shift (the E-step's shifted row); returns ||xr||^2, summed in 16
 * float lanes (relative error <= (d / 16 + 2) u, inside the slack of err_coef). */
static inline double shift_row(const float *x, const float *shift, float *xr, int64_t d) {
    v16 acc = {0};
    int64_t j = 0;
    for (; j + VL <= d; j += VL) {
        v16 u = v16_load(x + j) - v16_load(shift + j);
        memcpy(xr + j, &u, sizeof u);
        acc += u * u;
    }
    double s = 0.0;
    for (; j < d; j++) {
        xr[j] = x[j] - shift[j];
        s += (double)xr[j] * xr[j];
    }
    for (int l = 0; l < VL; l++) s += (double)acc[l];
    return s;
}

/* Hamerly bounds from one E-step of a row: ub >= ||x - c_best||, lb <= the
 * distance to every other center, from v_best, v_second (float values above),
 * xn2 = ||x - s||^2, widened by the error bound. xn >= ||x - s||. */
static inline void bounds_from_values(double xn2, float vb, float v2, double cmax, double ke, double *ub,
                                      double *lb, float *xn) {
    double X = sqrt(xn2) * (1.0 + 1e-6), E = ke * (X + cmax) * (X + cmax);
    double hi = (double)vb + xn2 + E, lo = (double)v2 + xn2 - E;
    *ub = sqrt(hi > 0.0 ? hi : 0.0);
    *lb = lo > 0.0 ? sqrt(lo) : 0.0; /* +inf when k == 1 */
    *xn = nextafterf((float)X, INFINITY);
}

/* ---- the E-step (+ M-step sums) ------------------------------------------------ */

/* One pass over X: labels, and on request in the same pass (the row is in L1)
 * the per-cluster sums of the M-step, the inertia against these centers, and
 * the column statistics that scale tol. Every reduction is per chunk, the
 * chunks fixed by (n, k, d), then added in chunk order. */
typedef struct estep_t {
    const float *X;
    int64_t n, d, k;
    const centers_t *c;
    const float *centers; /* (k, d) the raw centers, for the inertia */
    int32_t *labels;      /* (n) in: previous labels (for `changed`), out: new */
    /* requests for the next run (NULL / 0: not wanted) */
    double *sums;         /* (k, d) totals */
    int64_t *counts;      /* (k) rows (with weights: rows of weight > 0) */
    const float *w;       /* (n) sample weights, or NULL: all 1 */
    double *wsums;        /* (k) with w: the clusters' weight totals */
    int want_inertia, want_stats;
    double *ub, *lb;      /* (n) Hamerly bounds to fill (see bounds_from_values), or NULL */
    float *xn;            /* (n) with ub: >= ||x - shift|| */
    /* results */
    int changed;          /* some label differs from its previous value */
    double inertia;
    double mean_var;      /* mean over columns of the variance of X */
    /* scratch */
    int64_t sch, nsch;    /* rows per chunk, number of chunks */
    double *psums;        /* (nsch, k, d) chunk partial sums */
    int64_t *pcounts;     /* (nsch, k) chunk counts */
    double *pinert;       /* (nsch) */
    double *pstats;       /* (nsch, 2, d): sum and sum of squares of shifted rows */
    double *pwsums;       /* (nsch, k) with w: chunk weight totals */
    float *scratch;       /* (nt, RMAX * dpad + RMAX * 64): shifted rows and dots */
    int nt;
} estep_t;

/* Rows per chunk: a multiple of CH fixed by n, k and d only (never by the
 * thread count), large enough that the partial sums stay under half the bytes
 * of X (or 4 MiB): scikit-learn holds a whole copy of X. */
static int64_t chunk_rows(int64_t n, int64_t d, int64_t k) {
    double budget = (double)n * (double)d * 2.0;
    if (budget < 4194304.0) budget = 4194304.0;
    int64_t sch = CH;
    while (sch < n && (double)((n + sch - 1) / sch) * (double)k * (double)d * 8.0 > budget) sch *= 2;
    return sch;
}

/* Scratch for labels only (sums == 0) or for the full Lloyd step. */
static mfs_status estep_alloc(estep_t *e, int lloyd, const char *fn, void **block) {
    const int64_t dpad = (e->d + VL - 1) / VL * VL;
    size_t per = (size_t)(RMAX * dpad + RMAX * 64) * sizeof(float), bytes = per * (size_t)e->nt;
    e->sch = lloyd ? chunk_rows(e->n, e->d, e->k) : CH;
    e->nsch = (e->n + e->sch - 1) / e->sch;
    size_t part = 0;
    if (lloyd) {
        size_t cells; /* psums + pcounts + pinert + pstats (+ pwsums), all 8-byte */
        if (mfs__mul_overflows((size_t)e->nsch, (size_t)(e->k * (e->d + 1) + 1 + 2 * e->d + (e->w ? e->k : 0)), &cells) ||
            mfs__mul_overflows(cells, sizeof(double), &part))
            return mfs__error(MFS_E_OVERFLOW, "%s: K-Means scratch size overflows", fn);
    }
    MFS_TRY(mfs__alloc(block, bytes + part, fn, "the K-Means scratch"));
    e->scratch = (float *)*block;
    memset(e->scratch, 0, bytes);
    if (lloyd) {
        e->psums = (double *)((unsigned char *)*block + bytes);
        e->pcounts = (int64_t *)(e->psums + e->nsch * e->k * e->d);
        e->pinert = (double *)(e->pcounts + e->nsch * e->k);
        e->pstats = e->pinert + e->nsch;
        e->pwsums = e->w ? e->pstats + e->nsch * 2 * e->d : NULL;
    }
    return MFS_OK;
}

static void estep_run(estep_t *e) {
    const int64_t n = e->n, d = e->d, k = e->k, sch = e->sch, nsch = e->nsch;
    const int64_t dpad = (d + VL - 1) / VL * VL;
    const int R = tile_rows(e->c->kp / VL);
    const float *shift = e->c->shift;
    const int want_sums = e->sums != NULL, want_in = e->want_inertia, want_st = e->want_stats;
    int changed = 0;
#pragma omp parallel num_threads(e->nt) if (nsch > 1) reduction(| : changed)
    {
        float *xs = e->scratch + (size_t)thread_id() * (size_t)(RMAX * dpad + RMAX * 64);
        float *dots = xs + RMAX * dpad;
        float bv[RMAX], bv2[RMAX];
        double xn2[RMAX];
        int32_t bi[RMAX];
        const int want_b = e->ub != NULL;
        const double ke = err_coef(d);
#pragma omp for schedule(static)
        for (int64_t ch = 0; ch < nsch; ch++) {
            int64_t i0 = ch * sch, i1 = i0 + sch < n ? i0 + sch : n;
            double *ps = want_sums ? e->psums + ch * k * d : NULL;
            int64_t *pc = want_sums ? e->pcounts + ch * k : NULL;
            double *pw = want_sums && e->w ? e->pwsums + ch * k : NULL;
            double *st1 = want_st ? e->pstats + ch * 2 * d : NULL, *st2 = st1 ? st1 + d : NULL;
            double inert = 0.0;
            if (want_sums) memset(pc, 0, (size_t)k * sizeof(int64_t));
            if (want_st) memset(st1, 0, (size_t)(2 * d) * sizeof(double));
            for (int64_t b0 = i0; b0 < i1; b0 += R) {
                int rows = (int)(i1 - b0 < R ? i1 - b0 : R);
                for (int r = 0; r < rows; r++) {
                    const float *x = e->X + (b0 + r) * d;
                    float *xr = xs + r * d;
                    if (want_b) xn2[r] = shift_row(x, shift, xr, d);
                    else
                        for (int64_t j = 0; j < d; j++) xr[j] = x[j] - shift[j];
                    if (want_st)
                        for (int64_t j = 0; j < d; j++) {
                            double v = (double)xr[j];
                            st1[j] += v;
                            st2[j] += v * v;
                        }
                }
                block_argmin(e->c, xs, R, dots, bv, want_b ? bv2 : NULL, bi);
                for (int r = 0; r < rows; r++) {
                    int64_t i = b0 + r;
                    const float *x = e->X + i * d;
                    if (want_b) bounds_from_values(xn2[r], bv[r], bv2[r], e->c->cmax, ke, e->ub + i, e->lb + i, e->xn + i);
                    changed |= e->labels[i] != bi[r];
                    e->labels[i] = bi[r];
                    if (want_in) {
                        double dd = sqdist_row(x, e->centers + (int64_t)bi[r] * d, d);
                        inert += e->w ? (double)e->w[i] * dd : dd;
                    }
                    if (want_sums && e->w) {
                        /* w x in double: exact products, so integer weights
                         * sum as repeated rows do; weight 0 is no row */
                        const double wi = (double)e->w[i];
                        if (wi != 0.0) {
                            double *acc = ps + (int64_t)bi[r] * d;
                            if (pc[bi[r]]++ == 0) {
                                for (int64_t j = 0; j < d; j++) acc[j] = wi * (double)x[j];
                                pw[bi[r]] = wi;
                            } else {
                                for (int64_t j = 0; j < d; j++) acc[j] += wi * (double)x[j];
                                pw[bi[r]] += wi;
                            }
                        }
                    } else if (want_sums) {
                        double *acc = ps + (int64_t)bi[r] * d;
                        if (pc[bi[r]]++ == 0)
                            for (int64_t j = 0; j < d; j++) acc[j] = (double)x[j];
                        else
                            for (int64_t j = 0; j < d; j++) acc[j] += (double)x[j];
                    }
                }
            }
            if (want_in) e->pinert[ch] = inert;
        }
        /* the implicit barrier above ends the pass; now the totals, in chunk order */
        if (want_sums) {
#pragma omp for schedule(static) nowait
            for (int64_t q = 0; q < k; q++) {
                double *dst = e->sums + q * d;
                int64_t cnt = 0;
                double ws = 0.0;
                for (int64_t j = 0; j < d; j++) dst[j] = 0.0;
                for (int64_t ch = 0; ch < nsch; ch++) {
                    if (!e->pcounts[ch * k + q]) continue;
                    const double *src = e->psums + (ch * k + q) * d;
                    for (int64_t j = 0; j < d; j++) dst[j] += src[j];
                    cnt += e->pcounts[ch * k + q];
                    if (e->w) ws += e->pwsums[ch * k + q];
                }
                e->counts[q] = cnt;
                if (e->w) e->wsums[q] = ws;
            }
        }
    }
    e->changed = changed;
    if (want_in) {
        e->inertia = 0.0;
        for (int64_t ch = 0; ch < nsch; ch++) e->inertia += e->pinert[ch];
    }
    if (want_st) {
        double mv = 0.0;
        for (int64_t j = 0; j < d; j++) {
            double s1 = 0.0, s2 = 0.0;
            for (int64_t ch = 0; ch < nsch; ch++) { s1 += e->pstats[ch * 2 * d + j]; s2 += e->pstats[ch * 2 * d + d + j]; }
            double m = s1 / (double)n, var = s2 / (double)n - m * m;
            mv += var > 0.0 ? var : 0.0;
        }
        e->mean_var = mv / (double)d;
    }
}

/* Mean of at most 1024 evenly spaced rows of X: the shift of the E-step, a
 * point amid the data found without a pass over X. Centering by it keeps
 * ||c||^2 - 2 x.c accurate whatever the offset of the data or of the centers. */
static void sample_mean(const float *X, int64_t n, int64_t d, float *shift) {
    int64_t m = n < 1024 ? n : 1024;
    for (int64_t j = 0; j < d; j++) {
        double s = 0.0;
        for (int64_t t = 0; t < m; t++) s += X[(t * n / m) * d + j];
        shift[j] = (float)(s / (double)m);
    }
}

/* ---- Lloyd on the CPU ------------------------------------------------------------ */

/* Empty clusters take the points farthest from their (old) centers, as
 * scikit-learn's _relocate_empty_clusters_dense: each such point leaves its
 * cluster's sum and becomes the new cluster alone. far (n) is scratch. With
 * weights w (else NULL), a cluster is empty when no row of weight > 0 is in
 * it, only such rows are taken (weight 0 is no row; scikit-learn may take
 * one, which leaves the cluster empty), the moved sums are w x, and wsums
 * follow; a cluster for which no row is left keeps a zero sum. */
static void relocate_empty(const float *X, const float *w, int64_t n, int64_t d, int64_t k,
                           const float *old_centers, const int32_t *labels, double *sums, int64_t *counts,
                           double *wsums, float *far, int nt) {
#pragma omp parallel for schedule(static) num_threads(nt) if (n > CH)
    for (int64_t i = 0; i < n; i++)
        far[i] = w && w[i] == 0.0f ? -1.0f : sqdist_row(X + i * d, old_centers + (int64_t)labels[i] * d, d);
    for (int64_t q = 0; q < k; q++) {
        if (counts[q] != 0) continue;
        /* the farthest point not yet taken (first index on ties) */
        int64_t best = 0;
        for (int64_t i = 1; i < n; i++)
            if (far[i] > far[best]) best = i;
        if (far[best] < 0.0f) {
            /* every row of weight > 0 is taken (only with weights: n >= k) */
            for (int64_t j = 0; j < d; j++) sums[q * d + j] = 0.0;
            wsums[q] = 0.0;
            continue;
        }
        far[best] = -1.0f;
        const float *x = X + best * d;
        int32_t old = labels[best];
        if (w) {
            const double wi = (double)w[best];
            for (int64_t j = 0; j < d; j++) {
                sums[(int64_t)old * d + j] -= wi * (double)x[j];
                sums[q * d + j] = wi * (double)x[j];
            }
            wsums[q] = wi;
            wsums[old] -= wi;
        } else {
            for (int64_t j = 0; j < d; j++) {
                sums[(int64_t)old * d + j] -= x[j];
                sums[q * d + j] = x[j];
            }
        }
        counts[q] = 1;
        counts[old] -= 1;
    }
}

/* ---- Hamerly's accelerated E-step ----------------------------------------------------- */

/* State of the bounds between iterations: per point ub >= distance to its
 * assigned center, lb <= distance to every other center, xn + xdrift >=
 * ||x - shift||; all valid for the centers `prev` the last step assigned with. */
typedef struct hamerly_t {
    double *ub, *lb;      /* (n) */
    float *xn;            /* (n) */
    double xdrift;        /* how far the shift moved since xn was computed (bound) */
    float *prev;          /* (k, d) */
    double *delta, *twos; /* (k) ||c_q - prev_q||, min over q' != q of ||c_q - c_q'|| (lower bounds) */
    unsigned char *touched; /* (nsch, k) chunk ch has a delta sum for cluster q */
} hamerly_t;

/* Touch cluster q's delta sum in a chunk (zeroed on first touch; with
 * weights its weight delta pw[q] too). */
static inline double *delta_sum(const estep_t *e, unsigned char *tch, double *ps, int64_t *pc, double *pw,
                                int32_t q) {
    double *acc = ps + (int64_t)q * e->d;
    if (!tch[q]) {
        tch[q] = 1;
        pc[q] = 0;
        if (pw) pw[q] = 0.0;
        memset(acc, 0, (size_t)e->d * sizeof(double));
    }
    return acc;
}

/* The rows idx[0..cnt) (shifted in xs, their ||x - s||^2 in xn2) failed the
 * bound test: the same block_argmin as the full pass (so the same label bits),
 * new bounds, and the moves of changed rows into the chunk's delta sums. */
static int hamerly_flush(const estep_t *e, hamerly_t *h, const float *xs, float *dots, int R, int cnt,
                         const int64_t *idx, const double *xn2, unsigned char *tch, double *ps, int64_t *pc,
                         double *pw) {
    float bv[RMAX], bv2[RMAX];
    int32_t bi[RMAX];
    const int64_t d = e->d;
    const double ke = err_coef(d);
    int changed = 0;
    block_argmin(e->c, xs, R, dots, bv, bv2, bi);
    for (int r = 0; r < cnt; r++) {
        int64_t i = idx[r];
        bounds_from_values(xn2[r], bv[r], bv2[r], e->c->cmax, ke, h->ub + i, h->lb + i, h->xn + i);
        int32_t a = e->labels[i], b = bi[r];
        if (a == b) continue;
        changed = 1;
        e->labels[i] = b;
        const float *x = e->X + i * d;
        if (e->w) {
            const double wi = (double)e->w[i];
            if (wi == 0.0) continue; /* no row: only its label moves */
            double *sa = delta_sum(e, tch, ps, pc, pw, a), *sb = delta_sum(e, tch, ps, pc, pw, b);
            for (int64_t j = 0; j < d; j++) {
                sa[j] -= wi * (double)x[j];
                sb[j] += wi * (double)x[j];
            }
            pw[a] -= wi;
            pw[b] += wi;
        } else {
            double *sa = delta_sum(e, tch, ps, pc, NULL, a), *sb = delta_sum(e, tch, ps, pc, NULL, b);
            for (int64_t j = 0; j < d; j++) {
                sa[j] -= (double)x[j];
                sb[j] += (double)x[j];
            }
        }
        pc[a]--;
        pc[b]++;
    }
    return changed;
}

enum { SUB = 256, PF = 4 }; /* rows per bound test block, rows prefetched ahead */

static inline void prefetch_row(const float *x, int64_t d) {
    for (int64_t j = 0; j < d; j += 16) __builtin_prefetch(x + j);
    __builtin_prefetch(x + d - 1);
}

/* Hamerly's test (Hamerly 2010) with the rounding margin: with u = ub[i] >=
 * ||x - c_a|| and L = max(lb[i], twos[a] - u) <= ||x - c_q|| for every q != a,
 * L^2 - u^2 > err_coef(d) (X + C)^2 proves that the E-step's float values
 * order c_a strictly first, so the E-step would return a again. Nonzero: the
 * row must be assigned by the E-step's computation. */
static inline int bound_fails(const hamerly_t *h, int64_t i, int32_t a, double ke, double C, double xdrift) {
    double u = h->ub[i], l = h->lb[i], L = h->twos[a] - u;
    double X = (double)h->xn[i] + xdrift, E = ke * (X + C) * (X + C);
    if (l > L) L = l;
    return !(L > u && (L - u) * (L + u) > E);
}

/* After the centers moved by delta: ub += delta[a], lb -= the largest move of
 * another center (dmax, or dmax2 for the center qmax that moved most). Returns
 * how many rows then fail the test (a sum over rows: independent of threads). */
static int64_t hamerly_move_bounds(const estep_t *e, hamerly_t *h, double dmax, double dmax2, int32_t qmax) {
    const int64_t n = e->n;
    const double ke = err_coef(e->d), C = e->c->cmax, xdrift = h->xdrift;
    int64_t fails = 0;
#pragma omp parallel for schedule(static) num_threads(e->nt) if (n > 4 * CH) reduction(+ : fails)
    for (int64_t i = 0; i < n; i++) {
        int32_t a = e->labels[i];
        h->ub[i] += h->delta[a];
        h->lb[i] -= a == qmax ? dmax2 : dmax;
        fails += bound_fails(h, i, a, ke, C, xdrift);
    }
    return fails;
}

/* One Lloyd E-step + M-step sums with the bounds (after hamerly_move_bounds):
 * a row that passes bound_fails keeps its label without X being read; the
 * others get the full pass's computation. The sums and counts are updated by
 * the moves only, per chunk, then added in chunk order. */
static void hamerly_run(estep_t *e, hamerly_t *h) {
    const int64_t n = e->n, d = e->d, k = e->k, sch = e->sch, nsch = e->nsch;
    const int64_t dpad = (d + VL - 1) / VL * VL;
    const int R = tile_rows(e->c->kp / VL);
    const float *shift = e->c->shift;
    const double ke = err_coef(d), C = e->c->cmax, xdrift = h->xdrift;
    int changed = 0;
#pragma omp parallel num_threads(e->nt) if (nsch > 1) reduction(| : changed)
    {
        float *xs = e->scratch + (size_t)thread_id() * (size_t)(RMAX * dpad + RMAX * 64);
        float *dots = xs + RMAX * dpad;
        int64_t idx[RMAX], fail[SUB];
        double xn2[RMAX];
#pragma omp for schedule(dynamic)
        for (int64_t ch = 0; ch < nsch; ch++) {
            int64_t i0 = ch * sch, i1 = i0 + sch < n ? i0 + sch : n;
            double *ps = e->psums + ch * k * d;
            int64_t *pc = e->pcounts + ch * k;
            double *pw = e->w ? e->pwsums + ch * k : NULL;
            unsigned char *tch = h->touched + ch * k;
            memset(tch, 0, (size_t)k);
            int cnt = 0;
            for (int64_t s0 = i0; s0 < i1; s0 += SUB) {
                /* the bound test over SUB rows (X is not read), then the rows
                 * that failed it, prefetched a few rows ahead */
                int64_t s1 = s0 + SUB < i1 ? s0 + SUB : i1;
                int nf = 0;
                for (int64_t i = s0; i < s1; i++)
                    if (bound_fails(h, i, e->labels[i], ke, C, xdrift)) fail[nf++] = i;
                for (int t = 0; t < nf && t < PF; t++) prefetch_row(e->X + fail[t] * d, d);
                for (int t = 0; t < nf; t++) {
                    if (t + PF < nf) prefetch_row(e->X + fail[t + PF] * d, d);
                    int64_t i = fail[t];
                    xn2[cnt] = shift_row(e->X + i * d, shift, xs + cnt * d, d);
                    idx[cnt++] = i;
                    if (cnt == R) {
                        changed |= hamerly_flush(e, h, xs, dots, R, cnt, idx, xn2, tch, ps, pc, pw);
                        cnt = 0;
                    }
                }
            }
            if (cnt) changed |= hamerly_flush(e, h, xs, dots, R, cnt, idx, xn2, tch, ps, pc, pw);
        }
    }
    /* the moves, in chunk order */
    for (int64_t ch = 0; ch < nsch; ch++)
        for (int64_t q = 0; q < k; q++) {
            if (!h->touched[ch * k + q]) continue;
            const double *src = e->psums + (ch * k + q) * d;
            double *dst = e->sums + q * d;
            for (int64_t j = 0; j < d; j++) dst[j] += src[j];
            e->counts[q] += e->pcounts[ch * k + q];
            if (e->w) e->wsums[q] += e->pwsums[ch * k + q];
        }
    e->changed = changed;
}

/* The inertia of the labels against e->centers, summed exactly as estep_run
 * sums it (same chunks, same order): the same bits as a full pass would give. */
static void inertia_pass(estep_t *e) {
    const int64_t n = e->n, d = e->d, sch = e->sch, nsch = e->nsch;
#pragma omp parallel for schedule(static) num_threads(e->nt) if (nsch > 1)
    for (int64_t ch = 0; ch < nsch; ch++) {
        int64_t i0 = ch * sch, i1 = i0 + sch < n ? i0 + sch : n;
        double inert = 0.0;
        for (int64_t i = i0; i < i1; i++) {
            double dd = sqdist_row(e->X + i * d, e->centers + (int64_t)e->labels[i] * d, d);
            inert += e->w ? (double)e->w[i] * dd : dd;
        }
        e->pinert[ch] = inert;
    }
    e->inertia = 0.0;
    for (int64_t ch = 0; ch < nsch; ch++) e->inertia += e->pinert[ch];
}

/* The center movements since prev and the half-gaps, for hamerly_run; all
 * rounded away from the side where a bound could fail. */
static void hamerly_centers(hamerly_t *h, const float *centers, int64_t k, int64_t d, double *dmax,
                            double *dmax2, int32_t *qmax) {
    *dmax = 0.0;
    *dmax2 = 0.0;
    *qmax = 0;
    for (int64_t q = 0; q < k; q++) {
        double s = 0.0;
        for (int64_t j = 0; j < d; j++) {
            double u = (double)centers[q * d + j] - (double)h->prev[q * d + j];
            s += u * u;
        }
        double dq = s > 0.0 ? sqrt(s) * (1.0 + 1e-12) : 0.0;
        h->delta[q] = dq;
        if (dq > *dmax) { *dmax2 = *dmax; *dmax = dq; *qmax = (int32_t)q; }
        else if (dq > *dmax2) *dmax2 = dq;
        h->twos[q] = INFINITY;
    }
    for (int64_t q = 0; q < k; q++)
        for (int64_t p = q + 1; p < k; p++) {
            double s = 0.0;
            for (int64_t j = 0; j < d; j++) {
                double u = (double)centers[q * d + j] - (double)centers[p * d + j];
                s += u * u;
            }
            double g = sqrt(s) * (1.0 - 1e-12);
            if (g < h->twos[q]) h->twos[q] = g;
            if (g < h->twos[p]) h->twos[p] = g;
        }
}

/* Lloyd from centers (k, d) (updated in place) until the labels stop changing
 * or the squared center shift is <= tol_rel * mean(var(X)); then labels match
 * the centers. The rows are shifted by the data mean as scikit-learn's are: in
 * the first pass by the mean of sampled rows (the exact one would cost a pass
 * of its own), then by the exact mean, which the first M-step's totals give. */
static mfs_status lloyd_cpu(const float *X, const float *w, int64_t n, int64_t d, int64_t k, int32_t max_iter,
                            double tol_rel, float *centers, int32_t *labels, double *inertia,
                            int32_t *n_iter) {
    const int nt = mfs__num_threads();
    const int64_t kp = (k + VL - 1) / VL * VL;
    /* one block: ct (d, kp), cn (kp), shift (d), old centers (k, d) f32, then
     * sums (k, d) f64, counts (k) and weight totals (k) f64; "far" (n) only if
     * a cluster empties */
    size_t bytes = (size_t)(d * kp + kp + d + k * d) * sizeof(float) + (size_t)(k * d) * sizeof(double) +
                   (size_t)k * (sizeof(int64_t) + sizeof(double)) + 128;
    unsigned char *blk = NULL, *hblk = NULL;
    void *scr_block = NULL;
    float *far = NULL;
    MFS_TRY(mfs__alloc((void **)&blk, bytes, FIT, "the Lloyd buffers"));
    float *shift = (float *)blk + d * kp + kp, *old = shift + d;
    centers_t c = {k, kp, d, (float *)blk, (float *)blk + d * kp, shift, 0.0};
    double *sums = (double *)(((uintptr_t)(old + k * d) + 63) & ~(uintptr_t)63);
    int64_t *counts = (int64_t *)(sums + k * d);
    double *wsums = (double *)(counts + k);
    estep_t e;
    memset(&e, 0, sizeof e);
    e.X = X; e.n = n; e.d = d; e.k = k; e.c = &c; e.centers = old; e.labels = labels;
    e.sums = sums; e.counts = counts; e.want_inertia = 1; e.nt = nt;
    e.w = w; e.wsums = w ? wsums : NULL;
    mfs_status s = estep_alloc(&e, 1, FIT, &scr_block);
    if (s != MFS_OK) goto done;
    /* Hamerly's state: ub, lb (n) f64, delta, twos (k) f64, xn (n) f32, prev (k, d) f32, touched (nsch, k) */
    hamerly_t h;
    memset(&h, 0, sizeof h);
    s = mfs__alloc((void **)&hblk, (size_t)(2 * n + 2 * k) * sizeof(double) + (size_t)(n + k * d) * sizeof(float) +
                   (size_t)(e.nsch * k), FIT, "the K-Means bounds");
    if (s != MFS_OK) goto done;
    h.ub = (double *)hblk; h.lb = h.ub + n; h.delta = h.lb + n; h.twos = h.delta + k;
    h.xn = (float *)(h.twos + k); h.prev = h.xn + n; h.touched = (unsigned char *)(h.prev + k * d);
    sample_mean(X, n, d, shift);
    for (int64_t i = 0; i < n; i++) labels[i] = -1;

    /* MFS_KMEANS_PLAIN=1 (tests, dev/kmeans): a full pass every iteration, the
     * plain Lloyd the bounds must reproduce */
    const char *plain_env = getenv("MFS_KMEANS_PLAIN");
    const int plain = plain_env && plain_env[0] && plain_env[0] != '0';
    double tol = 0.0;
    int strict = 0, it = 0, full = 1, last_full = 0;
    for (it = 0; it < max_iter; it++) {
        memcpy(old, centers, (size_t)(k * d) * sizeof(float));
        centers_prepare(&c, old);
        if (full || plain) {
            /* a full pass: labels, sums from scratch, inertia, fresh bounds */
            e.want_stats = it == 0; /* tol is relative to the data's scale, as scikit-learn's _tolerance */
            e.ub = h.ub; e.lb = h.lb; e.xn = h.xn;
            estep_run(&e);
            h.xdrift = 0.0;
            full = 0;
            last_full = 1;
        } else {
            double dmax, dmax2;
            int32_t qmax;
            hamerly_centers(&h, old, k, d, &dmax, &dmax2, &qmax);
            if (2 * hamerly_move_bounds(&e, &h, dmax, dmax2, qmax) > n) {
                /* most rows would be read anyway: the full pass is cheaper,
                 * and it gives the inertia (labels are the same either way) */
                e.want_stats = 0;
                estep_run(&e);
                h.xdrift = 0.0;
                last_full = 1;
            } else {
                hamerly_run(&e, &h);
                last_full = 0;
            }
        }
        memcpy(h.prev, old, (size_t)(k * d) * sizeof(float));
        if (it == 0) {
            /* tol from the unweighted variance of X, as scikit-learn's _tolerance */
            tol = tol_rel * e.mean_var;
            double drift = 0.0, total = (double)n;
            if (w) { /* the shift becomes the weighted mean */
                total = 0.0;
                for (int64_t q = 0; q < k; q++) total += wsums[q];
            }
            for (int64_t j = 0; j < d; j++) {
                double t = 0.0;
                for (int64_t q = 0; q < k; q++) t += sums[q * d + j];
                float v = (float)(t / total);
                double u = (double)v - (double)shift[j];
                drift += u * u;
                shift[j] = v;
            }
            h.xdrift += sqrt(drift) * (1.0 + 1e-6);
        }
        for (int64_t q = 0; q < k && !far; q++)
            if (counts[q] == 0) {
                s = mfs__alloc((void **)&far, (size_t)n * sizeof(float), FIT, "the empty-cluster distances");
                if (s != MFS_OK) goto done;
            }
        int empty = 0;
        for (int64_t q = 0; q < k; q++) empty |= counts[q] == 0;
        if (empty) {
            relocate_empty(X, w, n, d, k, old, labels, sums, counts, wsums, far, nt);
            /* the sums now disagree with the labels: the next step is a full pass */
            full = 1;
        }
        double shift2 = 0.0;
        for (int64_t q = 0; q < k; q++) {
            /* a cluster left with no point keeps its (zero) sum, as scikit-learn */
            double inv = counts[q] > 0 ? 1.0 / (w ? wsums[q] : (double)counts[q]) : 1.0;
            double sq = 0.0;
            for (int64_t j = 0; j < d; j++) {
                float v = (float)(sums[q * d + j] * inv);
                double u = (double)v - (double)old[q * d + j];
                sq += u * u;
                centers[q * d + j] = v;
            }
            shift2 += sq;
        }
        /* scikit-learn's order: labels unchanged is strict convergence (the
         * centers just computed are those of these labels); else the shift */
        if (!e.changed) { strict = 1; it++; break; }
        if (shift2 <= tol) { it++; break; }
    }
    if (strict && !last_full && memcmp(old, centers, (size_t)(k * d) * sizeof(float)) == 0) {
        /* the labels are final, the bounded step just gave no inertia: the
         * full pass's inertia, without its E-step */
        inertia_pass(&e);
    } else if (!strict || memcmp(old, centers, (size_t)(k * d) * sizeof(float)) != 0) {
        /* the centers moved after the last assignment: assign once more (the
         * inertia comes with it) */
        memcpy(old, centers, (size_t)(k * d) * sizeof(float));
        centers_prepare(&c, old);
        e.sums = NULL;
        e.want_stats = 0;
        e.ub = NULL;
        estep_run(&e);
    }
    *inertia = e.inertia;
    *n_iter = it;
done:
    mfs__free(hblk);
    mfs__free(far);
    mfs__free(scr_block);
    mfs__free(blk);
    return s;
}

/* ---- seeding ----------------------------------------------------------------------- */

/* Greedy k-means++ (Arthur & Vassilvitskii 2007, with scikit-learn's 2 + log k
 * local trials): each new center is the best, by resulting potential, of
 * several candidates drawn with probability proportional to D(x)^2. With
 * weights w (else NULL), as scikit-learn's _kmeans_plusplus: the first center
 * is drawn with probability proportional to w, then candidates proportional to
 * w D(x)^2, and potentials are sum_i w_i D(x_i)^2. */
static mfs_status kmeans_pp(const float *X, const float *w, int64_t n, int64_t d, int64_t k, mfs_rng *rng,
                            float *centers) {
    const int nt = mfs__num_threads();
    const int64_t trials = 2 + (int64_t)log((double)k), nch = (n + CH - 1) / CH;
    /* closest (n) f32, cand dists (trials, n) f32, cumsum (n) f64, partials (nch, trials) f64 */
    size_t bytes = (size_t)(n + trials * n) * sizeof(float) + (size_t)(n + nch * trials) * sizeof(double) + 64;
    unsigned char *blk = NULL;
    MFS_TRY(mfs__alloc((void **)&blk, bytes, FIT, "the k-means++ buffers"));
    float *closest = (float *)blk, *dist = closest + n;
    double *cum = (double *)(((uintptr_t)(dist + trials * n) + 7) & ~(uintptr_t)7);
    double *part = cum + n;
    int64_t cand[64];

    int64_t first;
    if (w) {
        /* numpy's choice(n, p=w / sum w): the first i with cumsum(w)[i] > u sum w */
        double acc = 0.0;
        for (int64_t i = 0; i < n; i++) { acc += (double)w[i]; cum[i] = acc; }
        double r = mfs_rng_uniform(rng) * acc;
        int64_t lo = 0, hi = n;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (cum[mid] <= r) lo = mid + 1; else hi = mid;
        }
        if (lo >= n) /* r rounded up to the total: the last row of weight > 0 */
            for (lo = n - 1; lo > 0 && w[lo] == 0.0f; lo--) {}
        first = lo;
    } else {
        first = (int64_t)mfs_rng_below(rng, (uint64_t)n);
    }
    memcpy(centers, X + first * d, (size_t)d * sizeof(float));
#pragma omp parallel for schedule(static) num_threads(nt) if (nch > 1)
    for (int64_t ch = 0; ch < nch; ch++) {
        int64_t i0 = ch * CH, i1 = i0 + CH < n ? i0 + CH : n;
        double s = 0.0;
        for (int64_t i = i0; i < i1; i++) {
            closest[i] = sqdist_row(X + i * d, centers, d);
            s += w ? (double)w[i] * closest[i] : closest[i];
        }
        part[ch] = s;
    }
    double pot = 0.0;
    for (int64_t ch = 0; ch < nch; ch++) pot += part[ch];

    for (int64_t c = 1; c < k; c++) {
        double acc = 0.0;
        if (w)
            for (int64_t i = 0; i < n; i++) { acc += (double)w[i] * closest[i]; cum[i] = acc; }
        else
            for (int64_t i = 0; i < n; i++) { acc += closest[i]; cum[i] = acc; }
        for (int64_t t = 0; t < trials; t++) {
            double r = mfs_rng_uniform(rng) * pot;
            /* first i with cum[i] >= r (numpy's searchsorted, side left), clipped */
            int64_t lo = 0, hi = n;
            while (lo < hi) {
                int64_t mid = lo + (hi - lo) / 2;
                if (cum[mid] < r) lo = mid + 1; else hi = mid;
            }
            cand[t] = lo < n ? lo : n - 1;
        }
#pragma omp parallel for schedule(static) num_threads(nt) if (nch > 1)
        for (int64_t ch = 0; ch < nch; ch++) {
            int64_t i0 = ch * CH, i1 = i0 + CH < n ? i0 + CH : n;
            for (int64_t t = 0; t < trials; t++) {
                const float *y = X + cand[t] * d;
                float *dt = dist + t * n;
                double s = 0.0;
                for (int64_t i = i0; i < i1; i++) {
                    float v = sqdist_row(X + i * d, y, d);
                    v = v < closest[i] ? v : closest[i];
                    dt[i] = v;
                    s += w ? (double)w[i] * v : v;
                }
                part[ch * trials + t] = s;
            }
        }
        int64_t best = 0;
        double best_pot = INFINITY;
        for (int64_t t = 0; t < trials; t++) {
            double p = 0.0;
            for (int64_t ch = 0; ch < nch; ch++) p += part[ch * trials + t];
            if (p < best_pot) { best_pot = p; best = t; }
        }
        pot = best_pot;
        memcpy(closest, dist + best * n, (size_t)n * sizeof(float));
        memcpy(centers + c * d, X + cand[best] * d, (size_t)d * sizeof(float));
    }
    mfs__free(blk);
    return MFS_OK;
}

/* k distinct rows drawn without replacement with probability proportional to
 * w (numpy's choice(n, k, replace=False, p=w / sum w), scikit-learn's random
 * init with weights), by Efraimidis & Spirakis (2006): row i gets the key
 * log(u_i) / w_i, the k largest keys win, in decreasing key order (the order
 * of successive draws). O(n log k), a heap of k. */
static mfs_status random_init_weighted(const float *X, const float *w, int64_t n, int64_t d, int64_t k,
                                       mfs_rng *rng, float *centers) {
    int64_t pos = 0;
    for (int64_t i = 0; i < n; i++) pos += w[i] > 0.0f;
    if (pos < k)
        return mfs__error(MFS_E_VALUE, "%s: init is random and only %lld rows have sample_weight > 0, fewer than "
                          "n_clusters=%lld (the initial centers are distinct rows of weight > 0)",
                          FIT, (long long)pos, (long long)k);
    double *key = NULL;
    MFS_TRY(mfs__alloc((void **)&key, (size_t)k * (sizeof(double) + sizeof(int64_t)), FIT, "the random init heap"));
    int64_t *idx = (int64_t *)(key + k), m = 0;
    /* a min-heap on (key, -index): the root is the worst row kept */
#define KM_WORSE(a, b) (key[a] < key[b] || (key[a] == key[b] && idx[a] > idx[b]))
    for (int64_t i = 0; i < n; i++) {
        double u = mfs_rng_uniform(rng); /* one draw per row, weight 0 or not */
        if (w[i] == 0.0f) continue;
        double kv = log1p(-u) / (double)w[i]; /* log(1 - u): u in [0, 1), finite */
        int64_t at;
        if (m < k) {
            at = m++;
            for (; at > 0; at = (at - 1) / 2) { /* sift up */
                int64_t pa = (at - 1) / 2;
                if (!(kv < key[pa] || (kv == key[pa] && i > idx[pa]))) break;
                key[at] = key[pa]; idx[at] = idx[pa];
            }
        } else {
            if (kv < key[0] || (kv == key[0] && i > idx[0])) continue;
            at = 0;
            for (;;) { /* sift down */
                int64_t c = 2 * at + 1;
                if (c >= m) break;
                if (c + 1 < m && KM_WORSE(c + 1, c)) c++;
                if (!(key[c] < kv || (key[c] == kv && idx[c] > i))) break;
                key[at] = key[c]; idx[at] = idx[c];
                at = c;
            }
        }
        key[at] = kv;
        idx[at] = i;
    }
    /* pop the worst to the back: the array ends sorted best first */
    for (int64_t end = m - 1; end > 0; end--) {
        double tk = key[0]; int64_t ti = idx[0];
        key[0] = key[end]; idx[0] = idx[end];
        key[end] = tk; idx[end] = ti;
        for (int64_t at = 0;;) {
            int64_t c = 2 * at + 1;
            if (c >= end) break;
            if (c + 1 < end && KM_WORSE(c + 1, c)) c++;
            if (!KM_WORSE(c, at)) break;
            tk = key[at]; ti = idx[at];
            key[at] = key[c]; idx[at] = idx[c];
            key[c] = tk; idx[c] = ti;
            at = c;
        }
    }
#undef KM_WORSE
    for (int64_t c = 0; c < k; c++) memcpy(centers + c * d, X + idx[c] * d, (size_t)d * sizeof(float));
    mfs__free(key);
    return MFS_OK;
}

/* k distinct samples at random (a partial Fisher-Yates shuffle). */
static mfs_status random_init(const float *X, int64_t n, int64_t d, int64_t k, mfs_rng *rng, float *centers) {
    int64_t *idx = NULL;
    MFS_TRY(mfs__alloc((void **)&idx, (size_t)n * sizeof(int64_t), FIT, "the random init permutation"));
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    for (int64_t c = 0; c < k; c++) {
        int64_t j = c + (int64_t)mfs_rng_below(rng, (uint64_t)(n - c));
        int64_t t = idx[c]; idx[c] = idx[j]; idx[j] = t;
        memcpy(centers + c * d, X + idx[c] * d, (size_t)d * sizeof(float));
    }
    mfs__free(idx);
    return MFS_OK;
}

/* ---- fit ---------------------------------------------------------------------------- */

/* Column means of X (float, for centering) and the mean of the column
 * variances, in double; chunk partials merged in chunk order. Values are
 * shifted by the first row so that a large offset cannot cancel digits. */
static mfs_status column_stats(const float *X, int64_t n, int64_t d, float *mean, double *mean_var) {
    const int nt = mfs__num_threads();
    const int64_t nch = (n + CH - 1) / CH;
    double *part = NULL; /* (nch, 2, d): per chunk sum(x - x0) and sum((x - x0)^2) */
    MFS_TRY(mfs__alloc((void **)&part, (size_t)(2 * d * (nch + 1)) * sizeof(double), FIT, "the column statistics"));
    const float *x0 = X;
#pragma omp parallel for schedule(static) num_threads(nt) if (nch > 1)
    for (int64_t ch = 0; ch < nch; ch++) {
        int64_t i0 = ch * CH, i1 = i0 + CH < n ? i0 + CH : n;
        double *l1 = part + 2 * d * ch, *l2 = l1 + d;
        for (int64_t j = 0; j < d; j++) { l1[j] = 0.0; l2[j] = 0.0; }
        for (int64_t i = i0; i < i1; i++)
            for (int64_t j = 0; j < d; j++) {
                double v = (double)X[i * d + j] - (double)x0[j];
                l1[j] += v;
                l2[j] += v * v;
            }
    }
    double mv = 0.0;
    for (int64_t j = 0; j < d; j++) {
        double s1 = 0.0, s2 = 0.0;
        for (int64_t ch = 0; ch < nch; ch++) { s1 += part[2 * d * ch + j]; s2 += part[2 * d * ch + d + j]; }
        double m = s1 / (double)n, var = s2 / (double)n - m * m;
        mean[j] = (float)(m + (double)x0[j]);
        mv += var > 0.0 ? var : 0.0;
    }
    *mean_var = mv / (double)d;
    mfs__free(part);
    return MFS_OK;
}

/* ---- data beyond float32's squared range ---------------------------------------
 * The E-step, the bounds and transform square distances in float32: beyond
 * |x| ~ 1e19 they overflow to infinity (every row then "nearest" to center 0)
 * and below ~ 1e-19 they underflow to 0. K-Means is scale-equivariant (the
 * labels stay, centers scale by s, the inertia by s^2), and a power of two
 * scales a float exactly, so such data run as X * 2^-e, |X * 2^-e| in [1, 2),
 * and the centers, the inertia and the distances are scaled back by 2^e
 * (2^2e): the same bits as data of ordinary size. Within [2^-32, 2^32] e = 0
 * and nothing is copied. */
static float max_abs(const float *x, int64_t count) {
    float mx = 0.0f;
#pragma omp parallel for simd schedule(static) num_threads(mfs__num_threads()) if (count > (1 << 20)) reduction(max : mx)
    for (int64_t i = 0; i < count; i++) {
        float a = fabsf(x[i]);
        mx = a > mx ? a : mx;
    }
    return mx;
}

static int rescale_exponent(float maxabs) {
    if (maxabs > 0x1p32f || (maxabs > 0.0f && maxabs < 0x1p-32f)) return ilogbf(maxabs);
    return 0;
}

/* *out (count, to free) = x * 2^-e: exact (a value that becomes subnormal
 * may round, 2^-126 below the largest). */
static mfs_status scaled_copy(const char *fn, const float *x, int64_t count, int e, float **out) {
    MFS_TRY(mfs__alloc((void **)out, (size_t)count * sizeof(float), fn, "the rescaled copy of X"));
    const float f = ldexpf(1.0f, -e);
    float *o = *out;
#pragma omp parallel for simd schedule(static) num_threads(mfs__num_threads()) if (count > (1 << 20))
    for (int64_t i = 0; i < count; i++) o[i] = x[i] * f;
    return MFS_OK;
}

static void scale_in_place(float *x, int64_t count, int e) {
    const float f = ldexpf(1.0f, e);
    for (int64_t i = 0; i < count; i++) x[i] *= f;
}

/* For predict / transform: X checked for NaN and infinity (the vtable's
 * host/device_checks_finite: in the same pass that finds its largest value,
 * so X is read once for both), e from X and the centers together, and the
 * copies to use (*Xs, *Cs point at the originals when e == 0; free *bufx,
 * *bufc). */
static mfs_status rescale_for_apply(const char *fn, const float *X, int64_t n, int64_t d, const float *C,
                                    int64_t k, int *e, const float **Xs, const float **Cs, float **bufx,
                                    float **bufc) {
    *bufx = *bufc = NULL;
    *Xs = X;
    *Cs = C;
    float mx = 0.0f;
    int nan = 0;
#pragma omp parallel for simd schedule(static) num_threads(mfs__num_threads()) if (n * d > (1 << 20)) \
    reduction(max : mx) reduction(| : nan)
    for (int64_t i = 0; i < n * d; i++) {
        float a = fabsf(X[i]);
        mx = a > mx ? a : mx;
        nan |= a != a;
    }
    if (nan || isinf(mx))
        for (int64_t i = 0; i < n * d; i++)
            if (!isfinite(X[i])) return mfs__nonfinite_error(fn, "X", X, i, d);
    float mc = max_abs(C, k * d);
    *e = rescale_exponent(mx > mc ? mx : mc);
    if (*e == 0) return MFS_OK;
    MFS_TRY(scaled_copy(fn, X, n * d, *e, bufx));
    mfs_status s = scaled_copy(fn, C, k * d, *e, bufc);
    if (s != MFS_OK) {
        mfs__free(*bufx);
        *bufx = NULL;
        return s;
    }
    *Xs = *bufx;
    *Cs = *bufc;
    return MFS_OK;
}

/* The optional "sample_weight" input as float32 (the precision of the data
 * it scales) in *sw (n, to free), or *sw = NULL when it is absent or every
 * weight is 1 (then the fit is the unweighted one, bit for bit). */
static mfs_status read_weights(const mfs_model *m, int64_t n, float **sw) {
    *sw = NULL;
    if (!mfs__input_find(m, "sample_weight")) return MFS_OK;
    double *w64 = NULL;
    float *w = NULL;
    MFS_TRY(mfs__alloc((void **)&w64, (size_t)n * sizeof(double), FIT, "sample_weight"));
    mfs_status s = mfs__input_weights(m, FIT, "sample_weight", n, 0, "rows of X", w64, NULL);
    if (s == MFS_OK) s = mfs__alloc((void **)&w, (size_t)n * sizeof(float), FIT, "sample_weight");
    double total = 0.0;
    int ones = 1;
    for (int64_t i = 0; s == MFS_OK && i < n; i++) {
        w[i] = (float)w64[i];
        if (!isfinite(w[i]))
            s = mfs__error(MFS_E_VALUE, "%s: sample_weight[%lld] = %g does not fit in float32", FIT, (long long)i, w64[i]);
        total += (double)w[i];
        ones &= w[i] == 1.0f;
    }
    if (s == MFS_OK && !(total > 0.0))
        s = mfs__error(MFS_E_VALUE, "%s: sample_weight sums to 0; at least one weight must be > 0", FIT);
    mfs__free(w64);
    if (s != MFS_OK || ones) {
        mfs__free(w);
        return s;
    }
    *sw = w;
    return MFS_OK;
}

static mfs_status fit(mfs_model *m, const mfs_array *Xa, const mfs_array *ya) {
    (void)ya; /* unsupervised: y is ignored, as scikit-learn */
    const mfs_kmeans_params *p = (const mfs_kmeans_params *)m->params;
    const int64_t n = Xa->shape[0], d = Xa->shape[1], k = p->n_clusters;
    const float *X = (const float *)Xa->data;
    if (m->device == MFS_DEVICE_CUDA && mfs__input_find(m, "sample_weight"))
        return mfs__error(MFS_E_UNSUPPORTED, "%s: sample_weight is not supported on backend='cuda' yet; "
                          "fit on the CPU (backend='c')", FIT);
    if (k > n)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_clusters is %lld, X has only %lld samples (n_clusters must be <= n_samples)",
                          FIT, (long long)k, (long long)n);
    const mfs_tensor *init = NULL;
    if (p->init == MFS_KMEANS_INIT_ARRAY) {
        init = mfs__input_find(m, "init");
        if (!init)
            return mfs__error(MFS_E_INVALID_ARG, "%s: init is MFS_KMEANS_INIT_ARRAY but no 'init' array was given "
                              "(mfs_model_set_array(model, \"init\", (n_clusters, n_features) float32))", FIT);
        if (init->dtype != MFS_DTYPE_FLOAT32)
            return mfs__error(MFS_E_UNSUPPORTED, "%s: the 'init' array must be float32", FIT);
        if (init->ndim != 2 || init->shape[0] != k || init->shape[1] != d) {
            if (init->ndim != 2)
                return mfs__error(MFS_E_SHAPE, "%s: the 'init' array has %d dimensions, expected 2 (n_clusters=%lld, n_features=%lld)",
                                  FIT, (int)init->ndim, (long long)k, (long long)d);
            return mfs__error(MFS_E_SHAPE, "%s: the 'init' array has shape (%lld, %lld), expected (n_clusters=%lld, n_features=%lld)",
                              FIT, (long long)init->shape[0], (long long)init->shape[1], (long long)k, (long long)d);
        }
    }
    const int cuda = m->device == MFS_DEVICE_CUDA;
    /* an explicit init makes every run the same: one run, as scikit-learn */
    const int runs = p->init == MFS_KMEANS_INIT_ARRAY ? 1 : p->n_init;
    float *sw = NULL; /* (n) sample weights, or NULL: all 1 */
    MFS_TRY(read_weights(m, n, &sw));
    /* data whose squared distances leave float32's range run rescaled by 2^-e */
    float *Xcopy = NULL;
    float max_c = init ? max_abs((const float *)init->data, k * d) : 0.0f, max_x = max_abs(X, n * d);
    const int e = rescale_exponent(max_x > max_c ? max_x : max_c);
    if (e != 0) {
        mfs_status se = scaled_copy(FIT, X, n * d, e, &Xcopy);
        if (se != MFS_OK) {
            mfs__free(sw);
            return se;
        }
        X = Xcopy;
    }

    int64_t cshape[2] = {k, d}, lshape[1] = {n};
    float *best_c, *mean = NULL;
    int32_t *best_l, *best_it;
    double *best_in;
    mfs_status s = mfs__array_new(m, "cluster_centers", MFS_DTYPE_FLOAT32, 2, cshape, (void **)&best_c);
    if (s == MFS_OK) s = mfs__array_new(m, "labels", MFS_DTYPE_INT32, 1, lshape, (void **)&best_l);
    if (s == MFS_OK) s = mfs__array_new(m, "inertia", MFS_DTYPE_FLOAT64, 0, NULL, (void **)&best_in);
    if (s == MFS_OK) s = mfs__array_new(m, "n_iter", MFS_DTYPE_INT32, 0, NULL, (void **)&best_it);

    /* mean (d) f32, centers of a run (k, d), and with several runs its labels (n) */
    size_t bytes = (size_t)(d + k * d) * sizeof(float) + (runs > 1 ? (size_t)n * sizeof(int32_t) : 0);
    if (s == MFS_OK) s = mfs__alloc((void **)&mean, bytes, FIT, "the K-Means run buffers");
    if (s != MFS_OK) {
        mfs__free(sw);
        mfs__free(Xcopy);
        return s;
    }
    float *cc = mean + d;
    int32_t *cl = runs > 1 ? (int32_t *)(cc + k * d) : best_l;
    double tol_abs = 0.0;
    if (cuda && p->tol > 0.0) {
        /* the GPU takes tol absolute; the CPU path gets it from its first pass */
        double mean_var;
        s = column_stats(X, n, d, mean, &mean_var);
        tol_abs = p->tol * mean_var;
    }
    for (int32_t run = 0; s == MFS_OK && run < runs; run++) {
        mfs_rng rng = mfs_rng_make((uint64_t)p->random_state, (uint64_t)run);
        if (init) {
            memcpy(cc, init->data, (size_t)(k * d) * sizeof(float));
            if (e != 0) scale_in_place(cc, k * d, -e);
        }
        else if (p->init == MFS_KMEANS_INIT_RANDOM)
            s = sw ? random_init_weighted(X, sw, n, d, k, &rng, cc) : random_init(X, n, d, k, &rng, cc);
        else s = kmeans_pp(X, sw, n, d, k, &rng, cc);
        if (s != MFS_OK) break;
        double inertia = 0.0;
        int32_t it = 0;
        if (cuda)
            s = mfs__kmeans_lloyd_cuda(X, n, d, k, p->max_iter, tol_abs, cc, cl, &inertia, &it, &m->mem);
        else
            s = lloyd_cpu(X, sw, n, d, k, p->max_iter, p->tol, cc, cl, &inertia, &it);
        if (s != MFS_OK) break;
        if (run == 0 || inertia < *best_in) {
            memcpy(best_c, cc, (size_t)(k * d) * sizeof(float));
            if (cl != best_l) memcpy(best_l, cl, (size_t)n * sizeof(int32_t));
            *best_in = inertia;
            *best_it = it;
        }
    }
    if (s == MFS_OK && e != 0) { /* back to the data's scale */
        scale_in_place(best_c, k * d, e);
        *best_in = ldexp(*best_in, 2 * e);
    }
    mfs__free(mean);
    mfs__free(sw);
    mfs__free(Xcopy);
    return s;
}

/* ---- predict / transform --------------------------------------------------------------- */

static mfs_status predict(const mfs_model *m, const mfs_array *Xa, mfs_array *out) {
    static const char fn[] = "mfs_predict";
    const mfs_tensor *ct = mfs__array_find(m, "cluster_centers");
    const int64_t n = Xa->shape[0], d = Xa->shape[1], k = ct->shape[0];
    const float *X0 = (const float *)Xa->data, *C0 = (const float *)ct->data, *X, *centers;
    int32_t *labels = (int32_t *)out->data;
    int e;
    float *bx, *bc; /* labels are scale-invariant: far out of float32's squared range, rescaled copies */
    MFS_TRY(rescale_for_apply(fn, X0, n, d, C0, k, &e, &X, &centers, &bx, &bc));
    if (m->device == MFS_DEVICE_CUDA) {
        mfs_status sc = mfs__kmeans_assign_cuda(X, n, d, centers, k, labels, NULL, (mfs_mem_counter *)&m->mem);
        mfs__free(bx);
        mfs__free(bc);
        return sc;
    }
    const int64_t kp = (k + VL - 1) / VL * VL;
    /* shift: the mean of sampled rows of X, as in fit */
    float *blk = NULL;
    void *scr = NULL;
    mfs_status sa = mfs__alloc((void **)&blk, (size_t)(d * kp + kp + d) * sizeof(float), fn, "the prediction buffers");
    if (sa != MFS_OK) {
        mfs__free(bx);
        mfs__free(bc);
        return sa;
    }
    float *shift = blk + d * kp + kp;
    sample_mean(X, n, d, shift);
    centers_t c = {k, kp, d, blk, blk + d * kp, shift, 0.0};
    centers_prepare(&c, centers);
    estep_t es;
    memset(&es, 0, sizeof es);
    es.X = X; es.n = n; es.d = d; es.k = k; es.c = &c; es.labels = labels; es.nt = mfs__num_threads();
    mfs_status s = estep_alloc(&es, 0, fn, &scr);
    if (s == MFS_OK) estep_run(&es);
    mfs__free(scr);
    mfs__free(blk);
    mfs__free(bx);
    mfs__free(bc);
    return s;
}

static mfs_status transform(const mfs_model *m, const mfs_array *Xa, mfs_array *out) {
    static const char fn[] = "mfs_transform";
    const mfs_tensor *ct = mfs__array_find(m, "cluster_centers");
    const int64_t n = Xa->shape[0], d = Xa->shape[1], k = ct->shape[0];
    const float *X, *centers;
    float *D = (float *)out->data;
    int e;
    float *bx, *bc; /* distances far out of float32's squared range: on rescaled copies, scaled back */
    MFS_TRY(rescale_for_apply(fn, (const float *)Xa->data, n, d, (const float *)ct->data, k, &e, &X, &centers,
                              &bx, &bc));
    mfs_status s = MFS_OK;
    if (m->device == MFS_DEVICE_CUDA) {
        int32_t *labels = NULL;
        s = mfs__alloc((void **)&labels, (size_t)n * sizeof(int32_t), fn, "labels");
        if (s == MFS_OK) s = mfs__kmeans_assign_cuda(X, n, d, centers, k, labels, D, (mfs_mem_counter *)&m->mem);
        mfs__free(labels);
    } else {
        /* explicit differences: a point near a center gets a small distance with
         * its own digits, not the remainder of two large norms */
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (n * k * d > 65536)
        for (int64_t i = 0; i < n; i++)
            for (int64_t q = 0; q < k; q++) D[i * k + q] = sqrtf(sqdist_row(X + i * d, centers + q * d, d));
    }
    if (s == MFS_OK && e != 0) scale_in_place(D, n * k, e);
    mfs__free(bx);
    mfs__free(bc);
    return s;
}

static mfs_status output_shape(const mfs_model *m, mfs_method method, int64_t rows,
                               mfs_dtype *dtype, int32_t *ndim, int64_t *shape) {
    const mfs_tensor *ct = mfs__array_find(m, "cluster_centers");
    if (method == MFS_METHOD_PREDICT) {
        *dtype = MFS_DTYPE_INT32;
        *ndim = 1;
        shape[0] = rows;
        return MFS_OK;
    }
    if (method == MFS_METHOD_TRANSFORM) {
        *dtype = MFS_DTYPE_FLOAT32;
        *ndim = 2;
        shape[0] = rows;
        shape[1] = ct ? ct->shape[0] : 0;
        return MFS_OK;
    }
    return mfs__error(MFS_E_UNSUPPORTED, "mfs_output_shape: kmeans has predict and transform only");
}

static mfs_status check_state(const mfs_model *m) {
    const mfs_kmeans_params *p = (const mfs_kmeans_params *)m->params;
    const mfs_tensor *c = mfs__array_get(m, "cluster_centers", MFS_DTYPE_FLOAT32, 2);
    if (!c) return mfs__error(MFS_E_FORMAT, "kmeans: 'cluster_centers' missing or not a float32 matrix");
    if (c->shape[0] != p->n_clusters)
        return mfs__error(MFS_E_FORMAT, "kmeans: 'cluster_centers' has %lld rows, n_clusters is %d",
                          (long long)c->shape[0], (int)p->n_clusters);
    if (c->shape[1] != m->n_features_in)
        return mfs__error(MFS_E_FORMAT, "kmeans: 'cluster_centers' has %lld columns, the model %lld features",
                          (long long)c->shape[1], (long long)m->n_features_in);
    const mfs_tensor *l = mfs__array_get(m, "labels", MFS_DTYPE_INT32, 1);
    if (!l) return mfs__error(MFS_E_FORMAT, "kmeans: 'labels' missing or not an int32 vector");
    const int32_t *lv = (const int32_t *)l->data;
    for (int64_t i = 0; i < l->shape[0]; i++)
        if (lv[i] < 0 || lv[i] >= p->n_clusters)
            return mfs__error(MFS_E_FORMAT, "kmeans: labels[%lld] is %d, n_clusters is %d", (long long)i, (int)lv[i],
                              (int)p->n_clusters);
    const mfs_tensor *in = mfs__array_get(m, "inertia", MFS_DTYPE_FLOAT64, 0);
    if (!in || !(*(const double *)in->data >= 0.0))
        return mfs__error(MFS_E_FORMAT, "kmeans: 'inertia' missing, not a float64 scalar, or negative");
    const mfs_tensor *it = mfs__array_get(m, "n_iter", MFS_DTYPE_INT32, 0);
    if (!it || *(const int32_t *)it->data < 0)
        return mfs__error(MFS_E_FORMAT, "kmeans: 'n_iter' missing, not an int32 scalar, or negative");
    return MFS_OK;
}

const mfs_model_vtable mfs__kmeans_vtable = {
    .kind = MFS_MODEL_KMEANS,
    .name = "kmeans",
    .params_size = sizeof(mfs_kmeans_params),
    .supervised = 0,
    .check_params = check_params,
    .fit = fit,
    .predict = predict,
    .transform = transform,
    .output_shape = output_shape,
    .check_state = check_state,
    /* predict and transform check X's values themselves, in the pass that
     * finds its largest value (rescale_for_apply) */
    .device_checks_finite = 1,
    .host_checks_finite = 1,
};
