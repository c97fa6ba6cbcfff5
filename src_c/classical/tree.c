/* The CART builder shared by decision_tree.c and random_forest.c (see tree.h):
 * scikit-learn's BestSplitter + DepthFirstTreeBuilder / BestFirstTreeBuilder
 * semantics, with two split finders.
 *
 * Letters: n training rows, d features, m rows of the node being split, ns rows
 * of weight > 0, K classes, T regression outputs, V = K or T values per node,
 * nb bins of a feature, S histogram slots per bin.
 *
 *  - EXACT: per node and feature, the (value, row) pairs of the node are
 *    gathered, sorted (LSD radix on the float's order-preserving bits) and
 *    scanned; a candidate threshold lies between two sorted values that differ
 *    by more than scikit-learn's FEATURE_THRESHOLD (1e-7, in float32) and is
 *    their midpoint x_lo/2 + x_hi/2 in double. The proxy improvement, the
 *    impurities and the improvement are computed with scikit-learn's formulas,
 *    term by term (with integer weights the sums are exact, so the numbers are
 *    bit for bit scikit-learn's).
 *  - HIST: X is binned once (mfs__tree_data_make) into at most 256 quantile bins
 *    per feature, codes stored feature-major as uint8. A large node builds
 *    per-feature histograms (S doubles per bin: count, then class weights or
 *    weight and target sums) and scans the bins; the larger child gets its
 *    histogram by subtraction (parent - smaller child), the right child keeping
 *    its one on the stack while the left subtree is built (a bounded pool). A
 *    small node sorts its codes instead (the same candidates: boundaries between
 *    occupied bins). A threshold between bins b and b + 1 is the midpoint of the
 *    largest training value of bin b and the smallest of bin b + 1.
 *
 * Ties: the first best in visiting order wins (strict >): positions in
 * ascending order; features in index order when every feature is visited
 * (scikit-learn visits them in a random order, so a tie between two features
 * can go the other way there), in the order drawn otherwise.
 * Parallelism: with max_features = d, the features of a large node are
 * evaluated by n_threads threads, each into its own result slot, reduced in
 * index order afterwards, so the tree does not depend on the thread count. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
/* No fused multiply-add: the impurity formulas must round as scikit-learn's. */
#pragma GCC optimize("fp-contract=off")
#endif
#include <float.h>
#include <math.h>
#include <string.h>
#include "classical/tree.h"
#include "core/rng.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define TREE_FEATURE_THRESHOLD 1e-7f /* scikit-learn's, a float32 constant */
static const double TREE_EPSILON = DBL_EPSILON;

enum {
    TREE_INSERTION_MAX = 48,    /* sort this many pairs or fewer by insertion */
    TREE_HIST_NODE_MIN = 2048,  /* HIST: nodes with fewer rows sort their codes */
    TREE_HIST_POOL = 6,         /* HIST: histogram buffers (2 working + up to 4 stored) */
    TREE_PAR_MIN = 1 << 14,     /* rows x features below which a node is serial */
    TREE_BIN_SAMPLE = 1 << 18   /* rows sampled to choose the bin edges */
};

static inline int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

int32_t mfs__tree_resolve_split(int32_t split_algorithm, int64_t n) {
    if (split_algorithm == MFS_TREE_SPLIT_AUTO)
        return n >= MFS_TREE_AUTO_HIST_MIN_SAMPLES ? MFS_TREE_SPLIT_HIST : MFS_TREE_SPLIT_EXACT;
    return split_algorithm;
}

/* ---- float keys and sorting ------------------------------------------------ */

/* An unsigned key with the order of the float (-0 sorts before +0; they are
 * equal values and never a boundary, as FEATURE_THRESHOLD > 0). */
static inline uint32_t float_key(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
static inline float key_float(uint32_t k) {
    uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static void insertion_sort(uint64_t *a, int64_t m) {
    for (int64_t i = 1; i < m; i++) {
        const uint64_t v = a[i];
        int64_t j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

/* Quicksort of uint64 values (median of three, insertion below a cutoff; the
 * smaller side first, so the stack stays O(log m)). */
static void quick_sort(uint64_t *a, int64_t m) {
    int64_t lo_st[64], hi_st[64];
    int sp = 0;
    int64_t lo = 0, hi = m - 1;
    for (;;) {
        while (hi - lo + 1 > TREE_INSERTION_MAX) {
            const int64_t mid = lo + (hi - lo) / 2;
            uint64_t x = a[lo], y = a[mid], z = a[hi], t;
            if (x > y) { t = x; x = y; y = t; }
            if (y > z) { t = y; y = z; z = t; }
            if (x > y) { t = x; x = y; y = t; }
            const uint64_t pivot = y;
            int64_t i = lo, j = hi;
            while (i <= j) {
                while (a[i] < pivot) i++;
                while (a[j] > pivot) j--;
                if (i <= j) {
                    t = a[i]; a[i] = a[j]; a[j] = t;
                    i++;
                    j--;
                }
            }
            /* push the larger side, loop on the smaller */
            if (j - lo < hi - i) {
                lo_st[sp] = i; hi_st[sp] = hi; sp++;
                hi = j;
            } else {
                lo_st[sp] = lo; hi_st[sp] = j; sp++;
                lo = i;
            }
        }
        if (hi > lo) insertion_sort(a + lo, hi - lo + 1);
        if (sp == 0) break;
        sp--;
        lo = lo_st[sp];
        hi = hi_st[sp];
    }
}

/* Sort pairs (key << 32 | row) by key: LSD radix over the key bytes lo..hi
 * (passes whose byte is the same everywhere are skipped) for large m, a
 * comparison sort of the whole pairs below. a and b are (m); returns the one
 * holding the result. Rows of equal keys end in an order that depends only on
 * the input order (so on nothing but the data). */
static uint64_t *sort_pairs(uint64_t *a, uint64_t *b, int64_t m, int lo, int hi) {
    const int np = hi - lo + 1;
    if (m <= TREE_INSERTION_MAX) {
        insertion_sort(a, m);
        return a;
    }
    if (m < 160 * np) { /* the radix passes' 256-bucket overhead would dominate */
        quick_sort(a, m);
        return a;
    }
    int64_t cnt[4][256];
    memset(cnt, 0, (size_t)np * sizeof cnt[0]);
    for (int64_t i = 0; i < m; i++) {
        const uint32_t k = (uint32_t)(a[i] >> 32);
        for (int q = 0; q < np; q++) cnt[q][(k >> (8 * (lo + q))) & 255u]++;
    }
    for (int q = 0; q < np; q++) {
        const int shift = 32 + 8 * (lo + q);
        if (cnt[q][(a[0] >> shift) & 255u] == m) continue; /* one bucket: nothing moves */
        int64_t off = 0;
        for (int v = 0; v < 256; v++) {
            const int64_t c = cnt[q][v];
            cnt[q][v] = off;
            off += c;
        }
        for (int64_t i = 0; i < m; i++) b[cnt[q][(a[i] >> shift) & 255u]++] = a[i];
        uint64_t *t = a;
        a = b;
        b = t;
    }
    return a;
}

/* ---- the tree arrays -------------------------------------------------------- */

void mfs__tree_free(mfs__tree *t) {
    if (!t) return;
    mfs__free(t->children_left);
    mfs__free(t->children_right);
    mfs__free(t->feature);
    mfs__free(t->threshold);
    mfs__free(t->value);
    mfs__free(t->impurity);
    mfs__free(t->n_node_samples);
    mfs__free(t->weighted_n_node_samples);
    memset(t, 0, sizeof *t);
}

/* Grow to at least `need` nodes (doubling). Allocations are charged to the scope
 * counter the builder entered. */
static mfs_status tree_reserve(const char *fn, mfs__tree *t, int64_t need) {
    if (need <= t->capacity) return MFS_OK;
    if (need > INT32_MAX) return mfs__error(MFS_E_OVERFLOW, "%s: the tree would have more than 2^31 - 1 nodes", fn);
    int64_t cap = t->capacity ? t->capacity : 63;
    while (cap < need) cap = 2 * cap + 1;
    if (cap > INT32_MAX) cap = INT32_MAX;
    const int64_t V = t->n_values;
    int32_t *cl = NULL, *cr = NULL, *ft = NULL;
    double *th = NULL, *val = NULL, *imp = NULL, *wns = NULL;
    int64_t *ns = NULL;
    mfs_status s;
    if ((s = mfs__alloc((void **)&cl, (size_t)cap * 4, fn, "the tree nodes")) != MFS_OK ||
        (s = mfs__alloc((void **)&cr, (size_t)cap * 4, fn, "the tree nodes")) != MFS_OK ||
        (s = mfs__alloc((void **)&ft, (size_t)cap * 4, fn, "the tree nodes")) != MFS_OK ||
        (s = mfs__alloc((void **)&th, (size_t)cap * 8, fn, "the tree nodes")) != MFS_OK ||
        (s = mfs__alloc((void **)&val, (size_t)(cap * V) * 8, fn, "the tree values")) != MFS_OK ||
        (s = mfs__alloc((void **)&imp, (size_t)cap * 8, fn, "the tree nodes")) != MFS_OK ||
        (s = mfs__alloc((void **)&ns, (size_t)cap * 8, fn, "the tree nodes")) != MFS_OK ||
        (s = mfs__alloc((void **)&wns, (size_t)cap * 8, fn, "the tree nodes")) != MFS_OK) {
        mfs__free(cl); mfs__free(cr); mfs__free(ft); mfs__free(th);
        mfs__free(val); mfs__free(imp); mfs__free(ns); mfs__free(wns);
        return s;
    }
    const size_t nn = (size_t)t->n_nodes;
    if (nn) {
        memcpy(cl, t->children_left, nn * 4);
        memcpy(cr, t->children_right, nn * 4);
        memcpy(ft, t->feature, nn * 4);
        memcpy(th, t->threshold, nn * 8);
        memcpy(val, t->value, nn * (size_t)V * 8);
        memcpy(imp, t->impurity, nn * 8);
        memcpy(ns, t->n_node_samples, nn * 8);
        memcpy(wns, t->weighted_n_node_samples, nn * 8);
    }
    mfs__free(t->children_left); mfs__free(t->children_right); mfs__free(t->feature);
    mfs__free(t->threshold); mfs__free(t->value); mfs__free(t->impurity);
    mfs__free(t->n_node_samples); mfs__free(t->weighted_n_node_samples);
    t->children_left = cl; t->children_right = cr; t->feature = ft; t->threshold = th;
    t->value = val; t->impurity = imp; t->n_node_samples = ns; t->weighted_n_node_samples = wns;
    t->capacity = cap;
    return MFS_OK;
}

/* ---- binning (HIST) -------------------------------------------------------- */

void mfs__tree_data_free(mfs__tree_data *data) {
    if (!data) return;
    mfs__free(data->codes);
    mfs__free(data->n_bins);
    mfs__free(data->bin_threshold);
    memset(data, 0, sizeof *data);
}

/* Bins of one feature: upper bounds ub (nb - 1) from a sorted sample of its
 * values (the distinct values when there are at most 256, else quantiles),
 * codes by binary search, then empty bins dropped and the thresholds between
 * neighbours set from the full data's extremes of each bin. keys: scratch
 * (2 * s) for the sample. */
static void bin_feature(const float *X, int64_t n, int64_t d, int64_t f, const int64_t *rows, int64_t s,
                        uint64_t *keys, uint8_t *codes, int32_t *n_bins, double *thr) {
    for (int64_t i = 0; i < s; i++) {
        const int64_t r = rows ? rows[i] : i;
        keys[i] = (uint64_t)float_key(X[r * d + f]) << 32;
    }
    const uint64_t *sorted = sort_pairs(keys, keys + s, s, 0, 3);
    /* distinct sorted values */
    float ub[MFS__TREE_MAX_BINS];
    int nb = 0;
    int64_t nu = 0;
    for (int64_t i = 0; i < s; i++)
        if (i == 0 || (sorted[i] >> 32) != (sorted[i - 1] >> 32)) nu++;
    if (nu <= MFS__TREE_MAX_BINS) {
        for (int64_t i = 0; i < s; i++)
            if (i == 0 || (sorted[i] >> 32) != (sorted[i - 1] >> 32)) ub[nb++] = key_float((uint32_t)(sorted[i] >> 32));
    } else {
        /* quantile cuts: bin b holds values <= the (b + 1)/256 quantile */
        for (int b = 0; b < MFS__TREE_MAX_BINS; b++) {
            int64_t q = ((int64_t)(b + 1) * s) / MFS__TREE_MAX_BINS - 1;
            if (q < 0) q = 0;
            const float v = key_float((uint32_t)(sorted[q] >> 32));
            if (nb == 0 || v > ub[nb - 1]) ub[nb++] = v;
        }
    }
    /* ub[nb - 1] is the sample's maximum: values above it join the last bin */
    float lo[MFS__TREE_MAX_BINS], hi[MFS__TREE_MAX_BINS];
    int64_t cnt[MFS__TREE_MAX_BINS];
    for (int b = 0; b < nb; b++) {
        lo[b] = INFINITY;
        hi[b] = -INFINITY;
        cnt[b] = 0;
    }
    uint8_t *code = codes + f * n;
    for (int64_t i = 0; i < n; i++) {
        const float x = X[i * d + f];
        int a = 0, z = nb - 1; /* first b with x <= ub[b], or nb - 1 */
        while (a < z) {
            const int mid = (a + z) >> 1;
            if (x <= ub[mid]) z = mid;
            else a = mid + 1;
        }
        code[i] = (uint8_t)a;
        cnt[a]++;
        if (x < lo[a]) lo[a] = x;
        if (x > hi[a]) hi[a] = x;
    }
    /* drop empty bins (possible when the edges came from a sample) */
    uint8_t remap[MFS__TREE_MAX_BINS];
    int kept = 0;
    for (int b = 0; b < nb; b++) {
        remap[b] = (uint8_t)(kept > 0 ? kept - 1 : 0);
        if (cnt[b] > 0) {
            remap[b] = (uint8_t)kept;
            lo[kept] = lo[b];
            hi[kept] = hi[b];
            kept++;
        }
    }
    if (kept != nb)
        for (int64_t i = 0; i < n; i++) code[i] = remap[code[i]];
    n_bins[f] = kept > 0 ? kept : 1;
    double *t = thr + f * MFS__TREE_MAX_BINS;
    for (int b = 0; b < MFS__TREE_MAX_BINS; b++) t[b] = INFINITY;
    for (int b = 0; b + 1 < kept; b++) {
        double m = (double)hi[b] / 2.0 + (double)lo[b + 1] / 2.0;
        if (m >= (double)lo[b + 1]) m = (double)hi[b];
        t[b] = m;
    }
}

mfs_status mfs__tree_data_make(const char *fn, const float *X, int64_t n, int64_t d, int32_t split_algorithm,
                               int32_t n_threads, mfs_mem_counter *mem, mfs__tree_data *data) {
    memset(data, 0, sizeof *data);
    if (!X || n < 1 || d < 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: the training data is empty (%lld x %lld)", fn, (long long)n,
                          (long long)d);
    if (n > INT32_MAX)
        return mfs__error(MFS_E_UNSUPPORTED, "%s: X has %lld rows; trees take at most 2^31 - 1", fn, (long long)n);
    data->n = n;
    data->d = d;
    data->X = X;
    data->mem = mem;
    data->split_algorithm = split_algorithm == MFS_TREE_SPLIT_HIST ? MFS_TREE_SPLIT_HIST : MFS_TREE_SPLIT_EXACT;
    if (data->split_algorithm != MFS_TREE_SPLIT_HIST) return MFS_OK;
    mfs_mem_counter *prev = mfs__scope_enter(mem);
    mfs_status s = MFS_OK;
    const int64_t ss = n < TREE_BIN_SAMPLE ? n : TREE_BIN_SAMPLE;
    int nt = n_threads < 1 ? 1 : n_threads;
    if (nt > d) nt = (int)d;
    if (n * d < (1 << 15)) nt = 1;
    int64_t *rows = NULL;
    uint64_t *keys = NULL;
    size_t codes_bytes;
    if (mfs__mul_overflows((size_t)n, (size_t)d, &codes_bytes)) {
        s = mfs__error(MFS_E_OVERFLOW, "%s: %lld x %lld bin codes overflow", fn, (long long)n, (long long)d);
        goto done;
    }
    if ((s = mfs__alloc((void **)&data->codes, codes_bytes, fn, "the bin codes")) != MFS_OK ||
        (s = mfs__alloc((void **)&data->n_bins, (size_t)d * 4, fn, "the bin counts")) != MFS_OK ||
        (s = mfs__alloc((void **)&data->bin_threshold, (size_t)(d * MFS__TREE_MAX_BINS) * 8, fn,
                        "the bin thresholds")) != MFS_OK ||
        (s = mfs__alloc((void **)&keys, (size_t)(2 * ss) * 8 * (size_t)nt, fn, "the binning scratch")) != MFS_OK)
        goto done;
    if (ss < n) {
        /* a fixed, seed-independent sample: the bins are a property of X */
        if ((s = mfs__alloc((void **)&rows, (size_t)ss * 8, fn, "the binning sample")) != MFS_OK) goto done;
        mfs_rng r = mfs_rng_make(0x62696e73ull /* "bins" */, 0);
        for (int64_t i = 0; i < ss; i++) rows[i] = (int64_t)mfs_rng_below(&r, (uint64_t)n);
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (nt > 1)
    for (int64_t f = 0; f < d; f++)
        bin_feature(X, n, d, f, rows, ss, keys + (size_t)(2 * ss) * (size_t)(nt > 1 ? thread_id() : 0), data->codes,
                    data->n_bins, data->bin_threshold);
done:
    mfs__free(rows);
    mfs__free(keys);
    mfs__scope_leave(prev);
    if (s != MFS_OK) mfs__tree_data_free(data);
    return s;
}

/* ---- the builder ------------------------------------------------------------ */

typedef struct tree_split {
    int32_t feature;  /* -1: none */
    int32_t bin;      /* HIST: left is code <= bin */
    int64_t n_left;
    double threshold;
    double proxy;
} tree_split;

typedef struct tree_scratch {
    uint64_t *pa, *pb;   /* (rows) sort pairs */
    double *sums;        /* (2 V) */
    double *hist;        /* HIST with max_features < d: one feature's histogram */
} tree_scratch;

typedef struct tree_builder {
    const char *fn;
    const mfs__tree_config *cfg;
    const mfs__tree_data *data;
    int64_t n, d, ns;
    int cls, hist;
    int32_t K, T, V, S;
    const int32_t *ylab;    /* (n) */
    const float *yreg;      /* (n, T) */
    const double *w;        /* (n) or NULL */
    double w_total;
    int32_t *samples, *tmp; /* (ns) */
    int32_t *features, *constant_features; /* (d) scikit-learn's bookkeeping */
    uint8_t *mark;          /* (d) */
    int32_t *flist;         /* (d) features of the node being evaluated */
    tree_split *fres;       /* (d) per-feature results */
    uint8_t *fconst;        /* (d) */
    int nt;
    tree_scratch *ts;       /* (nt) */
    int64_t *hoff;          /* (d + 1) HIST: offsets of each feature's histogram */
    double *pool[TREE_HIST_POOL];
    uint8_t pool_used[TREE_HIST_POOL];
    int pool_stored;        /* buffers held by stacked right children */
    mfs_rng rng;
    mfs__tree *tree;
} tree_builder;

static inline double weight_of(const tree_builder *b, int64_t i) { return b->w ? b->w[i] : 1.0; }

/* Weighted statistics of rows samples[start:end): total weight, per-value sums
 * (class weights or target sums) and, for regression, sum w y^2. */
static void node_stats(const tree_builder *b, int64_t start, int64_t end, double *sum, double *wn, double *sq) {
    const int32_t V = b->V;
    for (int32_t v = 0; v < V; v++) sum[v] = 0;
    double W = 0, Q = 0;
    for (int64_t p = start; p < end; p++) {
        const int32_t i = b->samples[p];
        const double wi = weight_of(b, i);
        W += wi;
        if (b->cls) {
            sum[b->ylab[i]] += wi;
        } else {
            const float *y = b->yreg + (int64_t)i * b->T;
            for (int32_t t = 0; t < b->T; t++) {
                const double yi = (double)y[t];
                sum[t] += wi * yi;
                Q += wi * yi * yi;
            }
        }
    }
    *wn = W;
    *sq = Q;
}

/* scikit-learn's node_impurity. */
static double node_impurity(const tree_builder *b, const double *sum, double wn, double sq) {
    if (b->cfg->criterion == MFS_TREE_CRITERION_GINI) {
        double q = 0;
        for (int32_t c = 0; c < b->K; c++) q += sum[c] * sum[c];
        return 1.0 - q / (wn * wn);
    }
    if (b->cfg->criterion == MFS_TREE_CRITERION_ENTROPY) {
        double e = 0;
        for (int32_t c = 0; c < b->K; c++) {
            double p = sum[c];
            if (p > 0.0) {
                p /= wn;
                e -= p * (log(p) / log(2.0));
            }
        }
        return e;
    }
    double imp = sq / wn;
    for (int32_t t = 0; t < b->T; t++) imp -= (sum[t] / wn) * (sum[t] / wn);
    return imp / b->T;
}

/* scikit-learn's children_impurity from the left sums (right = total - left). */
static void children_impurity(const tree_builder *b, const double *tot, double wn, double sq_tot,
                              const double *sl, double wl, double sq_l, double *il, double *ir) {
    const double wr = wn - wl;
    if (b->cfg->criterion == MFS_TREE_CRITERION_GINI) {
        double ql = 0, qr = 0;
        for (int32_t c = 0; c < b->K; c++) {
            const double r = tot[c] - sl[c];
            ql += sl[c] * sl[c];
            qr += r * r;
        }
        *il = 1.0 - ql / (wl * wl);
        *ir = 1.0 - qr / (wr * wr);
        return;
    }
    if (b->cfg->criterion == MFS_TREE_CRITERION_ENTROPY) {
        double el = 0, er = 0;
        for (int32_t c = 0; c < b->K; c++) {
            double p = sl[c];
            if (p > 0.0) {
                p /= wl;
                el -= p * (log(p) / log(2.0));
            }
            p = tot[c] - sl[c];
            if (p > 0.0) {
                p /= wr;
                er -= p * (log(p) / log(2.0));
            }
        }
        *il = el;
        *ir = er;
        return;
    }
    double l = sq_l / wl, r = (sq_tot - sq_l) / wr;
    for (int32_t t = 0; t < b->T; t++) {
        const double sr = tot[t] - sl[t];
        l -= (sl[t] / wl) * (sl[t] / wl);
        r -= (sr / wr) * (sr / wr);
    }
    *il = l / b->T;
    *ir = r / b->T;
}

/* scikit-learn's proxy_impurity_improvement (classification: through the
 * children impurities, as it does; regression: sum_l^2 / w_l + sum_r^2 / w_r). */
static inline double proxy_improvement(const tree_builder *b, const double *tot, double wn, const double *sl,
                                       double wl) {
    const double wr = wn - wl;
    if (b->cls) {
        double il, ir;
        children_impurity(b, tot, wn, 0.0, sl, wl, 0.0, &il, &ir);
        return -wr * ir - wl * il;
    }
    double pl = 0, pr = 0;
    for (int32_t t = 0; t < b->T; t++) {
        const double sr = tot[t] - sl[t];
        pl += sl[t] * sl[t];
        pr += sr * sr;
    }
    return pl / wl + pr / wr;
}

/* Scan sorted (key, row) pairs of one feature: candidates between neighbours
 * whose values differ (EXACT: by more than FEATURE_THRESHOLD in float32, as
 * scikit-learn; HIST codes: differ at all). best is updated on a strictly
 * larger proxy. thr: HIST thresholds of the feature (NULL for EXACT). */
static void scan_sorted(const tree_builder *b, int32_t f, const uint64_t *a, int64_t m, const double *tot,
                        double wn, const double *thr, double *sl, tree_split *best) {
    const int64_t msl = b->cfg->min_samples_leaf;
    const double mwl = b->cfg->min_weight_leaf;
    const int32_t V = b->V, T = b->T;
    for (int32_t v = 0; v < V; v++) sl[v] = 0;
    double wl = 0;
    const int64_t last = m - msl; /* n_left may not exceed it */
    for (int64_t p = 0; p + 1 < m && p < last; p++) {
        const int32_t i = (int32_t)(uint32_t)a[p];
        const double wi = weight_of(b, i);
        if (b->cls) {
            sl[b->ylab[i]] += wi;
        } else {
            const float *y = b->yreg + (int64_t)i * T;
            for (int32_t t = 0; t < T; t++) sl[t] += wi * (double)y[t];
        }
        wl += wi;
        const uint32_t k0 = (uint32_t)(a[p] >> 32), k1 = (uint32_t)(a[p + 1] >> 32);
        if (thr) {
            if (k1 == k0) continue;
        } else {
            const float v0 = key_float(k0), v1 = key_float(k1);
            if (v1 <= v0 + TREE_FEATURE_THRESHOLD) continue;
        }
        if (p + 1 < msl) continue;
        if (wl < mwl || wn - wl < mwl) continue;
        const double proxy = proxy_improvement(b, tot, wn, sl, wl);
        if (proxy > best->proxy) {
            best->proxy = proxy;
            best->feature = f;
            best->n_left = p + 1;
            if (thr) {
                best->bin = (int32_t)k0;
                best->threshold = thr[k0];
            } else {
                const float v0 = key_float(k0), v1 = key_float(k1);
                double t = (double)v0 / 2.0 + (double)v1 / 2.0;
                if (t >= (double)v1) t = (double)v0; /* cannot happen in double; kept as scikit-learn's rule */
                best->threshold = t;
                best->bin = -1;
            }
        }
    }
}

/* Scan one feature's histogram (nb bins x S slots: count, weight, V sums).
 * Candidates after each occupied bin that has an occupied bin after it. m: rows
 * of the node. *constant: at most one occupied bin. */
static void scan_hist(const tree_builder *b, int32_t f, const double *h, int32_t nb, int64_t m, const double *tot,
                      double wn, const double *thr, double *sl, tree_split *best, int *constant) {
    const double msl = (double)b->cfg->min_samples_leaf;
    const double mwl = b->cfg->min_weight_leaf;
    const int32_t S = b->S, V = b->V;
    int32_t first = -1, lastb = -1;
    for (int32_t q = 0; q < nb; q++)
        if (h[q * S] > 0) {
            if (first < 0) first = q;
            lastb = q;
        }
    *constant = first == lastb;
    if (*constant) return;
    for (int32_t v = 0; v < V; v++) sl[v] = 0;
    double wl = 0, nl = 0;
    for (int32_t q = first; q < lastb; q++) {
        const double *e = h + q * S;
        if (e[0] == 0) continue;
        nl += e[0];
        wl += e[1];
        for (int32_t v = 0; v < V; v++) sl[v] += e[2 + v];
        if ((double)m - nl < msl) break;
        if (nl < msl) continue;
        if (wl < mwl || wn - wl < mwl) continue;
        const double proxy = proxy_improvement(b, tot, wn, sl, wl);
        if (proxy > best->proxy) {
            best->proxy = proxy;
            best->feature = f;
            best->n_left = (int64_t)nl;
            best->bin = q;
            best->threshold = thr[q];
        }
    }
}

/* One feature's histogram over rows samples[start:end) into h (nb x S). */
static void build_hist_feature(const tree_builder *b, int32_t f, int64_t start, int64_t end, double *h) {
    const int32_t S = b->S, T = b->T;
    const int32_t nb = b->data->n_bins[f];
    memset(h, 0, (size_t)(nb * S) * sizeof(double));
    const uint8_t *code = b->data->codes + (int64_t)f * b->n;
    const int32_t *smp = b->samples;
    if (b->cls && !b->w) {
        for (int64_t p = start; p < end; p++) {
            const int32_t i = smp[p];
            double *e = h + code[i] * S;
            e[0] += 1.0;
            e[1] += 1.0;
            e[2 + b->ylab[i]] += 1.0;
        }
    } else if (b->cls) {
        for (int64_t p = start; p < end; p++) {
            const int32_t i = smp[p];
            const double wi = b->w[i];
            double *e = h + code[i] * S;
            e[0] += 1.0;
            e[1] += wi;
            e[2 + b->ylab[i]] += wi;
        }
    } else {
        for (int64_t p = start; p < end; p++) {
            const int32_t i = smp[p];
            const double wi = weight_of(b, i);
            const float *y = b->yreg + (int64_t)i * T;
            double *e = h + code[i] * S;
            e[0] += 1.0;
            e[1] += wi;
            for (int32_t t = 0; t < T; t++) e[2 + t] += wi * (double)y[t];
        }
    }
}

/* Evaluate feature f on rows samples[start:end); best is updated. node_hist:
 * the node's histograms (HIST, all listed features) or NULL. Returns 1 when
 * the feature is constant in the node (scikit-learn: max - min <=
 * FEATURE_THRESHOLD; HIST: one occupied bin). */
static int eval_feature(const tree_builder *b, tree_scratch *sc, int32_t f, int64_t start, int64_t end,
                        const double *tot, double wn, const double *node_hist, tree_split *best) {
    const int64_t m = end - start, n = b->n;
    const int32_t *smp = b->samples + start;
    double *sl = sc->sums;
    if (b->hist) {
        const double *thr = b->data->bin_threshold + (int64_t)f * MFS__TREE_MAX_BINS;
        const int32_t nb = b->data->n_bins[f];
        int constant = 1;
        if (node_hist) {
            scan_hist(b, f, node_hist + b->hoff[f], nb, m, tot, wn, thr, sl, best, &constant);
            return constant;
        }
        if (m >= TREE_HIST_NODE_MIN) {
            build_hist_feature(b, f, start, end, sc->hist);
            scan_hist(b, f, sc->hist, nb, m, tot, wn, thr, sl, best, &constant);
            return constant;
        }
        const uint8_t *code = b->data->codes + (int64_t)f * n;
        for (int64_t p = 0; p < m; p++) sc->pa[p] = ((uint64_t)code[smp[p]] << 32) | (uint32_t)smp[p];
        const uint64_t *a = sort_pairs(sc->pa, sc->pb, m, 0, 0);
        if ((a[0] >> 32) == (a[m - 1] >> 32)) return 1;
        scan_sorted(b, f, a, m, tot, wn, thr, sl, best);
        return 0;
    }
    const float *X = b->data->X;
    const int64_t d = b->d;
    for (int64_t p = 0; p < m; p++) {
        const int32_t i = smp[p];
        sc->pa[p] = ((uint64_t)float_key(X[(int64_t)i * d + f]) << 32) | (uint32_t)i;
    }
    const uint64_t *a = sort_pairs(sc->pa, sc->pb, m, 0, 3);
    const float vmin = key_float((uint32_t)(a[0] >> 32)), vmax = key_float((uint32_t)(a[m - 1] >> 32));
    if (vmax <= vmin + TREE_FEATURE_THRESHOLD) return 1;
    scan_sorted(b, f, a, m, tot, wn, NULL, sl, best);
    return 0;
}

static inline void split_init(tree_split *s) {
    s->feature = -1;
    s->bin = -1;
    s->n_left = 0;
    s->threshold = 0;
    s->proxy = -INFINITY;
}

/* The features of a node when every feature is visited: those not known to be
 * constant (constant_features[:n_known]), in index order, into b->flist. */
static int32_t node_feature_list(tree_builder *b, int32_t n_known) {
    for (int32_t q = 0; q < n_known; q++) b->mark[b->constant_features[q]] = 1;
    int32_t nf = 0;
    for (int32_t f = 0; f < (int32_t)b->d; f++)
        if (!b->mark[f]) b->flist[nf++] = f;
    for (int32_t q = 0; q < n_known; q++) b->mark[b->constant_features[q]] = 0;
    return nf;
}

/* scikit-learn's rand_int(low, high): uniform in [low, high). */
static inline int32_t rand_int(mfs_rng *r, int32_t low, int32_t high) {
    return low + (int32_t)mfs_rng_below(r, (uint64_t)(high - low));
}

/* Best split of rows samples[start:end) (scikit-learn's node_split_best).
 * All features (max_features = d): the list b->flist (nf entries) is evaluated,
 * in parallel for a large node; the features found constant are appended to
 * constant_features and removed from flist (which is then the children's
 * list). Otherwise scikit-learn's Fisher-Yates draw, with its rule of drawing
 * on until max_features non-constant features were visited. *n_const: known
 * constants in, known + found out. */
static void find_split(tree_builder *b, int64_t start, int64_t end, const double *tot, double wn,
                       const double *node_hist, int32_t *nf_io, int32_t *n_const, tree_split *best) {
    const int64_t m = end - start;
    const int32_t d = (int32_t)b->d;
    split_init(best);
    if (b->cfg->max_features >= d) {
        const int32_t nf = *nf_io;
        int nt = b->nt;
        if ((int64_t)nf * m < TREE_PAR_MIN) nt = 1;
        if (nt > nf) nt = nf;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (nt > 1)
        for (int32_t j = 0; j < nf; j++) {
            tree_scratch *sc = &b->ts[nt > 1 ? thread_id() : 0];
            split_init(&b->fres[j]);
            b->fconst[j] = (uint8_t)eval_feature(b, sc, b->flist[j], start, end, tot, wn, node_hist, &b->fres[j]);
        }
        int32_t kept = 0, nc = *n_const;
        for (int32_t j = 0; j < nf; j++) {
            if (b->fconst[j]) {
                b->constant_features[nc++] = b->flist[j];
                continue;
            }
            if (b->fres[j].feature >= 0 && b->fres[j].proxy > best->proxy) *best = b->fres[j];
            b->flist[kept++] = b->flist[j];
        }
        *nf_io = kept;
        *n_const = nc;
        return;
    }
    /* scikit-learn's sampling without replacement, verbatim but for the RNG */
    int32_t *features = b->features, *constant_features = b->constant_features;
    const int32_t max_features = (int32_t)b->cfg->max_features;
    int32_t f_i = d, n_visited = 0, n_found = 0, n_drawn_constants = 0;
    const int32_t n_known = *n_const;
    int32_t n_total = n_known;
    tree_scratch *sc = &b->ts[0];
    while (f_i > n_total && (n_visited < max_features || n_visited <= n_found + n_drawn_constants)) {
        n_visited++;
        int32_t f_j = rand_int(&b->rng, n_drawn_constants, f_i - n_found);
        if (f_j < n_known) {
            const int32_t t = features[n_drawn_constants];
            features[n_drawn_constants] = features[f_j];
            features[f_j] = t;
            n_drawn_constants++;
            continue;
        }
        f_j += n_found;
        const int32_t f = features[f_j];
        tree_split cur;
        split_init(&cur);
        if (eval_feature(b, sc, f, start, end, tot, wn, NULL, &cur)) {
            features[f_j] = features[n_total];
            features[n_total] = f;
            n_found++;
            n_total++;
            continue;
        }
        f_i--;
        features[f_j] = features[f_i];
        features[f_i] = f;
        if (cur.feature >= 0 && cur.proxy > best->proxy) *best = cur;
    }
    memcpy(features, constant_features, sizeof(int32_t) * (size_t)n_known);
    memcpy(constant_features + n_known, features + n_known, sizeof(int32_t) * (size_t)n_found);
    *n_const = n_total;
}

/* Stable partition of rows samples[start:end) on the split: left first. */
static int64_t partition(tree_builder *b, int64_t start, int64_t end, const tree_split *sp) {
    int32_t *smp = b->samples, *tmp = b->tmp;
    const int32_t f = sp->feature;
    int64_t l = start, r = 0;
    if (b->hist) {
        const uint8_t *code = b->data->codes + (int64_t)f * b->n;
        const uint8_t bin = (uint8_t)sp->bin;
        for (int64_t p = start; p < end; p++) {
            const int32_t i = smp[p];
            if (code[i] <= bin) smp[l++] = i;
            else tmp[r++] = i;
        }
    } else {
        const float *X = b->data->X;
        const int64_t d = b->d;
        const double t = sp->threshold;
        for (int64_t p = start; p < end; p++) {
            const int32_t i = smp[p];
            if ((double)X[(int64_t)i * d + f] <= t) smp[l++] = i;
            else tmp[r++] = i;
        }
    }
    memcpy(smp + l, tmp, (size_t)r * sizeof(int32_t));
    return l;
}

/* Append a node; returns its id. */
static mfs_status add_node(tree_builder *b, int32_t parent, int is_left, int is_leaf, const tree_split *sp,
                           double impurity, int64_t n_node, double wn, const double *sum, int32_t *id) {
    mfs__tree *t = b->tree;
    MFS_TRY(tree_reserve(b->fn, t, t->n_nodes + 1));
    const int64_t q = t->n_nodes++;
    if (parent >= 0) {
        if (is_left) t->children_left[parent] = (int32_t)q;
        else t->children_right[parent] = (int32_t)q;
    }
    t->impurity[q] = impurity;
    t->n_node_samples[q] = n_node;
    t->weighted_n_node_samples[q] = wn;
    t->children_left[q] = MFS__TREE_LEAF;
    t->children_right[q] = MFS__TREE_LEAF;
    if (is_leaf) {
        t->feature[q] = MFS__TREE_UNDEFINED;
        t->threshold[q] = (double)MFS__TREE_UNDEFINED;
    } else {
        t->feature[q] = sp->feature;
        t->threshold[q] = sp->threshold;
    }
    for (int32_t v = 0; v < b->V; v++) t->value[q * b->V + v] = sum[v] / wn;
    *id = (int32_t)q;
    return MFS_OK;
}

/* ---- HIST buffers ------------------------------------------------------------ */

static mfs_status pool_acquire(tree_builder *b, int *idx) {
    for (int k = 0; k < TREE_HIST_POOL; k++)
        if (!b->pool_used[k]) {
            if (!b->pool[k])
                MFS_TRY(mfs__alloc((void **)&b->pool[k], (size_t)b->hoff[b->d] * sizeof(double), b->fn,
                                   "a node histogram"));
            b->pool_used[k] = 1;
            *idx = k;
            return MFS_OK;
        }
    return mfs__error(MFS_E_INTERNAL, "%s: the histogram pool is exhausted", b->fn);
}
static void pool_release(tree_builder *b, int idx) {
    if (idx >= 0) b->pool_used[idx] = 0;
}

/* Histograms of rows samples[start:end) for the listed features into h. */
static void build_hist_node(tree_builder *b, int64_t start, int64_t end, const int32_t *list, int32_t nf, double *h) {
    int nt = b->nt;
    if ((int64_t)nf * (end - start) < TREE_PAR_MIN) nt = 1;
    if (nt > nf) nt = nf;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (nt > 1)
    for (int32_t j = 0; j < nf; j++) build_hist_feature(b, list[j], start, end, h + b->hoff[list[j]]);
}

/* big -= small over the listed features. */
static void hist_subtract(const tree_builder *b, double *big, const double *small, const int32_t *list, int32_t nf) {
    for (int32_t j = 0; j < nf; j++) {
        const int32_t f = list[j];
        const int64_t o = b->hoff[f], len = (int64_t)b->data->n_bins[f] * b->S;
        for (int64_t q = 0; q < len; q++) big[o + q] -= small[o + q];
    }
}

/* ---- depth-first growth (scikit-learn's DepthFirstTreeBuilder) -------------- */

typedef struct tree_rec {
    int64_t start, end;
    int32_t depth, parent, is_left, n_const;
    double impurity;
    int32_t hist;   /* pool buffer with this node's histograms, or -1 */
    int32_t stored; /* the buffer counts in pool_stored */
} tree_rec;

static mfs_status stack_push(const char *fn, tree_rec **st, int64_t *cap, int64_t *top, const tree_rec *r) {
    if (*top == *cap) {
        const int64_t nc = *cap * 2;
        tree_rec *ns = NULL;
        MFS_TRY(mfs__alloc((void **)&ns, (size_t)nc * sizeof(tree_rec), fn, "the node stack"));
        memcpy(ns, *st, (size_t)*top * sizeof(tree_rec));
        mfs__free(*st);
        *st = ns;
        *cap = nc;
    }
    (*st)[(*top)++] = *r;
    return MFS_OK;
}

/* Is a node a leaf before any split search (scikit-learn's stopping rules)? */
static int stop_before_split(const tree_builder *b, int32_t depth, int64_t m, double wn) {
    const mfs__tree_config *c = b->cfg;
    return (c->max_depth >= 0 && depth >= c->max_depth) || m < c->min_samples_split || m < 2 * c->min_samples_leaf ||
           wn < 2 * c->min_weight_leaf;
}

/* Split the node (not a leaf yet): best split, partition, children impurities
 * and the improvement. Returns is_leaf through *leaf. */
static mfs_status split_node(tree_builder *b, int64_t start, int64_t end, const double *sum, double wn, double sq,
                             double impurity, const double *node_hist, int32_t *nf, int32_t *n_const,
                             tree_split *sp, int64_t *pos, double *il, double *ir, double *improvement,
                             double *sl, int *leaf) {
    find_split(b, start, end, sum, wn, node_hist, nf, n_const, sp);
    *leaf = 1;
    if (sp->feature < 0) return MFS_OK;
    const int64_t l = partition(b, start, end, sp);
    if (l - start != sp->n_left)
        return mfs__error(MFS_E_INTERNAL, "%s: the partition put %lld rows left, the split counted %lld", b->fn,
                          (long long)(l - start), (long long)sp->n_left);
    double wl, sql;
    node_stats(b, start, l, sl, &wl, &sql);
    children_impurity(b, sum, wn, sq, sl, wl, sql, il, ir);
    const double wr = wn - wl;
    *improvement = (wn / b->w_total) * (impurity - (wr / wn * *ir) - (wl / wn * *il));
    *pos = l;
    *leaf = *improvement + TREE_EPSILON < b->cfg->min_impurity_decrease;
    return MFS_OK;
}

static mfs_status build_depth_first(tree_builder *b, double *sum, double *sl) {
    const char *fn = b->fn;
    const int use_sub = b->hist && b->cfg->max_features >= b->d;
    int64_t cap = 64, top = 0;
    tree_rec *st = NULL;
    MFS_TRY(mfs__alloc((void **)&st, (size_t)cap * sizeof(tree_rec), fn, "the node stack"));
    mfs_status s = MFS_OK;
    tree_rec root = {0, b->ns, 0, -1, 0, 0, INFINITY, -1, 0};
    st[top++] = root;
    int first = 1;
    while (top > 0) {
        tree_rec r = st[--top];
        if (r.stored) b->pool_stored--;
        const int64_t m = r.end - r.start;
        double wn, sq;
        node_stats(b, r.start, r.end, sum, &wn, &sq);
        int leaf = stop_before_split(b, r.depth, m, wn);
        if (first) {
            r.impurity = node_impurity(b, sum, wn, sq);
            first = 0;
        }
        leaf = leaf || r.impurity <= TREE_EPSILON;
        tree_split sp;
        split_init(&sp);
        int64_t pos = r.end;
        double il = 0, ir = 0, improvement = 0;
        int32_t n_const = r.n_const, nf = 0;
        int32_t h = r.hist, hl = -1, hr = -1;
        if (!leaf) {
            if (b->cfg->max_features >= b->d) nf = node_feature_list(b, n_const);
            if (use_sub && m >= TREE_HIST_NODE_MIN && h < 0) {
                if ((s = pool_acquire(b, &h)) != MFS_OK) break;
                build_hist_node(b, r.start, r.end, b->flist, nf, b->pool[h]);
            }
            s = split_node(b, r.start, r.end, sum, wn, sq, r.impurity, h >= 0 ? b->pool[h] : NULL, &nf, &n_const,
                           &sp, &pos, &il, &ir, &improvement, sl, &leaf);
            if (s != MFS_OK) break;
            if (!leaf && h >= 0) {
                /* children's histograms: the smaller directly, the larger by subtraction */
                const int64_t ml = pos - r.start, mr = r.end - pos;
                const int need_l = ml >= TREE_HIST_NODE_MIN, need_r = mr >= TREE_HIST_NODE_MIN;
                if (need_l || need_r) {
                    int32_t hs = -1;
                    if ((s = pool_acquire(b, &hs)) != MFS_OK) break;
                    const int small_left = ml <= mr;
                    if (small_left) build_hist_node(b, r.start, pos, b->flist, nf, b->pool[hs]);
                    else build_hist_node(b, pos, r.end, b->flist, nf, b->pool[hs]);
                    hist_subtract(b, b->pool[h], b->pool[hs], b->flist, nf);
                    hl = small_left ? hs : h;
                    hr = small_left ? h : hs;
                    h = -1;
                    if (!need_l) { pool_release(b, hl); hl = -1; }
                    if (!need_r) { pool_release(b, hr); hr = -1; }
                    if (hr >= 0 && b->pool_stored >= TREE_HIST_POOL - 3) { pool_release(b, hr); hr = -1; }
                }
            }
        }
        if (h >= 0) pool_release(b, h);
        int32_t id;
        if ((s = add_node(b, r.parent, r.is_left, leaf, &sp, r.impurity, m, wn, sum, &id)) != MFS_OK) break;
        if (!leaf) {
            tree_rec right = {pos, r.end, r.depth + 1, id, 0, n_const, ir, hr, hr >= 0};
            tree_rec left = {r.start, pos, r.depth + 1, id, 1, n_const, il, hl, 0};
            if (hr >= 0) b->pool_stored++;
            if ((s = stack_push(fn, &st, &cap, &top, &right)) != MFS_OK) break;
            if ((s = stack_push(fn, &st, &cap, &top, &left)) != MFS_OK) break;
        }
        if (r.depth > b->tree->max_depth) b->tree->max_depth = r.depth;
    }
    mfs__free(st);
    return s;
}

/* ---- best-first growth (scikit-learn's BestFirstTreeBuilder) ---------------- */

typedef struct tree_frontier {
    int64_t start, end, pos;
    int32_t node, depth, is_leaf;
    double impurity, il, ir, improvement;
} tree_frontier;

/* heap order: larger improvement first, then the older (smaller) node */
static inline int frontier_before(const tree_frontier *a, const tree_frontier *c) {
    if (a->improvement != c->improvement) return a->improvement > c->improvement;
    return a->node < c->node;
}

static void heap_push(tree_frontier *h, int64_t *n, const tree_frontier *r) {
    int64_t i = (*n)++;
    h[i] = *r;
    while (i > 0) {
        const int64_t p = (i - 1) / 2;
        if (!frontier_before(&h[i], &h[p])) break;
        const tree_frontier t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static tree_frontier heap_pop(tree_frontier *h, int64_t *n) {
    const tree_frontier top = h[0];
    h[0] = h[--(*n)];
    int64_t i = 0;
    for (;;) {
        const int64_t l = 2 * i + 1, r = l + 1;
        int64_t best = i;
        if (l < *n && frontier_before(&h[l], &h[best])) best = l;
        if (r < *n && frontier_before(&h[r], &h[best])) best = r;
        if (best == i) break;
        const tree_frontier t = h[i];
        h[i] = h[best];
        h[best] = t;
        i = best;
    }
    return top;
}

/* scikit-learn's _add_split_node: evaluate, split if possible, add the node. */
static mfs_status add_split_node(tree_builder *b, int64_t start, int64_t end, int first, double impurity,
                                 int32_t parent, int is_left, int32_t depth, double *sum, double *sl,
                                 tree_frontier *res) {
    const int64_t m = end - start;
    double wn, sq;
    node_stats(b, start, end, sum, &wn, &sq);
    if (first) impurity = node_impurity(b, sum, wn, sq);
    int leaf = stop_before_split(b, depth, m, wn) || impurity <= TREE_EPSILON;
    tree_split sp;
    split_init(&sp);
    int64_t pos = end;
    double il = impurity, ir = impurity, improvement = 0;
    if (!leaf) {
        int32_t n_const = 0, nf = 0;
        if (b->cfg->max_features >= b->d) nf = node_feature_list(b, 0);
        MFS_TRY(split_node(b, start, end, sum, wn, sq, impurity, NULL, &nf, &n_const, &sp, &pos, &il, &ir,
                           &improvement, sl, &leaf));
    }
    int32_t id;
    MFS_TRY(add_node(b, parent, is_left, leaf, &sp, impurity, m, wn, sum, &id));
    res->start = start;
    res->end = end;
    res->node = id;
    res->depth = depth;
    res->impurity = impurity;
    res->is_leaf = leaf;
    if (leaf) {
        res->pos = end;
        res->improvement = 0.0;
        res->il = res->ir = impurity;
    } else {
        res->pos = pos;
        res->improvement = improvement;
        res->il = il;
        res->ir = ir;
    }
    return MFS_OK;
}

static mfs_status build_best_first(tree_builder *b, double *sum, double *sl) {
    const char *fn = b->fn;
    int64_t max_split_nodes = b->cfg->max_leaf_nodes - 1;
    /* at most max_leaf_nodes records are ever in the frontier at once */
    const int64_t cap = (b->cfg->max_leaf_nodes < b->ns ? b->cfg->max_leaf_nodes : b->ns) + 2;
    tree_frontier *heap = NULL;
    MFS_TRY(mfs__alloc((void **)&heap, (size_t)cap * sizeof(tree_frontier), fn, "the frontier"));
    int64_t nh = 0;
    tree_frontier rec, left, right;
    mfs_status s = add_split_node(b, 0, b->ns, 1, INFINITY, -1, 1, 0, sum, sl, &rec);
    if (s == MFS_OK) heap_push(heap, &nh, &rec);
    while (s == MFS_OK && nh > 0) {
        rec = heap_pop(heap, &nh);
        mfs__tree *t = b->tree;
        if (rec.is_leaf || max_split_nodes <= 0) {
            t->children_left[rec.node] = MFS__TREE_LEAF;
            t->children_right[rec.node] = MFS__TREE_LEAF;
            t->feature[rec.node] = MFS__TREE_UNDEFINED;
            t->threshold[rec.node] = (double)MFS__TREE_UNDEFINED;
        } else {
            max_split_nodes--;
            if ((s = add_split_node(b, rec.start, rec.pos, 0, rec.il, rec.node, 1, rec.depth + 1, sum, sl, &left)) !=
                MFS_OK)
                break;
            if ((s = add_split_node(b, rec.pos, rec.end, 0, rec.ir, rec.node, 0, rec.depth + 1, sum, sl, &right)) !=
                MFS_OK)
                break;
            if (nh + 2 > cap) {
                s = mfs__error(MFS_E_INTERNAL, "%s: the frontier outgrew max_leaf_nodes", fn);
                break;
            }
            heap_push(heap, &nh, &left);
            heap_push(heap, &nh, &right);
        }
        if (rec.depth > b->tree->max_depth) b->tree->max_depth = rec.depth;
    }
    mfs__free(heap);
    return s;
}

/* ---- the entry point ----------------------------------------------------------- */

static mfs_status check_config(const char *fn, const mfs__tree_config *c, const mfs__tree_data *data) {
    if (c->criterion < MFS_TREE_CRITERION_GINI || c->criterion > MFS_TREE_CRITERION_SQUARED_ERROR)
        return mfs__error(MFS_E_INVALID_ARG, "%s: criterion is %d, expected 0 (gini), 1 (entropy) or 2 (squared_error)",
                          fn, (int)c->criterion);
    const int cls = c->criterion != MFS_TREE_CRITERION_SQUARED_ERROR;
    if (cls && c->n_classes < 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_classes is %d, a classification tree needs >= 1", fn,
                          (int)c->n_classes);
    if (!cls && c->n_outputs < 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_outputs is %d, a regression tree needs >= 1", fn,
                          (int)c->n_outputs);
    if (c->max_depth < -1 || c->max_depth == 0)
        return mfs__error(MFS_E_INVALID_ARG, "%s: max_depth is %d, expected >= 1 or -1 (None)", fn, (int)c->max_depth);
    if (c->min_samples_split < 2)
        return mfs__error(MFS_E_INVALID_ARG, "%s: min_samples_split is %lld, expected >= 2", fn,
                          (long long)c->min_samples_split);
    if (c->min_samples_leaf < 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: min_samples_leaf is %lld, expected >= 1", fn,
                          (long long)c->min_samples_leaf);
    if (c->max_features < 1 || c->max_features > data->d)
        return mfs__error(MFS_E_INVALID_ARG, "%s: max_features is %lld, expected 1..%lld", fn,
                          (long long)c->max_features, (long long)data->d);
    if (c->max_leaf_nodes != -1 && c->max_leaf_nodes < 2)
        return mfs__error(MFS_E_INVALID_ARG, "%s: max_leaf_nodes is %lld, expected >= 2 or -1 (None)", fn,
                          (long long)c->max_leaf_nodes);
    if (!(c->min_weight_leaf >= 0) || !(c->min_impurity_decrease >= 0))
        return mfs__error(MFS_E_INVALID_ARG, "%s: min_weight_leaf (%g) and min_impurity_decrease (%g) must be >= 0", fn,
                          c->min_weight_leaf, c->min_impurity_decrease);
    if (c->split_algorithm != MFS_TREE_SPLIT_EXACT && c->split_algorithm != MFS_TREE_SPLIT_HIST)
        return mfs__error(MFS_E_INVALID_ARG, "%s: split_algorithm is %d, resolve AUTO to EXACT (1) or HIST (2) first",
                          fn, (int)c->split_algorithm);
    if (c->split_algorithm != data->split_algorithm)
        return mfs__error(MFS_E_INVALID_ARG, "%s: split_algorithm is %d, the data was prepared for %d", fn,
                          (int)c->split_algorithm, (int)data->split_algorithm);
    return MFS_OK;
}

mfs_status mfs__tree_build(const char *fn, const mfs__tree_config *cfg, const mfs__tree_data *data, const void *y,
                           const double *sample_weight, mfs_mem_counter *mem, mfs__tree *out) {
    if (!out) return mfs__error(MFS_E_INVALID_ARG, "%s: out is NULL", fn);
    memset(out, 0, sizeof *out);
    if (!cfg || !data || !y) return mfs__error(MFS_E_INVALID_ARG, "%s: cfg, data or y is NULL", fn);
    MFS_TRY(check_config(fn, cfg, data));
    tree_builder B;
    memset(&B, 0, sizeof B);
    tree_builder *b = &B;
    b->fn = fn;
    b->cfg = cfg;
    b->data = data;
    b->n = data->n;
    b->d = data->d;
    b->cls = cfg->criterion != MFS_TREE_CRITERION_SQUARED_ERROR;
    b->hist = data->split_algorithm == MFS_TREE_SPLIT_HIST;
    b->K = b->cls ? cfg->n_classes : 0;
    b->T = b->cls ? 1 : cfg->n_outputs;
    b->V = b->cls ? b->K : b->T;
    b->S = 2 + b->V;
    b->ylab = b->cls ? (const int32_t *)y : NULL;
    b->yreg = b->cls ? NULL : (const float *)y;
    b->w = sample_weight;
    /* rows of weight > 0, as scikit-learn's splitter keeps them */
    int64_t ns = 0;
    double W = 0;
    for (int64_t i = 0; i < b->n; i++) {
        const double wi = sample_weight ? sample_weight[i] : 1.0;
        if (!(wi >= 0) || !isfinite(wi))
            return mfs__error(MFS_E_VALUE, "%s: sample_weight[%lld] = %g, weights must be finite and >= 0", fn,
                              (long long)i, wi);
        if (wi != 0.0) ns++;
        W += wi;
    }
    if (ns == 0 || !(W > 0))
        return mfs__error(MFS_E_VALUE, "%s: the sample weights sum to %g; at least one must be > 0", fn, W);
    b->ns = ns;
    b->w_total = W;
    mfs_mem_counter *prev = mfs__scope_enter(mem);
    mfs_status s = MFS_OK;
    const int64_t d = b->d;
    b->nt = cfg->max_features >= d && cfg->n_threads > 1 ? cfg->n_threads : 1;
    const int64_t pairs = b->hist ? (ns < TREE_HIST_NODE_MIN ? ns : TREE_HIST_NODE_MIN) : ns;
    double *sum = NULL;
    b->ts = (tree_scratch *)mfs__calloc((size_t)b->nt, sizeof(tree_scratch));
    if (!b->ts) {
        s = mfs__error(MFS_E_NOMEM, "%s: out of memory for the thread scratch", fn);
        goto done;
    }
    if ((s = mfs__alloc((void **)&b->samples, (size_t)(2 * ns) * 4, fn, "the sample indices")) != MFS_OK ||
        (s = mfs__alloc((void **)&b->features, (size_t)(3 * d) * 4 + (size_t)(2 * d), fn, "the feature lists")) !=
            MFS_OK ||
        (s = mfs__alloc((void **)&b->fres, (size_t)d * sizeof(tree_split), fn, "the feature results")) != MFS_OK ||
        (s = mfs__alloc((void **)&sum, (size_t)(2 * b->V) * 8, fn, "the node sums")) != MFS_OK)
        goto done;
    b->tmp = b->samples + ns;
    b->constant_features = b->features + d;
    b->flist = b->constant_features + d;
    b->mark = (uint8_t *)(b->flist + d);
    b->fconst = b->mark + d;
    memset(b->mark, 0, (size_t)d);
    for (int64_t f = 0; f < d; f++) b->features[f] = (int32_t)f;
    for (int64_t i = 0, j = 0; i < b->n; i++)
        if (!sample_weight || sample_weight[i] != 0.0) b->samples[j++] = (int32_t)i;
    for (int t = 0; t < b->nt; t++) {
        tree_scratch *sc = &b->ts[t];
        if ((s = mfs__alloc((void **)&sc->pa, (size_t)(2 * pairs) * 8, fn, "the sort buffers")) != MFS_OK ||
            (s = mfs__alloc((void **)&sc->sums, (size_t)(2 * b->V) * 8, fn, "the split sums")) != MFS_OK)
            goto done;
        sc->pb = sc->pa + pairs;
        if (b->hist &&
            (s = mfs__alloc((void **)&sc->hist, (size_t)(MFS__TREE_MAX_BINS * b->S) * 8, fn, "a histogram")) != MFS_OK)
            goto done;
    }
    if (b->hist) {
        if ((s = mfs__alloc((void **)&b->hoff, (size_t)(d + 1) * 8, fn, "the histogram offsets")) != MFS_OK) goto done;
        b->hoff[0] = 0;
        for (int64_t f = 0; f < d; f++) b->hoff[f + 1] = b->hoff[f] + (int64_t)data->n_bins[f] * b->S;
    }
    b->rng = mfs_rng_make(cfg->seed, cfg->stream);
    b->tree = out;
    out->n_values = b->V;
    out->mem = mem;
    out->max_depth = 0;
    if ((s = tree_reserve(fn, out, 1)) != MFS_OK) goto done;
    s = cfg->max_leaf_nodes > 0 ? build_best_first(b, sum, sum + b->V) : build_depth_first(b, sum, sum + b->V);
    if (s == MFS_OK) {
        int64_t leaves = 0;
        for (int64_t q = 0; q < out->n_nodes; q++) leaves += out->children_left[q] == MFS__TREE_LEAF;
        out->n_leaves = leaves;
    }
done:
    if (b->ts)
        for (int t = 0; t < b->nt; t++) {
            mfs__free(b->ts[t].pa);
            mfs__free(b->ts[t].sums);
            mfs__free(b->ts[t].hist);
        }
    for (int k = 0; k < TREE_HIST_POOL; k++) mfs__free(b->pool[k]);
    mfs__free(b->ts);
    mfs__free(b->hoff);
    mfs__free(sum);
    mfs__free(b->fres);
    mfs__free(b->features);
    mfs__free(b->samples);
    if (s != MFS_OK) mfs__tree_free(out);
    mfs__scope_leave(prev);
    return s;
}

/* ---- minimal cost-complexity pruning ------------------------------------------ */

/* Breiman et al.'s weakest-link pruning (CART, 1984, ch. 3), scikit-learn's
 * ccp_alpha. With R(t) = w_t imp_t / w_root the cost of node t as a leaf and
 * R(T_t) the summed cost of the leaves below t, a branch at t "costs"
 * alpha_t = (R(t) - R(T_t)) / (|leaves(T_t)| - 1) per leaf it adds. Repeatedly
 * the internal node of smallest alpha_t (the lowest index among equal ones)
 * becomes a leaf, while alpha_t <= ccp_alpha; R(T_t) and the leaf counts of
 * its ancestors are updated as it goes (O(nodes) per step). The nodes left
 * are renumbered in depth-first preorder (left child first), scikit-learn's
 * order for the pruned tree; a pruned node keeps its value, impurity and
 * counts, as a leaf. The sums run in scikit-learn's order (each leaf's cost
 * added to its ancestors in index order), so the alphas compare alike. */
mfs_status mfs__tree_prune_ccp(const char *fn, mfs__tree *t, double ccp_alpha) {
    const int64_t N = t->n_nodes, V = t->n_values;
    if (N <= 1 || !(ccp_alpha > 0.0)) return MFS_OK;
    int64_t *parent = NULL, *n_leaves = NULL, *stack = NULL, *order = NULL, *newid = NULL;
    double *r_node = NULL, *r_branch = NULL, *tmp = NULL;
    uint8_t *leaf = NULL, *cand = NULL, *alive = NULL;
    mfs_status s = mfs__alloc((void **)&parent, (size_t)N * 5 * sizeof(int64_t), fn, "the pruning state");
    if (s == MFS_OK) s = mfs__alloc((void **)&r_node, (size_t)N * 2 * sizeof(double), fn, "the pruning state");
    if (s == MFS_OK) s = mfs__alloc((void **)&leaf, (size_t)N * 3, fn, "the pruning state");
    if (s == MFS_OK) s = mfs__alloc((void **)&tmp, (size_t)N * (size_t)(V > 1 ? V : 1) * sizeof(double), fn,
                                    "the pruned tree");
    if (s != MFS_OK) goto done;
    n_leaves = parent + N;
    stack = n_leaves + N;
    order = stack + N;
    newid = order + N;
    r_branch = r_node + N;
    cand = leaf + N;
    alive = cand + N;
    const double wroot = t->weighted_n_node_samples[0];
    parent[0] = -1;
    for (int64_t q = 0; q < N; q++) {
        r_node[q] = t->weighted_n_node_samples[q] * t->impurity[q] / wroot;
        r_branch[q] = 0.0;
        n_leaves[q] = 0;
        leaf[q] = t->children_left[q] == MFS__TREE_LEAF;
        cand[q] = !leaf[q];
        alive[q] = 1;
        if (!leaf[q]) parent[t->children_left[q]] = parent[t->children_right[q]] = q;
    }
    for (int64_t q = 0; q < N; q++) {
        if (!leaf[q]) continue;
        r_branch[q] = r_node[q];
        for (int64_t a = q; a != 0;) {
            a = parent[a];
            r_branch[a] += r_node[q];
            n_leaves[a] += 1;
        }
    }
    while (cand[0]) {
        double best = DBL_MAX;
        int64_t bq = -1;
        for (int64_t q = 0; q < N; q++) {
            if (!cand[q]) continue;
            const double a = (r_node[q] - r_branch[q]) / (double)(n_leaves[q] - 1);
            if (a < best) {
                best = a;
                bq = q;
            }
        }
        if (bq < 0 || ccp_alpha < best) break;
        /* the branch below bq leaves the tree; bq becomes a leaf */
        int64_t top = 0;
        stack[top++] = bq;
        while (top > 0) {
            const int64_t q = stack[--top];
            if (!alive[q]) continue;
            cand[q] = leaf[q] = alive[q] = 0;
            if (t->children_left[q] != MFS__TREE_LEAF) {
                stack[top++] = t->children_left[q];
                stack[top++] = t->children_right[q];
            }
        }
        leaf[bq] = alive[bq] = 1;
        const int64_t dropped = n_leaves[bq] - 1;
        const double rdiff = r_node[bq] - r_branch[bq];
        n_leaves[bq] = 0;
        r_branch[bq] = r_node[bq];
        for (int64_t a = parent[bq]; a != -1; a = parent[a]) {
            n_leaves[a] -= dropped;
            r_branch[a] += rdiff;
        }
    }
    /* the nodes left, in preorder: order[k] = old id of new node k */
    int64_t M = 0, top = 0, max_depth = 0, leaves = 0;
    stack[top++] = 0;
    n_leaves[0] = 0; /* reused: the depth of each pushed node */
    while (top > 0) {
        const int64_t q = stack[--top];
        const int64_t depth = n_leaves[q];
        newid[q] = M;
        order[M++] = q;
        if (depth > max_depth) max_depth = depth;
        if (leaf[q]) {
            leaves++;
            continue;
        }
        stack[top++] = t->children_right[q];
        n_leaves[t->children_right[q]] = depth + 1;
        stack[top++] = t->children_left[q];
        n_leaves[t->children_left[q]] = depth + 1;
    }
    /* compact every array into the first M slots, in the new order (order is
     * not increasing for best-first trees: through a scratch copy) */
    {
        int32_t *ti = (int32_t *)tmp;
        for (int64_t k = 0; k < M; k++) {
            const int64_t q = order[k];
            ti[k] = leaf[q] ? MFS__TREE_LEAF : (int32_t)newid[t->children_left[q]];
        }
        memcpy(t->children_left, ti, (size_t)M * sizeof(int32_t));
        for (int64_t k = 0; k < M; k++) {
            const int64_t q = order[k];
            ti[k] = leaf[q] ? MFS__TREE_LEAF : (int32_t)newid[t->children_right[q]];
        }
        memcpy(t->children_right, ti, (size_t)M * sizeof(int32_t));
        for (int64_t k = 0; k < M; k++) ti[k] = leaf[order[k]] ? MFS__TREE_UNDEFINED : t->feature[order[k]];
        memcpy(t->feature, ti, (size_t)M * sizeof(int32_t));
        for (int64_t k = 0; k < M; k++)
            tmp[k] = leaf[order[k]] ? (double)MFS__TREE_UNDEFINED : t->threshold[order[k]];
        memcpy(t->threshold, tmp, (size_t)M * sizeof(double));
        for (int64_t k = 0; k < M; k++) tmp[k] = t->impurity[order[k]];
        memcpy(t->impurity, tmp, (size_t)M * sizeof(double));
        for (int64_t k = 0; k < M; k++) tmp[k] = t->weighted_n_node_samples[order[k]];
        memcpy(t->weighted_n_node_samples, tmp, (size_t)M * sizeof(double));
        int64_t *tl = (int64_t *)tmp;
        for (int64_t k = 0; k < M; k++) tl[k] = t->n_node_samples[order[k]];
        memcpy(t->n_node_samples, tl, (size_t)M * sizeof(int64_t));
        for (int64_t k = 0; k < M; k++)
            memcpy(tmp + k * V, t->value + order[k] * V, (size_t)V * sizeof(double));
        memcpy(t->value, tmp, (size_t)(M * V) * sizeof(double));
    }
    t->n_nodes = M;
    t->n_leaves = leaves;
    t->max_depth = (int32_t)max_depth;
done:
    mfs__free(parent);
    mfs__free(r_node);
    mfs__free(leaf);
    mfs__free(tmp);
    return s;
}

/* The optional input "ccp_alpha" (a float64 or float32 scalar or one
 * value, finite, >= 0: scikit-learn's minimal cost-complexity pruning after
 * the growth), or 0. */
mfs_status mfs__tree_read_ccp_alpha(const mfs_model *m, const char *fn, double *alpha) {
    *alpha = 0.0;
    const mfs_tensor *t = mfs__input_find(m, "ccp_alpha");
    if (!t) return MFS_OK;
    const int64_t numel = t->ndim == 0 ? 1 : t->ndim == 1 ? t->shape[0] : -1;
    if ((t->dtype != MFS_DTYPE_FLOAT64 && t->dtype != MFS_DTYPE_FLOAT32) || numel != 1)
        return mfs__error(MFS_E_SHAPE, "%s: ccp_alpha must be one float32 or float64 value, got a %d-D array of "
                          "dtype %d", fn, (int)t->ndim, (int)t->dtype);
    const double a = t->dtype == MFS_DTYPE_FLOAT64 ? *(const double *)t->data : (double)*(const float *)t->data;
    if (!(a >= 0.0) || !isfinite(a))
        return mfs__error(MFS_E_VALUE, "%s: ccp_alpha is %g, it must be a finite number >= 0", fn, a);
    *alpha = a;
    return MFS_OK;
}

/* ---- importances, checks, inference ------------------------------------------ */

void mfs__tree_importances(const int32_t *children_left, const int32_t *children_right, const int32_t *feature,
                           const double *impurity, const double *wns, int64_t n_nodes, int64_t d, int normalize,
                           double *imp) {
    for (int64_t f = 0; f < d; f++) imp[f] = 0;
    if (n_nodes < 1) return;
    for (int64_t q = 0; q < n_nodes; q++) {
        const int32_t l = children_left[q], r = children_right[q];
        if (l == MFS__TREE_LEAF) continue;
        imp[feature[q]] += wns[q] * impurity[q] - wns[l] * impurity[l] - wns[r] * impurity[r];
    }
    for (int64_t f = 0; f < d; f++) imp[f] /= wns[0];
    if (normalize) {
        double s = 0;
        for (int64_t f = 0; f < d; f++) s += imp[f];
        if (s > 0.0)
            for (int64_t f = 0; f < d; f++) imp[f] /= s;
    }
}

mfs_status mfs__tree_check(const char *what, const int32_t *cl, const int32_t *cr, const int32_t *feature,
                           const double *threshold, int64_t n_nodes, int64_t d) {
    if (n_nodes < 1) return mfs__error(MFS_E_FORMAT, "%s: a tree has %lld nodes, expected >= 1", what, (long long)n_nodes);
    for (int64_t q = 0; q < n_nodes; q++) {
        if (cl[q] == MFS__TREE_LEAF || cr[q] == MFS__TREE_LEAF) {
            if (cl[q] != MFS__TREE_LEAF || cr[q] != MFS__TREE_LEAF)
                return mfs__error(MFS_E_FORMAT, "%s: node %lld has one child (%d, %d)", what, (long long)q, (int)cl[q],
                                  (int)cr[q]);
            continue;
        }
        if (cl[q] <= q || cl[q] >= n_nodes || cr[q] <= q || cr[q] >= n_nodes)
            return mfs__error(MFS_E_FORMAT, "%s: node %lld has children (%d, %d) outside (%lld, %lld)", what,
                              (long long)q, (int)cl[q], (int)cr[q], (long long)q, (long long)n_nodes);
        if (feature[q] < 0 || feature[q] >= d)
            return mfs__error(MFS_E_FORMAT, "%s: node %lld splits on feature %d, the model has %lld", what,
                              (long long)q, (int)feature[q], (long long)d);
        if (isnan(threshold[q]))
            return mfs__error(MFS_E_FORMAT, "%s: node %lld has a NaN threshold", what, (long long)q);
    }
    return MFS_OK;
}

/* A node packed for the predict walk: one 16-byte record per node (four per
 * cache line) and a float threshold, the largest float <= the double one, so
 * that for a float x the float comparison equals (double)x <= threshold. */
typedef struct tree_packed {
    int32_t left, right, feature;
    float threshold;
} tree_packed;

enum { TREE_LANES = 16 };

void mfs__tree_apply(const int32_t *cl, const int32_t *cr, const int32_t *feature, const double *threshold,
                     const float *X, int64_t m, int64_t d, int32_t n_threads, int32_t *leaves) {
    int nt = n_threads < 1 ? 1 : n_threads;
    if (m < 4096) nt = 1;
    int64_t N = 0; /* nodes reachable by index: the largest child id + 1 */
    for (int64_t q = 0; q <= N && q < INT32_MAX; q++) {
        if (cl[q] == MFS__TREE_LEAF) continue;
        if (cl[q] > N) N = cl[q];
        if (cr[q] > N) N = cr[q];
    }
    N += 1;
    tree_packed *pk = m >= 256 ? (tree_packed *)mfs__malloc((size_t)N * sizeof(tree_packed)) : NULL;
    if (!pk) { /* small batches (or no memory): walk the arrays themselves */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t i = 0; i < m; i++) leaves[i] = mfs__tree_leaf(cl, cr, feature, threshold, X + i * d);
        return;
    }
    /* Leaves point to themselves (feature 0, threshold 0: either way leads
     * back), so a row that reached its leaf stays there. */
    for (int64_t q = 0; q < N; q++) {
        if (cl[q] == MFS__TREE_LEAF) {
            pk[q] = (tree_packed){(int32_t)q, (int32_t)q, 0, 0.0f};
            continue;
        }
        float t = (float)threshold[q];
        if ((double)t > threshold[q]) t = nextafterf(t, -INFINITY);
        pk[q].left = cl[q];
        pk[q].right = cr[q];
        pk[q].feature = feature[q];
        pk[q].threshold = t;
    }
    /* TREE_LANES rows descend in lock step, one level per pass, with a
     * conditional move instead of a branch: the lanes' loads are independent,
     * so their cache misses overlap, and nothing mispredicts. A pass over a
     * group whose rows are all at leaves ends it. */
    const int64_t groups = (m + TREE_LANES - 1) / TREE_LANES;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t g = 0; g < groups; g++) {
        const int64_t r0 = g * TREE_LANES;
        const int64_t cnt = m - r0 < TREE_LANES ? m - r0 : TREE_LANES;
        const float *xs[TREE_LANES];
        int32_t q[TREE_LANES];
        for (int l = 0; l < TREE_LANES; l++) {
            xs[l] = X + (r0 + (l < cnt ? l : 0)) * d; /* spare lanes repeat the first row */
            q[l] = 0;
        }
        for (;;) {
            int moved = 0;
            for (int l = 0; l < TREE_LANES; l++) {
                const tree_packed nd = pk[q[l]];
                const int32_t next = xs[l][nd.feature] <= nd.threshold ? nd.left : nd.right;
                moved |= next != q[l];
                q[l] = next;
            }
            if (!moved) break;
        }
        for (int64_t l = 0; l < cnt; l++) leaves[r0 + l] = q[l];
    }
    mfs__free(pk);
}
