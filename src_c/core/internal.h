/* Internal core API shared by every C and CUDA-host source of libmfs: errors,
 * allocation with accounting, input validation, the model struct and its table. */
#ifndef MFS_INTERNAL_H
#define MFS_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include "mfs/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MFS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MFS_PRINTF(a, b)
#endif

/* ---- errors ------------------------------------------------------------ */
/* Record a message for mfs_last_error() in this thread and return status.
 * Convention: "<public function>: <what is wrong, with both numbers>". */
mfs_status mfs__error(mfs_status status, const char *fmt, ...) MFS_PRINTF(2, 3);
void mfs__clear_error(void);
/* Propagate a failing status. */
#define MFS_TRY(expr) do { mfs_status s__ = (expr); if (s__ != MFS_OK) return s__; } while (0)

/* ---- memory accounting ------------------------------------------------- */
/* A counter set; the global one and one per model. */
typedef struct mfs_mem_counter {
    int64_t host_current, host_peak, device_current, device_peak; /* atomics in core */
} mfs_mem_counter;

/* All libmfs heap memory goes through these. Blocks are 64-byte aligned and
 * counted in the global counter and in the counter of the model whose API call
 * is running in this thread (see mfs__scope_enter). Free with mfs__free. */
void *mfs__malloc(size_t bytes);
void *mfs__calloc(size_t count, size_t size); /* checks count*size overflow */
void mfs__free(void *p);
/* Same, failing with MFS_E_NOMEM and a message naming `what` on failure. */
mfs_status mfs__alloc(void **out, size_t bytes, const char *fn, const char *what);
/* Device allocations are made by src_cuda and reported here. `counter` is the
 * model counter (may be NULL). */
void mfs__count_device(mfs_mem_counter *counter, int64_t delta);
/* The counter that allocations in this thread are charged to, and its setter;
 * the generic API sets it around each call on a model. */
mfs_mem_counter *mfs__scope_counter(void);
/* Charge the block p (from mfs__malloc) to counter c from now on (moving its
 * bytes off the counter it was allocated under). */
void mfs__charge_to(void *p, mfs_mem_counter *c);
mfs_mem_counter *mfs__scope_enter(mfs_mem_counter *c); /* returns the previous */
void mfs__scope_leave(mfs_mem_counter *previous);

/* size arithmetic that reports overflow instead of wrapping */
int mfs__mul_overflows(size_t a, size_t b, size_t *out);

/* ---- threads ------------------------------------------------------------ */
int mfs__num_threads(void);

/* ---- validation --------------------------------------------------------- */
size_t mfs__dtype_size(mfs_dtype dtype);
/* Total element count of an array, checking every dim >= 0 and overflow. */
mfs_status mfs__array_numel(const char *fn, const char *name, const mfs_array *a, int64_t *numel);
/* A 2-D float32 matrix with n >= min_rows rows, d >= 1 columns, finite values.
 * Writes n and d. Messages name fn and name ("mfs_fit: X ..."). */
mfs_status mfs__check_matrix(const char *fn, const char *name, const mfs_array *X,
                             int64_t min_rows, int64_t *n, int64_t *d);
/* The same without the pass over the values (for a model that checks them
 * where it reads them: a network's predict on the GPU). */
mfs_status mfs__check_matrix_shape(const char *fn, const char *name, const mfs_array *X,
                                   int64_t min_rows, int64_t *n, int64_t *d);
/* mfs__check_matrix's message for the non-finite x[index] of a matrix with cols
 * columns: "fn: name contains NaN at row r, column c" (MFS_E_VALUE). */
mfs_status mfs__nonfinite_error(const char *fn, const char *name, const float *x, int64_t index, int64_t cols);
/* A float32 vector (n,) or matrix (n, t) of finite targets; writes t (1 for 1-D). */
mfs_status mfs__check_targets(const char *fn, const mfs_array *y, int64_t n, int64_t *t);
/* An int32 label vector of length n with values in [0, n_classes). */
mfs_status mfs__check_labels(const char *fn, const mfs_array *y, int64_t n, int32_t n_classes);
/* An output array with exactly this dtype and shape and non-NULL data. */
mfs_status mfs__check_output(const char *fn, const mfs_array *out, mfs_dtype dtype,
                             int32_t ndim, const int64_t *shape);
/* 1 if every element of a float32 buffer is finite. */
int mfs__all_finite(const float *x, int64_t n);
/* A predict over a row-major X (n, d) in blocks of rows, over the threads
 * (static schedule): each block is checked for NaN and infinity just before
 * f(ctx, r0, r1, thread) reads rows [r0, r1), so X crosses memory once
 * instead of twice (a separate check, then the model's pass); for a model
 * whose vtable sets host_checks_finite. A non-finite value gives
 * mfs__check_matrix's error naming the first one in X; a failing f, its
 * status and message. f runs inside the parallel region when there is more
 * than one block: the products it calls then run on its thread alone. On an
 * error the output's contents are unspecified. */
typedef mfs_status (*mfs__row_block_fn)(void *ctx, int64_t r0, int64_t r1, int thread);
mfs_status mfs__row_blocks_checked(const char *fn, const char *name, const float *X, int64_t n, int64_t d,
                                   int64_t block_rows, mfs__row_block_fn f, void *ctx);
/* Rows per block for mfs__row_blocks_checked: about 256 KiB of X (a block
 * stays in L2 between the check and the model's read), 16 to 4096 rows. */
int64_t mfs__check_block_rows(int64_t d);

/* ---- named arrays (the fitted state of every model) ---------------------- */
typedef struct mfs_tensor {
    char name[MFS_NAME_MAX];
    mfs_dtype dtype;
    int32_t ndim;
    int64_t shape[MFS_MAX_DIMS];
    size_t nbytes;
    void *data;
} mfs_tensor;

enum { MFS_MAX_ARRAYS = 32 };

/* User metadata ("meta.<name>", e.g. "meta.classes"): arrays of any dtype set
 * with mfs_model_set_array, saved and loaded with the model and listed with its
 * arrays, but kept apart from the fitted state: model code never sees them
 * (mfs__array_find does not return them, check_state does not get them) and
 * fit keeps them. At most MFS_META_MAX_ARRAYS per model, MFS_META_MAX_BYTES in all. */
enum { MFS_META_MAX_ARRAYS = 16, MFS_META_MAX_BYTES = 64 << 20 };
#define MFS_META_PREFIX "meta."

typedef struct mfs_model_vtable mfs_model_vtable;

struct mfs_model {
    const mfs_model_vtable *vt;
    mfs_device device;
    int32_t fitted;
    int64_t n_features_in;
    void *params;                 /* a copy of the params struct, vt->params_size bytes */
    int32_t n_arrays;
    mfs_tensor arrays[MFS_MAX_ARRAYS]; /* fitted state: saved and loaded as is */
    int32_t n_inputs;
    mfs_tensor inputs[4];         /* set with mfs_model_set_array, not saved */
    void *device_state;           /* model-owned GPU buffers (src_cuda), or NULL */
    void (*device_state_free)(mfs_model *m);
    mfs_mem_counter mem;
    int32_t n_meta;
    mfs_tensor meta[MFS_META_MAX_ARRAYS]; /* user metadata: saved, never read by the model */
};

/* The table each model supplies; registered in src_c/core/registry.c.
 * Unused methods are NULL (the generic layer answers MFS_E_UNSUPPORTED). All
 * inputs are validated by the generic layer as far as it can (X a finite 2-D
 * float32 matrix with n_features_in columns when fitted, out's shape equal to
 * output_shape's answer); models check the rest. */
struct mfs_model_vtable {
    mfs_model_kind kind;
    const char *name;          /* "kmeans": the model id of DESIGN.md */
    size_t params_size;
    int supervised;            /* fit needs y */
    mfs_status (*check_params)(const void *params);           /* message prefix mfs_model_create */
    mfs_status (*fit)(mfs_model *m, const mfs_array *X, const mfs_array *y);
    mfs_status (*predict)(const mfs_model *m, const mfs_array *X, mfs_array *out);
    mfs_status (*predict_proba)(const mfs_model *m, const mfs_array *X, mfs_array *out);
    mfs_status (*transform)(const mfs_model *m, const mfs_array *X, mfs_array *out);
    mfs_status (*inverse_transform)(const mfs_model *m, const mfs_array *X, mfs_array *out);
    /* Output dtype/ndim/shape for method on m rows (model is fitted). */
    mfs_status (*output_shape)(const mfs_model *m, mfs_method method, int64_t rows,
                               mfs_dtype *dtype, int32_t *ndim, int64_t *shape);
    /* After load: check that the arrays a fitted model needs exist with
     * consistent shapes and values, so a hostile file cannot crash predict. */
    mfs_status (*check_state)(const mfs_model *m);
    /* Columns the input of inverse_transform must have (NULL: n_features_in). */
    int64_t (*inverse_input_cols)(const mfs_model *m);
    /* Update a fitted-or-not model with one more batch (streaming models).
     * The generic layer checks X; on the first call it also sets
     * n_features_in, afterwards it requires the same column count. */
    mfs_status (*partial_fit)(mfs_model *m, const mfs_array *X, const mfs_array *y);
    mfs_status (*decision_function)(const mfs_model *m, const mfs_array *X, mfs_array *out);
    mfs_status (*predict_log_proba)(const mfs_model *m, const mfs_array *X, mfs_array *out);
    /* 1: on MFS_DEVICE_CUDA the predict-type methods check X for NaN and
     * infinity themselves, on the device after the upload (one pass less
     * over host memory), with mfs__nonfinite_error's message */
    int device_checks_finite;
    /* 1: on the CPU likewise, block by block of rows just before the model
     * reads them (the networks' predict: X crosses memory once, not twice) */
    int host_checks_finite;
};

const mfs_model_vtable *mfs__vtable(mfs_model_kind kind);
/* A new unfitted model holding a copy of params (checked); used by create and load. */
mfs_status mfs__model_new(const char *fn, mfs_model_kind kind, const void *params,
                          size_t params_size, mfs_device device, mfs_model **out);

/* Named-array helpers for model code. */
/* Find a fitted array; NULL if absent. */
mfs_tensor *mfs__array_find(const mfs_model *m, const char *name);
/* Find and require dtype/ndim; NULL if absent or different. */
const mfs_tensor *mfs__array_get(const mfs_model *m, const char *name, mfs_dtype dtype, int32_t ndim);
/* Create (or replace) a fitted array of the given shape, zero-filled. */
mfs_status mfs__array_new(mfs_model *m, const char *name, mfs_dtype dtype, int32_t ndim,
                          const int64_t *shape, void **data);
/* Make the block data (from mfs__malloc, numel(shape) * dtype size bytes)
 * the model's array `name`, replacing one of that name: ownership moves to the
 * model, nothing is copied (a fit hands its trained parameters over instead
 * of holding them twice). On failure data is still the caller's. */
mfs_status mfs__array_adopt(mfs_model *m, const char *name, mfs_dtype dtype, int32_t ndim,
                            const int64_t *shape, void *data);
/* Drop all fitted arrays (before refit). */
void mfs__arrays_clear(mfs_model *m);
/* Input arrays given with mfs_model_set_array. */
const mfs_tensor *mfs__input_find(const mfs_model *m, const char *name);
/* The optional weight vector input `name` (class_weight, sample_weight):
 * float32 or float64, shape (n,), every value finite and > 0 (positive = 1)
 * or >= 0 (positive = 0), copied into w (n) as doubles; when the model has no
 * such input, w is all ones and *given is 0 (given may be NULL). `what` names
 * n in the length error ("classes in the data", "rows of X"). */
mfs_status mfs__input_weights(const mfs_model *m, const char *fn, const char *name, int64_t n, int positive,
                              const char *what, double *w, int *given);
/* 1 if name starts with MFS_META_PREFIX (a metadata array's name). */
int mfs__is_meta_name(const char *name);
/* A metadata array; NULL if absent. */
const mfs_tensor *mfs__meta_find(const mfs_model *m, const char *name);
/* Create or replace metadata array `name` with a copy of value, enforcing the
 * name rule and the caps; messages are prefixed with fn. Used by set_array and load. */
mfs_status mfs__meta_set(mfs_model *m, const char *fn, const char *name, const mfs_array *value);

/* Helper to make a 2-D float32 view. */
static inline mfs_array mfs__view2(float *data, int64_t rows, int64_t cols) {
    mfs_array a;
    a.data = data; a.dtype = MFS_DTYPE_FLOAT32; a.ndim = 2;
    a.shape[0] = rows; a.shape[1] = cols; a.shape[2] = 0; a.shape[3] = 0;
    return a;
}

#ifdef __cplusplus
}
#endif
#endif
