/* Kernel support vector machines by SMO: C-SVC and epsilon-SVR, as libsvm
 * (Chang & Lin) and scikit-learn's SVC / SVR.
 *
 * Letters: n training rows, d features, K classes, P = K(K-1)/2 class pairs,
 * l positions of one SMO problem (SVC: the rows of a class pair; SVR: 2n),
 * nsv support vectors, m rows to predict.
 *
 * The solver is libsvm's, step for step, so that the same data gives the same
 * support vectors: the dual min 1/2 a^T Q a + p^T a, y^T a = 0, 0 <= a_i <= C_i
 * is solved two variables at a time, the pair chosen by WSS 2 of Fan, Chen &
 * Lin (2005): i the maximal violator, j the one of largest second-order gain;
 * shrinking (Chang & Lin, libsvm paper 4.2) every min(l, 1000) iterations,
 * with the gradient reconstructed from G_bar before the final check; ties go
 * to the last index, as libsvm's `>=`. Positions are permuted by shrinking
 * exactly as libsvm permutes them (swap_index), cache rows included, since
 * tie-breaking follows that order.
 *
 * Q_ij = y_i y_j K(x_i, x_j) is kept in float32 in an LRU cache of rows (the
 * cache_size budget, counted by the core's memory accounting), as libsvm's
 * Qfloat; the gradient and alpha are double. A missing row is a GEMV over the
 * problem's rows kept transposed (XT (d, l)): 64 columns at a time, one double
 * accumulator each, each feature adding a contiguous run (vectorized, no
 * horizontal sums); then a vectorizable double exp for rbf, then the float32
 * rounding, so a cached value equals libsvm's (BLAS ddot in double, then
 * float) but for the last bit in rare cases. Shrinking's position swaps are
 * applied to the cached rows in one batch per shrinking step, row by row,
 * instead of touching every cached row at every swap as libsvm does (the
 * contents end the same). A long row is split over OpenMP threads in whole
 * 64-column blocks; every value is computed by the same operations whatever
 * the thread count, so results do not depend on it.
 *
 * Multi-class is one-vs-one, pairs (0,1), (0,2), ..., (1,2), ..., each trained
 * on the rows of its two classes (class i first, +1), assembled into libsvm's
 * sv_coef layout. probability = 1 adds Platt sigmoids fitted on 5-fold CV
 * decision values (libsvm's svm_binary_svc_probability, folds drawn from the
 * core Philox RNG, stream = pair index) and Wu-Lin-Weng pairwise coupling.
 *
 * sample_weight (an input, as libsvm's W) scales each row's box: C_i = W_i C
 * (SVC: W_i C class_weight[y_i]); rows of weight 0 are removed before
 * training, as libsvm's remove_zero_weight, so the SMO sees the same problem
 * in the same order as libsvm. */
#include <math.h>
#include <string.h>
#include "core/internal.h"
#include "core/rng.h"
#include "mfs/svm.h"
#include "src_cuda/cuda_api.h"
#ifdef _OPENMP
#include <omp.h>
#endif

typedef mfs_svm_params svm_params;

static const double TAU = 1e-12;   /* libsvm: quadratic coefficient floor */
static const double INF_ = HUGE_VAL;
enum {
    ROW_PAR_MIN = 1 << 20, /* kernel-row work (len * d) worth a parallel region (~100 us) */
    PRED_BLOCK = 64        /* rows per predict block */
};

void mfs_svm_params_default(mfs_svm_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->variant = MFS_SVM_VARIANT_SVC;
    p->kernel = MFS_SVM_KERNEL_RBF;
    p->degree = 3;
    p->max_iter = -1;
    p->gamma = MFS_SVM_GAMMA_SCALE;
    p->coef0 = 0.0;
    p->tol = 1e-3;
    p->C = 1.0;
    p->epsilon = 0.1;
    p->cache_size = 200.0;
    p->shrinking = 1;
    p->probability = 0;
    p->decision_function_shape = MFS_SVM_SHAPE_OVR;
    p->break_ties = 0;
    p->random_state = 0;
}

static mfs_status check_params(const void *params) {
    const svm_params *p = (const svm_params *)params;
    static const char fn[] = "mfs_model_create";
    if (p->variant != MFS_SVM_VARIANT_SVC && p->variant != MFS_SVM_VARIANT_SVR)
        return mfs__error(MFS_E_INVALID_ARG, "%s: variant is %d, expected 0 (SVC) or 1 (SVR)", fn, (int)p->variant);
    if (p->kernel < MFS_SVM_KERNEL_LINEAR || p->kernel > MFS_SVM_KERNEL_SIGMOID)
        return mfs__error(MFS_E_INVALID_ARG,
                          "%s: kernel is %d, expected 0 (linear), 1 (poly), 2 (rbf) or 3 (sigmoid)", fn, (int)p->kernel);
    if (p->degree < 0)
        return mfs__error(MFS_E_INVALID_ARG, "%s: degree is %d, it must be >= 0", fn, (int)p->degree);
    if (p->max_iter < -1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: max_iter is %d, it must be >= 0 or -1 (no limit)", fn,
                          (int)p->max_iter);
    if (!(p->gamma > 0 && isfinite(p->gamma)) && p->gamma != MFS_SVM_GAMMA_SCALE && p->gamma != MFS_SVM_GAMMA_AUTO)
        return mfs__error(MFS_E_INVALID_ARG,
                          "%s: gamma is %g, it must be a finite number > 0, or %d (scale) or %d (auto)", fn, p->gamma,
                          (int)MFS_SVM_GAMMA_SCALE, (int)MFS_SVM_GAMMA_AUTO);
    if (!isfinite(p->coef0)) return mfs__error(MFS_E_INVALID_ARG, "%s: coef0 is %g, it must be finite", fn, p->coef0);
    if (!(p->tol > 0) || !isfinite(p->tol))
        return mfs__error(MFS_E_INVALID_ARG, "%s: tol is %g, it must be a finite number > 0", fn, p->tol);
    if (!(p->C > 0) || !isfinite(p->C))
        return mfs__error(MFS_E_INVALID_ARG, "%s: C is %g, it must be a finite number > 0", fn, p->C);
    if (!(p->epsilon >= 0) || !isfinite(p->epsilon))
        return mfs__error(MFS_E_INVALID_ARG, "%s: epsilon is %g, it must be a finite number >= 0", fn, p->epsilon);
    if (!(p->cache_size > 0) || !(p->cache_size <= 1e9))
        return mfs__error(MFS_E_INVALID_ARG, "%s: cache_size is %g MB, it must be > 0 (and at most 1e9)", fn,
                          p->cache_size);
    if (p->shrinking != 0 && p->shrinking != 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: shrinking is %d, expected 0 or 1", fn, (int)p->shrinking);
    if (p->probability != 0 && p->probability != 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: probability is %d, expected 0 or 1", fn, (int)p->probability);
    if (p->decision_function_shape != MFS_SVM_SHAPE_OVO && p->decision_function_shape != MFS_SVM_SHAPE_OVR)
        return mfs__error(MFS_E_INVALID_ARG, "%s: decision_function_shape is %d, expected 0 (ovo) or 1 (ovr)", fn,
                          (int)p->decision_function_shape);
    if (p->break_ties != 0 && p->break_ties != 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: break_ties is %d, expected 0 or 1", fn, (int)p->break_ties);
    if (p->break_ties && p->decision_function_shape == MFS_SVM_SHAPE_OVO)
        return mfs__error(MFS_E_INVALID_ARG, "%s: break_ties = 1 needs decision_function_shape = ovr (1)", fn);
    if (p->variant == MFS_SVM_VARIANT_SVR && p->probability)
        return mfs__error(MFS_E_INVALID_ARG, "%s: probability = 1 is for SVC only (variant 0)", fn);
    return MFS_OK;
}

mfs_status mfs_svm_create(const mfs_svm_params *params, mfs_device device, mfs_model **out) {
    return mfs__model_new("mfs_svm_create", MFS_MODEL_SVM, params, sizeof *params, device, out);
}

/* ---- kernels ------------------------------------------------------------- */

typedef struct kparams {
    int32_t kernel, degree;
    double gamma, coef0;
} kparams;

/* libsvm's powi: base^times by squaring (times >= 0). */
static inline double powi(double base, int times) {
    double tmp = base, ret = 1.0;
    for (int t = times; t > 0; t /= 2) {
        if (t % 2 == 1) ret *= tmp;
        tmp = tmp * tmp;
    }
    return ret;
}

/* K from the dot product and the two squared norms. */
static inline double kfun(const kparams *kp, double dot, double sqa, double sqb) {
    switch (kp->kernel) {
    case MFS_SVM_KERNEL_LINEAR: return dot;
    case MFS_SVM_KERNEL_POLY: return powi(kp->gamma * dot + kp->coef0, kp->degree);
    case MFS_SVM_KERNEL_RBF: return exp(-kp->gamma * (sqa + sqb - 2 * dot));
    default: return tanh(kp->gamma * dot + kp->coef0);
    }
}

/* a . b over d float32 values, accumulated in double in 8 independent lanes. */
static inline double dotd(const float *a, const float *b, int64_t d) {
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= d; j += 8)
        for (int q = 0; q < 8; q++) s[q] += (double)a[j + q] * (double)b[j + q];
    double t = 0;
    for (; j < d; j++) t += (double)a[j] * (double)b[j];
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7])) + t;
}

/* exp in double, written so that the compiler vectorizes loops of it: 2^n by
 * the exponent bits, exp(r) for |r| <= ln2/2 by its Taylor polynomial to
 * degree 12 (truncation < 2e-16 relative; a few ulp with rounding). x is
 * clamped to [-708, 708]: below, the true value is < 1e-307, zero in float32
 * and negligible in any sum of kernel values. */
static inline double exp_v(double x) {
    x = x < -708.0 ? -708.0 : (x > 708.0 ? 708.0 : x);
    const double shifter = 6755399441055744.0; /* 1.5 * 2^52: rounds to an integer */
    const double t = x * 1.4426950408889634 + shifter, n = t - shifter;
    double r = x - n * 6.93147180369123816490e-01;
    r = r - n * 1.90821492927058770002e-10;
    double p = 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    const int64_t bits = ((int64_t)n + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* Kernel values from dot products, in place over dot (count), the rows'
 * squared norms sq (count) and the fixed row's sqr. Vectorizable loops. */
static void kfun_many(const kparams *kp, double *dot, const double *sq, double sqr, int64_t count) {
    const double g = kp->gamma, c0 = kp->coef0;
    switch (kp->kernel) {
    case MFS_SVM_KERNEL_LINEAR: return;
    case MFS_SVM_KERNEL_POLY:
        for (int64_t k = 0; k < count; k++) dot[k] = powi(g * dot[k] + c0, kp->degree);
        return;
    case MFS_SVM_KERNEL_RBF:
        for (int64_t k = 0; k < count; k++) dot[k] = exp_v(-g * (sqr + sq[k] - 2 * dot[k]));
        return;
    default:
        for (int64_t k = 0; k < count; k++) dot[k] = tanh(g * dot[k] + c0);
    }
}

enum { DOT_COLS = 64 };

/* out[k - k0] = x . column k of BT for k in [k0, k1): BT is (d, ldb), the
 * transposed rows, so each feature adds one contiguous run of products into
 * DOT_COLS independent double accumulators (a GEMV without horizontal sums). */
static void dots_t(const float *x, int64_t d, const float *BT, int64_t ldb, int64_t k0, int64_t k1, double *out) {
    int64_t k = k0;
    for (; k + DOT_COLS <= k1; k += DOT_COLS) {
        double acc[DOT_COLS];
        for (int t = 0; t < DOT_COLS; t++) acc[t] = 0;
        for (int64_t j = 0; j < d; j++) {
            const double xj = x[j];
            const float *col = BT + j * ldb + k;
            for (int t = 0; t < DOT_COLS; t++) acc[t] += xj * (double)col[t];
        }
        for (int t = 0; t < DOT_COLS; t++) out[k - k0 + t] = acc[t];
    }
    if (k < k1) {
        const int64_t w = k1 - k;
        double acc[DOT_COLS];
        for (int t = 0; t < DOT_COLS; t++) acc[t] = 0;
        for (int64_t j = 0; j < d; j++) {
            const double xj = x[j];
            const float *col = BT + j * ldb + k;
            for (int64_t t = 0; t < w; t++) acc[t] += xj * (double)col[t];
        }
        for (int64_t t = 0; t < w; t++) out[k - k0 + t] = acc[t];
    }
}

static int par_threads(int64_t work) {
    if (work < ROW_PAR_MIN) return 1;
    int nt = mfs__num_threads();
    int64_t most = work / (ROW_PAR_MIN / 2);
    if (nt > most) nt = (int)most;
    return nt < 1 ? 1 : nt;
}

/* ---- the kernel-row cache (libsvm's Cache: LRU over rows, rows grow) -------- */

typedef struct chead {
    int32_t prev, next; /* LRU list; index l is the sentinel */
    int32_t len;        /* valid prefix of data; 0: not cached */
    float *data;
} chead;

typedef struct svm_cache {
    int64_t l;
    int64_t size; /* floats still allowed */
    chead *head;  /* l + 1 */
} svm_cache;

static mfs_status cache_init(svm_cache *c, int64_t l, double mb, const char *fn) {
    c->l = l;
    c->head = NULL;
    MFS_TRY(mfs__alloc((void **)&c->head, (size_t)(l + 1) * sizeof(chead), fn, "the kernel cache"));
    memset(c->head, 0, (size_t)(l + 1) * sizeof(chead));
    c->head[l].prev = c->head[l].next = (int32_t)l;
    double floats = mb * 1048576.0 / sizeof(float) - (double)l * sizeof(chead) / sizeof(float);
    int64_t size = floats > 9e18 ? INT64_MAX : (int64_t)floats;
    c->size = size > 2 * l ? size : 2 * l; /* at least two full rows, as libsvm */
    return MFS_OK;
}

static void cache_free(svm_cache *c) {
    if (!c->head) return;
    for (int64_t i = 0; i < c->l; i++) mfs__free(c->head[i].data);
    mfs__free(c->head);
    c->head = NULL;
}

static void lru_delete(svm_cache *c, int32_t h) {
    chead *H = c->head;
    H[H[h].prev].next = H[h].next;
    H[H[h].next].prev = H[h].prev;
}

static void lru_insert(svm_cache *c, int32_t h) { /* at the tail: most recent */
    chead *H = c->head;
    const int32_t s = (int32_t)c->l;
    H[h].next = s;
    H[h].prev = H[s].prev;
    H[H[h].prev].next = h;
    H[s].prev = h;
}

/* Row `index` with at least len values: *data, and *start = how many were
 * already valid (the caller fills [start, len)). */
static mfs_status cache_get(svm_cache *c, int64_t index, int64_t len, float **data, int64_t *start) {
    chead *h = &c->head[index];
    if (h->len) lru_delete(c, (int32_t)index);
    const int64_t more = len - h->len;
    *start = h->len;
    if (more > 0) {
        const int32_t s = (int32_t)c->l;
        while (c->size < more && c->head[s].next != s) {
            const int32_t old = c->head[s].next;
            lru_delete(c, old);
            mfs__free(c->head[old].data);
            c->size += c->head[old].len;
            c->head[old].data = NULL;
            c->head[old].len = 0;
        }
        float *nd = (float *)mfs__malloc((size_t)len * sizeof(float));
        if (!nd) {
            if (h->len) lru_insert(c, (int32_t)index);
            return mfs__error(MFS_E_NOMEM, "mfs_fit: out of memory for a kernel cache row of %lld values",
                              (long long)len);
        }
        if (h->len) memcpy(nd, h->data, (size_t)h->len * sizeof(float));
        mfs__free(h->data);
        h->data = nd;
        c->size -= more;
        h->len = (int32_t)len;
    }
    lru_insert(c, (int32_t)index);
    *data = h->data;
    return MFS_OK;
}

/* libsvm's Cache::swap_index, in two halves: the row headers of positions i
 * and j trade places now (and in the LRU list, as libsvm), while the entries i
 * and j inside every cached row are swapped by cache_apply_swaps for a whole
 * batch of swaps at once: row by row, so each row is walked while it is in
 * cache, instead of touching every cached row once per swap (libsvm's way,
 * which spends most of a shrinking step in cache misses). The result is the
 * same rows with the same contents. */
static void cache_swap_heads(svm_cache *c, int64_t i, int64_t j) {
    if (i == j) return;
    chead *H = c->head;
    if (H[i].len) lru_delete(c, (int32_t)i);
    if (H[j].len) lru_delete(c, (int32_t)j);
    float *td = H[i].data;
    H[i].data = H[j].data;
    H[j].data = td;
    int32_t tl = H[i].len;
    H[i].len = H[j].len;
    H[j].len = tl;
    if (H[i].len) lru_insert(c, (int32_t)i);
    if (H[j].len) lru_insert(c, (int32_t)j);
}

/* The entry swaps of log (pairs lo < hi, in order) on every cached row; a row
 * long enough for lo but not for hi is given up, as libsvm does. */
static void cache_apply_swaps(svm_cache *c, const int64_t *log, int64_t count) {
    if (count == 0) return;
    chead *H = c->head;
    const int32_t s = (int32_t)c->l;
    for (int32_t h = H[s].next; h != s;) {
        const int32_t next = H[h].next;
        float *data = H[h].data;
        const int64_t len = H[h].len;
        for (int64_t q = 0; q < count; q++) {
            const int64_t lo = log[2 * q], hi = log[2 * q + 1];
            if (len <= lo) continue;
            if (len > hi) {
                const float t = data[lo];
                data[lo] = data[hi];
                data[hi] = t;
            } else {
                lru_delete(c, h);
                mfs__free(data);
                c->size += len;
                H[h].data = NULL;
                H[h].len = 0;
                break;
            }
        }
        h = next;
    }
}

/* ---- Q: SVC_Q and SVR_Q of libsvm ---------------------------------------------- */

typedef struct qmat {
    int svr;
    int64_t l;       /* positions */
    int64_t nk;      /* kernel rows: SVC l, SVR l / 2 */
    int64_t d;
    kparams kp;
    const float *X;  /* the base training matrix (n, d) */
    int32_t *orig;   /* (nk) kernel row -> row of X; SVC: permuted with the positions */
    float *XT;       /* (d, nk) those rows transposed, same order (CPU) */
    double *dbuf;    /* (nk) dot products of one row (CPU) */
    double *xsq;     /* (nk) squared norms, same order */
    const int8_t *y; /* SVC: the solver's labels (swapped by the solver) */
    double *QD;      /* (l) Q_ii */
    int8_t *sign;    /* SVR (l) */
    int32_t *index;  /* SVR (l): position -> kernel row */
    float *buf[2];   /* SVR: rows handed out, valid for two calls */
    int next_buf;
    int64_t *swlog;  /* SVC: position swaps not yet applied inside cached rows */
    int64_t nsw;
    svm_cache cache;
    mfs__svm_cuda *gpu; /* non-NULL: kernel rows on the device */
    int gpu_dirty;      /* orig changed since the last upload */
} qmat;

static void qmat_free(qmat *q) {
    cache_free(&q->cache);
    mfs__free(q->orig);
    mfs__free(q->XT);
    mfs__free(q->dbuf);
    mfs__free(q->xsq);
    mfs__free(q->QD);
    mfs__free(q->sign);
    mfs__free(q->index);
    mfs__free(q->buf[0]);
    mfs__free(q->buf[1]);
    mfs__free(q->swlog);
    memset(q, 0, sizeof *q);
}

/* Kernel values K(row r, rows [start, len)) of q's kernel rows into out
 * (len - start), times ysign[r] ysign[k] when ysign is given; from the CPU's
 * transposed copy or from the device. */
static mfs_status kernel_row(qmat *q, int64_t r, int64_t start, int64_t len, float *out, const int8_t *ysign) {
    if (len <= start) return MFS_OK;
    if (q->gpu) {
        if (q->gpu_dirty) {
            MFS_TRY(mfs__svm_cuda_order(q->gpu, q->orig, q->nk));
            q->gpu_dirty = 0;
        }
        MFS_TRY(mfs__svm_cuda_row(q->gpu, q->orig[r], start, len, out));
        if (ysign) {
            const float yr = (float)ysign[r];
            for (int64_t k = start; k < len; k++) out[k - start] = yr * (float)ysign[k] * out[k - start];
        }
        return MFS_OK;
    }
    const int64_t d = q->d, nk = q->nk, count = len - start;
    const float *xr = q->X + (int64_t)q->orig[r] * d;
    const double sqr = q->xsq[r];
    const kparams kp = q->kp;
    const int nt = par_threads(count * d);
    /* thread t takes a run of whole DOT_COLS blocks: every value is computed
     * by exactly the same operations whatever the thread count */
    const int64_t blocks = (count + DOT_COLS - 1) / DOT_COLS;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int t = 0; t < nt; t++) {
        const int64_t a = start + blocks * t / nt * DOT_COLS, b0 = start + blocks * (t + 1) / nt * DOT_COLS;
        const int64_t b = b0 < len ? b0 : len;
        if (a >= b) continue;
        double *dv = q->dbuf + a;
        dots_t(xr, d, q->XT, nk, a, b, dv);
        kfun_many(&kp, dv, q->xsq + a, sqr, b - a);
        if (ysign) {
            const double yr = ysign[r];
            for (int64_t k = a; k < b; k++) out[k - start] = (float)(yr * ysign[k] * dv[k - a]);
        } else {
            for (int64_t k = a; k < b; k++) out[k - start] = (float)dv[k - a];
        }
    }
    return MFS_OK;
}

/* Row i of Q over positions [0, len). */
static mfs_status get_Q(qmat *q, int64_t i, int64_t len, const float **out) {
    if (!q->svr) {
        float *data;
        int64_t start;
        MFS_TRY(cache_get(&q->cache, i, len, &data, &start));
        if (start < len) MFS_TRY(kernel_row(q, i, start, len, data + start, q->y));
        *out = data;
        return MFS_OK;
    }
    const int64_t nk = q->nk, real_i = q->index[i];
    float *data;
    int64_t start;
    MFS_TRY(cache_get(&q->cache, real_i, nk, &data, &start));
    if (start < nk) MFS_TRY(kernel_row(q, real_i, start, nk, data + start, NULL));
    float *buf = q->buf[q->next_buf];
    q->next_buf = 1 - q->next_buf;
    const float si = (float)q->sign[i];
    for (int64_t j = 0; j < len; j++) buf[j] = si * (float)q->sign[j] * data[q->index[j]];
    *out = buf;
    return MFS_OK;
}

static void swap_d(double *a, int64_t i, int64_t j) { double t = a[i]; a[i] = a[j]; a[j] = t; }
static void swap_i32(int32_t *a, int64_t i, int64_t j) { int32_t t = a[i]; a[i] = a[j]; a[j] = t; }
static void swap_i8(int8_t *a, int64_t i, int64_t j) { int8_t t = a[i]; a[i] = a[j]; a[j] = t; }

static void q_swap(qmat *q, int64_t i, int64_t j) {
    if (q->svr) {
        swap_i8(q->sign, i, j);
        swap_i32(q->index, i, j);
        swap_d(q->QD, i, j);
        return;
    }
    if (i == j) return;
    cache_swap_heads(&q->cache, i, j);
    q->swlog[2 * q->nsw] = i < j ? i : j;
    q->swlog[2 * q->nsw + 1] = i < j ? j : i;
    q->nsw++;
    swap_i32(q->orig, i, j);
    swap_d(q->xsq, i, j);
    swap_d(q->QD, i, j);
    if (q->XT)
        for (int64_t f = 0; f < q->d; f++) {
            float *col = q->XT + f * q->nk;
            const float t = col[i];
            col[i] = col[j];
            col[j] = t;
        }
    q->gpu_dirty = 1;
}

/* After a batch of swaps: apply them inside the cached rows. */
static void q_flush(qmat *q) {
    if (q->svr || q->nsw == 0) return;
    cache_apply_swaps(&q->cache, q->swlog, q->nsw);
    q->nsw = 0;
}

/* A Q over kernel rows `rows` (nk) of X; svr: positions are 2 nk. */
static mfs_status qmat_init(qmat *q, const char *fn, const float *X, int64_t d, const int32_t *rows, int64_t nk,
                            int svr, const kparams *kp, double cache_mb, mfs__svm_cuda *gpu, const int8_t *y) {
    memset(q, 0, sizeof *q);
    q->svr = svr;
    q->nk = nk;
    q->l = svr ? 2 * nk : nk;
    q->d = d;
    q->kp = *kp;
    q->X = X;
    q->y = y;
    q->gpu = gpu;
    q->gpu_dirty = 1;
    const int64_t l = q->l;
    mfs_status s;
    if ((s = mfs__alloc((void **)&q->orig, (size_t)nk * sizeof(int32_t), fn, "the SMO problem")) != MFS_OK ||
        (s = mfs__alloc((void **)&q->xsq, (size_t)nk * sizeof(double), fn, "the SMO problem")) != MFS_OK ||
        (s = mfs__alloc((void **)&q->QD, (size_t)l * sizeof(double), fn, "the SMO problem")) != MFS_OK)
        goto fail;
    if (!gpu && ((s = mfs__alloc((void **)&q->XT, (size_t)(nk * d) * sizeof(float), fn, "the SMO problem")) != MFS_OK ||
                 (s = mfs__alloc((void **)&q->dbuf, (size_t)nk * sizeof(double), fn, "the SMO problem")) != MFS_OK))
        goto fail;
    if (!svr && (s = mfs__alloc((void **)&q->swlog, (size_t)(2 * nk) * sizeof(int64_t), fn, "the SMO problem")) != MFS_OK)
        goto fail;
    for (int64_t k = 0; k < nk; k++) {
        const float *x = X + (int64_t)rows[k] * d;
        q->orig[k] = rows[k];
        if (q->XT)
            for (int64_t f = 0; f < d; f++) q->XT[f * nk + k] = x[f];
        q->xsq[k] = dotd(x, x, d);
        q->QD[k] = kfun(kp, q->xsq[k], q->xsq[k], q->xsq[k]);
    }
    if (svr) {
        if ((s = mfs__alloc((void **)&q->sign, (size_t)l, fn, "the SMO problem")) != MFS_OK ||
            (s = mfs__alloc((void **)&q->index, (size_t)l * sizeof(int32_t), fn, "the SMO problem")) != MFS_OK ||
            (s = mfs__alloc((void **)&q->buf[0], (size_t)l * sizeof(float), fn, "the SMO problem")) != MFS_OK ||
            (s = mfs__alloc((void **)&q->buf[1], (size_t)l * sizeof(float), fn, "the SMO problem")) != MFS_OK)
            goto fail;
        for (int64_t k = 0; k < nk; k++) {
            q->sign[k] = 1;
            q->sign[k + nk] = -1;
            q->index[k] = (int32_t)k;
            q->index[k + nk] = (int32_t)k;
            q->QD[k + nk] = q->QD[k];
        }
    }
    if ((s = cache_init(&q->cache, nk, cache_mb, fn)) != MFS_OK) goto fail;
    return MFS_OK;
fail:
    qmat_free(q);
    return s;
}

/* ---- the SMO solver (libsvm's Solver) ------------------------------------------ */

enum { LOWER_BOUND = 0, UPPER_BOUND = 1, FREE = 2 };

typedef struct solver {
    int64_t l, active_size;
    int8_t *y;
    double *G, *G_bar, *alpha, *p, *C;
    int8_t *status;
    int32_t *active_set;
    double eps;
    int unshrink;
    qmat *Q;
} solver;

static inline void update_status(solver *s, int64_t i) {
    if (s->alpha[i] >= s->C[i]) s->status[i] = UPPER_BOUND;
    else if (s->alpha[i] <= 0) s->status[i] = LOWER_BOUND;
    else s->status[i] = FREE;
}
#define IS_UPPER(s, i) ((s)->status[i] == UPPER_BOUND)
#define IS_LOWER(s, i) ((s)->status[i] == LOWER_BOUND)
#define IS_FREE(s, i) ((s)->status[i] == FREE)

static void s_swap(solver *s, int64_t i, int64_t j) {
    q_swap(s->Q, i, j);
    swap_i8(s->y, i, j);
    swap_d(s->G, i, j);
    swap_i8(s->status, i, j);
    swap_d(s->alpha, i, j);
    swap_d(s->p, i, j);
    swap_i32(s->active_set, i, j);
    swap_d(s->G_bar, i, j);
    swap_d(s->C, i, j);
}

static mfs_status reconstruct_gradient(solver *s) {
    const int64_t l = s->l, as = s->active_size;
    if (as == l) return MFS_OK;
    int64_t nr_free = 0;
    for (int64_t j = as; j < l; j++) s->G[j] = s->G_bar[j] + s->p[j];
    for (int64_t j = 0; j < as; j++)
        if (IS_FREE(s, j)) nr_free++;
    if (nr_free * l > 2 * as * (l - as)) {
        for (int64_t i = as; i < l; i++) {
            const float *Q_i;
            MFS_TRY(get_Q(s->Q, i, as, &Q_i));
            double g = 0;
            for (int64_t j = 0; j < as; j++)
                if (IS_FREE(s, j)) g += s->alpha[j] * Q_i[j];
            s->G[i] += g;
        }
    } else {
        for (int64_t i = 0; i < as; i++)
            if (IS_FREE(s, i)) {
                const float *Q_i;
                MFS_TRY(get_Q(s->Q, i, l, &Q_i));
                const double a = s->alpha[i];
                for (int64_t j = as; j < l; j++) s->G[j] += a * Q_i[j];
            }
    }
    return MFS_OK;
}

/* WSS 2: 1 when optimal (no violating pair), else 0 with *out_i, *out_j. */
static mfs_status select_working_set(solver *s, int64_t *out_i, int64_t *out_j, int *optimal) {
    double Gmax = -INF_, Gmax2 = -INF_, obj_diff_min = INF_;
    int64_t Gmax_idx = -1, Gmin_idx = -1;
    const int64_t as = s->active_size;
    const int8_t *y = s->y;
    const double *G = s->G;
    for (int64_t t = 0; t < as; t++) {
        if (y[t] == +1) {
            if (!IS_UPPER(s, t) && -G[t] >= Gmax) {
                Gmax = -G[t];
                Gmax_idx = t;
            }
        } else {
            if (!IS_LOWER(s, t) && G[t] >= Gmax) {
                Gmax = G[t];
                Gmax_idx = t;
            }
        }
    }
    const int64_t i = Gmax_idx;
    const float *Q_i = NULL;
    if (i != -1) MFS_TRY(get_Q(s->Q, i, as, &Q_i));
    const double *QD = s->Q->QD;
    for (int64_t j = 0; j < as; j++) {
        if (y[j] == +1) {
            if (!IS_LOWER(s, j)) {
                const double grad_diff = Gmax + G[j];
                if (G[j] >= Gmax2) Gmax2 = G[j];
                if (grad_diff > 0) {
                    const double quad = QD[i] + QD[j] - 2.0 * y[i] * Q_i[j];
                    const double obj_diff = quad > 0 ? -(grad_diff * grad_diff) / quad : -(grad_diff * grad_diff) / TAU;
                    if (obj_diff <= obj_diff_min) {
                        Gmin_idx = j;
                        obj_diff_min = obj_diff;
                    }
                }
            }
        } else {
            if (!IS_UPPER(s, j)) {
                const double grad_diff = Gmax - G[j];
                if (-G[j] >= Gmax2) Gmax2 = -G[j];
                if (grad_diff > 0) {
                    const double quad = QD[i] + QD[j] + 2.0 * y[i] * Q_i[j];
                    const double obj_diff = quad > 0 ? -(grad_diff * grad_diff) / quad : -(grad_diff * grad_diff) / TAU;
                    if (obj_diff <= obj_diff_min) {
                        Gmin_idx = j;
                        obj_diff_min = obj_diff;
                    }
                }
            }
        }
    }
    if (Gmax + Gmax2 < s->eps || Gmin_idx == -1) {
        *optimal = 1;
        return MFS_OK;
    }
    *optimal = 0;
    *out_i = Gmax_idx;
    *out_j = Gmin_idx;
    return MFS_OK;
}

static int be_shrunk(const solver *s, int64_t i, double Gmax1, double Gmax2) {
    if (IS_UPPER(s, i)) return s->y[i] == +1 ? -s->G[i] > Gmax1 : -s->G[i] > Gmax2;
    if (IS_LOWER(s, i)) return s->y[i] == +1 ? s->G[i] > Gmax2 : s->G[i] > Gmax1;
    return 0;
}

static mfs_status do_shrinking(solver *s) {
    double Gmax1 = -INF_, Gmax2 = -INF_;
    for (int64_t i = 0; i < s->active_size; i++) {
        const double g = s->G[i];
        if (s->y[i] == +1) {
            if (!IS_UPPER(s, i) && -g >= Gmax1) Gmax1 = -g;
            if (!IS_LOWER(s, i) && g >= Gmax2) Gmax2 = g;
        } else {
            if (!IS_UPPER(s, i) && -g >= Gmax2) Gmax2 = -g;
            if (!IS_LOWER(s, i) && g >= Gmax1) Gmax1 = g;
        }
    }
    if (!s->unshrink && Gmax1 + Gmax2 <= s->eps * 10) {
        s->unshrink = 1;
        MFS_TRY(reconstruct_gradient(s));
        s->active_size = s->l;
    }
    for (int64_t i = 0; i < s->active_size; i++)
        if (be_shrunk(s, i, Gmax1, Gmax2)) {
            s->active_size--;
            while (s->active_size > i) {
                if (!be_shrunk(s, s->active_size, Gmax1, Gmax2)) {
                    s_swap(s, i, s->active_size);
                    break;
                }
                s->active_size--;
            }
        }
    q_flush(s->Q);
    return MFS_OK;
}

static double calculate_rho(const solver *s) {
    int64_t nr_free = 0;
    double ub = INF_, lb = -INF_, sum_free = 0;
    for (int64_t i = 0; i < s->active_size; i++) {
        const double yG = s->y[i] * s->G[i];
        if (IS_UPPER(s, i)) {
            if (s->y[i] == -1) ub = fmin(ub, yG);
            else lb = fmax(lb, yG);
        } else if (IS_LOWER(s, i)) {
            if (s->y[i] == +1) ub = fmin(ub, yG);
            else lb = fmax(lb, yG);
        } else {
            nr_free++;
            sum_free += yG;
        }
    }
    return nr_free > 0 ? sum_free / (double)nr_free : (ub + lb) / 2;
}

/* One SMO problem over Q's positions: p (l), y (l), C (l) in; alpha (l) out in
 * the original position order; *rho, *iters. */
static mfs_status solve(qmat *Q, const double *p_, int8_t *y, const double *C_, double eps, int shrinking,
                        int32_t max_iter, double *alpha_out, double *rho, int32_t *iters, const char *fn) {
    const int64_t l = Q->l;
    solver S;
    memset(&S, 0, sizeof S);
    S.l = l;
    S.Q = Q;
    S.y = y;
    S.eps = eps;
    char *mem = NULL;
    const size_t per = 5 * sizeof(double) + sizeof(int32_t) + 1;
    MFS_TRY(mfs__alloc((void **)&mem, per * (size_t)l + 64, fn, "the SMO solver"));
    S.G = (double *)mem;
    S.G_bar = S.G + l;
    S.alpha = S.G_bar + l;
    S.p = S.alpha + l;
    S.C = S.p + l;
    S.active_set = (int32_t *)(S.C + l);
    S.status = (int8_t *)(S.active_set + l);
    mfs_status st = MFS_OK;
    for (int64_t i = 0; i < l; i++) {
        S.alpha[i] = 0;
        S.p[i] = p_[i];
        S.C[i] = C_[i];
        S.active_set[i] = (int32_t)i;
        update_status(&S, i);
        S.G[i] = S.p[i];
        S.G_bar[i] = 0;
    }
    S.active_size = l;
    /* alpha starts at 0: the gradient is p, G_bar 0 (libsvm's general
     * initialization loop has nothing to add) */
    int64_t iter = 0;
    int64_t counter = (l < 1000 ? l : 1000) + 1;
    const int64_t limit = max_iter < 0 ? INT64_MAX : (int64_t)max_iter;
    while (iter < limit) {
        if (--counter == 0) {
            counter = l < 1000 ? l : 1000;
            if (shrinking && (st = do_shrinking(&S)) != MFS_OK) goto done;
        }
        int64_t i = -1, j = -1;
        int optimal = 0;
        if ((st = select_working_set(&S, &i, &j, &optimal)) != MFS_OK) goto done;
        if (optimal) {
            if ((st = reconstruct_gradient(&S)) != MFS_OK) goto done;
            S.active_size = l;
            if ((st = select_working_set(&S, &i, &j, &optimal)) != MFS_OK) goto done;
            if (optimal) break;
            counter = 1; /* shrink at the next iteration */
        }
        ++iter;
        const float *Q_i, *Q_j;
        if ((st = get_Q(Q, i, S.active_size, &Q_i)) != MFS_OK) goto done;
        if ((st = get_Q(Q, j, S.active_size, &Q_j)) != MFS_OK) goto done;
        const double C_i = S.C[i], C_j = S.C[j];
        const double old_ai = S.alpha[i], old_aj = S.alpha[j];
        double *alpha = S.alpha;
        const double *QD = Q->QD;
        if (S.y[i] != S.y[j]) {
            double quad = QD[i] + QD[j] + 2 * Q_i[j];
            if (quad <= 0) quad = TAU;
            const double delta = (-S.G[i] - S.G[j]) / quad;
            const double diff = alpha[i] - alpha[j];
            alpha[i] += delta;
            alpha[j] += delta;
            if (diff > 0) {
                if (alpha[j] < 0) {
                    alpha[j] = 0;
                    alpha[i] = diff;
                }
            } else {
                if (alpha[i] < 0) {
                    alpha[i] = 0;
                    alpha[j] = -diff;
                }
            }
            if (diff > C_i - C_j) {
                if (alpha[i] > C_i) {
                    alpha[i] = C_i;
                    alpha[j] = C_i - diff;
                }
            } else {
                if (alpha[j] > C_j) {
                    alpha[j] = C_j;
                    alpha[i] = C_j + diff;
                }
            }
        } else {
            double quad = QD[i] + QD[j] - 2 * Q_i[j];
            if (quad <= 0) quad = TAU;
            const double delta = (S.G[i] - S.G[j]) / quad;
            const double sum = alpha[i] + alpha[j];
            alpha[i] -= delta;
            alpha[j] += delta;
            if (sum > C_i) {
                if (alpha[i] > C_i) {
                    alpha[i] = C_i;
                    alpha[j] = sum - C_i;
                }
            } else {
                if (alpha[j] < 0) {
                    alpha[j] = 0;
                    alpha[i] = sum;
                }
            }
            if (sum > C_j) {
                if (alpha[j] > C_j) {
                    alpha[j] = C_j;
                    alpha[i] = sum - C_j;
                }
            } else {
                if (alpha[i] < 0) {
                    alpha[i] = 0;
                    alpha[j] = sum;
                }
            }
        }
        const double dai = alpha[i] - old_ai, daj = alpha[j] - old_aj;
        double *G = S.G;
        const int64_t as = S.active_size;
        for (int64_t k = 0; k < as; k++) G[k] += Q_i[k] * dai + Q_j[k] * daj;
        const int ui = IS_UPPER(&S, i), uj = IS_UPPER(&S, j);
        update_status(&S, i);
        update_status(&S, j);
        if (ui != IS_UPPER(&S, i)) {
            if ((st = get_Q(Q, i, l, &Q_i)) != MFS_OK) goto done;
            const double c = ui ? -C_i : C_i;
            for (int64_t k = 0; k < l; k++) S.G_bar[k] += c * Q_i[k];
        }
        if (uj != IS_UPPER(&S, j)) {
            if ((st = get_Q(Q, j, l, &Q_j)) != MFS_OK) goto done;
            const double c = uj ? -C_j : C_j;
            for (int64_t k = 0; k < l; k++) S.G_bar[k] += c * Q_j[k];
        }
    }
    if (iter >= limit && S.active_size < l) {
        if ((st = reconstruct_gradient(&S)) != MFS_OK) goto done;
        S.active_size = l;
    }
    *rho = calculate_rho(&S);
    *iters = iter > INT32_MAX ? INT32_MAX : (int32_t)iter;
    for (int64_t i = 0; i < l; i++) alpha_out[S.active_set[i]] = S.alpha[i];
    /* the labels go back to the caller's order too */
    {
        int8_t *yy = (int8_t *)S.G; /* G is no longer needed */
        for (int64_t i = 0; i < l; i++) yy[S.active_set[i]] = S.y[i];
        memcpy(y, yy, (size_t)l);
    }
done:
    mfs__free(mem);
    return st;
}

/* ---- training ------------------------------------------------------------------- */

typedef struct fit_ctx {
    const char *fn;
    const float *X;
    int64_t n, d;
    kparams kp;
    const svm_params *p;
    const double *w; /* (n) sample weights, all > 0; NULL: unweighted */
    mfs__svm_cuda *gpu;
} fit_ctx;

/* Binary C-SVC on rows (l) with labels yy (+1/-1) and per-row C: alpha (l)
 * out as libsvm's f.alpha (alpha_i y_i), *rho, *iters. */
static mfs_status train_binary(const fit_ctx *c, const int32_t *rows, const int8_t *yy, const double *Cs, int64_t l,
                               double *alpha, double *rho, int32_t *iters) {
    int8_t *y = NULL;
    double *p = NULL;
    MFS_TRY(mfs__alloc((void **)&y, (size_t)l, c->fn, "the SMO problem"));
    mfs_status s = mfs__alloc((void **)&p, (size_t)l * sizeof(double), c->fn, "the SMO problem");
    if (s != MFS_OK) {
        mfs__free(y);
        return s;
    }
    for (int64_t i = 0; i < l; i++) {
        y[i] = yy[i];
        p[i] = -1;
    }
    qmat Q;
    s = qmat_init(&Q, c->fn, c->X, c->d, rows, l, 0, &c->kp, c->p->cache_size, c->gpu, y);
    if (s == MFS_OK) {
        s = solve(&Q, p, y, Cs, c->p->tol, c->p->shrinking, c->p->max_iter, alpha, rho, iters, c->fn);
        qmat_free(&Q);
    }
    if (s == MFS_OK)
        for (int64_t i = 0; i < l; i++) alpha[i] *= yy[i];
    mfs__free(y);
    mfs__free(p);
    return s;
}

/* Decision value of x for a binary solution (alpha over rows, rho). */
static double binary_value(const fit_ctx *c, const float *x, const int32_t *rows, const double *alpha, int64_t l,
                           double rho) {
    const double sqx = dotd(x, x, c->d);
    double sum = 0;
    for (int64_t k = 0; k < l; k++) {
        if (alpha[k] == 0) continue;
        const float *v = c->X + (int64_t)rows[k] * c->d;
        sum += alpha[k] * kfun(&c->kp, dotd(x, v, c->d), sqx, dotd(v, v, c->d));
    }
    return sum - rho;
}

/* Platt's sigmoid fitted by libsvm's Newton method with backtracking (Lin,
 * Lin & Weng 2007): P(y = 1 | f) = 1 / (1 + exp(A f + B)). */
static void sigmoid_train(int64_t l, const double *dec, const int8_t *labels, double *t, double *A_, double *B_) {
    double prior1 = 0, prior0 = 0;
    for (int64_t i = 0; i < l; i++) {
        if (labels[i] > 0) prior1 += 1;
        else prior0 += 1;
    }
    const int max_iter = 100;
    const double min_step = 1e-10, sigma = 1e-12, eps = 1e-5;
    const double hiTarget = (prior1 + 1.0) / (prior1 + 2.0), loTarget = 1 / (prior0 + 2.0);
    double A = 0.0, B = log((prior0 + 1.0) / (prior1 + 1.0)), fval = 0.0;
    for (int64_t i = 0; i < l; i++) {
        t[i] = labels[i] > 0 ? hiTarget : loTarget;
        const double fApB = dec[i] * A + B;
        fval += fApB >= 0 ? t[i] * fApB + log(1 + exp(-fApB)) : (t[i] - 1) * fApB + log(1 + exp(fApB));
    }
    for (int iter = 0; iter < max_iter; iter++) {
        double h11 = sigma, h22 = sigma, h21 = 0, g1 = 0, g2 = 0;
        for (int64_t i = 0; i < l; i++) {
            const double fApB = dec[i] * A + B;
            double p, q;
            if (fApB >= 0) {
                p = exp(-fApB) / (1.0 + exp(-fApB));
                q = 1.0 / (1.0 + exp(-fApB));
            } else {
                p = 1.0 / (1.0 + exp(fApB));
                q = exp(fApB) / (1.0 + exp(fApB));
            }
            const double d2 = p * q, d1 = t[i] - p;
            h11 += dec[i] * dec[i] * d2;
            h22 += d2;
            h21 += dec[i] * d2;
            g1 += dec[i] * d1;
            g2 += d1;
        }
        if (fabs(g1) < eps && fabs(g2) < eps) break;
        const double det = h11 * h22 - h21 * h21;
        const double dA = -(h22 * g1 - h21 * g2) / det, dB = -(-h21 * g1 + h11 * g2) / det;
        const double gd = g1 * dA + g2 * dB;
        double stepsize = 1;
        while (stepsize >= min_step) {
            const double newA = A + stepsize * dA, newB = B + stepsize * dB;
            double newf = 0.0;
            for (int64_t i = 0; i < l; i++) {
                const double fApB = dec[i] * newA + newB;
                newf += fApB >= 0 ? t[i] * fApB + log(1 + exp(-fApB)) : (t[i] - 1) * fApB + log(1 + exp(fApB));
            }
            if (newf < fval + 0.0001 * stepsize * gd) {
                A = newA;
                B = newB;
                fval = newf;
                break;
            }
            stepsize /= 2.0;
        }
        if (stepsize < min_step) break; /* line search failed: keep the last iterate, as libsvm */
    }
    *A_ = A;
    *B_ = B;
}

/* libsvm's svm_binary_svc_probability: decision values of 5-fold CV on the
 * pair's rows (labels yy, C per row), then the sigmoid. Folds from Philox
 * (seed random_state, stream = pair). */
static mfs_status binary_probability(const fit_ctx *c, const int32_t *rows, const int8_t *yy, const double *Cs,
                                     int64_t l, uint64_t stream, double *probA, double *probB) {
    const int nr_fold = 5;
    char *mem = NULL;
    /* dec, alpha, t, cs (l) doubles; perm, sub (l) int32; suby (l) */
    const size_t per = 4 * sizeof(double) + 2 * sizeof(int32_t) + 1;
    MFS_TRY(mfs__alloc((void **)&mem, per * (size_t)l + 64, c->fn, "the probability folds"));
    double *dec = (double *)mem, *alpha = dec + l, *t = alpha + l, *cs = t + l;
    int32_t *perm = (int32_t *)(cs + l), *sub = perm + l;
    int8_t *suby = (int8_t *)(sub + l);
    mfs_status s = MFS_OK;
    mfs_rng rng = mfs_rng_make((uint64_t)c->p->random_state, stream);
    for (int64_t i = 0; i < l; i++) perm[i] = (int32_t)i;
    for (int64_t i = 0; i < l; i++) {
        const int64_t j = i + (int64_t)mfs_rng_below(&rng, (uint64_t)(l - i));
        swap_i32(perm, i, j);
    }
    for (int f = 0; f < nr_fold && s == MFS_OK; f++) {
        const int64_t begin = f * l / nr_fold, end = (f + 1) * l / nr_fold;
        /* libsvm trains the fold model through svm_train, which sorts the
         * labels: class -1 first (+1 in the SMO problem), then class +1, and
         * flips the decision value back */
        int64_t k = 0, pc = 0, nc = 0;
        for (int pass = 0; pass < 2; pass++)
            for (int64_t j = 0; j < l; j++) {
                if (j >= begin && j < end) continue;
                const int64_t r = perm[j];
                if ((pass == 0) != (yy[r] < 0)) continue;
                sub[k] = rows[r];
                suby[k] = pass == 0 ? +1 : -1;
                cs[k] = Cs[r];
                k++;
                if (yy[r] > 0) pc++;
                else nc++;
            }
        if (pc == 0 && nc == 0) {
            for (int64_t j = begin; j < end; j++) dec[perm[j]] = 0;
        } else if (pc > 0 && nc == 0) {
            for (int64_t j = begin; j < end; j++) dec[perm[j]] = 1;
        } else if (pc == 0 && nc > 0) {
            for (int64_t j = begin; j < end; j++) dec[perm[j]] = -1;
        } else {
            double rho;
            int32_t it;
            s = train_binary(c, sub, suby, cs, k, alpha, &rho, &it);
            if (s != MFS_OK) break;
            for (int64_t j = begin; j < end; j++) {
                const float *x = c->X + (int64_t)rows[perm[j]] * c->d;
                dec[perm[j]] = -binary_value(c, x, sub, alpha, k, rho);
            }
        }
    }
    if (s == MFS_OK) sigmoid_train(l, dec, yy, t, probA, probB);
    mfs__free(mem);
    return s;
}

/* gamma from 'scale' / 'auto' / the value. */
static double resolve_gamma(const svm_params *p, const float *X, int64_t n, int64_t d) {
    if (p->gamma > 0) return p->gamma;
    if (p->gamma == MFS_SVM_GAMMA_AUTO) return 1.0 / (double)d;
    /* X.var() over every entry, two passes in double (numpy's) */
    const int64_t N = n * d;
    double sum = 0;
    for (int64_t q = 0; q < N; q++) sum += X[q];
    const double mean = sum / (double)N;
    double ss = 0;
    for (int64_t q = 0; q < N; q++) {
        const double e = X[q] - mean;
        ss += e * e;
    }
    const double var = ss / (double)N;
    return var != 0 ? 1.0 / ((double)d * var) : 1.0;
}


static mfs_status fit_svr(mfs_model *m, fit_ctx *c, const float *yv) {
    const svm_params *p = c->p;
    const int64_t n = c->n, d = c->d, l = 2 * n;
    const char *fn = c->fn;
    char *mem = NULL;
    const size_t per = 4 * sizeof(double) + sizeof(int32_t) + 1;
    MFS_TRY(mfs__alloc((void **)&mem, per * (size_t)l + 64, fn, "the SVR problem"));
    double *alpha2 = (double *)mem, *lin = alpha2 + l, *Cs = lin + l, *alpha = Cs + l;
    int32_t *rows = (int32_t *)(alpha + l);
    int8_t *y = (int8_t *)(rows + l);
    for (int64_t i = 0; i < n; i++) {
        rows[i] = (int32_t)i;
        lin[i] = p->epsilon - yv[i];
        y[i] = 1;
        Cs[i] = c->w ? c->w[i] * p->C : p->C; /* libsvm: W_i C on both alpha_i and alpha*_i */
        lin[i + n] = p->epsilon + yv[i];
        y[i + n] = -1;
        Cs[i + n] = Cs[i];
    }
    qmat Q;
    double rho = 0;
    int32_t iters = 0;
    mfs_status s = qmat_init(&Q, fn, c->X, d, rows, n, 1, &c->kp, p->cache_size, c->gpu, NULL);
    if (s == MFS_OK) {
        s = solve(&Q, lin, y, Cs, p->tol, p->shrinking, p->max_iter, alpha2, &rho, &iters, fn);
        qmat_free(&Q);
    }
    int64_t nsv = 0;
    if (s == MFS_OK)
        for (int64_t i = 0; i < n; i++) {
            alpha[i] = alpha2[i] - alpha2[i + n];
            if (fabs(alpha[i]) > 0) nsv++;
        }
    if (s == MFS_OK) {
        int32_t *sup, *nsup, *nit;
        float *svs;
        double *coef, *icpt, *g;
        const int64_t s_sup[1] = {nsv}, s_sv[2] = {nsv, d}, s_one[1] = {1}, s_coef[2] = {1, nsv};
        if ((s = mfs__array_new(m, "support", MFS_DTYPE_INT32, 1, s_sup, (void **)&sup)) == MFS_OK &&
            (s = mfs__array_new(m, "support_vectors", MFS_DTYPE_FLOAT32, 2, s_sv, (void **)&svs)) == MFS_OK &&
            (s = mfs__array_new(m, "n_support", MFS_DTYPE_INT32, 1, s_one, (void **)&nsup)) == MFS_OK &&
            (s = mfs__array_new(m, "dual_coef", MFS_DTYPE_FLOAT64, 2, s_coef, (void **)&coef)) == MFS_OK &&
            (s = mfs__array_new(m, "intercept", MFS_DTYPE_FLOAT64, 1, s_one, (void **)&icpt)) == MFS_OK &&
            (s = mfs__array_new(m, "n_iter", MFS_DTYPE_INT32, 1, s_one, (void **)&nit)) == MFS_OK &&
            (s = mfs__array_new(m, "gamma", MFS_DTYPE_FLOAT64, 0, s_one, (void **)&g)) == MFS_OK) {
            *g = c->kp.gamma;
            int64_t q = 0;
            for (int64_t i = 0; i < n; i++)
                if (fabs(alpha[i]) > 0) {
                    sup[q] = (int32_t)i;
                    memcpy(svs + q * d, c->X + i * d, (size_t)d * sizeof(float));
                    coef[q] = alpha[i];
                    q++;
                }
            nsup[0] = (int32_t)nsv;
            icpt[0] = rho != 0 ? -rho : 0.0;
            nit[0] = iters;
        }
    }
    mfs__free(mem);
    return s;
}

/* Rows of class k in the grouped order (start (K) of each class, n rows). */
static inline int64_t class_size(const int64_t *start, int64_t K, int64_t n, int64_t k) {
    return (k + 1 < K ? start[k + 1] : n) - start[k];
}

static mfs_status fit_svc(mfs_model *m, fit_ctx *c, const int32_t *yl) {
    const svm_params *p = c->p;
    const char *fn = c->fn;
    const int64_t n = c->n, d = c->d;
    int64_t K = 0;
    for (int64_t i = 0; i < n; i++) {
        if (yl[i] < 0)
            return mfs__error(MFS_E_VALUE, "%s: y[%lld] = %d, class labels must be indices >= 0", fn, (long long)i,
                              (int)yl[i]);
        if (yl[i] + 1 > K) K = yl[i] + 1;
    }
    if (K > 65536) return mfs__error(MFS_E_VALUE, "%s: y has labels up to %lld, at most 65536 classes", fn, (long long)K - 1);
    if (K < 2)
        return mfs__error(MFS_E_VALUE, "%s: y has a single class (0); SVC needs samples of at least 2 classes", fn);
    const int64_t P = K * (K - 1) / 2;
    char *mem = NULL;
    /* count, start (K) int64; weighted C (K); perm (n) int32; nonzero (n) */
    const size_t bytes = (size_t)K * (2 * sizeof(int64_t) + sizeof(double)) + (size_t)n * (sizeof(int32_t) + 1) +
                         (size_t)n * (sizeof(double) * 2 + sizeof(int32_t) + 1) + 64;
    MFS_TRY(mfs__alloc((void **)&mem, bytes, fn, "the class grouping"));
    int64_t *count = (int64_t *)mem, *start = count + K;
    double *wC = (double *)(start + K);
    double *alpha = wC + K, *Cs = alpha + n; /* (n): one pair's problem at most n rows */
    int32_t *perm = (int32_t *)(Cs + n), *rows = perm + n;
    int8_t *yy = (int8_t *)(rows + n);
    uint8_t *nonzero = (uint8_t *)(yy + n);
    double *all_alpha = NULL, *rho = NULL, *pa = NULL, *pb = NULL;
    int32_t *iters = NULL;
    mfs_status s = mfs__input_weights(m, fn, "class_weight", K, 1, "classes in the data", wC, NULL);
    if (s != MFS_OK) goto done;
    memset(count, 0, (size_t)K * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) count[yl[i]]++;
    for (int64_t k = 0; k < K; k++) {
        if (count[k] == 0) {
            s = mfs__error(MFS_E_VALUE, "%s: class %lld has no samples (labels must be 0..K-1, every one present)", fn,
                           (long long)k);
            goto done;
        }
        wC[k] *= p->C;
    }
    if (c->w)
        for (int64_t i = 0; i < n; i++)
            if (!isfinite(c->w[i] * wC[yl[i]])) {
                s = mfs__error(MFS_E_VALUE, "%s: a sample_weight of %g times C * class_weight[%d] = %g overflows", fn,
                               c->w[i], (int)yl[i], wC[yl[i]]);
                goto done;
            }
    start[0] = 0;
    for (int64_t k = 1; k < K; k++) start[k] = start[k - 1] + count[k - 1];
    {
        int64_t *fill = NULL;
        if ((s = mfs__alloc((void **)&fill, (size_t)K * sizeof(int64_t), fn, "the class grouping")) != MFS_OK) goto done;
        memcpy(fill, start, (size_t)K * sizeof(int64_t));
        for (int64_t i = 0; i < n; i++) perm[fill[yl[i]]++] = (int32_t)i;
        mfs__free(fill);
    }
    memset(nonzero, 0, (size_t)n);
    /* alpha of every pair, in pair order: sum over pairs of (ci + cj) = (K-1) n */
    if ((s = mfs__alloc((void **)&all_alpha, (size_t)(K - 1) * (size_t)n * sizeof(double), fn, "the pair solutions")) !=
            MFS_OK ||
        (s = mfs__alloc((void **)&rho, (size_t)P * 3 * sizeof(double), fn, "the pair solutions")) != MFS_OK ||
        (s = mfs__alloc((void **)&iters, (size_t)P * sizeof(int32_t), fn, "the pair solutions")) != MFS_OK)
        goto done;
    pa = rho + P;
    pb = pa + P;
    {
        int64_t pp = 0, off = 0;
        for (int64_t i = 0; i < K && s == MFS_OK; i++)
            for (int64_t j = i + 1; j < K; j++) {
                const int64_t si = start[i], sj = start[j], ci = count[i], cj = count[j], l = ci + cj;
                /* libsvm: C_i = W_i (C class_weight[y_i]) with sample weights */
                for (int64_t k = 0; k < ci; k++) {
                    rows[k] = perm[si + k];
                    yy[k] = +1;
                    Cs[k] = c->w ? c->w[rows[k]] * wC[i] : wC[i];
                }
                for (int64_t k = 0; k < cj; k++) {
                    rows[ci + k] = perm[sj + k];
                    yy[ci + k] = -1;
                    Cs[ci + k] = c->w ? c->w[rows[ci + k]] * wC[j] : wC[j];
                }
                if (p->probability) {
                    s = binary_probability(c, rows, yy, Cs, l, (uint64_t)pp, &pa[pp], &pb[pp]);
                    if (s != MFS_OK) break;
                }
                s = train_binary(c, rows, yy, Cs, l, alpha, &rho[pp], &iters[pp]);
                if (s != MFS_OK) break;
                memcpy(all_alpha + off, alpha, (size_t)l * sizeof(double));
                for (int64_t k = 0; k < ci; k++)
                    if (fabs(alpha[k]) > 0) nonzero[si + k] = 1;
                for (int64_t k = 0; k < cj; k++)
                    if (fabs(alpha[ci + k]) > 0) nonzero[sj + k] = 1;
                off += l;
                pp++;
            }
    }
    if (s != MFS_OK) goto done;
    {
        int64_t nsv = 0;
        for (int64_t i = 0; i < n; i++) nsv += nonzero[i];
        int32_t *sup, *nsup, *nit;
        float *svs;
        double *coef, *icpt, *g;
        const int64_t s_sup[1] = {nsv}, s_sv[2] = {nsv, d}, s_K[1] = {K}, s_coef[2] = {K - 1, nsv}, s_P[1] = {P};
        if ((s = mfs__array_new(m, "support", MFS_DTYPE_INT32, 1, s_sup, (void **)&sup)) != MFS_OK ||
            (s = mfs__array_new(m, "support_vectors", MFS_DTYPE_FLOAT32, 2, s_sv, (void **)&svs)) != MFS_OK ||
            (s = mfs__array_new(m, "n_support", MFS_DTYPE_INT32, 1, s_K, (void **)&nsup)) != MFS_OK ||
            (s = mfs__array_new(m, "dual_coef", MFS_DTYPE_FLOAT64, 2, s_coef, (void **)&coef)) != MFS_OK ||
            (s = mfs__array_new(m, "intercept", MFS_DTYPE_FLOAT64, 1, s_P, (void **)&icpt)) != MFS_OK ||
            (s = mfs__array_new(m, "n_iter", MFS_DTYPE_INT32, 1, s_P, (void **)&nit)) != MFS_OK ||
            (s = mfs__array_new(m, "gamma", MFS_DTYPE_FLOAT64, 0, s_P, (void **)&g)) != MFS_OK)
            goto done;
        *g = c->kp.gamma;
        /* nz_start (K) in the counts' space */
        int64_t *nz_start = count; /* reuse: the class sizes follow from start */
        int64_t q = 0;
        for (int64_t k = 0; k < K; k++) {
            int64_t cnt = 0;
            for (int64_t r = 0; r < class_size(start, K, n, k); r++) cnt += nonzero[start[k] + r];
            nsup[k] = (int32_t)cnt;
        }
        for (int64_t i = 0; i < n; i++)
            if (nonzero[i]) {
                sup[q] = perm[i];
                memcpy(svs + q * d, c->X + (int64_t)perm[i] * d, (size_t)d * sizeof(float));
                q++;
            }
        nz_start[0] = 0;
        for (int64_t k = 1; k < K; k++) nz_start[k] = nz_start[k - 1] + nsup[k - 1];
        int64_t pp = 0, off = 0;
        for (int64_t i = 0; i < K; i++)
            for (int64_t j = i + 1; j < K; j++) {
                const int64_t si = start[i], sj = start[j];
                const int64_t ci = class_size(start, K, n, i), cj = class_size(start, K, n, j);
                const double *a = all_alpha + off;
                int64_t qq = nz_start[i];
                for (int64_t k = 0; k < ci; k++)
                    if (nonzero[si + k]) coef[(j - 1) * nsv + qq++] = a[k];
                qq = nz_start[j];
                for (int64_t k = 0; k < cj; k++)
                    if (nonzero[sj + k]) coef[i * nsv + qq++] = a[ci + k];
                icpt[pp] = rho[pp] != 0 ? -rho[pp] : 0.0;
                nit[pp] = iters[pp];
                off += ci + cj;
                pp++;
            }
        if (p->probability) {
            double *A, *B;
            if ((s = mfs__array_new(m, "prob_a", MFS_DTYPE_FLOAT64, 1, s_P, (void **)&A)) != MFS_OK ||
                (s = mfs__array_new(m, "prob_b", MFS_DTYPE_FLOAT64, 1, s_P, (void **)&B)) != MFS_OK)
                goto done;
            memcpy(A, pa, (size_t)P * sizeof(double));
            memcpy(B, pb, (size_t)P * sizeof(double));
        }
    }
done:
    mfs__free(all_alpha);
    mfs__free(rho);
    mfs__free(iters);
    mfs__free(mem);
    return s;
}

/* scikit-learn's sample_weight ((n,) >= 0, not all 0) as libsvm takes it:
 * rows of weight 0 are removed before training (libsvm's remove_zero_weight;
 * with C_i = 0 they could never be support vectors), the others keep their
 * order and have C_i = W_i C (SVC: W_i C class_weight[y_i]). On return *w is
 * NULL when there is no input; otherwise *w (n) holds the weights, and when
 * some are 0, *keep (nk) the kept rows, *Xk (nk, d) and *yk (nk) their copies
 * (all NULL when every row is kept). gamma is resolved on the whole X before
 * this, as scikit-learn computes X.var() before libsvm sees the rows. */
static mfs_status sample_weights(mfs_model *m, const char *fn, const mfs_array *Xa, const mfs_array *ya, int svr,
                                 double **w_, int64_t *nk_, int32_t **keep_, float **Xk_, void **yk_) {
    const svm_params *p = (const svm_params *)m->params;
    const int64_t n = Xa->shape[0], d = Xa->shape[1];
    *w_ = NULL;
    *keep_ = NULL;
    *Xk_ = NULL;
    *yk_ = NULL;
    *nk_ = n;
    if (!mfs__input_find(m, "sample_weight")) return MFS_OK;
    double *w = NULL;
    MFS_TRY(mfs__alloc((void **)&w, (size_t)n * sizeof(double), fn, "sample_weight"));
    mfs_status s = mfs__input_weights(m, fn, "sample_weight", n, 0, "rows of X", w, NULL);
    int64_t nk = 0;
    for (int64_t i = 0; i < n && s == MFS_OK; i++) {
        if (w[i] > 0) nk++;
        if (!isfinite(w[i] * p->C))
            s = mfs__error(MFS_E_VALUE, "%s: sample_weight[%lld] = %g times C = %g overflows", fn, (long long)i, w[i],
                           p->C);
    }
    if (s == MFS_OK && nk == 0)
        s = mfs__error(MFS_E_VALUE, "%s: every sample_weight is 0; at least one must be > 0", fn);
    const int32_t *yl = (const int32_t *)ya->data;
    int32_t K = 0;
    if (!svr)
        for (int64_t i = 0; i < n; i++) K = yl[i] + 1 > K ? yl[i] + 1 : K;
    if (s == MFS_OK && !svr && K <= 65536) { /* more classes: fit_svc's error */
        /* every class of y needs a row of weight > 0: libsvm would fit fewer
         * classes than y has (scikit-learn then fails in decision_function) */
        int64_t *cnt = NULL;
        s = mfs__alloc((void **)&cnt, (size_t)K * 2 * sizeof(int64_t), fn, "sample_weight");
        if (s == MFS_OK) {
            memset(cnt, 0, (size_t)K * 2 * sizeof(int64_t));
            for (int64_t i = 0; i < n; i++) {
                cnt[2 * yl[i]]++;
                if (w[i] > 0) cnt[2 * yl[i] + 1]++;
            }
            for (int32_t k = 0; k < K && s == MFS_OK; k++)
                if (cnt[2 * k] > 0 && cnt[2 * k + 1] == 0)
                    s = mfs__error(MFS_E_VALUE,
                                   "%s: class %d has %lld samples, all of sample_weight 0; every class needs one of "
                                   "weight > 0",
                                   fn, (int)k, (long long)cnt[2 * k]);
            mfs__free(cnt);
        }
    }
    if (s != MFS_OK) {
        mfs__free(w);
        return s;
    }
    *w_ = w;
    if (nk == n) return MFS_OK;
    int32_t *keep = NULL;
    float *Xk = NULL;
    void *yk = NULL;
    if ((s = mfs__alloc((void **)&keep, (size_t)nk * sizeof(int32_t), fn, "the rows of weight > 0")) != MFS_OK ||
        (s = mfs__alloc((void **)&Xk, (size_t)(nk * d) * sizeof(float), fn, "the rows of weight > 0")) != MFS_OK ||
        (s = mfs__alloc(&yk, (size_t)nk * 4, fn, "the rows of weight > 0")) != MFS_OK) {
        mfs__free(keep);
        mfs__free(Xk);
        mfs__free(w);
        *w_ = NULL;
        return s;
    }
    const float *X = (const float *)Xa->data;
    int64_t q = 0;
    for (int64_t i = 0; i < n; i++)
        if (w[i] > 0) {
            keep[q] = (int32_t)i;
            memcpy(Xk + q * d, X + i * d, (size_t)d * sizeof(float));
            memcpy((char *)yk + q * 4, (const char *)ya->data + i * 4, 4); /* int32 label or float32 target */
            w[q] = w[i];
            q++;
        }
    *nk_ = nk;
    *keep_ = keep;
    *Xk_ = Xk;
    *yk_ = yk;
    return MFS_OK;
}

static mfs_status fit(mfs_model *m, const mfs_array *Xa, const mfs_array *ya) {
    const svm_params *p = (const svm_params *)m->params;
    static const char fn[] = "mfs_fit";
    const int64_t n = Xa->shape[0], d = Xa->shape[1];
    if (n > INT32_MAX / 2)
        return mfs__error(MFS_E_OVERFLOW, "%s: X has %lld rows, SVM supports at most %d", fn, (long long)n, INT32_MAX / 2);
    const float *X = (const float *)Xa->data;
    const int svr = p->variant != MFS_SVM_VARIANT_SVC;
    if (!svr) {
        MFS_TRY(mfs__check_labels(fn, ya, n, INT32_MAX));
    } else {
        int64_t t;
        MFS_TRY(mfs__check_targets(fn, ya, n, &t));
        if (t != 1) return mfs__error(MFS_E_SHAPE, "%s: SVR fits one target, y has %lld", fn, (long long)t);
    }
    double *w = NULL;
    int32_t *keep = NULL;
    float *Xk = NULL;
    void *yk = NULL;
    int64_t nk = n;
    MFS_TRY(sample_weights(m, fn, Xa, ya, svr, &w, &nk, &keep, &Xk, &yk));
    fit_ctx c;
    c.fn = fn;
    c.X = Xk ? Xk : X;
    c.n = nk;
    c.d = d;
    c.p = p;
    c.w = w;
    c.kp.kernel = p->kernel;
    c.kp.degree = p->degree;
    c.kp.coef0 = p->coef0;
    c.kp.gamma = resolve_gamma(p, X, n, d);
    c.gpu = NULL;
    const void *yv = yk ? yk : ya->data;
    mfs_status s = MFS_OK;
    /* the SMO runs here on the host; the device only computes kernel rows of
     * the rows it is given, so the weights need nothing from it */
    if (m->device == MFS_DEVICE_CUDA)
        s = mfs__svm_cuda_create(c.X, nk, d, c.kp.kernel, c.kp.degree, c.kp.gamma, c.kp.coef0, &m->mem, &c.gpu);
    if (s == MFS_OK)
        s = svr ? fit_svr(m, &c, (const float *)yv) : fit_svc(m, &c, (const int32_t *)yv);
    mfs__svm_cuda_free(c.gpu);
    if (s == MFS_OK && keep) { /* support_ indexes the caller's X */
        const mfs_tensor *sup = mfs__array_find(m, "support");
        int32_t *si = (int32_t *)sup->data;
        for (int64_t q = 0; q < sup->shape[0]; q++) si[q] = keep[si[q]];
    }
    mfs__free(w);
    mfs__free(keep);
    mfs__free(Xk);
    mfs__free(yk);
    return s;
}

/* ---- prediction -------------------------------------------------------------------- */

typedef struct plan {
    int svr;
    int64_t K, P, nsv, d;
    const float *SV;
    const double *coef, *icpt, *pa, *pb;
    const int32_t *nsup;
    int64_t *sv_start; /* (K) */
    double *svsq;      /* (nsv) */
    kparams kp;
    const svm_params *p;
} plan;

static void plan_free(plan *pl) {
    mfs__free(pl->sv_start);
    pl->sv_start = NULL;
    pl->svsq = NULL;
}

static mfs_status plan_make(const mfs_model *m, const char *fn, plan *pl) {
    memset(pl, 0, sizeof *pl);
    const svm_params *p = (const svm_params *)m->params;
    pl->p = p;
    pl->svr = p->variant == MFS_SVM_VARIANT_SVR;
    const mfs_tensor *sv = mfs__array_find(m, "support_vectors"), *ns = mfs__array_find(m, "n_support");
    pl->SV = (const float *)sv->data;
    pl->nsv = sv->shape[0];
    pl->d = sv->shape[1];
    pl->nsup = (const int32_t *)ns->data;
    pl->K = pl->svr ? 1 : ns->shape[0];
    pl->P = pl->svr ? 1 : pl->K * (pl->K - 1) / 2;
    pl->coef = (const double *)mfs__array_find(m, "dual_coef")->data;
    pl->icpt = (const double *)mfs__array_find(m, "intercept")->data;
    const mfs_tensor *a = mfs__array_find(m, "prob_a"), *b = mfs__array_find(m, "prob_b");
    pl->pa = a ? (const double *)a->data : NULL;
    pl->pb = b ? (const double *)b->data : NULL;
    pl->kp.kernel = p->kernel;
    pl->kp.degree = p->degree;
    pl->kp.coef0 = p->coef0;
    pl->kp.gamma = *(const double *)mfs__array_find(m, "gamma")->data;
    const size_t bytes = (size_t)pl->K * sizeof(int64_t) + (size_t)pl->nsv * sizeof(double) + 64;
    MFS_TRY(mfs__alloc((void **)&pl->sv_start, bytes, fn, "the prediction plan"));
    pl->svsq = (double *)(pl->sv_start + pl->K);
    pl->sv_start[0] = 0;
    for (int64_t k = 1; k < pl->K; k++) pl->sv_start[k] = pl->sv_start[k - 1] + pl->nsup[k - 1];
    for (int64_t s = 0; s < pl->nsv; s++) pl->svsq[s] = dotd(pl->SV + s * pl->d, pl->SV + s * pl->d, pl->d);
    return MFS_OK;
}

/* dec (P) of one row from its kernel values kv (nsv), in libsvm's order. */
static void pair_values(const plan *pl, const double *kv, double *dec) {
    if (pl->svr) {
        double sum = 0;
        for (int64_t k = 0; k < pl->nsv; k++) sum += pl->coef[k] * kv[k];
        dec[0] = sum + pl->icpt[0];
        return;
    }
    const int64_t K = pl->K, nsv = pl->nsv;
    int64_t pp = 0;
    for (int64_t i = 0; i < K; i++)
        for (int64_t j = i + 1; j < K; j++) {
            const int64_t si = pl->sv_start[i], sj = pl->sv_start[j], ci = pl->nsup[i], cj = pl->nsup[j];
            const double *c1 = pl->coef + (j - 1) * nsv, *c2 = pl->coef + i * nsv;
            double sum = 0;
            for (int64_t k = 0; k < ci; k++) sum += c1[si + k] * kv[si + k];
            for (int64_t k = 0; k < cj; k++) sum += c2[sj + k] * kv[sj + k];
            dec[pp] = sum + pl->icpt[pp];
            pp++;
        }
}

enum { OUT_PREDICT = 0, OUT_DECISION = 1, OUT_PROBA = 2, OUT_LOG_PROBA = 3 };

/* scikit-learn's _ovr_decision_function for one row: votes plus the summed
 * confidences squashed into (-1/3, 1/3). */
static void ovr_values(const double *dec, int64_t K, double *out, double *conf) {
    for (int64_t k = 0; k < K; k++) out[k] = conf[k] = 0;
    int64_t pp = 0;
    for (int64_t i = 0; i < K; i++)
        for (int64_t j = i + 1; j < K; j++) {
            conf[i] += dec[pp];
            conf[j] -= dec[pp];
            if (dec[pp] < 0) out[j] += 1;
            else out[i] += 1;
            pp++;
        }
    for (int64_t k = 0; k < K; k++) out[k] += conf[k] / (3 * (fabs(conf[k]) + 1));
}

/* Wu, Lin & Weng's method 2 (libsvm's multiclass_probability): p (k) from the
 * pairwise r (k, k); Q (k, k) and Qp (k) are scratch. */
static void multiclass_probability(int64_t k, const double *r, double *p, double *Q, double *Qp) {
    const int64_t max_iter = k > 100 ? k : 100;
    const double eps = 0.005 / (double)k;
    for (int64_t t = 0; t < k; t++) {
        p[t] = 1.0 / (double)k;
        Q[t * k + t] = 0;
        for (int64_t j = 0; j < t; j++) {
            Q[t * k + t] += r[j * k + t] * r[j * k + t];
            Q[t * k + j] = Q[j * k + t];
        }
        for (int64_t j = t + 1; j < k; j++) {
            Q[t * k + t] += r[j * k + t] * r[j * k + t];
            Q[t * k + j] = -r[j * k + t] * r[t * k + j];
        }
    }
    for (int64_t iter = 0; iter < max_iter; iter++) {
        double pQp = 0;
        for (int64_t t = 0; t < k; t++) {
            Qp[t] = 0;
            for (int64_t j = 0; j < k; j++) Qp[t] += Q[t * k + j] * p[j];
            pQp += p[t] * Qp[t];
        }
        double max_error = 0;
        for (int64_t t = 0; t < k; t++) {
            const double e = fabs(Qp[t] - pQp);
            if (e > max_error) max_error = e;
        }
        if (max_error < eps) break;
        for (int64_t t = 0; t < k; t++) {
            const double diff = (-Qp[t] + pQp) / Q[t * k + t];
            p[t] += diff;
            pQp = (pQp + diff * (diff * Q[t * k + t] + 2 * Qp[t])) / (1 + diff) / (1 + diff);
            for (int64_t j = 0; j < k; j++) {
                Qp[j] = (Qp[j] + diff * Q[t * k + j]) / (1 + diff);
                p[j] /= (1 + diff);
            }
        }
    }
}

static double sigmoid_predict(double f, double A, double B) {
    const double fApB = f * A + B;
    return fApB >= 0 ? exp(-fApB) / (1.0 + exp(-fApB)) : 1.0 / (1 + exp(fApB));
}

/* Scratch doubles per row for finish_row. */
static int64_t finish_scratch(const plan *pl) { return 3 * pl->K * pl->K + 4 * pl->K + 8; }

/* One row's pairwise values -> the requested output at row r. */
static void finish_row(const plan *pl, const double *dec, int what, void *out, int64_t r, double *w) {
    const int64_t K = pl->K, P = pl->P;
    const svm_params *p = pl->p;
    if (pl->svr) {
        ((float *)out)[r] = (float)dec[0];
        return;
    }
    if (what == OUT_PREDICT) {
        int64_t best = 0;
        if (p->break_ties && p->decision_function_shape == MFS_SVM_SHAPE_OVR && K > 2) {
            ovr_values(dec, K, w, w + K);
            for (int64_t k = 1; k < K; k++)
                if (w[k] > w[best]) best = k;
        } else {
            double *vote = w;
            for (int64_t k = 0; k < K; k++) vote[k] = 0;
            int64_t pp = 0;
            for (int64_t i = 0; i < K; i++)
                for (int64_t j = i + 1; j < K; j++) {
                    if (dec[pp] > 0) vote[i] += 1;
                    else vote[j] += 1;
                    pp++;
                }
            for (int64_t k = 1; k < K; k++)
                if (vote[k] > vote[best]) best = k;
        }
        ((int32_t *)out)[r] = (int32_t)best;
        return;
    }
    if (what == OUT_DECISION) {
        float *o = (float *)out;
        if (K == 2) {
            o[r] = (float)-dec[0];
        } else if (p->decision_function_shape == MFS_SVM_SHAPE_OVO) {
            for (int64_t q = 0; q < P; q++) o[r * P + q] = (float)dec[q];
        } else {
            ovr_values(dec, K, w, w + K);
            for (int64_t k = 0; k < K; k++) o[r * K + k] = (float)w[k];
        }
        return;
    }
    /* probabilities */
    const double min_prob = 1e-7;
    double *rr = w, *prob = rr + K * K, *Q = prob + K, *Qp = Q + K * K;
    int64_t pp = 0;
    for (int64_t i = 0; i < K; i++)
        for (int64_t j = i + 1; j < K; j++) {
            double v = sigmoid_predict(dec[pp], pl->pa[pp], pl->pb[pp]);
            v = fmin(fmax(v, min_prob), 1 - min_prob);
            rr[i * K + j] = v;
            rr[j * K + i] = 1 - v;
            pp++;
        }
    if (K == 2) {
        prob[0] = rr[0 * K + 1];
        prob[1] = rr[1 * K + 0];
    } else {
        multiclass_probability(K, rr, prob, Q, Qp);
    }
    float *o = (float *)out + r * K;
    for (int64_t k = 0; k < K; k++) o[k] = what == OUT_PROBA ? (float)prob[k] : (float)log(prob[k]);
}

static inline int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* W (nsv, P) with the coefficient of every SV in every pair (0 outside it). */
static void pair_weights(const plan *pl, double *W) {
    const int64_t nsv = pl->nsv, P = pl->P, K = pl->K;
    memset(W, 0, (size_t)(nsv * P) * sizeof(double));
    if (pl->svr) {
        for (int64_t k = 0; k < nsv; k++) W[k] = pl->coef[k];
        return;
    }
    int64_t pp = 0;
    for (int64_t i = 0; i < K; i++)
        for (int64_t j = i + 1; j < K; j++) {
            for (int64_t k = 0; k < pl->nsup[i]; k++) {
                const int64_t s = pl->sv_start[i] + k;
                W[s * P + pp] = pl->coef[(j - 1) * nsv + s];
            }
            for (int64_t k = 0; k < pl->nsup[j]; k++) {
                const int64_t s = pl->sv_start[j] + k;
                W[s * P + pp] = pl->coef[i * nsv + s];
            }
            pp++;
        }
}

static mfs_status apply_cuda(const mfs_model *m, const plan *pl, const char *fn, const float *X, int64_t n, int what,
                             void *out) {
    const int64_t P = pl->P, nsv = pl->nsv, d = pl->d;
    const int64_t chunk = 1 << 16;
    const int64_t rows = n < chunk ? n : chunk;
    char *mem = NULL;
    const size_t bytes = (size_t)(nsv * P + P + rows * P + finish_scratch(pl)) * sizeof(double) + 64;
    MFS_TRY(mfs__alloc((void **)&mem, bytes, fn, "the decision values"));
    double *W = (double *)mem, *rho = W + nsv * P, *dec = rho + P, *w = dec + rows * P;
    pair_weights(pl, W);
    for (int64_t q = 0; q < P; q++) rho[q] = -pl->icpt[q];
    mfs_status s = MFS_OK;
    for (int64_t r0 = 0; r0 < n && s == MFS_OK; r0 += rows) {
        const int64_t b = n - r0 < rows ? n - r0 : rows;
        s = mfs__svm_decision_cuda(X + r0 * d, b, d, pl->SV, nsv, W, rho, P, pl->kp.kernel, pl->kp.degree,
                                   pl->kp.gamma, pl->kp.coef0, dec, (mfs_mem_counter *)&m->mem);
        if (s != MFS_OK) break;
        for (int64_t r = 0; r < b; r++) finish_row(pl, dec + r * P, what, out, r0 + r, w);
    }
    mfs__free(mem);
    return s;
}

static mfs_status apply(const mfs_model *m, const char *fn, const mfs_array *Xa, int what, void *out) {
    plan pl;
    MFS_TRY(plan_make(m, fn, &pl));
    const int64_t n = Xa->shape[0], d = pl.d, nsv = pl.nsv, P = pl.P;
    const float *X = (const float *)Xa->data;
    /* without support vectors (an SVR whose tube holds every row) the value
     * is the intercept: nothing to send to a device */
    if (m->device == MFS_DEVICE_CUDA && nsv > 0) {
        mfs_status s = apply_cuda(m, &pl, fn, X, n, what, out);
        plan_free(&pl);
        return s;
    }
    int nt = mfs__num_threads();
    if (n * (nsv + 1) * d < (1 << 15)) nt = 1;
    if (nt > n) nt = (int)n;
    const int64_t per = nsv + P + finish_scratch(&pl);
    double *scratch = NULL;
    mfs_status s = mfs__alloc((void **)&scratch, (size_t)(per * nt) * sizeof(double), fn, "the prediction scratch");
    if (s != MFS_OK) {
        plan_free(&pl);
        return s;
    }
#pragma omp parallel for schedule(dynamic, PRED_BLOCK) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < n; r++) {
        double *kv = scratch + per * (nt > 1 ? thread_id() : 0), *dec = kv + nsv, *w = dec + P;
        const float *x = X + r * d;
        const double sqx = dotd(x, x, d);
        for (int64_t k = 0; k < nsv; k++) kv[k] = kfun(&pl.kp, dotd(x, pl.SV + k * d, d), sqx, pl.svsq[k]);
        pair_values(&pl, kv, dec);
        finish_row(&pl, dec, what, out, r, w);
    }
    mfs__free(scratch);
    plan_free(&pl);
    return MFS_OK;
}

static mfs_status predict(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply(m, "mfs_predict", X, OUT_PREDICT, out->data);
}
static mfs_status decision_function(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply(m, "mfs_decision_function", X, OUT_DECISION, out->data);
}
static mfs_status predict_proba(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply(m, "mfs_predict_proba", X, OUT_PROBA, out->data);
}
static mfs_status predict_log_proba(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply(m, "mfs_predict_log_proba", X, OUT_LOG_PROBA, out->data);
}

static mfs_status output_shape(const mfs_model *m, mfs_method method, int64_t rows, mfs_dtype *dtype, int32_t *ndim,
                               int64_t *shape) {
    const svm_params *p = (const svm_params *)m->params;
    const int svr = p->variant == MFS_SVM_VARIANT_SVR;
    const mfs_tensor *ns = mfs__array_find(m, "n_support");
    const int64_t K = svr || !ns ? 1 : ns->shape[0];
    shape[0] = rows;
    *ndim = 1;
    *dtype = MFS_DTYPE_FLOAT32;
    if (method == MFS_METHOD_PREDICT) {
        if (!svr) *dtype = MFS_DTYPE_INT32;
        return MFS_OK;
    }
    if (method == MFS_METHOD_DECISION_FUNCTION) {
        if (svr || K == 2) return MFS_OK;
        *ndim = 2;
        shape[1] = p->decision_function_shape == MFS_SVM_SHAPE_OVO ? K * (K - 1) / 2 : K;
        return MFS_OK;
    }
    if (method == MFS_METHOD_PREDICT_PROBA || method == MFS_METHOD_PREDICT_LOG_PROBA) {
        if (svr) return mfs__error(MFS_E_UNSUPPORTED, "mfs_output_shape: SVR has no class probabilities");
        if (!p->probability)
            return mfs__error(MFS_E_UNSUPPORTED,
                              "mfs_output_shape: predict_proba needs an SVC fitted with probability = 1, this one has 0");
        *ndim = 2;
        shape[1] = K;
        return MFS_OK;
    }
    return mfs__error(MFS_E_UNSUPPORTED,
                      "mfs_output_shape: svm has predict, decision_function, predict_proba and predict_log_proba only");
}

/* A loaded file: every array predict reads, with shapes that agree. */
static mfs_status check_state(const mfs_model *m) {
    const svm_params *p = (const svm_params *)m->params;
    const int svr = p->variant == MFS_SVM_VARIANT_SVR;
    const int64_t d = m->n_features_in;
    const mfs_tensor *sv = mfs__array_get(m, "support_vectors", MFS_DTYPE_FLOAT32, 2);
    if (!sv || sv->shape[1] != d || sv->shape[0] < 0 || sv->shape[0] > INT32_MAX)
        return mfs__error(MFS_E_FORMAT, "svm: 'support_vectors' missing or not float32 (nSV, %lld)", (long long)d);
    const int64_t nsv = sv->shape[0];
    const mfs_tensor *ns = mfs__array_get(m, "n_support", MFS_DTYPE_INT32, 1);
    if (!ns || ns->shape[0] < 1 || ns->shape[0] > 65536 || (svr && ns->shape[0] != 1) || (!svr && ns->shape[0] < 2))
        return mfs__error(MFS_E_FORMAT, "svm: 'n_support' missing or not an int32 vector of %s", svr ? "1 value" : "K >= 2 class counts");
    const int64_t K = svr ? 1 : ns->shape[0], P = svr ? 1 : K * (K - 1) / 2;
    int64_t total = 0;
    for (int64_t k = 0; k < ns->shape[0]; k++) {
        const int32_t v = ((const int32_t *)ns->data)[k];
        if (v < 0) return mfs__error(MFS_E_FORMAT, "svm: n_support[%lld] = %d is negative", (long long)k, (int)v);
        total += v;
    }
    if (total != nsv)
        return mfs__error(MFS_E_FORMAT, "svm: n_support sums to %lld, there are %lld support vectors", (long long)total,
                          (long long)nsv);
    const mfs_tensor *dc = mfs__array_get(m, "dual_coef", MFS_DTYPE_FLOAT64, 2);
    if (!dc || dc->shape[0] != (svr ? 1 : K - 1) || dc->shape[1] != nsv)
        return mfs__error(MFS_E_FORMAT, "svm: 'dual_coef' missing or not float64 (%lld, %lld)", (long long)(svr ? 1 : K - 1),
                          (long long)nsv);
    const mfs_tensor *ic = mfs__array_get(m, "intercept", MFS_DTYPE_FLOAT64, 1);
    if (!ic || ic->shape[0] != P)
        return mfs__error(MFS_E_FORMAT, "svm: 'intercept' missing or not float64 (%lld,)", (long long)P);
    const mfs_tensor *sup = mfs__array_get(m, "support", MFS_DTYPE_INT32, 1);
    if (!sup || sup->shape[0] != nsv)
        return mfs__error(MFS_E_FORMAT, "svm: 'support' missing or not int32 (%lld,)", (long long)nsv);
    const mfs_tensor *g = mfs__array_get(m, "gamma", MFS_DTYPE_FLOAT64, 0);
    if (!g || !(*(const double *)g->data > 0) || !isfinite(*(const double *)g->data))
        return mfs__error(MFS_E_FORMAT, "svm: 'gamma' missing or not a finite float64 > 0");
    if (!svr && p->probability)
        for (int q = 0; q < 2; q++) {
            const char *name = q ? "prob_b" : "prob_a";
            const mfs_tensor *t = mfs__array_get(m, name, MFS_DTYPE_FLOAT64, 1);
            if (!t || t->shape[0] != P)
                return mfs__error(MFS_E_FORMAT, "svm: '%s' missing or not float64 (%lld,)", name, (long long)P);
        }
    return MFS_OK;
}

const mfs_model_vtable mfs__svm_vtable = {
    .kind = MFS_MODEL_SVM,
    .name = "svm",
    .params_size = sizeof(mfs_svm_params),
    .supervised = 1,
    .check_params = check_params,
    .fit = fit,
    .predict = predict,
    .predict_proba = predict_proba,
    .output_shape = output_shape,
    .check_state = check_state,
    .decision_function = decision_function,
    .predict_log_proba = predict_log_proba,
};
