/* Random forest inference on the GPU: the packed forest (16-byte nodes) and its
 * leaf values are uploaded once per call; one thread per row walks every tree,
 * taking exactly depth[t] steps (leaves are their own children, so the warp
 * never diverges), and sums the leaf values in double in tree order (the CPU's
 * order, so the means and the argmax equal the CPU's), then writes the mean
 * (float32) and/or its argmax. Rows go through in blocks so device memory
 * stays bounded for any n. Consecutive threads take consecutive rows, so the
 * top levels of a tree are read by the whole warp at once (served from L1/L2).
 * Fitting stays on the CPU: see docs/models/random_forest.md for why. */
#include <math.h>
#include "src_cuda/core/cuda_internal.cuh"

namespace {
constexpr int64_t RF_BLOCK_BYTES = (int64_t)128 << 20; /* X block + accumulators on the device */
constexpr int RF_THREADS = 128;

/* acc (rows, V) = sum over trees of the leaf values; mean / labels from it. */
__global__ void forest_kernel(const float *__restrict__ X, int64_t rows, int64_t d, int64_t T,
                              const int64_t *__restrict__ offsets, const int32_t *__restrict__ depth,
                              const mfs__forest_node *__restrict__ nodes,
                              const double *__restrict__ value, int64_t V, double *__restrict__ acc,
                              double invT, float *__restrict__ mean, int32_t *__restrict__ labels) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= rows) return;
    const float *x = X + i * d;
    double *a = acc + i * V;
    for (int64_t k = 0; k < V; k++) a[k] = 0.0;
    for (int64_t t = 0; t < T; t++) {
        int32_t q = (int32_t)offsets[t];
        for (int32_t s = depth[t]; s > 0; s--) {
            const mfs__forest_node nd = nodes[q];
            q = x[nd.feature] <= nd.threshold ? nd.left : nd.right;
        }
        const double *v = value + (int64_t)q * V;
        for (int64_t k = 0; k < V; k++) a[k] += v[k];
    }
    if (labels) {
        int64_t best = 0;
        for (int64_t k = 1; k < V; k++)
            if (a[k] > a[best]) best = k;
        labels[i] = (int32_t)best;
    }
    if (mean)
        for (int64_t k = 0; k < V; k++) mean[i * V + k] = (float)(a[k] * invT);
}
}  // namespace

extern "C" mfs_status mfs__random_forest_predict_cuda(const float *X, int64_t n, int64_t d, int64_t T,
                                                      const int64_t *offsets, const int32_t *depth,
                                                      const mfs__forest_node *nodes,
                                                      int64_t N, const double *value, int64_t V, float *mean,
                                                      int32_t *labels, mfs_mem_counter *mem) {
    static const char fn[] = "mfs_predict";
    if (n <= 0) return MFS_OK;
    mem = mfs__cuda_counter(mem);
    MFS_TRY(mfs__cuda_require(fn));
    mfs_dev_buf<mfs__forest_node> dN;
    mfs_dev_buf<double> dV, dA;
    mfs_dev_buf<int64_t> dO;
    mfs_dev_buf<float> dX, dM;
    mfs_dev_buf<int32_t> dL, dD;
    MFS_TRY(dN.alloc(fn, N, mem));
    MFS_TRY(dV.alloc(fn, N * V, mem));
    MFS_TRY(dO.alloc(fn, T + 1, mem));
    MFS_TRY(dD.alloc(fn, T, mem));
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(dN.ptr, nodes, (size_t)N * sizeof(mfs__forest_node), cudaMemcpyHostToDevice,
                                       MFS_STREAM));
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(dV.ptr, value, (size_t)(N * V) * sizeof(double), cudaMemcpyHostToDevice,
                                       MFS_STREAM));
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(dO.ptr, offsets, (size_t)(T + 1) * sizeof(int64_t), cudaMemcpyHostToDevice,
                                       MFS_STREAM));
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(dD.ptr, depth, (size_t)T * sizeof(int32_t), cudaMemcpyHostToDevice, MFS_STREAM));
    /* rows per block: X row + accumulator + outputs */
    const int64_t per_row = d * (int64_t)sizeof(float) + V * (int64_t)(sizeof(double) + sizeof(float)) + 4;
    int64_t B = RF_BLOCK_BYTES / per_row;
    if (B < RF_THREADS) B = RF_THREADS;
    if (B > n) B = n;
    MFS_TRY(dX.alloc(fn, B * d, mem));
    MFS_TRY(dA.alloc(fn, B * V, mem));
    if (mean) MFS_TRY(dM.alloc(fn, B * V, mem));
    if (labels) MFS_TRY(dL.alloc(fn, B, mem));
    const double invT = 1.0 / (double)T;
    for (int64_t i0 = 0; i0 < n; i0 += B) {
        const int64_t b = n - i0 < B ? n - i0 : B;
        MFS_CUDA_CHECK(fn, cudaMemcpyAsync(dX.ptr, X + i0 * d, (size_t)(b * d) * sizeof(float), cudaMemcpyHostToDevice,
                                           MFS_STREAM));
        forest_kernel<<<(unsigned)mfs__ceil_div(b, RF_THREADS), RF_THREADS, 0, MFS_STREAM>>>(
            dX.ptr, b, d, T, dO.ptr, dD.ptr, dN.ptr, dV.ptr, V, dA.ptr, invT, mean ? dM.ptr : nullptr,
            labels ? dL.ptr : nullptr);
        MFS_CUDA_LAUNCHED(fn, "forest_kernel");
        if (mean)
            MFS_CUDA_CHECK(fn, cudaMemcpyAsync(mean + i0 * V, dM.ptr, (size_t)(b * V) * sizeof(float),
                                               cudaMemcpyDeviceToHost, MFS_STREAM));
        if (labels)
            MFS_CUDA_CHECK(fn, cudaMemcpyAsync(labels + i0, dL.ptr, (size_t)b * sizeof(int32_t), cudaMemcpyDeviceToHost,
                                               MFS_STREAM));
    }
    MFS_CUDA_CHECK(fn, cudaStreamSynchronize(MFS_STREAM));
    return MFS_OK;
}
