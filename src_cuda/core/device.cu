/* The device front door of libmfs: how many GPUs there are (0 on any error, so a
 * machine without a driver never fails), counted device buffers and copies.
 * No function here prints, aborts or exits: CUDA errors become MFS_E_DEVICE. */
#include <stdio.h>
#include <string.h>
#include <mutex>
#include "src_cuda/core/cuda_internal.cuh"

mfs_status mfs__cuda_fail(const char *fn, const char *what, cudaError_t e) {
    /* Clears the error unless it is sticky (a kernel fault), in which case the
     * context is lost and every later call reports it too; nothing better to do
     * inside a library than to keep answering MFS_E_DEVICE. */
    (void)cudaGetLastError();
    return mfs__error(MFS_E_DEVICE, "%s: %s failed: %s (%s)", fn, what, cudaGetErrorString(e),
                      cudaGetErrorName(e));
}

mfs_status mfs__cuda_bytes(const char *fn, int64_t count, size_t elem, size_t *bytes) {
    if (count < 0 || mfs__mul_overflows((size_t)count, elem, bytes))
        return mfs__error(MFS_E_OVERFLOW, "%s: a device buffer of %lld elements of %zu bytes overflows",
                          fn, (long long)count, elem);
    return MFS_OK;
}

/* The count is asked once: cudaGetDeviceCount initializes the driver, and the
 * answer does not change while a process runs. -2: not asked yet. */
static int mfs_cuda_count = -2;
static cudaError_t mfs_cuda_count_err = cudaSuccess;

static int query_device_count(void) {
    int cached = __atomic_load_n(&mfs_cuda_count, __ATOMIC_ACQUIRE);
    if (cached != -2) return cached;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        n = 0;
    }
    mfs_cuda_count_err = e; /* benign race: every thread writes the same value */
    __atomic_store_n(&mfs_cuda_count, n, __ATOMIC_RELEASE);
    return n;
}

extern "C" int32_t mfs__cuda_device_count(void) { return (int32_t)query_device_count(); }

extern "C" mfs_status mfs__cuda_require(const char *fn) {
    if (query_device_count() > 0) return MFS_OK;
    if (mfs_cuda_count_err != cudaSuccess)
        return mfs__error(MFS_E_DEVICE, "%s: no CUDA device (cudaGetDeviceCount: %s)", fn,
                          cudaGetErrorString(mfs_cuda_count_err));
    return mfs__error(MFS_E_DEVICE, "%s: no CUDA device", fn);
}

int mfs__cuda_sm_count(void) {
    static int sms = 0;
    int v = __atomic_load_n(&sms, __ATOMIC_RELAXED);
    if (v > 0) return v;
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess || v <= 0) {
        (void)cudaGetLastError();
        v = 108; /* an A100's count: only a tiling heuristic depends on it */
    }
    __atomic_store_n(&sms, v, __ATOMIC_RELAXED);
    return v;
}

/* libmfs's pool for scratch memory (mfs_dev_buf, a network's predict
 * buffers), created on first use for the current device; NULL where the
 * device has no memory pools or creation fails (then cudaMalloc / cudaFree).
 * Freed blocks stay in the pool up to SCRATCH_KEEP bytes across
 * synchronizations, so a training step's split-K workspace or a predict's
 * arena is not handed back to the driver and mapped again each call; and a
 * stream-ordered free never waits for the device, as cudaFree does. */
static const uint64_t SCRATCH_KEEP = (uint64_t)256 << 20;

static cudaMemPool_t make_scratch_pool(void) {
    int dev = 0, yes = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&yes, cudaDevAttrMemoryPoolsSupported, dev) != cudaSuccess || !yes) {
        (void)cudaGetLastError();
        return NULL;
    }
    cudaMemPoolProps props;
    memset(&props, 0, sizeof props);
    props.allocType = cudaMemAllocationTypePinned;
    props.handleTypes = cudaMemHandleTypeNone;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = dev;
    cudaMemPool_t pool = NULL;
    if (cudaMemPoolCreate(&pool, &props) != cudaSuccess) {
        (void)cudaGetLastError();
        return NULL;
    }
    uint64_t keep = SCRATCH_KEEP;
    if (cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep) != cudaSuccess)
        (void)cudaGetLastError(); /* the pool still works, releasing at each sync */
    return pool;
}

static cudaMemPool_t scratch_pool(void) {
    static cudaMemPool_t pool = make_scratch_pool(); /* C++ static: initialized once, thread-safe */
    return pool;
}

static mfs_status alloc_impl(void **dev, size_t bytes, mfs_mem_counter *mem, int scratch) {
    if (!dev) return mfs__error(MFS_E_INVALID_ARG, "mfs__cuda_alloc: dev is NULL");
    *dev = NULL;
    MFS_TRY(mfs__cuda_require("mfs__cuda_alloc"));
    if (bytes == 0) return MFS_OK;
    void *p = NULL;
    cudaMemPool_t pool = scratch ? scratch_pool() : NULL;
    cudaError_t e = pool ? cudaMallocFromPoolAsync(&p, bytes, pool, MFS_STREAM) : cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        if (e == cudaErrorMemoryAllocation)
            return mfs__error(MFS_E_NOMEM, "mfs__cuda_alloc: could not allocate %zu bytes on the GPU: %s",
                              bytes, cudaGetErrorString(e));
        return mfs__error(MFS_E_DEVICE, "mfs__cuda_alloc: cudaMalloc of %zu bytes failed: %s", bytes,
                          cudaGetErrorString(e));
    }
    *dev = p;
    mfs__count_device(mfs__cuda_counter(mem), (int64_t)bytes);
    return MFS_OK;
}

extern "C" mfs_status mfs__cuda_alloc(void **dev, size_t bytes, mfs_mem_counter *mem) {
    return alloc_impl(dev, bytes, mem, 0);
}

extern "C" void mfs__cuda_release(void *dev, size_t bytes, mfs_mem_counter *mem) {
    if (!dev) return;
    /* cudaFree synchronizes: buffers are never released under a running kernel. */
    if (cudaFree(dev) != cudaSuccess) (void)cudaGetLastError();
    mfs__count_device(mfs__cuda_counter(mem), -(int64_t)bytes);
}

extern "C" mfs_status mfs__cuda_alloc_scratch(void **dev, size_t bytes, mfs_mem_counter *mem) {
    return alloc_impl(dev, bytes, mem, 1);
}

extern "C" void mfs__cuda_release_scratch(void *dev, size_t bytes, mfs_mem_counter *mem) {
    if (!dev) return;
    /* freed in the order of the calling thread's stream, after the kernels
     * enqueued there that use it; the pool may hand it to the next request */
    cudaError_t e = scratch_pool() ? cudaFreeAsync(dev, MFS_STREAM) : cudaFree(dev);
    if (e != cudaSuccess) (void)cudaGetLastError();
    mfs__count_device(mfs__cuda_counter(mem), -(int64_t)bytes);
}

extern "C" mfs_status mfs__cuda_upload(void *dev, const void *host, size_t bytes) {
    if (bytes == 0) return MFS_OK;
    if (!dev || !host) return mfs__error(MFS_E_INVALID_ARG, "mfs__cuda_upload: NULL pointer");
    MFS_CUDA_CHECK("mfs__cuda_upload", cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, MFS_STREAM));
    MFS_CUDA_CHECK("mfs__cuda_upload", cudaStreamSynchronize(MFS_STREAM));
    return MFS_OK;
}

/* Pinned staging (cuda_api.h): two pinned host buffers and an event each,
 * made on first use for the device current then and kept for the process,
 * as the scratch pool is. One caller at a time; another finds them busy and
 * uses the plain copy. */
static const size_t STAGE_BYTES = (size_t)8 << 20;
static std::mutex stage_mu;
static struct {
    int tried, ok, device;
    void *buf[2];
    cudaEvent_t done[2];
} stage;

static void stage_make(void) {
    stage.tried = 1;
    if (cudaGetDevice(&stage.device) != cudaSuccess) {
        (void)cudaGetLastError();
        return;
    }
    int made = 0;
    for (int i = 0; i < 2; i++) {
        if (cudaHostAlloc(&stage.buf[i], STAGE_BYTES, cudaHostAllocPortable) != cudaSuccess) break;
        if (cudaEventCreateWithFlags(&stage.done[i], cudaEventDisableTiming) != cudaSuccess) {
            (void)cudaFreeHost(stage.buf[i]);
            break;
        }
        made++;
    }
    if (made == 2) {
        stage.ok = 1;
        return;
    }
    (void)cudaGetLastError(); /* could not pin: the plain copy from now on */
    for (int i = 0; i < made; i++) {
        (void)cudaEventDestroy(stage.done[i]);
        (void)cudaFreeHost(stage.buf[i]);
    }
}

extern "C" int mfs__cuda_stage_acquire(void *buf[2], size_t *bytes) {
    if (!stage_mu.try_lock()) return 0;
    if (!stage.tried) stage_make();
    int dev = -1;
    if (!stage.ok || cudaGetDevice(&dev) != cudaSuccess || dev != stage.device) {
        (void)cudaGetLastError();
        stage_mu.unlock();
        return 0;
    }
    buf[0] = stage.buf[0];
    buf[1] = stage.buf[1];
    *bytes = STAGE_BYTES;
    return 1;
}

extern "C" mfs_status mfs__cuda_stage_wait(int i) {
    MFS_CUDA_CHECK("mfs__cuda_stage_wait", cudaEventSynchronize(stage.done[i & 1]));
    return MFS_OK;
}

extern "C" mfs_status mfs__cuda_stage_send(void *dev, int i, size_t bytes) {
    if (bytes > STAGE_BYTES || !dev)
        return mfs__error(MFS_E_INVALID_ARG, "mfs__cuda_stage_send: %zu bytes to %p", bytes, dev);
    MFS_CUDA_CHECK("mfs__cuda_stage_send",
                   cudaMemcpyAsync(dev, stage.buf[i & 1], bytes, cudaMemcpyHostToDevice, MFS_STREAM));
    MFS_CUDA_CHECK("mfs__cuda_stage_send", cudaEventRecord(stage.done[i & 1], MFS_STREAM));
    return MFS_OK;
}

extern "C" mfs_status mfs__cuda_stage_release(void) {
    /* the buffers are free again once every copy from them has run */
    cudaError_t e = cudaStreamSynchronize(MFS_STREAM);
    stage_mu.unlock();
    if (e != cudaSuccess) return mfs__cuda_fail("mfs__cuda_stage_release", "cudaStreamSynchronize", e);
    return MFS_OK;
}

extern "C" mfs_status mfs__cuda_download(void *host, const void *dev, size_t bytes) {
    if (bytes == 0) return MFS_OK;
    if (!dev || !host) return mfs__error(MFS_E_INVALID_ARG, "mfs__cuda_download: NULL pointer");
    MFS_CUDA_CHECK("mfs__cuda_download", cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, MFS_STREAM));
    MFS_CUDA_CHECK("mfs__cuda_download", cudaStreamSynchronize(MFS_STREAM));
    return MFS_OK;
}
