/* Shared by the .cu files of libmfs: CUDA error conversion (never print, never
 * abort), a counted RAII device buffer, launch helpers and small reductions. */
#ifndef MFS_CUDA_INTERNAL_CUH
#define MFS_CUDA_INTERNAL_CUH
#include <cuda_runtime.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include "src_cuda/cuda_api.h"

/* Every launch and copy of libmfs goes to the calling host thread's default
 * stream, so that two threads predicting with one model do not serialize on the
 * legacy stream (and a fitted model's predict stays reentrant). */
#define MFS_STREAM cudaStreamPerThread

/* Turn a CUDA error into MFS_E_DEVICE with "fn: what: CUDA's message". The
 * sticky part of the error state is cleared where CUDA allows it. */
mfs_status mfs__cuda_fail(const char *fn, const char *what, cudaError_t e);

/* CUDA_CHECK of libmfs: returns MFS_E_DEVICE from the enclosing function. */
#define MFS_CUDA_CHECK(fn, call)                                                   \
    do {                                                                           \
        cudaError_t e__ = (call);                                                  \
        if (e__ != cudaSuccess) return mfs__cuda_fail((fn), #call, e__);           \
    } while (0)
/* After a kernel launch: catches bad configurations (and earlier async faults). */
#define MFS_CUDA_LAUNCHED(fn, kernel_name)                                         \
    do {                                                                           \
        cudaError_t e__ = cudaGetLastError();                                      \
        if (e__ != cudaSuccess) return mfs__cuda_fail((fn), kernel_name, e__);     \
    } while (0)

/* The counter device memory is charged to: the caller's, else the model whose
 * API call runs in this thread (mfs__scope_counter), else only the global one. */
static inline mfs_mem_counter *mfs__cuda_counter(mfs_mem_counter *mem) {
    return mem ? mem : mfs__scope_counter();
}

/* bytes = count * elem, MFS_E_OVERFLOW (with a message naming fn) on overflow
 * or a negative count. */
mfs_status mfs__cuda_bytes(const char *fn, int64_t count, size_t elem, size_t *bytes);

/* Properties read once per process (device 0 is the device libmfs uses). */
int mfs__cuda_sm_count(void);

#ifdef __cplusplus
/* Scratch device memory owned by a scope (see mfs__cuda_alloc_scratch):
 * freed and un-counted on every return path, so error returns from
 * MFS_CUDA_CHECK leak nothing. */
template <typename T> struct mfs_dev_buf {
    T *ptr = nullptr;
    size_t bytes = 0;
    mfs_mem_counter *mem = nullptr;
    mfs_dev_buf() = default;
    mfs_dev_buf(const mfs_dev_buf &) = delete;
    mfs_dev_buf &operator=(const mfs_dev_buf &) = delete;
    ~mfs_dev_buf() { reset(); }
    /* count elements of T; fn names the public function for messages. */
    mfs_status alloc(const char *fn, int64_t count, mfs_mem_counter *counter) {
        reset();
        size_t b = 0;
        mfs_status s = mfs__cuda_bytes(fn, count, sizeof(T), &b);
        if (s != MFS_OK) return s;
        void *p = nullptr;
        s = mfs__cuda_alloc_scratch(&p, b, counter);
        if (s != MFS_OK) {
            /* mfs__cuda_alloc's message names itself; callers want their own name
             * (copied first: the message buffer is also mfs__error's output) */
            char why[512];
            snprintf(why, sizeof why, "%s", mfs_last_error());
            return mfs__error(s, "%s: %s", fn, why);
        }
        ptr = (T *)p;
        bytes = b;
        mem = counter;
        return MFS_OK;
    }
    void reset() {
        if (ptr) mfs__cuda_release_scratch(ptr, bytes, mem);
        ptr = nullptr;
        bytes = 0;
    }
};

static inline int64_t mfs__ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static inline int64_t mfs__round_up(int64_t a, int64_t b) { return mfs__ceil_div(a, b) * b; }

/* Sum over the 32 lanes of a warp (every lane gets the total). */
template <typename T> __device__ __forceinline__ T mfs__warp_sum(T v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* Sum over a block of blockDim.x threads (a multiple of 32, <= 1024); the
 * result is valid in thread 0. `scratch` holds 32 values. */
template <typename T> __device__ __forceinline__ T mfs__block_sum(T v, T *scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = mfs__warp_sum(v);
    __syncthreads(); /* scratch may still be read by a previous call */
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    int nw = (blockDim.x + 31) >> 5;
    v = (threadIdx.x < nw) ? scratch[threadIdx.x] : (T)0;
    if (warp == 0) v = mfs__warp_sum(v);
    return v;
}
#endif /* __cplusplus */

#endif
