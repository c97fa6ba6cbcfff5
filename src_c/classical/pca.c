/* PCA: the principal axes of the centered data, as scikit-learn's PCA.
 *
 * Letters: n samples, d features, m rows to transform, k components kept,
 * r = min(n, d). Every solver ends with the same things: the right singular
 * vectors Vt of Xc = X - mean (rows = principal axes), the singular values S
 * and the variances ev = S^2 / (n - 1), all sorted descending, signs fixed as
 * scikit-learn's svd_flip(u_based_decision=False) (the entry of largest |.| of
 * each axis is positive).
 *
 *  - full, n >= 10 d: the eigendecomposition of G = Xc^T Xc formed EXACTLY in
 *    double (float32 inputs, products exact in double, sums in double, see
 *    gram_f64) - the eigenvalues are then as accurate as a float32 SVD for
 *    every component above ~1e-4 of the largest singular value (docs/models/pca.md).
 *  - full, otherwise: the thin SVD of Xc (one-sided Jacobi in double).
 *  - covariance_eigh: the same eigen route for any shape (scikit-learn's fast
 *    path for n >> d). The exact double Gram is used rather than the float32
 *    GEMM blocks of mfs__centered_cross: measured as fast at d = 100 (the
 *    kernel below is register-blocked and needs no barrier between blocks)
 *    and it keeps the small axes exact.
 *  - randomized: Halko et al. on Xc (mfs__randomized_svd).
 * On CUDA the Gram matrix of the eigen routes comes from the GPU (float32 GEMM
 * in chunks summed in double); the (d, d) eigendecomposition stays here. */
#include <float.h>
#include <math.h>
#include <string.h>
#include "core/internal.h"
#include "linalg/linalg.h"
#include "mfs/pca.h"
#include "src_cuda/cuda_api.h"
#ifdef _OPENMP
#include <omp.h>
#endif

static const char FIT[] = "mfs_fit";

void mfs_pca_params_default(mfs_pca_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->n_components = -1;
    p->whiten = 0;
    p->variance_fraction = 0.0;
    p->svd_solver = MFS_PCA_SVD_SOLVER_AUTO;
    p->iterated_power = -1;
    p->n_oversamples = 10;
    p->random_state = 0;
}

static mfs_status check_params(const void *params) {
    const mfs_pca_params *p = (const mfs_pca_params *)params;
    static const char fn[] = "mfs_model_create";
    if (p->n_components < 1 && p->n_components != -1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_components is %d, expected >= 1 or -1 (all)", fn,
                          (int)p->n_components);
    if (p->whiten != 0 && p->whiten != 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: whiten is %d, expected 0 or 1", fn, (int)p->whiten);
    if (!(p->variance_fraction == 0.0 || (p->variance_fraction > 0.0 && p->variance_fraction < 1.0)))
        return mfs__error(MFS_E_INVALID_ARG, "%s: variance_fraction is %g, expected 0 (unused) or a number in (0, 1)",
                          fn, p->variance_fraction);
    if (p->svd_solver < MFS_PCA_SVD_SOLVER_AUTO || p->svd_solver > MFS_PCA_SVD_SOLVER_RANDOMIZED)
        return mfs__error(MFS_E_INVALID_ARG,
                          "%s: svd_solver is %d, expected 0 (auto), 1 (full), 2 (covariance_eigh) or 3 (randomized)",
                          fn, (int)p->svd_solver);
    if (p->svd_solver == MFS_PCA_SVD_SOLVER_RANDOMIZED && p->variance_fraction > 0.0)
        return mfs__error(MFS_E_INVALID_ARG,
                          "%s: variance_fraction is %g, but svd_solver randomized needs an integer n_components",
                          fn, p->variance_fraction);
    if (p->iterated_power < -1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: iterated_power is %d, expected >= 0 or -1 (auto)", fn,
                          (int)p->iterated_power);
    if (p->n_oversamples < 0)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_oversamples is %d, expected >= 0", fn, (int)p->n_oversamples);
    if (p->pad_ != 0)
        return mfs__error(MFS_E_INVALID_ARG, "%s: pad_ is %d, the reserved field must be 0", fn, (int)p->pad_);
    return MFS_OK;
}

mfs_status mfs_pca_create(const mfs_pca_params *params, mfs_device device, mfs_model **out) {
    return mfs__model_new("mfs_pca_create", MFS_MODEL_PCA, params, sizeof *params, device, out);
}

/* ---- the exact Gram matrix in double ----------------------------------- */

enum { GRAM_ROWS = 512 }; /* rows per block: T (dp, GRAM_ROWS) double stays in L2 */

/* G (dp, dp) lower triangle += T T^T for T (dp, br) double, dp % 4 == 0,
 * br % 8 == 0. 4x4 tiles of G, each accumulated in 16 vectors of 8 lanes
 * (16 zmm registers on AVX-512): 8 loads feed 16 FMAs. */
static void syrk_tile_f64(const double *T, int64_t dp, int64_t br, double *G) {
    for (int64_t p = 0; p < dp; p += 4)
        for (int64_t q = 0; q <= p; q += 4) {
            double acc[16][8];
            memset(acc, 0, sizeof acc);
            const double *a0 = T + p * br, *a1 = a0 + br, *a2 = a1 + br, *a3 = a2 + br;
            const double *b0 = T + q * br, *b1 = b0 + br, *b2 = b1 + br, *b3 = b2 + br;
            for (int64_t i = 0; i < br; i += 8) {
#pragma omp simd
                for (int l = 0; l < 8; l++) {
                    double x0 = a0[i + l], x1 = a1[i + l], x2 = a2[i + l], x3 = a3[i + l];
                    double y0 = b0[i + l], y1 = b1[i + l], y2 = b2[i + l], y3 = b3[i + l];
                    acc[0][l] += x0 * y0; acc[1][l] += x0 * y1; acc[2][l] += x0 * y2; acc[3][l] += x0 * y3;
                    acc[4][l] += x1 * y0; acc[5][l] += x1 * y1; acc[6][l] += x1 * y2; acc[7][l] += x1 * y3;
                    acc[8][l] += x2 * y0; acc[9][l] += x2 * y1; acc[10][l] += x2 * y2; acc[11][l] += x2 * y3;
                    acc[12][l] += x3 * y0; acc[13][l] += x3 * y1; acc[14][l] += x3 * y2; acc[15][l] += x3 * y3;
                }
            }
            for (int a = 0; a < 4; a++)
                for (int c = 0; c < 4; c++) {
                    double s = 0.0;
                    for (int l = 0; l < 8; l++) s += acc[a * 4 + c][l];
                    G[(p + a) * dp + q + c] += s;
                }
        }
}

/* G (d, d) = (X - mean)^T (X - mean) for X (n, d) float32, in double: the
 * centered value x - mean is one double rounding, every product of two of
 * them is rounded once, sums run in double. Threads take contiguous row
 * ranges with private blocks and partial Grams, summed at the end. */
static mfs_status gram_f64(const float *X, int64_t n, int64_t d, const double *mean, double *G) {
    const int64_t dp = (d + 3) / 4 * 4;
    int nt = mfs__num_threads();
    if ((int64_t)nt > n / GRAM_ROWS) nt = (int)(n / GRAM_ROWS) > 1 ? (int)(n / GRAM_ROWS) : 1;
    const size_t per = (size_t)dp * GRAM_ROWS + (size_t)dp * (size_t)dp;
    double *buf = NULL;
    MFS_TRY(mfs__alloc((void **)&buf, (size_t)nt * per * sizeof(double), FIT, "the double-precision Gram matrix"));
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
#ifdef _OPENMP
        int tid = nt > 1 ? omp_get_thread_num() : 0;
#else
        int tid = 0;
#endif
        double *T = buf + (size_t)tid * per, *Gp = T + (size_t)dp * GRAM_ROWS;
        memset(Gp, 0, (size_t)dp * (size_t)dp * sizeof(double));
        int64_t r0 = n * tid / nt, r1 = n * (tid + 1) / nt;
        for (int64_t i0 = r0; i0 < r1; i0 += GRAM_ROWS) {
            int64_t b = r1 - i0 < GRAM_ROWS ? r1 - i0 : GRAM_ROWS;
            int64_t br = (b + 7) / 8 * 8;
            /* transpose + center; zero padding (rows past d, columns past b) */
            for (int64_t j = 0; j < dp; j++) {
                double *t = T + j * br;
                if (j >= d) { memset(t, 0, (size_t)br * sizeof(double)); continue; }
                const double mu = mean[j];
                const float *x = X + i0 * d + j;
                for (int64_t i = 0; i < b; i++) t[i] = (double)x[i * d] - mu;
                for (int64_t i = b; i < br; i++) t[i] = 0.0;
            }
            syrk_tile_f64(T, dp, br, Gp);
        }
    }
    for (int64_t p = 0; p < d; p++)
        for (int64_t q = 0; q <= p; q++) {
            double s = 0.0;
            for (int t = 0; t < nt; t++) s += buf[(size_t)t * per + (size_t)dp * GRAM_ROWS + p * dp + q];
            G[p * d + q] = s;
            G[q * d + p] = s;
        }
    mfs__free(buf);
    return MFS_OK;
}

/* ---- fit ----------------------------------------------------------------- */

/* svd_flip(u_based_decision=False) on the rows of Vt (r, d): the first entry
 * of largest |.| in each row becomes positive (numpy argmax: first maximum). */
static void flip_rows(double *Vt, int64_t r, int64_t d) {
    for (int64_t c = 0; c < r; c++) {
        double *v = Vt + c * d;
        int64_t arg = 0;
        for (int64_t j = 1; j < d; j++)
            if (fabs(v[j]) > fabs(v[arg])) arg = j;
        if (v[arg] < 0.0)
            for (int64_t j = 0; j < d; j++) v[j] = -v[j];
    }
}

/* Eigen route: Vt (d, d) rows = eigenvectors, w (d) eigenvalues of the
 * centered Gram, descending, clipped at 0. */
static mfs_status eigen_route(mfs_model *m, const float *X, int64_t n, int64_t d, const double *mean,
                              double *w, double *Vt) {
    double *G = NULL;
    MFS_TRY(mfs__alloc((void **)&G, (size_t)(2 * d * d) * sizeof(double), FIT, "the covariance matrix"));
    double *V = G + d * d;
    mfs_status s;
    if (m->device == MFS_DEVICE_CUDA) {
        float *g32 = NULL;
        s = mfs__alloc((void **)&g32, (size_t)(d * d) * sizeof(float), FIT, "the Gram matrix");
        if (s == MFS_OK) {
            s = mfs__centered_gram_cuda(X, n, d, mean, g32, &m->mem);
            for (int64_t i = 0; s == MFS_OK && i < d * d; i++) G[i] = g32[i];
            mfs__free(g32);
        }
    } else {
        s = gram_f64(X, n, d, mean, G);
    }
    if (s == MFS_OK) s = mfs__eigh(G, d, w, V);
    if (s == MFS_OK) {
        for (int64_t c = 0; c < d; c++) {
            if (!(w[c] > 0.0)) w[c] = 0.0;
            for (int64_t j = 0; j < d; j++) Vt[c * d + j] = V[j * d + c];
        }
    }
    mfs__free(G);
    return s;
}

static mfs_status fit(mfs_model *m, const mfs_array *Xa, const mfs_array *ya) {
    (void)ya;
    const mfs_pca_params *p = (const mfs_pca_params *)m->params;
    const int64_t n = Xa->shape[0], d = Xa->shape[1], r = n < d ? n : d;
    const float *X = (const float *)Xa->data;
    if (n < 2)
        return mfs__error(MFS_E_VALUE,
                          "%s: PCA needs at least 2 samples to estimate variances (ddof=1), X has %lld sample%s",
                          FIT, (long long)n, n == 1 ? "" : "s");
    if (p->n_components > r)
        return mfs__error(MFS_E_INVALID_ARG,
                          "%s: n_components is %d, it must be <= min(n_samples, n_features) = %lld "
                          "(X is %lld x %lld)", FIT, (int)p->n_components, (long long)r, (long long)n,
                          (long long)d);
    const int fraction = p->variance_fraction > 0.0;
    int64_t k_req = p->n_components > 0 ? p->n_components : r;
    int solver = p->svd_solver;
    if (solver == MFS_PCA_SVD_SOLVER_AUTO) { /* scikit-learn >= 1.5 */
        if (d <= 1000 && n >= 10 * d) solver = MFS_PCA_SVD_SOLVER_COVARIANCE_EIGH;
        else if ((n > d ? n : d) <= 500) solver = MFS_PCA_SVD_SOLVER_FULL;
        else if (!fraction && (double)k_req < 0.8 * (double)r) solver = MFS_PCA_SVD_SOLVER_RANDOMIZED;
        else solver = MFS_PCA_SVD_SOLVER_FULL;
    }
    const int randomized = solver == MFS_PCA_SVD_SOLVER_RANDOMIZED;
    const int eigen = solver == MFS_PCA_SVD_SOLVER_COVARIANCE_EIGH ||
                      (solver == MFS_PCA_SVD_SOLVER_FULL && n >= 10 * d);
    /* ne: the number of variances the solver yields (d for the eigen route,
     * as scikit-learn's covariance_eigh; r for the SVDs; k for randomized). */
    const int64_t ne = randomized ? k_req : eigen ? d : r;

    /* scratch: mean (d), w (d), Vt (ne or d, d), centered X (n, d) float32 + U for the SVDs */
    double *mean = NULL, *w, *Vt;
    float *Xc = NULL, *U = NULL, *Sf = NULL, *Vf = NULL;
    const int64_t vrows = eigen ? d : ne;
    mfs_status s = mfs__alloc((void **)&mean, (size_t)(2 * d + vrows * d) * sizeof(double), FIT, "PCA scratch");
    if (s != MFS_OK) return s;
    w = mean + d;
    Vt = w + d;
    double total_var = 0.0; /* sum of all variances (randomized: from Xc directly) */
    mfs__col_mean(X, n, d, mean);

    if (eigen) {
        s = eigen_route(m, X, n, d, mean, w, Vt);
        if (s != MFS_OK) goto done;
        for (int64_t c = 0; c < d; c++) w[c] /= (double)(n - 1);
    } else {
        size_t nd;
        if (mfs__mul_overflows((size_t)n, (size_t)d, &nd) || mfs__mul_overflows(nd, 2 * sizeof(float), &nd)) {
            s = mfs__error(MFS_E_OVERFLOW, "%s: X (%lld x %lld) is too large for the SVD", FIT, (long long)n, (long long)d);
            goto done;
        }
        const int64_t kk = randomized ? k_req : r;
        s = mfs__alloc((void **)&Xc, (size_t)(n * d + n * kk + kk + kk * d) * sizeof(float), FIT,
                       "the centered X and its SVD");
        if (s != MFS_OK) goto done;
        U = Xc + n * d;
        Sf = U + n * kk;
        Vf = Sf + kk;
        double ss = 0.0;
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (n * d > 65536) reduction(+ : ss)
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < d; j++) {
                double v = (double)X[i * d + j] - mean[j];
                Xc[i * d + j] = (float)v;
                ss += v * v;
            }
        total_var = ss / (double)(n - 1);
        if (randomized) {
            int64_t it = p->iterated_power >= 0 ? p->iterated_power : ((double)kk < 0.1 * (double)r ? 7 : 4);
            s = mfs__randomized_svd(Xc, n, d, kk, p->n_oversamples, it, (uint64_t)p->random_state, U, Sf, Vf);
        } else {
            s = mfs__svd_thin(Xc, n, d, U, Sf, Vf);
        }
        if (s != MFS_OK) goto done;
        for (int64_t c = 0; c < kk; c++) {
            w[c] = (double)Sf[c] * (double)Sf[c] / (double)(n - 1);
            for (int64_t j = 0; j < d; j++) Vt[c * d + j] = Vf[c * d + j];
        }
    }
    flip_rows(Vt, ne, d);
    if (!randomized) {
        total_var = 0.0;
        for (int64_t c = 0; c < ne; c++) total_var += w[c];
    }

    /* the number of components kept */
    int64_t k = k_req;
    if (fraction) {
        /* scikit-learn: searchsorted(cumsum(ratio), f, side="right") + 1 */
        double cum = 0.0;
        k = 1;
        for (int64_t c = 0; c < ne; c++) {
            cum += total_var > 0.0 ? w[c] / total_var : 0.0;
            if (cum <= p->variance_fraction) k = c + 2;
        }
        if (k > r) k = r;
    }
    {
        double noise = 0.0;
        if (k < r) {
            if (randomized) {
                double kept = 0.0;
                for (int64_t c = 0; c < k; c++) kept += w[c];
                noise = (total_var - kept) / (double)(r - k);
            } else {
                for (int64_t c = k; c < ne; c++) noise += w[c];
                noise /= (double)(ne - k);
            }
        }
        int64_t cshape[2] = {k, d}, kshape[1] = {k}, dshape[1] = {d};
        float *comp, *ev, *ratio, *sv, *mu;
        double *nv;
        int64_t *ns;
        s = mfs__array_new(m, "components", MFS_DTYPE_FLOAT32, 2, cshape, (void **)&comp);
        if (s == MFS_OK) s = mfs__array_new(m, "explained_variance", MFS_DTYPE_FLOAT32, 1, kshape, (void **)&ev);
        if (s == MFS_OK) s = mfs__array_new(m, "explained_variance_ratio", MFS_DTYPE_FLOAT32, 1, kshape, (void **)&ratio);
        if (s == MFS_OK) s = mfs__array_new(m, "singular_values", MFS_DTYPE_FLOAT32, 1, kshape, (void **)&sv);
        if (s == MFS_OK) s = mfs__array_new(m, "mean", MFS_DTYPE_FLOAT32, 1, dshape, (void **)&mu);
        if (s == MFS_OK) s = mfs__array_new(m, "noise_variance", MFS_DTYPE_FLOAT64, 0, NULL, (void **)&nv);
        if (s == MFS_OK) s = mfs__array_new(m, "n_samples", MFS_DTYPE_INT64, 0, NULL, (void **)&ns);
        if (s != MFS_OK) goto done;
        for (int64_t c = 0; c < k; c++) {
            for (int64_t j = 0; j < d; j++) comp[c * d + j] = (float)Vt[c * d + j];
            ev[c] = (float)w[c];
            /* constant data: no variance to explain; 0 rather than scikit-learn's NaN */
            ratio[c] = total_var > 0.0 ? (float)(w[c] / total_var) : 0.0f;
            sv[c] = (float)sqrt(w[c] * (double)(n - 1));
        }
        for (int64_t j = 0; j < d; j++) mu[j] = (float)mean[j];
        *nv = noise;
        *ns = n;
    }
done:
    mfs__free(Xc);
    mfs__free(mean);
    return s;
}

/* ---- transform / inverse_transform ---------------------------------------- */

enum { APPLY_ROWS = 2048 };

static mfs_status transform(const mfs_model *m, const mfs_array *Xa, mfs_array *out) {
    static const char fn[] = "mfs_transform";
    const mfs_pca_params *p = (const mfs_pca_params *)m->params;
    const mfs_tensor *ct = mfs__array_find(m, "components");
    const float *C = (const float *)ct->data;              /* (k, d) */
    const float *mu = (const float *)mfs__array_find(m, "mean")->data;
    const float *ev = (const float *)mfs__array_find(m, "explained_variance")->data;
    const int64_t n = Xa->shape[0], d = Xa->shape[1], k = ct->shape[0];
    const float *X = (const float *)Xa->data;
    float *o = (float *)out->data;                         /* (n, k) */
    mfs_status s = MFS_OK;
    if (m->device == MFS_DEVICE_CUDA) {
        /* centering and projection on the GPU, in row blocks */
        double *md = NULL;
        MFS_TRY(mfs__alloc((void **)&md, (size_t)d * sizeof(double), fn, "the mean"));
        for (int64_t j = 0; j < d; j++) md[j] = mu[j];
        s = mfs__pca_transform_cuda(X, n, d, md, C, k, o, (mfs_mem_counter *)&m->mem);
        mfs__free(md);
    } else {
        /* center a block of rows, then one GEMM per block: (X - mean) C^T keeps
         * float32 accuracy when the mean is large against the spread */
        float *xb = NULL;
        int64_t rows = n < APPLY_ROWS ? n : APPLY_ROWS;
        MFS_TRY(mfs__alloc((void **)&xb, (size_t)(rows * d) * sizeof(float), fn, "a centered block"));
        for (int64_t i0 = 0; i0 < n && s == MFS_OK; i0 += rows) {
            int64_t b = n - i0 < rows ? n - i0 : rows;
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (b * d > 65536)
            for (int64_t i = 0; i < b; i++)
                for (int64_t j = 0; j < d; j++) xb[i * d + j] = X[(i0 + i) * d + j] - mu[j];
            s = mfs__sgemm(0, 1, b, k, d, 1.0f, xb, d, C, d, 0.0f, o + i0 * k, k);
        }
        mfs__free(xb);
    }
    if (s == MFS_OK && p->whiten) {
        /* scikit-learn clips the scale at float32 eps so rank-deficient data stays finite */
        float inv[256], *scale = inv;
        float *heap = NULL;
        if (k > 256) {
            MFS_TRY(mfs__alloc((void **)&heap, (size_t)k * sizeof(float), fn, "the whitening scale"));
            scale = heap;
        }
        for (int64_t c = 0; c < k; c++) {
            float sc = sqrtf(ev[c]);
            scale[c] = 1.0f / (sc < FLT_EPSILON ? FLT_EPSILON : sc);
        }
        for (int64_t i = 0; i < n; i++)
            for (int64_t c = 0; c < k; c++) o[i * k + c] *= scale[c];
        mfs__free(heap);
    }
    return s;
}

static mfs_status inverse_transform(const mfs_model *m, const mfs_array *Za, mfs_array *out) {
    static const char fn[] = "mfs_inverse_transform";
    const mfs_pca_params *p = (const mfs_pca_params *)m->params;
    const mfs_tensor *ct = mfs__array_find(m, "components");
    const float *C = (const float *)ct->data;              /* (k, d) */
    const float *mu = (const float *)mfs__array_find(m, "mean")->data;
    const float *ev = (const float *)mfs__array_find(m, "explained_variance")->data;
    const int64_t n = Za->shape[0], k = ct->shape[0], d = ct->shape[1];
    const float *Z = (const float *)Za->data;              /* (n, k) */
    float *o = (float *)out->data;                         /* (n, d) */
    float *Cs = NULL;
    if (p->whiten) {
        /* exact inverse of whitening: scale the axes by sqrt(variance) (unclipped, as scikit-learn) */
        MFS_TRY(mfs__alloc((void **)&Cs, (size_t)(k * d) * sizeof(float), fn, "the scaled components"));
        for (int64_t c = 0; c < k; c++) {
            float sc = sqrtf(ev[c]);
            for (int64_t j = 0; j < d; j++) Cs[c * d + j] = sc * C[c * d + j];
        }
        C = Cs;
    }
    for (int64_t i = 0; i < n; i++) memcpy(o + i * d, mu, (size_t)d * sizeof(float));
    mfs_status s = m->device == MFS_DEVICE_CUDA
                       ? mfs_sgemm_cuda(0, 0, n, d, k, 1.0f, Z, k, C, d, 1.0f, o, d)
                       : mfs__sgemm(0, 0, n, d, k, 1.0f, Z, k, C, d, 1.0f, o, d);
    mfs__free(Cs);
    return s;
}

static mfs_status output_shape(const mfs_model *m, mfs_method method, int64_t rows,
                               mfs_dtype *dtype, int32_t *ndim, int64_t *shape) {
    const mfs_tensor *c = mfs__array_find(m, "components");
    *dtype = MFS_DTYPE_FLOAT32;
    *ndim = 2;
    shape[0] = rows;
    if (method == MFS_METHOD_TRANSFORM) shape[1] = c->shape[0];
    else if (method == MFS_METHOD_INVERSE_TRANSFORM) shape[1] = c->shape[1];
    else return mfs__error(MFS_E_UNSUPPORTED, "mfs_output_shape: pca has transform and inverse_transform only");
    return MFS_OK;
}

static int64_t inverse_input_cols(const mfs_model *m) {
    return mfs__array_find(m, "components")->shape[0];
}

/* A loaded file must carry every array with consistent shapes and finite
 * values, so that transform cannot read out of bounds or divide by NaN. */
static mfs_status check_state(const mfs_model *m) {
    static const char fn[] = "pca";
    const int64_t d = m->n_features_in;
    const mfs_tensor *c = mfs__array_get(m, "components", MFS_DTYPE_FLOAT32, 2);
    if (!c) return mfs__error(MFS_E_FORMAT, "%s: 'components' missing or not a float32 matrix", fn);
    const int64_t k = c->shape[0];
    if (c->shape[1] != d || k < 1 || k > d)
        return mfs__error(MFS_E_FORMAT, "%s: 'components' is %lld x %lld, the model has %lld features", fn,
                          (long long)k, (long long)c->shape[1], (long long)d);
    static const char *vecs[] = {"explained_variance", "explained_variance_ratio", "singular_values"};
    for (int i = 0; i < 3; i++) {
        const mfs_tensor *v = mfs__array_get(m, vecs[i], MFS_DTYPE_FLOAT32, 1);
        if (!v || v->shape[0] != k)
            return mfs__error(MFS_E_FORMAT, "%s: '%s' missing or not a float32 vector of %lld", fn, vecs[i], (long long)k);
        const float *x = (const float *)v->data;
        for (int64_t j = 0; j < k; j++)
            if (!(x[j] >= 0.0f) || !isfinite(x[j]))
                return mfs__error(MFS_E_FORMAT, "%s: '%s'[%lld] is %g, expected a finite value >= 0", fn, vecs[i],
                                  (long long)j, (double)x[j]);
    }
    const mfs_tensor *mu = mfs__array_get(m, "mean", MFS_DTYPE_FLOAT32, 1);
    if (!mu || mu->shape[0] != d)
        return mfs__error(MFS_E_FORMAT, "%s: 'mean' missing or not a float32 vector of %lld", fn, (long long)d);
    if (!mfs__all_finite((const float *)mu->data, d))
        return mfs__error(MFS_E_FORMAT, "%s: 'mean' contains NaN or infinity", fn);
    /* the axes are unit vectors: no entry beyond 1 (plus float32 rounding) */
    const float *cv = (const float *)c->data;
    for (int64_t i = 0; i < k * d; i++)
        if (!(fabsf(cv[i]) <= 1.0f + 1e-5f))
            return mfs__error(MFS_E_FORMAT, "%s: 'components'[%lld] is %g, not an entry of a unit vector", fn,
                              (long long)i, (double)cv[i]);
    const mfs_tensor *nv = mfs__array_get(m, "noise_variance", MFS_DTYPE_FLOAT64, 0);
    if (!nv || !isfinite(*(const double *)nv->data))
        return mfs__error(MFS_E_FORMAT, "%s: 'noise_variance' missing, not a float64 scalar or not finite", fn);
    const mfs_tensor *ns = mfs__array_get(m, "n_samples", MFS_DTYPE_INT64, 0);
    if (!ns || *(const int64_t *)ns->data < 2 || *(const int64_t *)ns->data < k)
        return mfs__error(MFS_E_FORMAT, "%s: 'n_samples' missing, not an int64 scalar, or below 2 or k = %lld", fn,
                          (long long)k);
    return MFS_OK;
}

const mfs_model_vtable mfs__pca_vtable = {
    .kind = MFS_MODEL_PCA,
    .name = "pca",
    .params_size = sizeof(mfs_pca_params),
    .supervised = 0,
    .check_params = check_params,
    .fit = fit,
    .transform = transform,
    .inverse_transform = inverse_transform,
    .output_shape = output_shape,
    .check_state = check_state,
    .inverse_input_cols = inverse_input_cols,
};
