/* Thread count for OpenMP regions, and the CUDA device count front door. */
#include "internal.h"
#include "src_cuda/cuda_api.h"
#ifdef _OPENMP
#include <omp.h>
#endif

static int mfs_threads; /* 0: not chosen yet -> OpenMP's default */

int mfs__num_threads(void) {
    int n = __atomic_load_n(&mfs_threads, __ATOMIC_RELAXED);
    if (n > 0) return n;
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

mfs_status mfs_set_num_threads(int32_t n) {
    if (n < 1)
        return mfs__error(MFS_E_INVALID_ARG, "mfs_set_num_threads: n is %d, it must be >= 1", (int)n);
#ifndef _OPENMP
    if (n != 1)
        return mfs__error(MFS_E_UNSUPPORTED, "mfs_set_num_threads: n is %d, but libmfs was built without OpenMP", (int)n);
#endif
    __atomic_store_n(&mfs_threads, (int)n, __ATOMIC_RELAXED);
    return MFS_OK;
}

int32_t mfs_get_num_threads(void) { return mfs__num_threads(); }

int32_t mfs_cuda_device_count(void) { return mfs__cuda_device_count(); }

int32_t mfs_built_with_cuda(void) {
#ifdef MFS_WITH_CUDA
    return 1;
#else
    return 0;
#endif
}
