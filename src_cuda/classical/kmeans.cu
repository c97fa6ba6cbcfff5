/* K-Means (Lloyd) on the GPU. X is copied to the device once; an iteration is
 * three kernels and one small download:
 *   assign:     fused distance + argmin. A block takes TP points and walks the
 *               centers TC at a time through shared memory (the points stay
 *               resident in shared memory when d is small), each thread owning
 *               a 4x4 block of (point, center) squared distances computed
 *               directly as sum (x - c)^2 (no ||x||^2 - 2 x.c + ||c||^2
 *               cancellation when the data sit far from the origin). Writes the
 *               labels, counts changed labels, keeps each point's distance (for
 *               empty-cluster relocation) and sums the inertia in double.
 *   accumulate: per-cluster sums of the points (double) and counts, privatized
 *               in shared memory when k*d is small, else global atomics.
 *   finalize:   one block per center: mean, squared shift, empty count.
 * The host then reads {changed, shift, empties} and decides, as scikit-learn's
 * _kmeans_single_lloyd: stop when no label changed (strict convergence) or the
 * summed squared shift is <= tol. Empty clusters take the points farthest from
 * their assigned centers (see relocate_empty below). A final assign pass gives
 * labels and inertia that match the returned centers. */
#include <algorithm>
#include <float.h>
#include <math.h>
#include "src_cuda/linalg/gemm.cuh"

namespace {

constexpr int TP = 64, TC = 64, DK = 16, ASSIGN_THREADS = 256; /* 16x16 threads, 4x4 each */
constexpr size_t ASSIGN_SMEM_MAX = 48 * 1024;                  /* no opt-in needed */
constexpr size_t ACC_SMEM_MAX = 32 * 1024;
constexpr int64_t DIST_BLOCK_BYTES = (int64_t)256 << 20;

struct Status {
    unsigned long long changed; /* labels that differ from the previous pass */
    unsigned int n_empty;       /* clusters with no point */
    unsigned int pad;
    double shift;               /* sum over centers of ||new - old||^2 */
    double inertia;             /* sum over points of the squared distance to their center */
};

/* WRITE_DIST: also write the euclidean distances dist (n, k) (transform). */
template <bool WRITE_DIST>
__global__ void __launch_bounds__(ASSIGN_THREADS)
assign_kernel(const float *__restrict__ X, int64_t n, int d, int64_t xpitch,
              const float *__restrict__ C, int k, int32_t *__restrict__ labels,
              float *__restrict__ mind, Status *__restrict__ st, float *__restrict__ dist,
              bool resident) {
    extern __shared__ __align__(16) float smem[];
    const int dpad = (d + DK - 1) / DK * DK;
    float *Xs = smem;                                          /* [dpad or DK][TP + 4] */
    float *Cs = smem + (int64_t)(resident ? dpad : DK) * (TP + 4); /* [DK][TC + 4] */
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int64_t p0 = (int64_t)blockIdx.x * TP;

    if (resident) {
        for (int e = tid; e < TP * dpad; e += ASSIGN_THREADS) {
            const int p = e / dpad, j = e % dpad;
            Xs[j * (TP + 4) + p] = (p0 + p < n && j < d) ? X[(p0 + p) * xpitch + j] : 0.f;
        }
    }
    float best[4];
    int bi[4];
#pragma unroll
    for (int i = 0; i < 4; i++) { best[i] = FLT_MAX; bi[i] = 0; }

    for (int c0 = 0; c0 < k; c0 += TC) {
        float acc[4][4];
#pragma unroll
        for (int i = 0; i < 4; i++)
#pragma unroll
            for (int j = 0; j < 4; j++) acc[i][j] = 0.f;
        for (int j0 = 0; j0 < d; j0 += DK) {
            __syncthreads(); /* the previous chunk has been read by everyone */
            if (!resident) {
                for (int e = tid; e < TP * DK; e += ASSIGN_THREADS) {
                    const int p = e / DK, jj = e % DK;
                    Xs[jj * (TP + 4) + p] =
                        (p0 + p < n && j0 + jj < d) ? X[(p0 + p) * xpitch + j0 + jj] : 0.f;
                }
            }
            for (int e = tid; e < TC * DK; e += ASSIGN_THREADS) {
                const int c = e / DK, jj = e % DK;
                Cs[jj * (TC + 4) + c] = (c0 + c < k && j0 + jj < d) ? C[(int64_t)(c0 + c) * d + j0 + jj] : 0.f;
            }
            __syncthreads();
            const float *xs = resident ? Xs + (int64_t)j0 * (TP + 4) : Xs;
#pragma unroll
            for (int jj = 0; jj < DK; jj++) {
                /* zero padding past d adds (0 - 0)^2 = 0 */
                const float4 a = *reinterpret_cast<const float4 *>(&xs[jj * (TP + 4) + ty * 4]);
                const float4 b = *reinterpret_cast<const float4 *>(&Cs[jj * (TC + 4) + tx * 4]);
                const float av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
                for (int i = 0; i < 4; i++)
#pragma unroll
                    for (int j = 0; j < 4; j++) {
                        const float df = av[i] - bv[j];
                        acc[i][j] = fmaf(df, df, acc[i][j]);
                    }
            }
        }
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int c = c0 + tx * 4 + j;
            if (c < k) {
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    if (acc[i][j] < best[i]) { best[i] = acc[i][j]; bi[i] = c; } /* ties: lowest index */
                    if (WRITE_DIST) {
                        const int64_t p = p0 + ty * 4 + i;
                        if (p < n) dist[p * k + c] = sqrtf(acc[i][j]);
                    }
                }
            }
        }
    }

    /* argmin across the 16 threads (tx) that share these 4 points: they are
     * the 16 lanes of one half-warp, so xor offsets < 16 stay inside it */
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int off = 8; off > 0; off >>= 1) {
            const float ov = __shfl_xor_sync(0xffffffffu, best[i], off);
            const int oi = __shfl_xor_sync(0xffffffffu, bi[i], off);
            if (ov < best[i] || (ov == best[i] && oi < bi[i])) { best[i] = ov; bi[i] = oi; }
        }
    }
    unsigned long long changed = 0;
    double inert = 0.0;
    if (tx == 0) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int64_t p = p0 + ty * 4 + i;
            if (p < n) {
                /* without st (predict) the labels are only written: never read
                 * what nothing wrote */
                if (!st || labels[p] != bi[i]) { labels[p] = bi[i]; changed++; }
                if (mind) mind[p] = best[i];
                inert += (double)best[i];
            }
        }
    }
    if (st) {
        __shared__ double red[32];
        inert = mfs__block_sum(inert, red);
        if (tid == 0) atomicAdd(&st->inertia, inert);
        changed = mfs__warp_sum(changed);
        if ((tid & 31) == 0 && changed) atomicAdd(&st->changed, changed);
    }
}

/* sums (k, d) += x, counts (k) += 1 for each point of its label. G lanes share
 * a point (lanes over its features), so a warp reads 32/G consecutive rows. */
template <int G, bool SHARED>
__global__ void accumulate_kernel(const float *__restrict__ X, int64_t n, int d, int64_t xpitch,
                                  const int32_t *__restrict__ labels, int k, double *__restrict__ sums,
                                  int *__restrict__ counts) {
    extern __shared__ __align__(16) double ssum[]; /* SHARED: [k*d] sums, then [k] counts */
    int *scnt = reinterpret_cast<int *>(ssum + (int64_t)k * d);
    if (SHARED) {
        for (int e = threadIdx.x; e < k * d; e += blockDim.x) ssum[e] = 0.0;
        for (int e = threadIdx.x; e < k; e += blockDim.x) scnt[e] = 0;
        __syncthreads();
    }
    const int lane = threadIdx.x % G;
    const int64_t groups = (int64_t)gridDim.x * blockDim.x / G;
    for (int64_t p = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / G; p < n; p += groups) {
        const int l = labels[p];
        const float *x = X + p * xpitch;
        double *s = SHARED ? ssum + (int64_t)l * d : sums + (int64_t)l * d;
        for (int j = lane; j < d; j += G) atomicAdd(s + j, (double)x[j]);
        if (lane == 0) atomicAdd(SHARED ? scnt + l : counts + l, 1);
    }
    if (SHARED) {
        __syncthreads();
        for (int e = threadIdx.x; e < k * d; e += blockDim.x)
            if (ssum[e] != 0.0) atomicAdd(sums + e, ssum[e]);
        for (int e = threadIdx.x; e < k; e += blockDim.x)
            if (scnt[e]) atomicAdd(counts + e, scnt[e]);
    }
}

/* One block per center: Cnew = sums / count (a center with no point keeps its
 * place), the squared shift from Cold, and the empty count. */
__global__ void finalize_kernel(int d, const double *__restrict__ sums, const int *__restrict__ counts,
                                const float *__restrict__ Cold, float *__restrict__ Cnew,
                                Status *__restrict__ st) {
    __shared__ double red[32];
    const int64_t c = blockIdx.x;
    const int cnt = counts[c];
    double sh = 0.0;
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        const float old = Cold[c * d + j];
        const float v = cnt > 0 ? (float)(sums[c * d + j] / cnt) : old;
        Cnew[c * d + j] = v;
        const double df = (double)v - (double)old;
        sh += df * df;
    }
    sh = mfs__block_sum(sh, red);
    if (threadIdx.x == 0) {
        atomicAdd(&st->shift, sh);
        if (cnt == 0) atomicAdd(&st->n_empty, 1u);
    }
}

/* Relocation moves, applied in order (one old cluster may give several
 * points): moves[3q..3q+2] = {point, its cluster, the empty cluster}. */
__global__ void relocate_kernel(const float *__restrict__ X, int d, int64_t xpitch, int n_moves,
                                const int64_t *__restrict__ moves, double *__restrict__ sums,
                                int *__restrict__ counts) {
    for (int q = 0; q < n_moves; q++) {
        const int64_t p = moves[3 * q], from = moves[3 * q + 1], to = moves[3 * q + 2];
        for (int j = threadIdx.x; j < d; j += blockDim.x) {
            const double x = X[p * xpitch + j];
            sums[from * d + j] -= x;
            sums[to * d + j] = x;
        }
        if (threadIdx.x == 0) {
            counts[from] -= 1;
            counts[to] = 1;
        }
        __syncthreads();
    }
}

size_t assign_smem(int d, bool *resident) {
    const size_t dpad = (size_t)(d + DK - 1) / DK * DK;
    const size_t full = (dpad * (TP + 4) + (size_t)DK * (TC + 4)) * sizeof(float);
    *resident = full <= ASSIGN_SMEM_MAX;
    return *resident ? full : (size_t)2 * DK * (TP + 4) * sizeof(float);
}

mfs_status launch_assign(const char *fn, const float *X, int64_t n, int d, int64_t xpitch,
                         const float *C, int k, int32_t *labels, float *mind, Status *st, float *dist) {
    if (n <= 0) return MFS_OK;
    bool resident = false;
    const size_t smem = assign_smem(d, &resident);
    const int64_t blocks = mfs__ceil_div(n, TP);
    if (blocks > 0x7fffffff) return mfs__error(MFS_E_OVERFLOW, "%s: n = %lld is too large", fn, (long long)n);
    if (dist)
        assign_kernel<true><<<(unsigned)blocks, ASSIGN_THREADS, smem, MFS_STREAM>>>(
            X, n, d, xpitch, C, k, labels, mind, st, dist, resident);
    else
        assign_kernel<false><<<(unsigned)blocks, ASSIGN_THREADS, smem, MFS_STREAM>>>(
            X, n, d, xpitch, C, k, labels, mind, st, nullptr, resident);
    MFS_CUDA_LAUNCHED(fn, "assign_kernel");
    return MFS_OK;
}

template <int G>
mfs_status launch_accumulate_g(const char *fn, const float *X, int64_t n, int d, int64_t xpitch,
                               const int32_t *labels, int k, double *sums, int *counts) {
    const int threads = 256;
    const size_t smem = (size_t)k * d * sizeof(double) + (size_t)k * sizeof(int);
    const bool shared = smem <= ACC_SMEM_MAX;
    /* privatized: few blocks, each flushing k*d atomics once; global: enough
     * blocks to cover the points with a few passes */
    int64_t blocks = mfs__ceil_div(n * G, threads);
    const int64_t cap = (int64_t)mfs__cuda_sm_count() * (shared ? 2 : 16);
    if (blocks > cap) blocks = cap;
    if (blocks < 1) blocks = 1;
    if (shared)
        accumulate_kernel<G, true><<<(unsigned)blocks, threads, smem, MFS_STREAM>>>(X, n, d, xpitch, labels,
                                                                                   k, sums, counts);
    else
        accumulate_kernel<G, false><<<(unsigned)blocks, threads, 0, MFS_STREAM>>>(X, n, d, xpitch, labels,
                                                                                 k, sums, counts);
    MFS_CUDA_LAUNCHED(fn, "accumulate_kernel");
    return MFS_OK;
}

mfs_status launch_accumulate(const char *fn, const float *X, int64_t n, int d, int64_t xpitch,
                             const int32_t *labels, int k, double *sums, int *counts) {
    if (d < 4) return launch_accumulate_g<1>(fn, X, n, d, xpitch, labels, k, sums, counts);
    if (d < 8) return launch_accumulate_g<4>(fn, X, n, d, xpitch, labels, k, sums, counts);
    if (d < 32) return launch_accumulate_g<8>(fn, X, n, d, xpitch, labels, k, sums, counts);
    return launch_accumulate_g<32>(fn, X, n, d, xpitch, labels, k, sums, counts);
}

/* Common argument checks of the two entry points. */
mfs_status check_args(const char *fn, const float *X, int64_t n, int64_t d, int64_t k, const void *centers,
                      const void *labels) {
    if (!X || !centers || !labels)
        return mfs__error(MFS_E_INVALID_ARG, "%s: X, centers and labels must not be NULL", fn);
    if (n < 1 || d < 1 || k < 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: needs n, d, k >= 1 (n=%lld, d=%lld, k=%lld)", fn,
                          (long long)n, (long long)d, (long long)k);
    if (d > 0x7fffffff || k > 0x7fffffff || k * d > 0x7fffffff)
        return mfs__error(MFS_E_OVERFLOW, "%s: k * d = %lld * %lld is too large", fn, (long long)k,
                          (long long)d);
    return MFS_OK;
}

bool by_distance_desc(const float *dist, int64_t a, int64_t b) {
    return dist[a] > dist[b] || (dist[a] == dist[b] && a < b);
}

/* scikit-learn's _relocate_empty_clusters: the empty clusters, in increasing
 * index, take the points farthest from their assigned (old) centers, farthest
 * first (scikit-learn orders those points by an argpartition; we sort them
 * by distance, ties to the lower index, so the result is deterministic). Each
 * point's coordinates move from its cluster's sums to the empty cluster's;
 * labels are not changed (the next assign pass does). */
mfs_status relocate_empty(const char *fn, const float *dX, int64_t n, int d, int64_t xpitch, int k,
                          const int32_t *dlabels, const float *dmind, double *dsums, int *dcounts,
                          mfs_dev_buf<int64_t> &dmoves, mfs_mem_counter *mem) {
    int *counts = NULL;
    int32_t *labels = NULL;
    float *dist = NULL;
    int64_t *order = NULL, *moves = NULL;
    mfs_status s = mfs__alloc((void **)&counts, (size_t)k * sizeof(int), fn, "cluster counts");
    if (s == MFS_OK) s = mfs__alloc((void **)&labels, (size_t)n * sizeof(int32_t), fn, "labels");
    if (s == MFS_OK) s = mfs__alloc((void **)&dist, (size_t)n * sizeof(float), fn, "distances");
    if (s == MFS_OK) s = mfs__alloc((void **)&order, (size_t)n * sizeof(int64_t), fn, "an ordering");
    if (s == MFS_OK) s = mfs__alloc((void **)&moves, (size_t)3 * k * sizeof(int64_t), fn, "moves");
    cudaError_t e = cudaSuccess;
    if (s == MFS_OK) {
        e = cudaMemcpyAsync(counts, dcounts, (size_t)k * sizeof(int), cudaMemcpyDeviceToHost, MFS_STREAM);
        if (e == cudaSuccess)
            e = cudaMemcpyAsync(labels, dlabels, (size_t)n * sizeof(int32_t), cudaMemcpyDeviceToHost, MFS_STREAM);
        if (e == cudaSuccess)
            e = cudaMemcpyAsync(dist, dmind, (size_t)n * sizeof(float), cudaMemcpyDeviceToHost, MFS_STREAM);
        if (e == cudaSuccess) e = cudaStreamSynchronize(MFS_STREAM);
        if (e != cudaSuccess) s = mfs__cuda_fail(fn, "copying the cluster counts", e);
    }
    int n_moves = 0;
    if (s == MFS_OK) {
        int n_empty = 0;
        for (int c = 0; c < k; c++) n_empty += counts[c] == 0;
        if (n_empty > n) n_empty = (int)n;
        for (int64_t i = 0; i < n; i++) order[i] = i;
        std::partial_sort(order, order + n_empty, order + n,
                          [dist](int64_t a, int64_t b) { return by_distance_desc(dist, a, b); });
        for (int c = 0; c < k && n_moves < n_empty; c++) {
            if (counts[c] != 0) continue;
            const int64_t p = order[n_moves];
            moves[3 * n_moves] = p;
            moves[3 * n_moves + 1] = labels[p];
            moves[3 * n_moves + 2] = c;
            n_moves++;
        }
    }
    if (s == MFS_OK && n_moves > 0 && !dmoves.ptr) s = dmoves.alloc(fn, (int64_t)3 * k, mem);
    if (s == MFS_OK && n_moves > 0) {
        e = cudaMemcpyAsync(dmoves.ptr, moves, (size_t)3 * n_moves * sizeof(int64_t), cudaMemcpyHostToDevice,
                            MFS_STREAM);
        if (e == cudaSuccess) {
            relocate_kernel<<<1, 256, 0, MFS_STREAM>>>(dX, d, xpitch, n_moves, dmoves.ptr, dsums, dcounts);
            e = cudaGetLastError();
        }
        /* the host buffer `moves` must outlive the asynchronous copy */
        if (e == cudaSuccess) e = cudaStreamSynchronize(MFS_STREAM);
        if (e != cudaSuccess) s = mfs__cuda_fail(fn, "relocating empty clusters", e);
    }
    mfs__free(counts);
    mfs__free(labels);
    mfs__free(dist);
    mfs__free(order);
    mfs__free(moves);
    return s;
}

} /* namespace */

extern "C" mfs_status mfs__kmeans_lloyd_cuda(const float *X, int64_t n, int64_t d, int64_t k,
                                             int32_t max_iter, double tol, float *centers,
                                             int32_t *labels, double *inertia, int32_t *n_iter,
                                             mfs_mem_counter *mem) {
    const char *fn = "mfs__kmeans_lloyd_cuda";
    MFS_TRY(check_args(fn, X, n, d, k, centers, labels));
    if (!inertia || !n_iter) return mfs__error(MFS_E_INVALID_ARG, "%s: inertia and n_iter must not be NULL", fn);
    if (max_iter < 0 || !(tol >= 0.0))
        return mfs__error(MFS_E_INVALID_ARG, "%s: max_iter is %d and tol %g; they must be >= 0", fn,
                          (int)max_iter, tol);
    MFS_TRY(mfs__cuda_require(fn));
    mem = mfs__cuda_counter(mem);
    const int di = (int)d, ki = (int)k;

    mfs_dev_buf<float> dX, dC0, dC1, dmind;
    mfs_dev_buf<int32_t> dlabels;
    mfs_dev_buf<double> dsums;
    mfs_dev_buf<int> dcounts;
    mfs_dev_buf<Status> dst;
    mfs_dev_buf<int64_t> dmoves;
    int64_t xpitch = 0;
    MFS_TRY(mfs__upload_matrix(fn, dX, X, n, d, d, &xpitch, mem));
    MFS_TRY(dC0.alloc(fn, k * d, mem));
    MFS_TRY(dC1.alloc(fn, k * d, mem));
    MFS_TRY(dmind.alloc(fn, n, mem));
    MFS_TRY(dlabels.alloc(fn, n, mem));
    MFS_TRY(dsums.alloc(fn, k * d, mem));
    MFS_TRY(dcounts.alloc(fn, k, mem));
    MFS_TRY(dst.alloc(fn, 1, mem));
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(dC0.ptr, centers, dC0.bytes, cudaMemcpyHostToDevice, MFS_STREAM));
    /* -1: the first pass changes every label, as scikit-learn's labels_old */
    MFS_CUDA_CHECK(fn, cudaMemsetAsync(dlabels.ptr, 0xff, dlabels.bytes, MFS_STREAM));

    float *cur = dC0.ptr, *nxt = dC1.ptr;
    Status st;
    int32_t iters = 0;
    for (int32_t it = 0; it < max_iter; it++) {
        MFS_CUDA_CHECK(fn, cudaMemsetAsync(dst.ptr, 0, sizeof(Status), MFS_STREAM));
        MFS_CUDA_CHECK(fn, cudaMemsetAsync(dsums.ptr, 0, dsums.bytes, MFS_STREAM));
        MFS_CUDA_CHECK(fn, cudaMemsetAsync(dcounts.ptr, 0, dcounts.bytes, MFS_STREAM));
        MFS_TRY(launch_assign(fn, dX.ptr, n, di, xpitch, cur, ki, dlabels.ptr, dmind.ptr, dst.ptr, nullptr));
        MFS_TRY(launch_accumulate(fn, dX.ptr, n, di, xpitch, dlabels.ptr, ki, dsums.ptr, dcounts.ptr));
        finalize_kernel<<<(unsigned)k, 128, 0, MFS_STREAM>>>(di, dsums.ptr, dcounts.ptr, cur, nxt, dst.ptr);
        MFS_CUDA_LAUNCHED(fn, "finalize_kernel");
        MFS_CUDA_CHECK(fn, cudaMemcpyAsync(&st, dst.ptr, sizeof st, cudaMemcpyDeviceToHost, MFS_STREAM));
        MFS_CUDA_CHECK(fn, cudaStreamSynchronize(MFS_STREAM));
        if (st.n_empty > 0) {
            MFS_TRY(relocate_empty(fn, dX.ptr, n, di, xpitch, ki, dlabels.ptr, dmind.ptr, dsums.ptr,
                                   dcounts.ptr, dmoves, mem));
            /* recompute the centers and the shift from the corrected sums; a
             * cluster emptied by giving its only point away keeps its center */
            const unsigned long long changed = st.changed;
            MFS_CUDA_CHECK(fn, cudaMemsetAsync(dst.ptr, 0, sizeof(Status), MFS_STREAM));
            finalize_kernel<<<(unsigned)k, 128, 0, MFS_STREAM>>>(di, dsums.ptr, dcounts.ptr, cur, nxt, dst.ptr);
            MFS_CUDA_LAUNCHED(fn, "finalize_kernel");
            MFS_CUDA_CHECK(fn, cudaMemcpyAsync(&st, dst.ptr, sizeof st, cudaMemcpyDeviceToHost, MFS_STREAM));
            MFS_CUDA_CHECK(fn, cudaStreamSynchronize(MFS_STREAM));
            st.changed = changed;
        }
        float *t = cur; cur = nxt; nxt = t;
        iters = it + 1;
        if (st.changed == 0) break; /* strict convergence: the centers are the means of these labels */
        if (st.shift <= tol) break;
    }

    /* labels and inertia for the returned centers */
    MFS_CUDA_CHECK(fn, cudaMemsetAsync(dst.ptr, 0, sizeof(Status), MFS_STREAM));
    MFS_TRY(launch_assign(fn, dX.ptr, n, di, xpitch, cur, ki, dlabels.ptr, dmind.ptr, dst.ptr, nullptr));
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(&st, dst.ptr, sizeof st, cudaMemcpyDeviceToHost, MFS_STREAM));
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(labels, dlabels.ptr, dlabels.bytes, cudaMemcpyDeviceToHost, MFS_STREAM));
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(centers, cur, dC0.bytes, cudaMemcpyDeviceToHost, MFS_STREAM));
    MFS_CUDA_CHECK(fn, cudaStreamSynchronize(MFS_STREAM));
    *inertia = st.inertia;
    *n_iter = iters;
    return MFS_OK;
}

extern "C" mfs_status mfs__kmeans_assign_cuda(const float *X, int64_t n, int64_t d, const float *centers,
                                              int64_t k, int32_t *labels, float *dist,
                                              mfs_mem_counter *mem) {
    const char *fn = "mfs__kmeans_assign_cuda";
    MFS_TRY(check_args(fn, X, n, d, k, centers, labels));
    MFS_TRY(mfs__cuda_require(fn));
    mem = mfs__cuda_counter(mem);
    mfs_dev_buf<float> dX, dC, dD;
    mfs_dev_buf<int32_t> dlabels;
    int64_t xpitch = 0;
    MFS_TRY(mfs__upload_matrix(fn, dX, X, n, d, d, &xpitch, mem));
    MFS_TRY(dC.alloc(fn, k * d, mem));
    MFS_TRY(dlabels.alloc(fn, n, mem));
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(dC.ptr, centers, dC.bytes, cudaMemcpyHostToDevice, MFS_STREAM));
    if (!dist) {
        MFS_TRY(launch_assign(fn, dX.ptr, n, (int)d, xpitch, dC.ptr, (int)k, dlabels.ptr, nullptr, nullptr,
                              nullptr));
    } else {
        /* distances go out a block of rows at a time so that an (n, k) output
         * never needs to fit on the device whole */
        int64_t rows = DIST_BLOCK_BYTES / (k * (int64_t)sizeof(float));
        if (rows < TP) rows = TP;
        if (rows > n) rows = n;
        MFS_TRY(dD.alloc(fn, rows * k, mem));
        for (int64_t i0 = 0; i0 < n; i0 += rows) {
            const int64_t b = n - i0 < rows ? n - i0 : rows;
            MFS_TRY(launch_assign(fn, dX.ptr + i0 * xpitch, b, (int)d, xpitch, dC.ptr, (int)k,
                                  dlabels.ptr + i0, nullptr, nullptr, dD.ptr));
            MFS_CUDA_CHECK(fn, cudaMemcpyAsync(dist + i0 * k, dD.ptr, (size_t)(b * k) * sizeof(float),
                                               cudaMemcpyDeviceToHost, MFS_STREAM));
        }
    }
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(labels, dlabels.ptr, dlabels.bytes, cudaMemcpyDeviceToHost, MFS_STREAM));
    MFS_CUDA_CHECK(fn, cudaStreamSynchronize(MFS_STREAM));
    return MFS_OK;
}
