/* libmfs core API: status codes, errors, arrays, threads, memory accounting,
 * the generic model interface and model files. Every model header builds on it. */
#ifndef MFS_CORE_H
#define MFS_CORE_H

#ifndef MFS_CDEF
#include <stddef.h>
#include <stdint.h>
#endif

#ifndef MFS_CDEF
#if defined(_WIN32)
#define MFS_API __declspec(dllexport)
#elif defined(__GNUC__)
#define MFS_API __attribute__((visibility("default")))
#else
#define MFS_API
#endif
#ifdef __cplusplus
extern "C" {
#endif
#else
#define MFS_API
#endif

/** Version of the library (also see mfs_version()). */
enum {
    MFS_VERSION_MAJOR = 0,
    MFS_VERSION_MINOR = 1,
    MFS_VERSION_PATCH = 0,
    /** Bumped whenever a public struct, enum value or signature changes
     *  incompatibly; the Python package checks it at import. */
    MFS_ABI_VERSION = 2,
    /** Largest number of dimensions of an mfs_array. */
    MFS_MAX_DIMS = 4,
    /** Longest name of a model's named array, including the terminating 0. */
    MFS_NAME_MAX = 32
};

/** Result of every fallible function. 0 is success. */
typedef enum mfs_status {
    MFS_OK = 0,
    MFS_E_INVALID_ARG = 1,      /**< a NULL pointer, an out-of-range parameter */
    MFS_E_SHAPE = 2,            /**< array shapes that do not fit together */
    MFS_E_VALUE = 3,            /**< NaN or Inf in the data, a value out of its domain */
    MFS_E_NOMEM = 4,            /**< an allocation failed */
    MFS_E_NOT_FITTED = 5,       /**< predict/transform before fit */
    MFS_E_UNSUPPORTED = 6,      /**< a dtype or method this model does not have */
    MFS_E_DEVICE = 7,           /**< CUDA asked for without a GPU, or a CUDA error */
    MFS_E_FORMAT = 8,           /**< a model file that is truncated, corrupted or foreign */
    MFS_E_IO = 9,               /**< a file could not be opened, read or written */
    MFS_E_BUFFER_TOO_SMALL = 10,/**< the caller's buffer is smaller than needed */
    MFS_E_OVERFLOW = 11,        /**< sizes whose product does not fit */
    MFS_E_INTERNAL = 12,        /**< a bug in libmfs: please report it */
    MFS_E_NOT_CONVERGED = 13    /**< an iterative solver failed to converge */
} mfs_status;

/** Element type of an mfs_array. Models take float32 data and int32 labels. */
typedef enum mfs_dtype {
    MFS_DTYPE_FLOAT32 = 0,
    MFS_DTYPE_INT32 = 1,
    MFS_DTYPE_FLOAT64 = 2,
    MFS_DTYPE_INT64 = 3,
    MFS_DTYPE_UINT8 = 4
} mfs_dtype;

/** Where a model computes. Chosen per model; never a silent fallback. */
typedef enum mfs_device {
    MFS_DEVICE_CPU = 0,
    MFS_DEVICE_CUDA = 1
} mfs_device;

/** Model kinds; values are written into model files, so append only. */
typedef enum mfs_model_kind {
    MFS_MODEL_LINEAR_REGRESSION = 1,
    MFS_MODEL_KMEANS = 2,
    MFS_MODEL_PCA = 3,
    MFS_MODEL_LOGISTIC_REGRESSION = 4,
    MFS_MODEL_KNN = 5,
    MFS_MODEL_NAIVE_BAYES = 6,
    MFS_MODEL_DECISION_TREE = 7,
    MFS_MODEL_RANDOM_FOREST = 8,
    MFS_MODEL_SVM = 9,
    MFS_MODEL_LINEAR_SVM = 10,
    MFS_MODEL_MLP = 11,
    MFS_MODEL_CNN = 12
} mfs_model_kind;

/** Methods whose output shape can be queried with mfs_output_shape(). */
typedef enum mfs_method {
    MFS_METHOD_PREDICT = 0,
    MFS_METHOD_PREDICT_PROBA = 1,
    MFS_METHOD_TRANSFORM = 2,
    MFS_METHOD_INVERSE_TRANSFORM = 3,
    MFS_METHOD_DECISION_FUNCTION = 4,
    MFS_METHOD_PREDICT_LOG_PROBA = 5
} mfs_method;

/** A caller-owned view of a row-major, C-contiguous array. Borrowed for the
 *  duration of a call: a model copies whatever it keeps. */
typedef struct mfs_array {
    void *data;
    mfs_dtype dtype;
    int32_t ndim;
    int64_t shape[4]; /* MFS_MAX_DIMS; dims past ndim are ignored */
} mfs_array;

/** Bytes allocated through libmfs: current and peak, host and device. */
typedef struct mfs_memory_stats {
    int64_t host_current;
    int64_t host_peak;
    int64_t device_current;
    int64_t device_peak;
} mfs_memory_stats;

/** An opaque fitted-or-not model. */
typedef struct mfs_model mfs_model;

/* ---- library ----------------------------------------------------------- */

/** "MAJOR.MINOR.PATCH". */
MFS_API const char *mfs_version(void);
/** MFS_ABI_VERSION of the library actually loaded. */
MFS_API int32_t mfs_abi_version(void);
/** Message of the last failure in the calling thread ("" if none). Valid until
 *  the next libmfs call in this thread. */
MFS_API const char *mfs_last_error(void);
/** Short constant name of a status ("MFS_E_SHAPE"). */
MFS_API const char *mfs_status_string(mfs_status status);

/** Threads used by parallel regions (OpenMP). n must be >= 1. */
MFS_API mfs_status mfs_set_num_threads(int32_t n);
/** Threads parallel regions currently use (1 in a build without OpenMP). */
MFS_API int32_t mfs_get_num_threads(void);
/** Number of usable CUDA devices: 0 in a CPU-only build or without a GPU. */
MFS_API int32_t mfs_cuda_device_count(void);
/** 1 if this library was built with CUDA sources, else 0. */
MFS_API int32_t mfs_built_with_cuda(void);

/** Memory counters: of one model when model is non-NULL (its arrays and the
 *  scratch of calls on it), else of the whole library. */
MFS_API mfs_status mfs_memory_stats_get(const mfs_model *model, mfs_memory_stats *out);
/** Set the peak counters (of model, or global when NULL) to their current values. */
MFS_API mfs_status mfs_memory_reset_peak(mfs_model *model);

/* ---- the generic model interface -------------------------------------- */

/** Create a model of `kind` from its params struct (e.g. mfs_kmeans_params,
 *  params_size = sizeof of it, checked against the library's) on `device`.
 *  Every model header also has a typed mfs_<model>_create().
 *  [out] out receives the handle; free it with mfs_model_free().
 *  Errors: MFS_E_INVALID_ARG for a bad parameter (the message names it),
 *  MFS_E_DEVICE when device is CUDA and no GPU is usable. */
MFS_API mfs_status mfs_model_create(mfs_model_kind kind, const void *params,
                                    size_t params_size, mfs_device device,
                                    mfs_model **out);
/** Free a model and everything it holds. NULL is a no-op. */
MFS_API void mfs_model_free(mfs_model *model);

/** Fit on X (n, d) float32 and, for supervised models, y: (n,) or (n, t)
 *  float32 targets, or (n,) int32 labels 0..K-1. y is NULL for unsupervised
 *  models. Refitting replaces the fitted state. */
MFS_API mfs_status mfs_fit(mfs_model *model, const mfs_array *X, const mfs_array *y);
/** Predictions for X (m, d); out must have the shape mfs_output_shape gives.
 *  For this and the other predict-type calls, on an error out's contents are
 *  unspecified: the networks check X's values block by block as they read it
 *  and may have written the rows before the bad one. */
MFS_API mfs_status mfs_predict(const mfs_model *model, const mfs_array *X, mfs_array *out);
/** Class probabilities (m, K). */
MFS_API mfs_status mfs_predict_proba(const mfs_model *model, const mfs_array *X, mfs_array *out);
/** Log of the class probabilities (m, K), computed in log space. */
MFS_API mfs_status mfs_predict_log_proba(const mfs_model *model, const mfs_array *X, mfs_array *out);
/** Decision values: (m,) for binary problems, (m, K) otherwise. */
MFS_API mfs_status mfs_decision_function(const mfs_model *model, const mfs_array *X, mfs_array *out);
/** Update the model with one more batch (streaming models such as naive
 *  Bayes); the first call fits from scratch. MFS_E_UNSUPPORTED elsewhere. */
MFS_API mfs_status mfs_partial_fit(mfs_model *model, const mfs_array *X, const mfs_array *y);
/** Transform X (m, d) to the model's output space (distances, components). */
MFS_API mfs_status mfs_transform(const mfs_model *model, const mfs_array *X, mfs_array *out);
/** Map transformed data back to the input space. */
MFS_API mfs_status mfs_inverse_transform(const mfs_model *model, const mfs_array *X, mfs_array *out);
/** Shape and dtype of `method`'s output for input X. */
MFS_API mfs_status mfs_output_shape(const mfs_model *model, mfs_method method,
                                    const mfs_array *X, mfs_dtype *dtype,
                                    int32_t *ndim, int64_t *shape);

/** Kind, device, fitted flag and number of input features (0 before fit). */
MFS_API mfs_status mfs_model_info(const mfs_model *model, mfs_model_kind *kind,
                                  mfs_device *device, int32_t *fitted,
                                  int64_t *n_features_in);
/** Copy the model's params struct into params (params_size must match). */
MFS_API mfs_status mfs_model_get_params(const mfs_model *model, void *params,
                                        size_t params_size);
/** Sizeof the params struct of `kind` as this library was compiled (0 if unknown). */
MFS_API size_t mfs_params_size(mfs_model_kind kind);

/** Names of a model's arrays: index 0..count-1; the fitted arrays first, then
 *  its metadata arrays ("meta.*", see mfs_model_set_array). */
MFS_API int32_t mfs_model_array_count(const mfs_model *model);
MFS_API const char *mfs_model_array_name(const mfs_model *model, int32_t index);
/** dtype, ndim and shape of a named array ("coef", "cluster_centers", ...). */
MFS_API mfs_status mfs_model_array_info(const mfs_model *model, const char *name,
                                        mfs_dtype *dtype, int32_t *ndim, int64_t *shape);
/** Copy a named array into out (caller-allocated; dtype and shape must match). */
MFS_API mfs_status mfs_model_get_array(const mfs_model *model, const char *name,
                                       mfs_array *out);
/** Give the model an input array for fit ("init" for K-Means, "sample_weight"
 *  for Linear Regression). Copied; kept until replaced, or removed by passing
 *  value = NULL (removing an absent name is not an error).
 *
 *  Metadata: a name starting with "meta." (e.g. "meta.classes", the user's
 *  class labels as the Python package writes them) sets a user metadata array
 *  instead. It is copied, of any dtype (uint8 for opaque bytes) and 0..4
 *  dimensions; the model itself never reads it. It is saved and loaded with
 *  the model (file and buffer), listed by mfs_model_array_count/_name after the
 *  fitted arrays, read back with mfs_model_array_info/mfs_model_get_array, and
 *  removed with value = NULL. It may be set before or after fit: fit and
 *  partial_fit keep it (a refit does not clear it), so set it again if it
 *  describes the fit (as the user's labels do). Limits: at most 16 metadata
 *  arrays and 64 MiB of them in all per model, a name of at most 31
 *  characters with at least one after "meta."; float32 values must be finite.
 *  Breaking a limit is MFS_E_INVALID_ARG (MFS_E_VALUE for NaN/Inf) and leaves
 *  the model unchanged; a model file breaking one is MFS_E_FORMAT.
 *  Like fit, this changes the model: do not call it while another thread uses
 *  the same model. */
MFS_API mfs_status mfs_model_set_array(mfs_model *model, const char *name,
                                       const mfs_array *value);

/* ---- model files ------------------------------------------------------- */

/** Serialize into buf (capacity cap). needed receives the size required;
 *  MFS_E_BUFFER_TOO_SMALL if cap < needed (buf may then be NULL). */
MFS_API mfs_status mfs_model_save_buffer(const mfs_model *model, void *buf,
                                         size_t cap, size_t *needed);
/** Load a model from bytes, placing it on `device`. Every field is checked:
 *  MFS_E_FORMAT for anything truncated, corrupted or foreign. */
MFS_API mfs_status mfs_model_load_buffer(const void *buf, size_t size,
                                         mfs_device device, mfs_model **out);
MFS_API mfs_status mfs_model_save(const mfs_model *model, const char *path);
MFS_API mfs_status mfs_model_load(const char *path, mfs_device device, mfs_model **out);

#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif /* MFS_CORE_H */
