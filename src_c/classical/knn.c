/* k-Nearest Neighbors: the fitted state is a copy of the training data; every
 * query finds the k nearest training rows and votes (classification) or
 * averages (regression).
 *
 * Two searches, one answer:
 *   brute   queries in blocks of QB rows (one block per thread at a time),
 *           training rows in blocks of TB; a (QB, TB) tile of ranking keys
 *           comes from the SGEMM (euclidean: ||t||^2 - 2 q.t, the query's
 *           ||q||^2 does not change the ranking; cosine: -q.t / ||t||) and a
 *           vectorized scan keeps each query's k best in a sorted list. The
 *           tile stays in L2; nothing of size (m, n) is ever allocated.
 *   kd_tree built at fit (median splits on the widest dimension, bounding
 *           boxes per node, sklearn's implicit layout), searched depth-first,
 *           nearer child first, pruning boxes farther than the k-th best.
 * Both end the same way: the k distances are recomputed exactly per pair (in
 * double, no ||x||^2 - 2 x.y + ||y||^2 cancellation) and the list is sorted
 * by (distance as returned, training index), so ties in distance always go
 * to the lower index. When the data sit far from the origin the euclidean
 * GEMM keys are computed on data centered on the training mean, which keeps
 * the float32 ranking accurate (distances do not change under a shift).
 *
 * Legend: n training rows, d features, m queries, k neighbors, K classes,
 * t regression targets. */
#include <math.h>
#include <string.h>
#include "core/internal.h"
#include "linalg/linalg.h"
#include "mfs/knn.h"
#include "src_cuda/cuda_api.h"
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

static const char FIT[] = "mfs_fit";

/* Block sizes (overridable for the experiments in dev/knn). */
#ifndef MFS_KNN_QB
#define MFS_KNN_QB 512 /* query rows per brute-force block */
#endif
#ifndef MFS_KNN_TB
#define MFS_KNN_TB 512 /* training rows per block: a (QB, TB) tile is 1 MiB, L2-resident */
#endif
enum {
    QB = MFS_KNN_QB,
    TB = MFS_KNN_TB,
    QCHUNK = 2048, /* queries per search: bounds the (chunk, k) neighbor lists */
    KD_MAX_D = 15  /* auto picks the k-d tree up to this many features */
};

void mfs_knn_params_default(mfs_knn_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->n_neighbors = 5;
    p->weights = MFS_KNN_WEIGHTS_UNIFORM;
    p->algorithm = MFS_KNN_ALGORITHM_AUTO;
    p->metric = MFS_KNN_METRIC_EUCLIDEAN;
    p->leaf_size = 30;
    p->task = MFS_KNN_TASK_CLASSIFICATION;
}

static mfs_status check_params(const void *params) {
    const mfs_knn_params *p = (const mfs_knn_params *)params;
    static const char fn[] = "mfs_model_create";
    if (p->n_neighbors < 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_neighbors is %d, it must be >= 1", fn, (int)p->n_neighbors);
    if (p->weights != MFS_KNN_WEIGHTS_UNIFORM && p->weights != MFS_KNN_WEIGHTS_DISTANCE)
        return mfs__error(MFS_E_INVALID_ARG, "%s: weights is %d, expected 0 (uniform) or 1 (distance)", fn, (int)p->weights);
    if (p->algorithm < MFS_KNN_ALGORITHM_AUTO || p->algorithm > MFS_KNN_ALGORITHM_KD_TREE)
        return mfs__error(MFS_E_INVALID_ARG, "%s: algorithm is %d, expected 0 (auto), 1 (brute) or 2 (kd_tree)", fn, (int)p->algorithm);
    if (p->metric < MFS_KNN_METRIC_EUCLIDEAN || p->metric > MFS_KNN_METRIC_CHEBYSHEV)
        return mfs__error(MFS_E_INVALID_ARG, "%s: metric is %d, expected 0 (euclidean), 1 (manhattan), 2 (cosine) "
                          "or 3 (chebyshev)", fn, (int)p->metric);
    if (p->algorithm == MFS_KNN_ALGORITHM_KD_TREE && p->metric == MFS_KNN_METRIC_COSINE)
        return mfs__error(MFS_E_INVALID_ARG, "%s: metric cosine is not a valid metric for kd_tree (not a true distance); use brute or auto", fn);
    if (p->leaf_size < 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: leaf_size is %d, it must be >= 1", fn, (int)p->leaf_size);
    if (p->task != MFS_KNN_TASK_CLASSIFICATION && p->task != MFS_KNN_TASK_REGRESSION)
        return mfs__error(MFS_E_INVALID_ARG, "%s: task is %d, expected 0 (classification) or 1 (regression)", fn, (int)p->task);
    return MFS_OK;
}

mfs_status mfs_knn_create(const mfs_knn_params *params, mfs_device device, mfs_model **out) {
    return mfs__model_new("mfs_knn_create", MFS_MODEL_KNN, params, sizeof *params, device, out);
}

static int use_tree(const mfs_knn_params *p, int64_t d) {
    if (p->metric == MFS_KNN_METRIC_COSINE) return 0;
    if (p->algorithm == MFS_KNN_ALGORITHM_KD_TREE) return 1;
    return p->algorithm == MFS_KNN_ALGORITHM_AUTO && d <= KD_MAX_D;
}

/* ---- distances and the top-k list ------------------------------------------ */

/* The distance as returned, exactly per pair: double accumulation, then float. */
static float pair_dist(const float *a, const float *b, int64_t d, int metric) {
    if (metric == MFS_KNN_METRIC_CHEBYSHEV) { /* exact in float: the largest |difference| */
        double s = 0;
        for (int64_t j = 0; j < d; j++) {
            const double g = fabs((double)a[j] - (double)b[j]);
            s = g > s ? g : s;
        }
        return (float)s;
    }
    if (metric == MFS_KNN_METRIC_MANHATTAN) {
        double s = 0;
        for (int64_t j = 0; j < d; j++) s += fabs((double)a[j] - (double)b[j]);
        return (float)s;
    }
    if (metric == MFS_KNN_METRIC_COSINE) {
        double ab = 0, aa = 0, bb = 0;
        for (int64_t j = 0; j < d; j++) {
            ab += (double)a[j] * b[j];
            aa += (double)a[j] * a[j];
            bb += (double)b[j] * b[j];
        }
        /* scikit-learn normalizes rows and leaves zero rows zero: similarity 0 */
        double v = (aa > 0 && bb > 0) ? 1.0 - ab / (sqrt(aa) * sqrt(bb)) : 1.0;
        return (float)(v < 0 ? 0 : v > 2 ? 2 : v);
    }
    double s = 0;
    for (int64_t j = 0; j < d; j++) {
        double t = (double)a[j] - (double)b[j];
        s += t * t;
    }
    return (float)sqrt(s);
}

/* Sorted list of the best (key, index) pairs: ascending key, ties by index.
 * Insert (v, j) if the list has room or (v, j) beats its last entry. */
static inline void topk_push(float *kv, int64_t *ki, int64_t *cnt, int64_t k, float v, int64_t j) {
    int64_t c = *cnt;
    if (c == k) {
        if (!(v < kv[k - 1] || (v == kv[k - 1] && j < ki[k - 1]))) return;
        c = k - 1;
    } else {
        (*cnt)++;
    }
    int64_t p = c;
    while (p > 0 && (kv[p - 1] > v || (kv[p - 1] == v && ki[p - 1] > j))) {
        kv[p] = kv[p - 1];
        ki[p] = ki[p - 1];
        p--;
    }
    kv[p] = v;
    ki[p] = j;
}

/* Keys c[j] * s[j] + b[j] of training rows t0 + j (j < tn, increasing index)
 * into one query's list. Most keys lose to the k-th best: 16 are compared
 * at once and only the winners reach the (scalar) insertion. */
static void select_row(const float *c, const float *s, const float *b, int64_t tn, int64_t t0,
                       float *kv, int64_t *ki, int64_t *cnt, int64_t k) {
    int64_t j = 0;
    for (; *cnt < k && j < tn; j++) topk_push(kv, ki, cnt, k, fmaf(c[j], s[j], b[j]), t0 + j);
#if defined(__AVX512F__)
    if (j < tn) {
        __m512 thr = _mm512_set1_ps(kv[k - 1]);
        for (; j + 16 <= tn; j += 16) {
            __m512 v = _mm512_fmadd_ps(_mm512_loadu_ps(c + j), _mm512_loadu_ps(s + j), _mm512_loadu_ps(b + j));
            __mmask16 mk = _mm512_cmp_ps_mask(v, thr, _CMP_LT_OQ);
            if (mk) {
                float tmp[16];
                _mm512_storeu_ps(tmp, v);
                while (mk) {
                    int l = __builtin_ctz((unsigned)mk);
                    mk &= (__mmask16)(mk - 1);
                    topk_push(kv, ki, cnt, k, tmp[l], t0 + j + l);
                }
                thr = _mm512_set1_ps(kv[k - 1]);
            }
        }
    }
#endif
    for (; j < tn; j++) {
        float v = fmaf(c[j], s[j], b[j]);
        if (v < kv[k - 1]) topk_push(kv, ki, cnt, k, v, t0 + j);
    }
}

/* The k best of one query's kc candidates by exact distance, sorted by
 * (distance, index). */
static void finalize_row(const float *q, const float *X, int64_t d, int metric, int64_t kc,
                         const int64_t *cand, int64_t k, float *dist, int64_t *idx) {
    int64_t cnt = 0;
    for (int64_t r = 0; r < kc; r++) topk_push(dist, idx, &cnt, k, pair_dist(q, X + cand[r] * d, d, metric), cand[r]);
}

/* Candidates kept by brute force per query: k plus a margin, so that points
 * whose float32 keys straddle the k-th place (near-ties, rounding of the GEMM
 * form) are decided by the exact distance and the index. */
static int64_t n_candidates(int64_t k, int64_t n) {
    int64_t kc = k + 8 + (k < 16 ? k : 16);
    return kc < n ? kc : n;
}

/* ---- the search context ------------------------------------------------------ */

typedef struct knn_ctx {
    const float *X; /* (n, d) training rows */
    int64_t n, d;
    int metric;
    mfs_device device;
    /* the k-d tree, or idx == NULL */
    const int64_t *tree_idx;
    const float *tree_bounds; /* (2, nodes, d): lower then upper corners */
    int64_t nodes;
} knn_ctx;

/* Levels of the k-d tree, as scikit-learn: 1 + floor(log2(max(1, (n-1)/leaf))). */
static int tree_levels(int64_t n, int64_t leaf) {
    int64_t q = (n - 1) / leaf;
    int lv = 1;
    while (q > 1 && lv < 48) { q >>= 1; lv++; }
    return lv;
}

/* ---- brute force --------------------------------------------------------------- */

/* Per-call precomputation of brute force: per training row the key's scale s
 * and bias b, and for euclidean the centering (mean, or NULL). */
typedef struct brute_prep {
    float *s, *b;
    float *mean;
} brute_prep;

static mfs_status brute_prepare(const char *fn, const knn_ctx *c, brute_prep *bp) {
    const int64_t n = c->n, d = c->d;
    memset(bp, 0, sizeof *bp);
    MFS_TRY(mfs__alloc((void **)&bp->s, (size_t)(2 * n + d) * sizeof(float), fn, "the neighbor search keys"));
    bp->b = bp->s + n;
    float *mean = bp->b + n;
    const float *X = c->X;
    if (c->metric == MFS_KNN_METRIC_EUCLIDEAN) {
        /* center when the mean is large against the spread: keys ||t||^2 - 2 q.t
         * then stay of the size of the distances, not of ||x||^2 */
        double *mu = NULL;
        mfs_status s = mfs__alloc((void **)&mu, (size_t)d * sizeof(double), fn, "the training mean");
        if (s != MFS_OK) { mfs__free(bp->s); bp->s = NULL; return s; }
        double *var = NULL;
        s = mfs__alloc((void **)&var, (size_t)d * sizeof(double), fn, "the training variance");
        if (s != MFS_OK) { mfs__free(mu); mfs__free(bp->s); bp->s = NULL; return s; }
        mfs__col_mean(X, n, d, mu);
        for (int64_t j = 0; j < d; j++) var[j] = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < d; j++) {
                double t = X[i * d + j] - mu[j];
                var[j] += t * t;
            }
        double mu2 = 0, vsum = 0;
        for (int64_t j = 0; j < d; j++) {
            var[j] /= (double)n;
            mu2 += mu[j] * mu[j];
            vsum += var[j];
        }
        const int center = mu2 > vsum;
        /* The center is rounded to 1/16 of each feature's power-of-two spread:
         * a shift by a number with few mantissa bits keeps exact data exact
         * (integers stay multiples of 1/16, their keys exact, so their ties
         * stay ties) at no cost to the cancellation it removes. */
        for (int64_t j = 0; j < d; j++) {
            double c = mu[j];
            if (var[j] > 0) {
                double g = ldexp(1.0, (int)floor(log2(sqrt(var[j]))) - 4);
                c = nearbyint(mu[j] / g) * g;
            }
            mean[j] = center ? (float)c : 0.0f;
        }
        mfs__free(mu);
        mfs__free(var);
        bp->mean = center ? mean : NULL;
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (n * d > (1 << 20))
        for (int64_t i = 0; i < n; i++) {
            double acc = 0;
            for (int64_t j = 0; j < d; j++) {
                float t = X[i * d + j] - mean[j]; /* the value the GEMM sees */
                acc += (double)t * t;
            }
            bp->s[i] = 1.0f;
            bp->b[i] = (float)acc;
        }
    } else if (c->metric == MFS_KNN_METRIC_COSINE) {
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (n * d > (1 << 20))
        for (int64_t i = 0; i < n; i++) {
            double acc = 0;
            for (int64_t j = 0; j < d; j++) acc += (double)X[i * d + j] * X[i * d + j];
            bp->s[i] = acc > 0 ? (float)(1.0 / sqrt(acc)) : 0.0f;
            bp->b[i] = 0.0f;
        }
    } else {
        for (int64_t i = 0; i < n; i++) { bp->s[i] = 1.0f; bp->b[i] = 0.0f; }
    }
    return MFS_OK;
}

/* C (qn, tn) = sum_j |Q[r, j] - T[i, j]| (manhattan has no GEMM form). */
static void l1_tile(const float *Q, int64_t qn, const float *T, int64_t tn, int64_t d, float *C) {
    for (int64_t r = 0; r < qn; r++)
        for (int64_t i = 0; i < tn; i++) {
            const float *q = Q + r * d, *t = T + i * d;
            float acc = 0;
            for (int64_t j = 0; j < d; j++) acc += fabsf(q[j] - t[j]);
            C[r * tn + i] = acc;
        }
}

/* C (qn, tn) = max_j |Q[r, j] - T[i, j]|, in double then rounded as pair_dist
 * rounds it (chebyshev has no GEMM form either). */
static void linf_tile(const float *Q, int64_t qn, const float *T, int64_t tn, int64_t d, float *C) {
    for (int64_t r = 0; r < qn; r++)
        for (int64_t i = 0; i < tn; i++) {
            const float *q = Q + r * d, *t = T + i * d;
            double acc = 0;
            for (int64_t j = 0; j < d; j++) {
                const double g = fabs((double)q[j] - (double)t[j]);
                acc = g > acc ? g : acc;
            }
            C[r * tn + i] = (float)acc;
        }
}

static void center_rows(const float *A, int64_t rows, int64_t d, const float *mean, float *out) {
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < d; j++) out[i * d + j] = A[i * d + j] - mean[j];
}

/* The k candidates of each query by ranking key (ties by index): cand (m, k). */
static mfs_status brute_candidates(const char *fn, const knn_ctx *c, const brute_prep *bp,
                                   const float *Q, int64_t m, int64_t k, int64_t *cand) {
    const int64_t n = c->n, d = c->d;
    int nt = mfs__num_threads();
    if (nt < 1 || (double)m * (double)n * (double)d < 1e7) nt = 1; /* a parallel region costs more */
    /* at least one query block per thread when there are few queries */
    int64_t qb = QB;
    if (m < (int64_t)nt * qb) qb = (m + nt - 1) / nt;
    if (qb < 1) qb = 1;
    const int64_t nqb = (m + qb - 1) / qb;
    if (nt > nqb) nt = (int)nqb;
    const int64_t tb = n < TB ? n : TB;
    const int center = bp->mean != NULL;
    /* per thread: the key tile, the lists, and the centered blocks */
    const size_t per = (size_t)(qb * tb) + (size_t)(qb * k) + (center ? (size_t)((qb + tb) * d) : 0);
    float *buf = NULL;
    int64_t *lists = NULL;
    MFS_TRY(mfs__alloc((void **)&buf, per * (size_t)nt * sizeof(float), fn, "the distance tiles"));
    mfs_status s0 = mfs__alloc((void **)&lists, (size_t)(qb * k) * (size_t)nt * sizeof(int64_t), fn, "the neighbor lists");
    if (s0 != MFS_OK) { mfs__free(buf); return s0; }
    mfs_mem_counter *counter = mfs__scope_counter();
    mfs_status status = MFS_OK;
    const float alpha = c->metric == MFS_KNN_METRIC_EUCLIDEAN ? -2.0f : -1.0f;

#pragma omp parallel num_threads(nt)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        mfs_mem_counter *prev = mfs__scope_enter(counter);
        float *C = buf + per * (size_t)tid, *kv = C + qb * tb;
        float *Qc = kv + qb * k, *Tc = Qc + qb * d;
        int64_t *ki = lists + (size_t)(qb * k) * (size_t)tid;
        int64_t cnt[QB];
#pragma omp for schedule(dynamic, 1)
        for (int64_t bq = 0; bq < nqb; bq++) {
            mfs_status st;
#pragma omp atomic read
            st = status;
            if (st != MFS_OK) continue;
            const int64_t q0 = bq * qb, qn = m - q0 < qb ? m - q0 : qb;
            const float *Qb = Q + q0 * d;
            if (center) { center_rows(Qb, qn, d, bp->mean, Qc); Qb = Qc; }
            for (int64_t r = 0; r < qn; r++) cnt[r] = 0;
            for (int64_t t0 = 0; t0 < n; t0 += tb) {
                const int64_t tn = n - t0 < tb ? n - t0 : tb;
                const float *Tb = c->X + t0 * d;
                if (center) { center_rows(Tb, tn, d, bp->mean, Tc); Tb = Tc; }
                if (c->metric == MFS_KNN_METRIC_MANHATTAN) {
                    l1_tile(Qb, qn, Tb, tn, d, C);
                } else if (c->metric == MFS_KNN_METRIC_CHEBYSHEV) {
                    linf_tile(Qb, qn, Tb, tn, d, C);
                } else {
                    /* nested in this parallel region: the GEMM runs on this thread */
                    st = mfs__sgemm(0, 1, qn, tn, d, alpha, Qb, d, Tb, d, 0.0f, C, tn);
                    if (st != MFS_OK) {
#pragma omp atomic write
                        status = st;
                        break;
                    }
                }
                for (int64_t r = 0; r < qn; r++)
                    select_row(C + r * tn, bp->s + t0, bp->b + t0, tn, t0, kv + r * k, ki + r * k, &cnt[r], k);
            }
            for (int64_t r = 0; r < qn; r++) memcpy(cand + (q0 + r) * k, ki + r * k, (size_t)k * sizeof(int64_t));
        }
        mfs__scope_leave(prev);
    }
    mfs__free(buf);
    mfs__free(lists);
    return status;
}

/* ---- the k-d tree -------------------------------------------------------------- */

/* Reorder idx[0..len) so that idx[kth] has the kth smallest X[., dim] (ties by
 * index, a strict total order: deterministic and fast on repeated values), the
 * ones before not larger, the ones after not smaller. */
static inline int kd_less(const float *X, int64_t d, int64_t dim, int64_t a, int64_t b) {
    float va = X[a * d + dim], vb = X[b * d + dim];
    return va < vb || (va == vb && a < b);
}

static void kd_select(const float *X, int64_t d, int64_t dim, int64_t *idx, int64_t len, int64_t kth) {
    int64_t lo = 0, hi = len - 1;
    while (hi > lo) {
        /* median of three as pivot, moved to hi */
        int64_t mid = lo + (hi - lo) / 2;
        if (kd_less(X, d, dim, idx[mid], idx[lo])) { int64_t t = idx[mid]; idx[mid] = idx[lo]; idx[lo] = t; }
        if (kd_less(X, d, dim, idx[hi], idx[lo])) { int64_t t = idx[hi]; idx[hi] = idx[lo]; idx[lo] = t; }
        if (kd_less(X, d, dim, idx[mid], idx[hi])) { int64_t t = idx[mid]; idx[mid] = idx[hi]; idx[hi] = t; }
        const int64_t pivot = idx[hi];
        int64_t store = lo;
        for (int64_t i = lo; i < hi; i++)
            if (kd_less(X, d, dim, idx[i], pivot)) { int64_t t = idx[i]; idx[i] = idx[store]; idx[store] = t; store++; }
        idx[hi] = idx[store];
        idx[store] = pivot;
        if (store == kth) return;
        if (kth < store) hi = store - 1;
        else lo = store + 1;
    }
}

/* Build: node i covers idx[start, end); its children 2i+1, 2i+2 split it at
 * the middle position, on the dimension of largest spread. */
static mfs_status tree_build(mfs_model *m, const float *X, int64_t n, int64_t d, int64_t leaf) {
    const int lv = tree_levels(n, leaf);
    const int64_t nodes = ((int64_t)1 << lv) - 1, first_leaf = nodes / 2;
    int64_t *idx;
    float *B;
    int64_t bshape[3] = {2, nodes, d};
    MFS_TRY(mfs__array_new(m, "tree_idx", MFS_DTYPE_INT64, 1, &n, (void **)&idx));
    MFS_TRY(mfs__array_new(m, "tree_bounds", MFS_DTYPE_FLOAT32, 3, bshape, (void **)&B));
    int64_t *range = NULL;
    MFS_TRY(mfs__alloc((void **)&range, (size_t)(2 * nodes) * sizeof(int64_t), FIT, "the k-d tree"));
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    range[0] = 0;
    range[1] = n;
    for (int64_t node = 0; node < nodes; node++) {
        const int64_t s = range[2 * node], e = range[2 * node + 1];
        float *lo = B + node * d, *hi = B + (nodes + node) * d;
        for (int64_t j = 0; j < d; j++) { lo[j] = INFINITY; hi[j] = -INFINITY; }
        for (int64_t p = s; p < e; p++) {
            const float *x = X + idx[p] * d;
            for (int64_t j = 0; j < d; j++) {
                lo[j] = x[j] < lo[j] ? x[j] : lo[j];
                hi[j] = x[j] > hi[j] ? x[j] : hi[j];
            }
        }
        if (node >= first_leaf) continue;
        int64_t dim = 0;
        float best = -1;
        for (int64_t j = 0; j < d; j++)
            if (e > s && hi[j] - lo[j] > best) { best = hi[j] - lo[j]; dim = j; }
        const int64_t mid = s + (e - s) / 2;
        if (e - s > 1) kd_select(X, d, dim, idx + s, e - s, mid - s);
        range[2 * (2 * node + 1)] = s;
        range[2 * (2 * node + 1) + 1] = mid;
        range[2 * (2 * node + 2)] = mid;
        range[2 * (2 * node + 2) + 1] = e;
    }
    mfs__free(range);
    return MFS_OK;
}

/* Lower bound of the distance from q to the box of node, in returned units
 * (every step is monotone in the per-dimension gaps, so it never exceeds the
 * distance to a point inside as computed by pair_dist). */
static float box_dist(const knn_ctx *c, int64_t node, const float *q) {
    const int64_t d = c->d;
    const float *lo = c->tree_bounds + node * d, *hi = c->tree_bounds + (c->nodes + node) * d;
    double s = 0;
    for (int64_t j = 0; j < d; j++) {
        double g = (double)lo[j] - q[j], g2 = (double)q[j] - hi[j];
        g = g > g2 ? g : g2;
        if (g <= 0) continue;
        if (c->metric == MFS_KNN_METRIC_CHEBYSHEV) s = g > s ? g : s;
        else s += c->metric == MFS_KNN_METRIC_MANHATTAN ? g : g * g;
    }
    return c->metric == MFS_KNN_METRIC_EUCLIDEAN ? (float)sqrt(s) : (float)s;
}

static void tree_query(const knn_ctx *c, const float *q, int64_t k, float *kv, int64_t *ki) {
    struct { int64_t node, s, e; float mind; } stack[128];
    const int64_t first_leaf = c->nodes / 2;
    int top = 0;
    int64_t cnt = 0;
    stack[top].node = 0; stack[top].s = 0; stack[top].e = c->n; stack[top].mind = box_dist(c, 0, q); top++;
    while (top > 0) {
        top--;
        const int64_t node = stack[top].node, s = stack[top].s, e = stack[top].e;
        /* equal is visited: a point there could tie with a lower index */
        if (cnt == k && stack[top].mind > kv[k - 1]) continue;
        if (node >= first_leaf) {
            for (int64_t p = s; p < e; p++) {
                const int64_t j = c->tree_idx[p];
                topk_push(kv, ki, &cnt, k, pair_dist(q, c->X + j * c->d, c->d, c->metric), j);
            }
            continue;
        }
        const int64_t mid = s + (e - s) / 2, l = 2 * node + 1, r = l + 1;
        const float dl = box_dist(c, l, q), dr = box_dist(c, r, q);
        /* push the farther child first: the nearer is searched first */
        const int near_left = dl <= dr;
        stack[top].node = near_left ? r : l; stack[top].s = near_left ? mid : s;
        stack[top].e = near_left ? e : mid; stack[top].mind = near_left ? dr : dl; top++;
        stack[top].node = near_left ? l : r; stack[top].s = near_left ? s : mid;
        stack[top].e = near_left ? mid : e; stack[top].mind = near_left ? dl : dr; top++;
    }
}

/* ---- the search ------------------------------------------------------------------ */

/* dist, idx (m, k): the k nearest training rows of each query row of Q (m, d).
 * The caller has checked 1 <= k <= n. */
static mfs_status search(const char *fn, const knn_ctx *c, const brute_prep *bp, const float *Q,
                         int64_t m, int64_t k, float *dist, int64_t *idx) {
    if (m == 0) return MFS_OK;
    if (c->tree_idx && c->device == MFS_DEVICE_CPU) {
#pragma omp parallel for schedule(dynamic, 16) num_threads(mfs__num_threads()) if (m * c->d * 64 > (1 << 20))
        for (int64_t i = 0; i < m; i++) tree_query(c, Q + i * c->d, k, dist + i * k, idx + i * k);
        return MFS_OK;
    }
    int64_t *cand = NULL;
    const int64_t kc = n_candidates(k, c->n);
    MFS_TRY(mfs__alloc((void **)&cand, (size_t)(m * kc) * sizeof(int64_t), fn, "the neighbor candidates"));
    mfs_status s;
    if (c->device == MFS_DEVICE_CUDA && c->metric != MFS_KNN_METRIC_CHEBYSHEV) /* chebyshev: the CPU's */
        s = mfs__knn_candidates_cuda(c->X, c->n, Q, m, c->d, c->metric, bp->mean, kc, cand, mfs__scope_counter());
    else
        s = brute_candidates(fn, c, bp, Q, m, kc, cand);
    if (s == MFS_OK) {
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (m * kc * c->d > (1 << 20))
        for (int64_t i = 0; i < m; i++)
            finalize_row(Q + i * c->d, c->X, c->d, c->metric, kc, cand + i * kc, k, dist + i * k, idx + i * k);
    }
    mfs__free(cand);
    return s;
}

/* A search context over the model's fitted arrays (check_state vouched for them). */
static mfs_status ctx_open(const char *fn, const mfs_model *m, knn_ctx *c, brute_prep *bp) {
    const mfs_knn_params *p = (const mfs_knn_params *)m->params;
    const mfs_tensor *X = mfs__array_find(m, "fit_X");
    memset(c, 0, sizeof *c);
    memset(bp, 0, sizeof *bp);
    c->X = (const float *)X->data;
    c->n = X->shape[0];
    c->d = X->shape[1];
    c->metric = p->metric;
    c->device = m->device;
    const mfs_tensor *ti = mfs__array_find(m, "tree_idx"), *tb = mfs__array_find(m, "tree_bounds");
    if (ti && tb && p->metric != MFS_KNN_METRIC_COSINE) {
        c->tree_idx = (const int64_t *)ti->data;
        c->tree_bounds = (const float *)tb->data;
        c->nodes = tb->shape[1];
    }
    if (!c->tree_idx || c->device == MFS_DEVICE_CUDA) MFS_TRY(brute_prepare(fn, c, bp));
    return MFS_OK;
}

static void ctx_close(brute_prep *bp) { mfs__free(bp->s); }

/* ---- fit ---------------------------------------------------------------------------- */

static mfs_status fit(mfs_model *m, const mfs_array *Xa, const mfs_array *ya) {
    const mfs_knn_params *p = (const mfs_knn_params *)m->params;
    const int64_t n = Xa->shape[0], d = Xa->shape[1];
    int64_t shape[2] = {n, d};
    float *X;
    if (m->device == MFS_DEVICE_CUDA && p->metric == MFS_KNN_METRIC_CHEBYSHEV)
        return mfs__error(MFS_E_UNSUPPORTED, "%s: metric chebyshev is CPU only (the CUDA kernels compute euclidean, "
                          "manhattan and cosine distances); use the CPU device", FIT);
    if (p->task == MFS_KNN_TASK_CLASSIFICATION) {
        MFS_TRY(mfs__check_labels(FIT, ya, n, INT32_MAX));
        const int32_t *y = (const int32_t *)ya->data;
        int32_t K = 0, *yc, *nc;
        for (int64_t i = 0; i < n; i++) K = y[i] + 1 > K ? y[i] + 1 : K;
        MFS_TRY(mfs__array_new(m, "y", MFS_DTYPE_INT32, 1, &n, (void **)&yc));
        memcpy(yc, y, (size_t)n * sizeof(int32_t));
        MFS_TRY(mfs__array_new(m, "n_classes", MFS_DTYPE_INT32, 0, NULL, (void **)&nc));
        *nc = K;
    } else {
        int64_t t;
        float *yc;
        MFS_TRY(mfs__check_targets(FIT, ya, n, &t));
        int64_t ys[2] = {n, t};
        MFS_TRY(mfs__array_new(m, "y", MFS_DTYPE_FLOAT32, ya->ndim, ys, (void **)&yc));
        memcpy(yc, ya->data, (size_t)(n * t) * sizeof(float));
    }
    /* the training data are the fitted state: copied, never borrowed */
    MFS_TRY(mfs__array_new(m, "fit_X", MFS_DTYPE_FLOAT32, 2, shape, (void **)&X));
    memcpy(X, Xa->data, (size_t)(n * d) * sizeof(float));
    if (use_tree(p, d)) MFS_TRY(tree_build(m, X, n, d, p->leaf_size));
    return MFS_OK;
}

/* ---- predict ---------------------------------------------------------------------------- */

/* Neighbor weights of one query (k distances): 1, or 1/dist with scikit-learn's
 * rule for zero distances (only those count, each 1). */
static void weights_row(int mode, const float *dist, int64_t k, double *w) {
    if (mode == MFS_KNN_WEIGHTS_UNIFORM) {
        for (int64_t r = 0; r < k; r++) w[r] = 1.0;
        return;
    }
    int zero = 0;
    for (int64_t r = 0; r < k; r++) zero |= dist[r] == 0.0f;
    for (int64_t r = 0; r < k; r++) w[r] = zero ? (dist[r] == 0.0f ? 1.0 : 0.0) : 1.0 / (double)dist[r];
}

/* method PREDICT or PREDICT_PROBA for any task. */
static mfs_status run(const char *fn, const mfs_model *m, mfs_method method, const mfs_array *Xa, mfs_array *out) {
    const mfs_knn_params *p = (const mfs_knn_params *)m->params;
    const mfs_tensor *yt = mfs__array_find(m, "y");
    knn_ctx c;
    brute_prep bp;
    const int64_t mq = Xa->shape[0], k = p->n_neighbors;
    MFS_TRY(ctx_open(fn, m, &c, &bp));
    if (k > c.n) {
        ctx_close(&bp);
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_neighbors is %lld, the model was fitted on %lld samples; "
                          "n_neighbors must be <= n_samples", fn, (long long)k, (long long)c.n);
    }
    const int64_t K = p->task == MFS_KNN_TASK_CLASSIFICATION ? *(const int32_t *)mfs__array_find(m, "n_classes")->data : 0;
    const int64_t t = p->task == MFS_KNN_TASK_REGRESSION ? (yt->ndim == 1 ? 1 : yt->shape[1]) : 0;
    const int64_t chunk = mq < QCHUNK ? mq : QCHUNK;
    float *dist = NULL;
    int64_t *idx = NULL;
    double *w = NULL;
    mfs_status s = mfs__alloc((void **)&dist, (size_t)(chunk * k) * sizeof(float), fn, "neighbor distances");
    if (s == MFS_OK) s = mfs__alloc((void **)&idx, (size_t)(chunk * k) * sizeof(int64_t), fn, "neighbor indices");
    if (s == MFS_OK) s = mfs__alloc((void **)&w, (size_t)(k + K + t) * sizeof(double), fn, "the votes");
    const float *X = (const float *)Xa->data;
    for (int64_t i0 = 0; s == MFS_OK && i0 < mq; i0 += chunk) {
        const int64_t cn = mq - i0 < chunk ? mq - i0 : chunk;
        s = search(fn, &c, &bp, X + i0 * c.d, cn, k, dist, idx);
        double *acc = w + k;
        for (int64_t i = 0; s == MFS_OK && i < cn; i++) {
            const int64_t *nb = idx + i * k;
            weights_row(p->weights, dist + i * k, k, w);
            if (p->task == MFS_KNN_TASK_CLASSIFICATION) {
                const int32_t *y = (const int32_t *)yt->data;
                double total = 0;
                for (int64_t q = 0; q < K; q++) acc[q] = 0;
                for (int64_t r = 0; r < k; r++) { acc[y[nb[r]]] += w[r]; total += w[r]; }
                if (method == MFS_METHOD_PREDICT) {
                    int64_t best = 0; /* ties: the lowest class index */
                    for (int64_t q = 1; q < K; q++) if (acc[q] > acc[best]) best = q;
                    ((int32_t *)out->data)[i0 + i] = (int32_t)best;
                } else {
                    float *o = (float *)out->data + (i0 + i) * K;
                    if (!(total > 0)) total = 1;
                    for (int64_t q = 0; q < K; q++) o[q] = (float)(acc[q] / total);
                }
            } else {
                const float *y = (const float *)yt->data;
                double total = 0;
                for (int64_t j = 0; j < t; j++) acc[j] = 0;
                for (int64_t r = 0; r < k; r++) {
                    total += w[r];
                    for (int64_t j = 0; j < t; j++) acc[j] += w[r] * y[nb[r] * t + j];
                }
                float *o = (float *)out->data + (i0 + i) * t;
                for (int64_t j = 0; j < t; j++) o[j] = (float)(acc[j] / total);
            }
        }
    }
    mfs__free(dist);
    mfs__free(idx);
    mfs__free(w);
    ctx_close(&bp);
    return s;
}

static mfs_status predict(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return run("mfs_predict", m, MFS_METHOD_PREDICT, X, out);
}

static mfs_status predict_proba(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    const mfs_knn_params *p = (const mfs_knn_params *)m->params;
    if (p->task != MFS_KNN_TASK_CLASSIFICATION)
        return mfs__error(MFS_E_UNSUPPORTED, "mfs_predict_proba: a knn regression model has no class probabilities");
    return run("mfs_predict_proba", m, MFS_METHOD_PREDICT_PROBA, X, out);
}

static mfs_status output_shape(const mfs_model *m, mfs_method method, int64_t rows,
                               mfs_dtype *dtype, int32_t *ndim, int64_t *shape) {
    const mfs_knn_params *p = (const mfs_knn_params *)m->params;
    const mfs_tensor *y = mfs__array_find(m, "y");
    shape[0] = rows;
    if (p->task == MFS_KNN_TASK_CLASSIFICATION) {
        if (method == MFS_METHOD_PREDICT) {
            *dtype = MFS_DTYPE_INT32;
            *ndim = 1;
            return MFS_OK;
        }
        if (method == MFS_METHOD_PREDICT_PROBA) {
            *dtype = MFS_DTYPE_FLOAT32;
            *ndim = 2;
            shape[1] = *(const int32_t *)mfs__array_find(m, "n_classes")->data;
            return MFS_OK;
        }
        return mfs__error(MFS_E_UNSUPPORTED, "mfs_output_shape: knn classification has predict and predict_proba only");
    }
    if (method != MFS_METHOD_PREDICT)
        return mfs__error(MFS_E_UNSUPPORTED, "mfs_output_shape: knn regression only predicts");
    *dtype = MFS_DTYPE_FLOAT32;
    *ndim = y->ndim;
    if (y->ndim == 2) shape[1] = y->shape[1];
    return MFS_OK;
}

static mfs_status check_state(const mfs_model *m) {
    const mfs_knn_params *p = (const mfs_knn_params *)m->params;
    const mfs_tensor *X = mfs__array_get(m, "fit_X", MFS_DTYPE_FLOAT32, 2);
    if (!X || X->shape[0] < 1 || X->shape[1] != m->n_features_in)
        return mfs__error(MFS_E_FORMAT, "knn: 'fit_X' missing, empty or not a float32 (n, %lld) matrix",
                          (long long)m->n_features_in);
    const int64_t n = X->shape[0], d = X->shape[1];
    if (!mfs__all_finite((const float *)X->data, n * d))
        return mfs__error(MFS_E_FORMAT, "knn: 'fit_X' contains NaN or infinity");
    const mfs_tensor *y = mfs__array_find(m, "y");
    if (p->task == MFS_KNN_TASK_CLASSIFICATION) {
        const mfs_tensor *nc = mfs__array_get(m, "n_classes", MFS_DTYPE_INT32, 0);
        if (!nc || *(const int32_t *)nc->data < 1)
            return mfs__error(MFS_E_FORMAT, "knn: 'n_classes' missing or < 1");
        const int32_t K = *(const int32_t *)nc->data;
        if (!y || y->dtype != MFS_DTYPE_INT32 || y->ndim != 1 || y->shape[0] != n)
            return mfs__error(MFS_E_FORMAT, "knn: 'y' must be int32 (%lld,) labels", (long long)n);
        const int32_t *v = (const int32_t *)y->data;
        int32_t top = -1;
        for (int64_t i = 0; i < n; i++) {
            if (v[i] < 0 || v[i] >= K)
                return mfs__error(MFS_E_FORMAT, "knn: y[%lld] = %d is not a class index below %d", (long long)i, (int)v[i], (int)K);
            top = v[i] > top ? v[i] : top;
        }
        /* fit writes max(y) + 1; anything else is not a file libmfs wrote */
        if (top + 1 != K)
            return mfs__error(MFS_E_FORMAT, "knn: 'n_classes' is %d, the labels go up to %d", (int)K, (int)top);
    } else {
        if (!y || y->dtype != MFS_DTYPE_FLOAT32 || (y->ndim != 1 && y->ndim != 2) || y->shape[0] != n ||
            (y->ndim == 2 && y->shape[1] < 1))
            return mfs__error(MFS_E_FORMAT, "knn: 'y' must be float32 (%lld,) or (%lld, t) targets", (long long)n, (long long)n);
    }
    const mfs_tensor *ti = mfs__array_find(m, "tree_idx"), *tb = mfs__array_find(m, "tree_bounds");
    if (!ti && !tb) return MFS_OK; /* no tree: brute force */
    const int64_t nodes = ((int64_t)1 << tree_levels(n, p->leaf_size)) - 1;
    if (!ti || ti->dtype != MFS_DTYPE_INT64 || ti->ndim != 1 || ti->shape[0] != n || !tb ||
        tb->dtype != MFS_DTYPE_FLOAT32 || tb->ndim != 3 || tb->shape[0] != 2 || tb->shape[1] != nodes || tb->shape[2] != d)
        return mfs__error(MFS_E_FORMAT, "knn: the k-d tree arrays do not match %lld samples, %lld features and leaf_size %d",
                          (long long)n, (long long)d, (int)p->leaf_size);
    unsigned char *seen = NULL;
    mfs_status s = mfs__alloc((void **)&seen, (size_t)n, "mfs_model_load", "checking the k-d tree");
    if (s != MFS_OK) return s;
    memset(seen, 0, (size_t)n);
    const int64_t *idx = (const int64_t *)ti->data;
    for (int64_t i = 0; i < n && s == MFS_OK; i++) {
        if (idx[i] < 0 || idx[i] >= n || seen[idx[i]])
            s = mfs__error(MFS_E_FORMAT, "knn: 'tree_idx' is not a permutation of 0..%lld", (long long)(n - 1));
        else
            seen[idx[i]] = 1;
    }
    mfs__free(seen);
    return s;
}

const mfs_model_vtable mfs__knn_vtable = {
    .kind = MFS_MODEL_KNN,
    .name = "knn",
    .params_size = sizeof(mfs_knn_params),
    .supervised = 1,
    .check_params = check_params,
    .fit = fit,
    .predict = predict,
    .predict_proba = predict_proba,
    .output_shape = output_shape,
    .check_state = check_state,
};

/* ---- mfs_kneighbors ------------------------------------------------------------------------ */

static mfs_status check_out(const char *fn, const char *name, const mfs_array *a, int64_t m, int64_t k, int is_idx) {
    if (!a) return MFS_OK;
    if (is_idx && a->dtype != MFS_DTYPE_INT64 && a->dtype != MFS_DTYPE_INT32)
        return mfs__error(MFS_E_UNSUPPORTED, "%s: %s must be int64 or int32, got dtype %d", fn, name, (int)a->dtype);
    const int64_t shape[2] = {m, k};
    return mfs__check_output(fn, a, is_idx ? a->dtype : MFS_DTYPE_FLOAT32, 2, shape);
}

mfs_status mfs_kneighbors(const mfs_model *m, const mfs_array *Xa, int32_t n_neighbors,
                          mfs_array *distances, mfs_array *indices) {
    static const char fn[] = "mfs_kneighbors";
    if (!m) return mfs__error(MFS_E_INVALID_ARG, "%s: model is NULL", fn);
    if (m->vt->kind != MFS_MODEL_KNN)
        return mfs__error(MFS_E_INVALID_ARG, "%s: the model is a %s model, not knn", fn, m->vt->name);
    if (!m->fitted)
        return mfs__error(MFS_E_NOT_FITTED, "%s: this knn model is not fitted yet; call mfs_fit first", fn);
    if (!distances && !indices)
        return mfs__error(MFS_E_INVALID_ARG, "%s: distances and indices are both NULL", fn);
    const mfs_knn_params *p = (const mfs_knn_params *)m->params;
    if (n_neighbors < 0)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_neighbors is %d, it must be >= 1 (or 0 for the model's %d)", fn,
                          (int)n_neighbors, (int)p->n_neighbors);
    const int64_t k = n_neighbors == 0 ? p->n_neighbors : n_neighbors;
    const mfs_tensor *fx = mfs__array_find(m, "fit_X");
    const int64_t n = fx->shape[0], d = fx->shape[1];
    int64_t mq = n, dq = d;
    if (Xa) {
        MFS_TRY(mfs__check_matrix(fn, "X", Xa, 0, &mq, &dq));
        if (dq != d)
            return mfs__error(MFS_E_SHAPE, "%s: X has %lld columns, the model was fitted on %lld", fn, (long long)dq, (long long)d);
        if (k > n)
            return mfs__error(MFS_E_INVALID_ARG, "%s: n_neighbors is %lld, the model was fitted on %lld samples; "
                              "n_neighbors must be <= n_samples", fn, (long long)k, (long long)n);
    } else if (k >= n) {
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_neighbors is %lld, the model was fitted on %lld samples; without X "
                          "(each sample is not its own neighbor) n_neighbors must be < n_samples", fn, (long long)k, (long long)n);
    }
    MFS_TRY(check_out(fn, "distances", distances, mq, k, 0));
    MFS_TRY(check_out(fn, "indices", indices, mq, k, 1));
    if (indices && indices->dtype == MFS_DTYPE_INT32 && n > INT32_MAX)
        return mfs__error(MFS_E_OVERFLOW, "%s: %lld training samples do not fit int32 indices", fn, (long long)n);
    if (m->device == MFS_DEVICE_CUDA) MFS_TRY(mfs__cuda_require(fn));
    if (mq == 0) return MFS_OK;

    mfs_mem_counter *prev = mfs__scope_enter((mfs_mem_counter *)&m->mem);
    const int self = Xa == NULL;
    const int64_t kq = k + self; /* the sample itself is found and dropped */
    const float *Q = self ? (const float *)fx->data : (const float *)Xa->data;
    const int64_t chunk = mq < QCHUNK ? mq : QCHUNK;
    knn_ctx c;
    brute_prep bp;
    float *dist = NULL;
    int64_t *idx = NULL;
    mfs_status s = ctx_open(fn, m, &c, &bp);
    if (s == MFS_OK) s = mfs__alloc((void **)&dist, (size_t)(chunk * kq) * sizeof(float), fn, "neighbor distances");
    if (s == MFS_OK) s = mfs__alloc((void **)&idx, (size_t)(chunk * kq) * sizeof(int64_t), fn, "neighbor indices");
    for (int64_t i0 = 0; s == MFS_OK && i0 < mq; i0 += chunk) {
        const int64_t cn = mq - i0 < chunk ? mq - i0 : chunk;
        s = search(fn, &c, &bp, Q + i0 * d, cn, kq, dist, idx);
        for (int64_t i = 0; s == MFS_OK && i < cn; i++) {
            const float *dr = dist + i * kq;
            const int64_t *ir = idx + i * kq;
            int64_t drop = -1;
            if (self) { /* scikit-learn: drop the sample itself, else the nearest */
                drop = 0;
                for (int64_t r = 0; r < kq; r++)
                    if (ir[r] == i0 + i) { drop = r; break; }
            }
            for (int64_t r = 0, o = 0; r < kq; r++) {
                if (r == drop) continue;
                const int64_t at = (i0 + i) * k + o++;
                if (distances) ((float *)distances->data)[at] = dr[r];
                if (indices) {
                    if (indices->dtype == MFS_DTYPE_INT64) ((int64_t *)indices->data)[at] = ir[r];
                    else ((int32_t *)indices->data)[at] = (int32_t)ir[r];
                }
            }
        }
    }
    mfs__free(dist);
    mfs__free(idx);
    ctx_close(&bp);
    mfs__scope_leave(prev);
    return s;
}
