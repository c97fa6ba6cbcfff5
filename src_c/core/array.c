/* Validation of the arrays that cross the API: dtype, shape, overflow, NaN/Inf. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"
#ifdef _OPENMP
#include <omp.h>
#endif

size_t mfs__dtype_size(mfs_dtype dtype) {
    switch (dtype) {
    case MFS_DTYPE_FLOAT32: return 4;
    case MFS_DTYPE_INT32: return 4;
    case MFS_DTYPE_FLOAT64: return 8;
    case MFS_DTYPE_INT64: return 8;
    case MFS_DTYPE_UINT8: return 1;
    }
    return 0;
}

static const char *dtype_name(mfs_dtype dtype) {
    switch (dtype) {
    case MFS_DTYPE_FLOAT32: return "float32";
    case MFS_DTYPE_INT32: return "int32";
    case MFS_DTYPE_FLOAT64: return "float64";
    case MFS_DTYPE_INT64: return "int64";
    case MFS_DTYPE_UINT8: return "uint8";
    }
    return "unknown";
}

mfs_status mfs__array_numel(const char *fn, const char *name, const mfs_array *a, int64_t *numel) {
    if (!a) return mfs__error(MFS_E_INVALID_ARG, "%s: %s is NULL", fn, name);
    if (a->ndim < 0 || a->ndim > MFS_MAX_DIMS)
        return mfs__error(MFS_E_SHAPE, "%s: %s has ndim %d, it must be 0..%d", fn, name, (int)a->ndim, MFS_MAX_DIMS);
    size_t es = mfs__dtype_size(a->dtype);
    if (es == 0) return mfs__error(MFS_E_UNSUPPORTED, "%s: %s has unknown dtype %d", fn, name, (int)a->dtype);
    size_t total = 1;
    for (int i = 0; i < a->ndim; i++) {
        if (a->shape[i] < 0)
            return mfs__error(MFS_E_SHAPE, "%s: %s has shape[%d] = %lld, it must be >= 0", fn, name, i, (long long)a->shape[i]);
        if (mfs__mul_overflows(total, (size_t)a->shape[i], &total) || total > (size_t)INT64_MAX / 8)
            return mfs__error(MFS_E_OVERFLOW, "%s: the shape of %s overflows a 64-bit size", fn, name);
    }
    size_t bytes;
    if (mfs__mul_overflows(total, es, &bytes))
        return mfs__error(MFS_E_OVERFLOW, "%s: the byte size of %s overflows", fn, name);
    if (total > 0 && !a->data) return mfs__error(MFS_E_INVALID_ARG, "%s: %s has NULL data", fn, name);
    *numel = (int64_t)total;
    return MFS_OK;
}

/* Sum of x*0 is 0 for finite x and NaN otherwise: one branch-free pass. */
static int finite_run(const float *x, int64_t n) {
    float acc[32] = {0};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int j = 0; j < 32; j++) acc[j] += x[i + j] * 0.0f; /* two vectors of lanes: vectorizes */
    for (; i < n; i++) acc[0] += x[i] * 0.0f;
    float s = 0.0f;
    for (int j = 0; j < 32; j++) s += acc[j];
    return s == 0.0f;
}

int mfs__all_finite(const float *x, int64_t n) {
    /* Large inputs (every fit and predict checks its X) in blocks over the
     * threads: the pass is bound by memory bandwidth, which two cores share
     * better than one uses. The answer is a yes/no: no order to keep. */
    enum { BLOCK = 1 << 16 };
    if (n < 4 * BLOCK) return finite_run(x, n);
    const int64_t nb = (n + BLOCK - 1) / BLOCK;
    int bad = 0;
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) reduction(| : bad)
    for (int64_t b = 0; b < nb; b++) {
        const int64_t i0 = b * BLOCK, len = n - i0 < BLOCK ? n - i0 : BLOCK;
        bad |= !finite_run(x + i0, len);
    }
    return !bad;
}

mfs_status mfs__nonfinite_error(const char *fn, const char *name, const float *x, int64_t index, int64_t cols) {
    /* libmfs computes in float32: a caller's float64 beyond float32's range
     * arrives as infinity, so the message says so */
    return mfs__error(MFS_E_VALUE, "%s: %s contains %s at row %lld, column %lld%s", fn, name,
                      isnan(x[index]) ? "NaN" : "infinity", (long long)(index / cols), (long long)(index % cols),
                      isnan(x[index]) ? "" : " (or a value beyond float32's range, |x| > 3.4e38)");
}

mfs_status mfs__row_blocks_checked(const char *fn, const char *name, const float *X, int64_t n, int64_t d,
                                   int64_t block_rows, mfs__row_block_fn f, void *ctx) {
    if (n <= 0 || d <= 0) return MFS_OK;
    if (block_rows < 1) block_rows = 1;
    const int64_t nblk = (n + block_rows - 1) / block_rows;
    int64_t first_bad = nblk; /* the lowest block holding a non-finite value */
    mfs_status fail = MFS_OK;
    char msg[512] = "";
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (nblk > 1)
    for (int64_t b = 0; b < nblk; b++) {
        const int64_t r0 = b * block_rows, r1 = n - r0 < block_rows ? n : r0 + block_rows;
        if (!finite_run(X + r0 * d, (r1 - r0) * d)) {
#pragma omp critical(mfs_row_blocks)
            if (b < first_bad) first_bad = b;
            continue;
        }
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        mfs_status s = f(ctx, r0, r1, t);
        if (s != MFS_OK) {
            /* the message is in this thread's slot: carry it to the caller's */
#pragma omp critical(mfs_row_blocks)
            if (fail == MFS_OK) {
                fail = s;
                snprintf(msg, sizeof msg, "%s", mfs_last_error());
            }
        }
    }
    if (first_bad < nblk) /* the first non-finite value of X is in that block */
        for (int64_t i = first_bad * block_rows * d; i < n * d; i++)
            if (!isfinite(X[i])) return mfs__nonfinite_error(fn, name, X, i, d);
    if (fail != MFS_OK) return mfs__error(fail, "%s", msg);
    return MFS_OK;
}

int64_t mfs__check_block_rows(int64_t d) {
    int64_t b = ((int64_t)256 * 1024) / ((d > 0 ? d : 1) * (int64_t)sizeof(float));
    return b < 16 ? 16 : b > 4096 ? 4096 : b;
}

static mfs_status check_finite(const char *fn, const char *name, const float *x, int64_t n, int64_t cols) {
    if (mfs__all_finite(x, n)) return MFS_OK;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return mfs__nonfinite_error(fn, name, x, i, cols);
    return MFS_OK;
}

mfs_status mfs__check_matrix(const char *fn, const char *name, const mfs_array *X,
                             int64_t min_rows, int64_t *n, int64_t *d) {
    MFS_TRY(mfs__check_matrix_shape(fn, name, X, min_rows, n, d));
    return check_finite(fn, name, (const float *)X->data, *n * *d, *d);
}

mfs_status mfs__check_matrix_shape(const char *fn, const char *name, const mfs_array *X,
                                   int64_t min_rows, int64_t *n, int64_t *d) {
    int64_t numel = 0;
    MFS_TRY(mfs__array_numel(fn, name, X, &numel));
    if (X->dtype != MFS_DTYPE_FLOAT32)
        return mfs__error(MFS_E_UNSUPPORTED, "%s: %s has dtype %s, expected float32", fn, name, dtype_name(X->dtype));
    if (X->ndim != 2)
        return mfs__error(MFS_E_SHAPE, "%s: %s has %d dimensions, expected 2 (n_samples, n_features)", fn, name, (int)X->ndim);
    if (X->shape[0] < min_rows)
        return mfs__error(MFS_E_SHAPE, "%s: %s has %lld samples, at least %lld are required", fn, name,
                          (long long)X->shape[0], (long long)min_rows);
    if (X->shape[1] < 1)
        return mfs__error(MFS_E_SHAPE, "%s: %s has 0 features, at least 1 is required", fn, name);
    (void)numel;
    *n = X->shape[0];
    *d = X->shape[1];
    return MFS_OK;
}

mfs_status mfs__check_targets(const char *fn, const mfs_array *y, int64_t n, int64_t *t) {
    int64_t numel = 0;
    MFS_TRY(mfs__array_numel(fn, "y", y, &numel));
    if (y->dtype != MFS_DTYPE_FLOAT32)
        return mfs__error(MFS_E_UNSUPPORTED, "%s: y has dtype %s, expected float32", fn, dtype_name(y->dtype));
    if (y->ndim != 1 && y->ndim != 2)
        return mfs__error(MFS_E_SHAPE, "%s: y has %d dimensions, expected 1 or 2", fn, (int)y->ndim);
    if (y->shape[0] != n)
        return mfs__error(MFS_E_SHAPE, "%s: y has %lld samples, X has %lld", fn, (long long)y->shape[0], (long long)n);
    *t = y->ndim == 1 ? 1 : y->shape[1];
    if (*t < 1) return mfs__error(MFS_E_SHAPE, "%s: y has 0 targets", fn);
    return check_finite(fn, "y", (const float *)y->data, numel, *t);
}

mfs_status mfs__check_labels(const char *fn, const mfs_array *y, int64_t n, int32_t n_classes) {
    int64_t numel = 0;
    MFS_TRY(mfs__array_numel(fn, "y", y, &numel));
    if (y->dtype != MFS_DTYPE_INT32)
        return mfs__error(MFS_E_UNSUPPORTED, "%s: y has dtype %s, expected int32 labels", fn, dtype_name(y->dtype));
    if (y->ndim != 1) return mfs__error(MFS_E_SHAPE, "%s: y has %d dimensions, expected 1", fn, (int)y->ndim);
    if (y->shape[0] != n)
        return mfs__error(MFS_E_SHAPE, "%s: y has %lld samples, X has %lld", fn, (long long)y->shape[0], (long long)n);
    const int32_t *v = (const int32_t *)y->data;
    for (int64_t i = 0; i < n; i++)
        if (v[i] < 0 || v[i] >= n_classes)
            return mfs__error(MFS_E_VALUE, "%s: y[%lld] = %d, labels must be in 0..%d", fn, (long long)i, (int)v[i], (int)n_classes - 1);
    return MFS_OK;
}

mfs_status mfs__check_output(const char *fn, const mfs_array *out, mfs_dtype dtype,
                             int32_t ndim, const int64_t *shape) {
    int64_t numel = 0;
    MFS_TRY(mfs__array_numel(fn, "out", out, &numel));
    if (out->dtype != dtype)
        return mfs__error(MFS_E_UNSUPPORTED, "%s: out has dtype %s, expected %s", fn, dtype_name(out->dtype), dtype_name(dtype));
    if (out->ndim != ndim)
        return mfs__error(MFS_E_SHAPE, "%s: out has %d dimensions, expected %d", fn, (int)out->ndim, (int)ndim);
    for (int i = 0; i < ndim; i++)
        if (out->shape[i] != shape[i])
            return mfs__error(MFS_E_SHAPE, "%s: out has shape[%d] = %lld, expected %lld", fn, i,
                              (long long)out->shape[i], (long long)shape[i]);
    return MFS_OK;
}
