/* The generic model interface: create, fit, predict/transform, named arrays.
 * Validation common to every model happens here, once; the model tables in
 * src_c/classical and src_c/neural receive checked inputs. */
#include <math.h>
#include <string.h>
#include "internal.h"
#include "src_cuda/cuda_api.h"

/* Charge allocations made during a call on m to m's counter. */
#define SCOPE_BEGIN(m) mfs_mem_counter *prev__ = mfs__scope_enter(&(m)->mem)
#define SCOPE_END() mfs__scope_leave(prev__)

size_t mfs_params_size(mfs_model_kind kind) {
    const mfs_model_vtable *vt = mfs__vtable(kind);
    return vt ? vt->params_size : 0;
}

static mfs_status check_device(const char *fn, mfs_device device) {
    if (device == MFS_DEVICE_CPU) return MFS_OK;
    if (device == MFS_DEVICE_CUDA) return mfs__cuda_require(fn);
    return mfs__error(MFS_E_INVALID_ARG, "%s: device is %d, expected MFS_DEVICE_CPU (0) or MFS_DEVICE_CUDA (1)", fn, (int)device);
}

/* Shared by create and load: a model with a copy of params, nothing fitted. */
mfs_status mfs__model_new(const char *fn, mfs_model_kind kind, const void *params,
                          size_t params_size, mfs_device device, mfs_model **out) {
    if (!out) return mfs__error(MFS_E_INVALID_ARG, "%s: out is NULL", fn);
    *out = NULL;
    const mfs_model_vtable *vt = mfs__vtable(kind);
    if (!vt) return mfs__error(MFS_E_INVALID_ARG, "%s: unknown model kind %d", fn, (int)kind);
    if (!params) return mfs__error(MFS_E_INVALID_ARG, "%s: params is NULL", fn);
    if (params_size != vt->params_size)
        return mfs__error(MFS_E_INVALID_ARG, "%s: params_size is %zu, the %s params struct has %zu bytes (header and library out of step?)",
                          fn, params_size, vt->name, vt->params_size);
    MFS_TRY(check_device(fn, device));
    if (vt->check_params) MFS_TRY(vt->check_params(params));
    mfs_model *m = (mfs_model *)mfs__calloc(1, sizeof(mfs_model));
    if (!m) return mfs__error(MFS_E_NOMEM, "%s: out of memory for the model", fn);
    m->params = mfs__malloc(params_size);
    if (!m->params) { mfs__free(m); return mfs__error(MFS_E_NOMEM, "%s: out of memory for params", fn); }
    memcpy(m->params, params, params_size);
    m->vt = vt;
    m->device = device;
    *out = m;
    return MFS_OK;
}

mfs_status mfs_model_create(mfs_model_kind kind, const void *params, size_t params_size,
                            mfs_device device, mfs_model **out) {
    return mfs__model_new("mfs_model_create", kind, params, params_size, device, out);
}

static void tensor_free(mfs_model *m, mfs_tensor *t) {
    mfs_mem_counter *prev = mfs__scope_enter(&m->mem);
    mfs__free(t->data);
    mfs__scope_leave(prev);
    memset(t, 0, sizeof *t);
}

void mfs__arrays_clear(mfs_model *m) {
    for (int i = 0; i < m->n_arrays; i++) tensor_free(m, &m->arrays[i]);
    m->n_arrays = 0;
    m->fitted = 0;
    m->n_features_in = 0;
    if (m->device_state_free) m->device_state_free(m);
    m->device_state = NULL;
    m->device_state_free = NULL;
}

void mfs_model_free(mfs_model *m) {
    if (!m) return;
    mfs__arrays_clear(m);
    for (int i = 0; i < m->n_inputs; i++) tensor_free(m, &m->inputs[i]);
    for (int i = 0; i < m->n_meta; i++) tensor_free(m, &m->meta[i]);
    mfs__free(m->params);
    mfs__free(m);
}

mfs_tensor *mfs__array_find(const mfs_model *m, const char *name) {
    for (int i = 0; i < m->n_arrays; i++)
        if (strcmp(m->arrays[i].name, name) == 0) return (mfs_tensor *)&m->arrays[i];
    return NULL;
}

const mfs_tensor *mfs__array_get(const mfs_model *m, const char *name, mfs_dtype dtype, int32_t ndim) {
    const mfs_tensor *t = mfs__array_find(m, name);
    if (!t || t->dtype != dtype || t->ndim != ndim) return NULL;
    return t;
}

const mfs_tensor *mfs__input_find(const mfs_model *m, const char *name) {
    for (int i = 0; i < m->n_inputs; i++)
        if (strcmp(m->inputs[i].name, name) == 0) return &m->inputs[i];
    return NULL;
}

int mfs__is_meta_name(const char *name) {
    return name && strncmp(name, MFS_META_PREFIX, sizeof MFS_META_PREFIX - 1) == 0;
}

const mfs_tensor *mfs__meta_find(const mfs_model *m, const char *name) {
    for (int i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta[i].name, name) == 0) return &m->meta[i];
    return NULL;
}

/* A fitted array or a metadata array: what the public array functions see. */
static const mfs_tensor *any_find(const mfs_model *m, const char *name) {
    return mfs__is_meta_name(name) ? mfs__meta_find(m, name) : mfs__array_find(m, name);
}

/* Fill t (name, dtype, shape, nbytes) for data, checking the name and that
 * the byte size fits; data: a fresh zeroed buffer charged to m when NULL. */
static mfs_status tensor_make(mfs_model *m, mfs_tensor *t, const char *name, mfs_dtype dtype,
                              int32_t ndim, const int64_t *shape, void *data) {
    if (strlen(name) >= MFS_NAME_MAX || ndim < 0 || ndim > MFS_MAX_DIMS)
        return mfs__error(MFS_E_INTERNAL, "mfs: bad array name or ndim for '%s'", name);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || mfs__mul_overflows(numel, (size_t)shape[i], &numel))
            return mfs__error(MFS_E_OVERFLOW, "mfs: array '%s' is too large", name);
    size_t bytes;
    if (mfs__mul_overflows(numel, mfs__dtype_size(dtype), &bytes))
        return mfs__error(MFS_E_OVERFLOW, "mfs: array '%s' is too large", name);
    if (!data) {
        mfs_mem_counter *prev = mfs__scope_enter(&m->mem);
        data = mfs__calloc(bytes ? bytes : 1, 1);
        mfs__scope_leave(prev);
        if (!data) return mfs__error(MFS_E_NOMEM, "mfs: could not allocate %zu bytes for '%s'", bytes, name);
    }
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->nbytes = bytes;
    t->data = data;
    return MFS_OK;
}

/* t becomes the model's array of its name (replacing an older one). */
static mfs_status arrays_put(mfs_model *m, const mfs_tensor *t) {
    mfs_tensor *old = mfs__array_find(m, t->name);
    if (old) {
        tensor_free(m, old);
        *old = *t;
        return MFS_OK;
    }
    if (m->n_arrays >= MFS_MAX_ARRAYS) return mfs__error(MFS_E_INTERNAL, "mfs: too many arrays in one model");
    m->arrays[m->n_arrays++] = *t;
    return MFS_OK;
}

static mfs_status not_meta(const char *name) {
    if (mfs__is_meta_name(name)) /* the prefix belongs to user metadata */
        return mfs__error(MFS_E_INTERNAL, "mfs: a model array may not be named '%s' (prefix '%s' is for metadata)",
                          name, MFS_META_PREFIX);
    return MFS_OK;
}

mfs_status mfs__array_new(mfs_model *m, const char *name, mfs_dtype dtype, int32_t ndim,
                          const int64_t *shape, void **data) {
    MFS_TRY(not_meta(name));
    mfs_tensor t;
    MFS_TRY(tensor_make(m, &t, name, dtype, ndim, shape, NULL));
    mfs_status s = arrays_put(m, &t);
    if (s != MFS_OK) {
        tensor_free(m, &t);
        return s;
    }
    if (data) *data = t.data;
    return MFS_OK;
}

mfs_status mfs__array_adopt(mfs_model *m, const char *name, mfs_dtype dtype, int32_t ndim,
                            const int64_t *shape, void *data) {
    MFS_TRY(not_meta(name));
    if (!data) return mfs__error(MFS_E_INTERNAL, "mfs: no data to adopt for '%s'", name);
    mfs_tensor t;
    MFS_TRY(tensor_make(m, &t, name, dtype, ndim, shape, data));
    MFS_TRY(arrays_put(m, &t));
    mfs__charge_to(data, &m->mem);
    return MFS_OK;
}

mfs_status mfs__input_weights(const mfs_model *m, const char *fn, const char *name, int64_t n, int positive,
                              const char *what, double *w, int *given) {
    if (given) *given = 0;
    for (int64_t i = 0; i < n; i++) w[i] = 1.0;
    const mfs_tensor *t = mfs__input_find(m, name);
    if (!t) return MFS_OK;
    if ((t->dtype != MFS_DTYPE_FLOAT32 && t->dtype != MFS_DTYPE_FLOAT64) || t->ndim != 1)
        return mfs__error(MFS_E_SHAPE, "%s: %s must be a float32 or float64 vector, got a %d-D array of dtype %d", fn,
                          name, (int)t->ndim, (int)t->dtype);
    if (t->shape[0] != n)
        return mfs__error(MFS_E_SHAPE, "%s: %s has %lld values, expected %lld (the %s)", fn, name,
                          (long long)t->shape[0], (long long)n, what);
    for (int64_t i = 0; i < n; i++) {
        const double v = t->dtype == MFS_DTYPE_FLOAT32 ? (double)((const float *)t->data)[i] : ((const double *)t->data)[i];
        if (!isfinite(v) || (positive ? !(v > 0) : !(v >= 0)))
            return mfs__error(MFS_E_VALUE, "%s: %s[%lld] = %g, weights must be finite and %s", fn, name, (long long)i, v,
                              positive ? "> 0" : ">= 0");
        w[i] = v;
    }
    if (given) *given = 1;
    return MFS_OK;
}

mfs_status mfs__meta_set(mfs_model *m, const char *fn, const char *name, const mfs_array *value) {
    const size_t plen = sizeof MFS_META_PREFIX - 1;
    size_t len = strlen(name);
    if (!mfs__is_meta_name(name) || len == plen)
        return mfs__error(MFS_E_INVALID_ARG, "%s: metadata array name '%s' must be '%s' followed by at least one character",
                          fn, name, MFS_META_PREFIX);
    if (len >= MFS_NAME_MAX)
        return mfs__error(MFS_E_INVALID_ARG, "%s: name '%.40s...' has %zu characters, at most %d", fn, name, len,
                          MFS_NAME_MAX - 1);
    int64_t numel;
    MFS_TRY(mfs__array_numel(fn, name, value, &numel));
    size_t bytes = (size_t)numel * mfs__dtype_size(value->dtype); /* array_numel checked the overflow */
    size_t used = 0;
    int slot = -1;
    for (int i = 0; i < m->n_meta; i++) {
        if (strcmp(m->meta[i].name, name) == 0) slot = i;
        else used += m->meta[i].nbytes;
    }
    if (slot < 0 && m->n_meta >= MFS_META_MAX_ARRAYS)
        return mfs__error(MFS_E_INVALID_ARG, "%s: cannot add '%s': the model already has %d metadata arrays, at most %d",
                          fn, name, (int)m->n_meta, MFS_META_MAX_ARRAYS);
    if (bytes > (size_t)MFS_META_MAX_BYTES - used)
        return mfs__error(MFS_E_INVALID_ARG, "%s: '%s' has %zu bytes; metadata arrays hold at most %d bytes in all "
                          "(64 MiB) and the others use %zu", fn, name, bytes, MFS_META_MAX_BYTES, used);
    mfs_tensor t;
    MFS_TRY(tensor_make(m, &t, name, value->dtype, value->ndim, value->shape, NULL));
    if (t.nbytes) memcpy(t.data, value->data, t.nbytes);
    /* checked on the aligned copy: value may point into a model file */
    if (t.dtype == MFS_DTYPE_FLOAT32 && !mfs__all_finite((const float *)t.data, numel)) {
        tensor_free(m, &t);
        return mfs__error(MFS_E_VALUE, "%s: '%s' contains NaN or infinity", fn, name);
    }
    if (slot >= 0) {
        tensor_free(m, &m->meta[slot]);
        m->meta[slot] = t;
    } else {
        m->meta[m->n_meta++] = t;
    }
    return MFS_OK;
}

/* ---- public generic methods ---------------------------------------------- */

mfs_status mfs_fit(mfs_model *m, const mfs_array *X, const mfs_array *y) {
    static const char fn[] = "mfs_fit";
    if (!m) return mfs__error(MFS_E_INVALID_ARG, "%s: model is NULL", fn);
    int64_t n, d;
    MFS_TRY(mfs__check_matrix(fn, "X", X, 1, &n, &d));
    if (m->vt->supervised && !y)
        return mfs__error(MFS_E_INVALID_ARG, "%s: %s needs y, got NULL", fn, m->vt->name);
    if (!m->vt->fit) return mfs__error(MFS_E_UNSUPPORTED, "%s: %s cannot be fitted", fn, m->vt->name);
    if (m->device == MFS_DEVICE_CUDA) MFS_TRY(mfs__cuda_require(fn));
    mfs__arrays_clear(m);
    SCOPE_BEGIN(m);
    mfs_status s = m->vt->fit(m, X, y);
    SCOPE_END();
    if (s != MFS_OK) {
        mfs__arrays_clear(m); /* never leave a half-fitted model behind */
        return s;
    }
    m->fitted = 1;
    m->n_features_in = d;
    return MFS_OK;
}

/* Validation shared by predict / transform / ...: fitted, X matches, out matches. */
static mfs_status check_apply(const char *fn, const mfs_model *m, mfs_method method,
                              const mfs_array *X, const mfs_array *out) {
    if (!m) return mfs__error(MFS_E_INVALID_ARG, "%s: model is NULL", fn);
    if (!m->fitted)
        return mfs__error(MFS_E_NOT_FITTED, "%s: this %s model is not fitted yet; call mfs_fit first", fn, m->vt->name);
    int64_t n, d;
    if (m->device == MFS_DEVICE_CUDA ? m->vt->device_checks_finite : m->vt->host_checks_finite)
        MFS_TRY(mfs__check_matrix_shape(fn, "X", X, 0, &n, &d));
    else
        MFS_TRY(mfs__check_matrix(fn, "X", X, 0, &n, &d));
    int64_t want = m->n_features_in;
    if (method == MFS_METHOD_INVERSE_TRANSFORM && m->vt->inverse_input_cols)
        want = m->vt->inverse_input_cols(m);
    if (d != want)
        return mfs__error(MFS_E_SHAPE, "%s: X has %lld columns, the model %s %lld", fn, (long long)d,
                          method == MFS_METHOD_INVERSE_TRANSFORM ? "expects" : "was fitted on", (long long)want);
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[MFS_MAX_DIMS] = {0};
    MFS_TRY(m->vt->output_shape(m, method, n, &dt, &nd, shape));
    return mfs__check_output(fn, out, dt, nd, shape);
}

typedef mfs_status (*apply_fn)(const mfs_model *, const mfs_array *, mfs_array *);

static mfs_status apply(const char *fn, const mfs_model *m, mfs_method method, apply_fn f,
                        const mfs_array *X, mfs_array *out) {
    if (m && !f) return mfs__error(MFS_E_UNSUPPORTED, "%s: %s does not support this method", fn, m->vt->name);
    MFS_TRY(check_apply(fn, m, method, X, out));
    if (m->device == MFS_DEVICE_CUDA) MFS_TRY(mfs__cuda_require(fn));
    if (X->shape[0] == 0) return MFS_OK;
    mfs_mem_counter *prev = mfs__scope_enter((mfs_mem_counter *)&m->mem);
    mfs_status s = f(m, X, out);
    mfs__scope_leave(prev);
    return s;
}

mfs_status mfs_predict(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply("mfs_predict", m, MFS_METHOD_PREDICT, m ? m->vt->predict : NULL, X, out);
}
mfs_status mfs_predict_proba(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply("mfs_predict_proba", m, MFS_METHOD_PREDICT_PROBA, m ? m->vt->predict_proba : NULL, X, out);
}
mfs_status mfs_predict_log_proba(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply("mfs_predict_log_proba", m, MFS_METHOD_PREDICT_LOG_PROBA, m ? m->vt->predict_log_proba : NULL, X, out);
}
mfs_status mfs_decision_function(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply("mfs_decision_function", m, MFS_METHOD_DECISION_FUNCTION, m ? m->vt->decision_function : NULL, X, out);
}

mfs_status mfs_partial_fit(mfs_model *m, const mfs_array *X, const mfs_array *y) {
    static const char fn[] = "mfs_partial_fit";
    if (!m) return mfs__error(MFS_E_INVALID_ARG, "%s: model is NULL", fn);
    if (!m->vt->partial_fit) return mfs__error(MFS_E_UNSUPPORTED, "%s: %s has no partial_fit", fn, m->vt->name);
    int64_t n, d;
    MFS_TRY(mfs__check_matrix(fn, "X", X, 1, &n, &d));
    if (m->fitted && d != m->n_features_in)
        return mfs__error(MFS_E_SHAPE, "%s: X has %lld columns, the model was fitted on %lld", fn,
                          (long long)d, (long long)m->n_features_in);
    if (m->vt->supervised && !y) return mfs__error(MFS_E_INVALID_ARG, "%s: %s needs y, got NULL", fn, m->vt->name);
    if (m->device == MFS_DEVICE_CUDA) MFS_TRY(mfs__cuda_require(fn));
    SCOPE_BEGIN(m);
    mfs_status s = m->vt->partial_fit(m, X, y);
    SCOPE_END();
    if (s != MFS_OK) return s; /* the model keeps its state from before the call */
    m->fitted = 1;
    m->n_features_in = d;
    return MFS_OK;
}

mfs_status mfs_transform(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply("mfs_transform", m, MFS_METHOD_TRANSFORM, m ? m->vt->transform : NULL, X, out);
}
mfs_status mfs_inverse_transform(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply("mfs_inverse_transform", m, MFS_METHOD_INVERSE_TRANSFORM, m ? m->vt->inverse_transform : NULL, X, out);
}

mfs_status mfs_output_shape(const mfs_model *m, mfs_method method, const mfs_array *X,
                            mfs_dtype *dtype, int32_t *ndim, int64_t *shape) {
    static const char fn[] = "mfs_output_shape";
    if (!m || !X || !dtype || !ndim || !shape)
        return mfs__error(MFS_E_INVALID_ARG, "%s: a pointer argument is NULL", fn);
    if (!m->fitted)
        return mfs__error(MFS_E_NOT_FITTED, "%s: this %s model is not fitted yet; call mfs_fit first", fn, m->vt->name);
    if ((int)method < 0 || method > MFS_METHOD_PREDICT_LOG_PROBA)
        return mfs__error(MFS_E_INVALID_ARG, "%s: unknown method %d", fn, (int)method);
    if (X->ndim != 2 || X->shape[0] < 0)
        return mfs__error(MFS_E_SHAPE, "%s: X must be 2-D with shape[0] >= 0", fn);
    for (int i = 0; i < MFS_MAX_DIMS; i++) shape[i] = 0;
    return m->vt->output_shape(m, method, X->shape[0], dtype, ndim, shape);
}

mfs_status mfs_model_info(const mfs_model *m, mfs_model_kind *kind, mfs_device *device,
                          int32_t *fitted, int64_t *n_features_in) {
    if (!m) return mfs__error(MFS_E_INVALID_ARG, "mfs_model_info: model is NULL");
    if (kind) *kind = m->vt->kind;
    if (device) *device = m->device;
    if (fitted) *fitted = m->fitted;
    if (n_features_in) *n_features_in = m->n_features_in;
    return MFS_OK;
}

mfs_status mfs_model_get_params(const mfs_model *m, void *params, size_t params_size) {
    if (!m || !params) return mfs__error(MFS_E_INVALID_ARG, "mfs_model_get_params: model or params is NULL");
    if (params_size != m->vt->params_size)
        return mfs__error(MFS_E_INVALID_ARG, "mfs_model_get_params: params_size is %zu, the %s params struct has %zu bytes",
                          params_size, m->vt->name, m->vt->params_size);
    memcpy(params, m->params, params_size);
    return MFS_OK;
}

/* The listing: the fitted arrays, then the metadata arrays. */
int32_t mfs_model_array_count(const mfs_model *m) { return m ? m->n_arrays + m->n_meta : 0; }

const char *mfs_model_array_name(const mfs_model *m, int32_t index) {
    if (!m || index < 0 || index >= m->n_arrays + m->n_meta) return NULL;
    return index < m->n_arrays ? m->arrays[index].name : m->meta[index - m->n_arrays].name;
}

mfs_status mfs_model_array_info(const mfs_model *m, const char *name, mfs_dtype *dtype,
                                int32_t *ndim, int64_t *shape) {
    static const char fn[] = "mfs_model_array_info";
    if (!m || !name) return mfs__error(MFS_E_INVALID_ARG, "%s: model or name is NULL", fn);
    const mfs_tensor *t = any_find(m, name);
    if (!t) {
        if (!m->fitted && !mfs__is_meta_name(name)) return mfs__error(MFS_E_NOT_FITTED, "%s: this %s model is not fitted yet", fn, m->vt->name);
        return mfs__error(MFS_E_INVALID_ARG, "%s: %s has no array named '%s'", fn, m->vt->name, name);
    }
    if (dtype) *dtype = t->dtype;
    if (ndim) *ndim = t->ndim;
    if (shape)
        for (int i = 0; i < MFS_MAX_DIMS; i++) shape[i] = i < t->ndim ? t->shape[i] : 0;
    return MFS_OK;
}

mfs_status mfs_model_get_array(const mfs_model *m, const char *name, mfs_array *out) {
    static const char fn[] = "mfs_model_get_array";
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[MFS_MAX_DIMS];
    MFS_TRY(mfs_model_array_info(m, name, &dt, &nd, shape));
    MFS_TRY(mfs__check_output(fn, out, dt, nd, shape));
    const mfs_tensor *t = any_find(m, name);
    if (t->nbytes) memcpy(out->data, t->data, t->nbytes);
    return MFS_OK;
}

mfs_status mfs_model_set_array(mfs_model *m, const char *name, const mfs_array *value) {
    static const char fn[] = "mfs_model_set_array";
    if (!m || !name) return mfs__error(MFS_E_INVALID_ARG, "%s: model or name is NULL", fn);
    if (strlen(name) >= MFS_NAME_MAX) return mfs__error(MFS_E_INVALID_ARG, "%s: name '%.40s...' is too long", fn, name);
    if (mfs__is_meta_name(name)) {
        if (value) return mfs__meta_set(m, fn, name, value);
        for (int i = 0; i < m->n_meta; i++)
            if (strcmp(m->meta[i].name, name) == 0) {
                tensor_free(m, &m->meta[i]);
                for (int k = i; k + 1 < m->n_meta; k++) m->meta[k] = m->meta[k + 1]; /* keep the order */
                memset(&m->meta[--m->n_meta], 0, sizeof(mfs_tensor));
                break;
            }
        return MFS_OK;
    }
    if (!value) { /* remove */
        for (int i = 0; i < m->n_inputs; i++)
            if (strcmp(m->inputs[i].name, name) == 0) {
                tensor_free(m, &m->inputs[i]);
                m->inputs[i] = m->inputs[--m->n_inputs];
                memset(&m->inputs[m->n_inputs], 0, sizeof(mfs_tensor));
                break;
            }
        return MFS_OK;
    }
    int64_t numel;
    MFS_TRY(mfs__array_numel(fn, "value", value, &numel));
    if (value->dtype == MFS_DTYPE_FLOAT32 && !mfs__all_finite((const float *)value->data, numel))
        return mfs__error(MFS_E_VALUE, "%s: '%s' contains NaN or infinity", fn, name);
    mfs_tensor t;
    MFS_TRY(tensor_make(m, &t, name, value->dtype, value->ndim, value->shape, NULL));
    if (t.nbytes) memcpy(t.data, value->data, t.nbytes);
    for (int i = 0; i < m->n_inputs; i++)
        if (strcmp(m->inputs[i].name, name) == 0) {
            tensor_free(m, &m->inputs[i]);
            m->inputs[i] = t;
            return MFS_OK;
        }
    if (m->n_inputs >= 4) {
        tensor_free(m, &t);
        return mfs__error(MFS_E_INVALID_ARG, "%s: too many input arrays (at most 4)", fn);
    }
    m->inputs[m->n_inputs++] = t;
    return MFS_OK;
}
