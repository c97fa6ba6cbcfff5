/* The one model file format of libmfs, for every model:
 *
 *   offset  size  field
 *   0       8     magic "MFSMODEL"
 *   8       4     format version (u32, little-endian; this library writes 1)
 *   12      4     model kind (mfs_model_kind)
 *   16      4     device the model was fitted on (informational)
 *   20      4     fitted (0 or 1)
 *   24      8     n_features_in (i64)
 *   32      4     params_size (u32), must equal the library's sizeof
 *   36      4     n_arrays (u32)
 *   40      P     the params struct, as its bytes
 *   ...           n_arrays times: u32 name length L (1..31), L name bytes,
 *                 u32 dtype, u32 ndim (0..4), ndim x i64 shape, u64 nbytes, data
 *   end-8   8     FNV-1a 64 checksum of every byte before it
 *
 * n_arrays counts the model's fitted arrays (at most MFS_MAX_ARRAYS), written
 * first, then the user's metadata arrays (names "meta.*", at most
 * MFS_META_MAX_ARRAYS and MFS_META_MAX_BYTES in all; see mfs_model_set_array).
 * The reader tells them apart by the name, so files written before metadata
 * existed are the same format without them: version 1 reads both.
 *
 * Loading checks every field and size before it is used, then the model's own
 * check_state: a truncated, corrupted or hostile file gives MFS_E_FORMAT and
 * never crashes. Integers are little-endian (the format is not for big-endian
 * hosts; they are refused at load). */
#include <stdio.h>
#include <string.h>
#include "internal.h"

enum { HEADER_SIZE = 40, FORMAT_VERSION = 1 };
static const char MAGIC[8] = {'M', 'F', 'S', 'M', 'O', 'D', 'E', 'L'};

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int little_endian(void) {
    uint16_t x = 1;
    return *(unsigned char *)&x == 1;
}

/* ---- writing ------------------------------------------------------------ */
typedef struct writer { unsigned char *buf; size_t cap, pos; } writer;

static void put(writer *w, const void *src, size_t n) {
    if (w->buf && w->pos + n <= w->cap) memcpy(w->buf + w->pos, src, n);
    w->pos += n;
}
static void put_u32(writer *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(writer *w, uint64_t v) { put(w, &v, 8); }

static size_t serialize(const mfs_model *m, unsigned char *buf, size_t cap) {
    writer w = {buf, cap, 0};
    put(&w, MAGIC, 8);
    put_u32(&w, FORMAT_VERSION);
    put_u32(&w, (uint32_t)m->vt->kind);
    put_u32(&w, (uint32_t)m->device);
    put_u32(&w, (uint32_t)m->fitted);
    put_u64(&w, (uint64_t)m->n_features_in);
    put_u32(&w, (uint32_t)m->vt->params_size);
    put_u32(&w, (uint32_t)(m->n_arrays + m->n_meta));
    put(&w, m->params, m->vt->params_size);
    for (int i = 0; i < m->n_arrays + m->n_meta; i++) {
        const mfs_tensor *t = i < m->n_arrays ? &m->arrays[i] : &m->meta[i - m->n_arrays];
        uint32_t len = (uint32_t)strlen(t->name);
        put_u32(&w, len);
        put(&w, t->name, len);
        put_u32(&w, (uint32_t)t->dtype);
        put_u32(&w, (uint32_t)t->ndim);
        for (int k = 0; k < t->ndim; k++) put_u64(&w, (uint64_t)t->shape[k]);
        put_u64(&w, (uint64_t)t->nbytes);
        put(&w, t->data, t->nbytes);
    }
    if (w.buf && w.pos + 8 <= w.cap) {
        uint64_t h = fnv1a(w.buf, w.pos);
        put_u64(&w, h);
    } else {
        w.pos += 8;
    }
    return w.pos;
}

mfs_status mfs_model_save_buffer(const mfs_model *m, void *buf, size_t cap, size_t *needed) {
    static const char fn[] = "mfs_model_save_buffer";
    if (!m || !needed) return mfs__error(MFS_E_INVALID_ARG, "%s: model or needed is NULL", fn);
    size_t size = serialize(m, NULL, 0);
    *needed = size;
    if (!buf || cap < size)
        return mfs__error(MFS_E_BUFFER_TOO_SMALL, "%s: the buffer holds %zu bytes, the model needs %zu", fn, buf ? cap : 0, size);
    serialize(m, (unsigned char *)buf, cap);
    return MFS_OK;
}

mfs_status mfs_model_save(const mfs_model *m, const char *path) {
    static const char fn[] = "mfs_model_save";
    if (!m || !path) return mfs__error(MFS_E_INVALID_ARG, "%s: model or path is NULL", fn);
    size_t size = serialize(m, NULL, 0);
    unsigned char *buf = (unsigned char *)mfs__malloc(size);
    if (!buf) return mfs__error(MFS_E_NOMEM, "%s: could not allocate %zu bytes", fn, size);
    serialize(m, buf, size);
    mfs_status s = MFS_OK;
    FILE *f = fopen(path, "wb");
    if (!f) {
        s = mfs__error(MFS_E_IO, "%s: cannot open '%s' for writing", fn, path);
    } else {
        size_t wrote = fwrite(buf, 1, size, f);
        int closed = fclose(f);
        if (wrote != size || closed != 0) s = mfs__error(MFS_E_IO, "%s: writing '%s' failed", fn, path);
    }
    mfs__free(buf);
    return s;
}

/* ---- reading ------------------------------------------------------------ */
typedef struct reader { const unsigned char *p; size_t size, pos; } reader;

static int take(reader *r, void *dst, size_t n) {
    if (n > r->size - r->pos) return 0;
    memcpy(dst, r->p + r->pos, n);
    r->pos += n;
    return 1;
}

#define FORMAT_ERR(...) mfs__error(MFS_E_FORMAT, __VA_ARGS__)

mfs_status mfs_model_load_buffer(const void *buf, size_t size, mfs_device device, mfs_model **out) {
    static const char fn[] = "mfs_model_load_buffer";
    if (!out) return mfs__error(MFS_E_INVALID_ARG, "%s: out is NULL", fn);
    *out = NULL;
    if (!buf && size > 0) return mfs__error(MFS_E_INVALID_ARG, "%s: buf is NULL", fn);
    if (size == 0) return FORMAT_ERR("%s: the model data is empty", fn);
    if (!little_endian()) return mfs__error(MFS_E_UNSUPPORTED, "%s: model files are little-endian only", fn);
    const unsigned char *p = (const unsigned char *)buf;
    if (size < 8 || memcmp(p, MAGIC, 8) != 0) return FORMAT_ERR("%s: not a libmfs model file (bad magic)", fn);
    if (size < HEADER_SIZE + 8) return FORMAT_ERR("%s: file is truncated: %zu bytes, a header needs %d", fn, size, HEADER_SIZE + 8);
    reader r = {p, size - 8, 8};
    uint32_t version, kind, dev, fitted, params_size, n_arrays;
    int64_t n_features;
    take(&r, &version, 4);
    if (version != FORMAT_VERSION)
        return FORMAT_ERR("%s: file format version %u, this library reads version %d", fn, version, FORMAT_VERSION);
    uint64_t stored;
    memcpy(&stored, p + size - 8, 8);
    if (fnv1a(p, size - 8) != stored) return FORMAT_ERR("%s: checksum mismatch: the file is corrupted or truncated", fn);
    take(&r, &kind, 4);
    take(&r, &dev, 4);
    take(&r, &fitted, 4);
    take(&r, &n_features, 8);
    take(&r, &params_size, 4);
    take(&r, &n_arrays, 4);
    const mfs_model_vtable *vt = mfs__vtable((mfs_model_kind)kind);
    if (!vt) return FORMAT_ERR("%s: unknown model kind %u", fn, kind);
    if (params_size != vt->params_size)
        return FORMAT_ERR("%s: params block has %u bytes, %s params have %zu", fn, params_size, vt->name, vt->params_size);
    if (fitted > 1) return FORMAT_ERR("%s: fitted flag is %u", fn, fitted);
    if (n_features < 0 || (fitted && n_features < 1) || n_features > ((int64_t)1 << 40))
        return FORMAT_ERR("%s: n_features_in is %lld", fn, (long long)n_features);
    if (n_arrays > MFS_MAX_ARRAYS + MFS_META_MAX_ARRAYS)
        return FORMAT_ERR("%s: %u arrays, at most %d (%d of the model and %d of metadata)", fn, n_arrays,
                          MFS_MAX_ARRAYS + MFS_META_MAX_ARRAYS, MFS_MAX_ARRAYS, MFS_META_MAX_ARRAYS);
    if (params_size > r.size - r.pos) return FORMAT_ERR("%s: truncated params", fn);
    const void *params = p + r.pos;
    r.pos += params_size;
    /* params are copied by model_new, then checked by the model's check_params */
    unsigned char aligned_params[4096];
    if (params_size > sizeof aligned_params) return mfs__error(MFS_E_INTERNAL, "%s: params too large", fn);
    memcpy(aligned_params, params, params_size);
    mfs_status s = mfs__model_new(fn, (mfs_model_kind)kind, aligned_params, params_size, device, out);
    if (s != MFS_OK) {
        if (s == MFS_E_INVALID_ARG) {
            char msg[900];
            snprintf(msg, sizeof msg, "%s", mfs_last_error());
            return FORMAT_ERR("%s: invalid params in file: %s", fn, msg);
        }
        return s;
    }
    mfs_model *m = *out;
    for (uint32_t i = 0; i < n_arrays; i++) {
        uint32_t len, dtype, ndim;
        char name[MFS_NAME_MAX];
        int64_t shape[MFS_MAX_DIMS] = {0};
        uint64_t nbytes;
        if (!take(&r, &len, 4)) { s = FORMAT_ERR("%s: truncated array header", fn); goto fail; }
        if (len < 1 || len >= MFS_NAME_MAX) { s = FORMAT_ERR("%s: array name length %u", fn, len); goto fail; }
        if (!take(&r, name, len)) { s = FORMAT_ERR("%s: truncated array name", fn); goto fail; }
        name[len] = 0;
        if (strlen(name) != len) { s = FORMAT_ERR("%s: array name contains a NUL byte", fn); goto fail; }
        int meta = mfs__is_meta_name(name);
        if (meta ? mfs__meta_find(m, name) != NULL : mfs__array_find(m, name) != NULL) {
            s = FORMAT_ERR("%s: array '%s' appears twice", fn, name); goto fail;
        }
        if (!meta && m->n_arrays >= MFS_MAX_ARRAYS) {
            s = FORMAT_ERR("%s: more than %d model arrays", fn, MFS_MAX_ARRAYS); goto fail;
        }
        if (!take(&r, &dtype, 4) || !take(&r, &ndim, 4)) { s = FORMAT_ERR("%s: truncated array header", fn); goto fail; }
        if (mfs__dtype_size((mfs_dtype)dtype) == 0 || ndim > MFS_MAX_DIMS) {
            s = FORMAT_ERR("%s: array '%s' has dtype %u, ndim %u", fn, name, dtype, ndim); goto fail;
        }
        size_t numel = 1;
        for (uint32_t k = 0; k < ndim; k++) {
            if (!take(&r, &shape[k], 8)) { s = FORMAT_ERR("%s: truncated array shape", fn); goto fail; }
            if (shape[k] < 0 || mfs__mul_overflows(numel, (size_t)shape[k], &numel)) {
                s = FORMAT_ERR("%s: array '%s' has an invalid shape", fn, name); goto fail;
            }
        }
        size_t expect;
        if (mfs__mul_overflows(numel, mfs__dtype_size((mfs_dtype)dtype), &expect) ||
            !take(&r, &nbytes, 8) || nbytes != expect || nbytes > r.size - r.pos) {
            s = FORMAT_ERR("%s: array '%s' size does not match its shape or the file", fn, name); goto fail;
        }
        if (meta) { /* user metadata: copied, capped and checked by the core, unseen by the model */
            mfs_array v;
            memset(&v, 0, sizeof v);
            v.data = (void *)(p + r.pos);
            v.dtype = (mfs_dtype)dtype;
            v.ndim = (int32_t)ndim;
            for (uint32_t k = 0; k < ndim; k++) v.shape[k] = shape[k];
            s = mfs__meta_set(m, fn, name, &v);
            if (s != MFS_OK) {
                if (s != MFS_E_NOMEM) {
                    char msg[900];
                    snprintf(msg, sizeof msg, "%s", mfs_last_error());
                    s = FORMAT_ERR("%s", msg);
                }
                goto fail;
            }
            r.pos += nbytes;
            continue;
        }
        void *data;
        s = mfs__array_new(m, name, (mfs_dtype)dtype, (int32_t)ndim, shape, &data);
        if (s != MFS_OK) goto fail;
        if (nbytes) memcpy(data, p + r.pos, nbytes);
        r.pos += nbytes;
        if (dtype == MFS_DTYPE_FLOAT32 && !mfs__all_finite((const float *)data, (int64_t)numel)) {
            s = FORMAT_ERR("%s: array '%s' contains NaN or infinity", fn, name); goto fail;
        }
    }
    if (r.pos != r.size) { s = FORMAT_ERR("%s: %zu unexpected bytes after the arrays", fn, r.size - r.pos); goto fail; }
    m->fitted = (int32_t)fitted;
    m->n_features_in = n_features;
    if (fitted && m->vt->check_state) {
        s = m->vt->check_state(m);
        if (s != MFS_OK) {
            if (s != MFS_E_FORMAT) {
                char msg[900];
                snprintf(msg, sizeof msg, "%s", mfs_last_error());
                s = FORMAT_ERR("%s: %s", fn, msg);
            }
            goto fail;
        }
    }
    return MFS_OK;
fail:
    mfs_model_free(m);
    *out = NULL;
    return s;
}

mfs_status mfs_model_load(const char *path, mfs_device device, mfs_model **out) {
    static const char fn[] = "mfs_model_load";
    if (!out) return mfs__error(MFS_E_INVALID_ARG, "%s: out is NULL", fn);
    *out = NULL;
    if (!path) return mfs__error(MFS_E_INVALID_ARG, "%s: path is NULL", fn);
    FILE *f = fopen(path, "rb");
    if (!f) return mfs__error(MFS_E_IO, "%s: cannot open '%s'", fn, path);
    mfs_status s = MFS_OK;
    unsigned char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        s = mfs__error(MFS_E_IO, "%s: cannot read '%s'", fn, path);
    } else if (!(buf = (unsigned char *)mfs__malloc((size_t)size + 1))) {
        s = mfs__error(MFS_E_NOMEM, "%s: cannot allocate %ld bytes", fn, size);
    } else if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        s = mfs__error(MFS_E_IO, "%s: reading '%s' failed", fn, path);
    }
    fclose(f);
    if (s == MFS_OK) s = mfs_model_load_buffer(buf, (size_t)size, device, out);
    mfs__free(buf);
    return s;
}
