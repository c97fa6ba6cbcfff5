/* k-Nearest Neighbors candidates on the GPU: the training rows T stay on the
 * device for the call; queries go through in blocks of QBLK rows, training
 * rows in tiles of TBLK. For each (query block, training tile):
 *   keys:   euclidean / cosine: one SGEMM gives -2 q.t (or -q.t) for the whole
 *           tile (src_cuda/linalg, on data centered on the host's center when
 *           the data sit far from the origin); manhattan: a shared-memory
 *           tiled kernel sums |q - t| directly.
 *   select: one warp per query row scans its row of the tile, 32 keys at a
 *           time (key = c * s[t] + b[t]: b = ||t||^2 for euclidean, s =
 *           1/||t|| for cosine), and a ballot sends only the keys that beat
 *           the row's current k-th best to a cooperative insertion into the
 *           row's sorted list in shared memory (ties by index: tiles and lanes
 *           are visited in increasing training index, and a key must beat the
 *           k-th strictly). The lists live in global memory between tiles.
 * Device memory: T, one query block, one (QBLK, TBLK) tile and the lists; the
 * host recomputes the exact distances of the k candidates it gets back. */
#include <float.h>
#include <math.h>
#include "src_cuda/linalg/gemm.cuh"

namespace {

constexpr int QBLK = 4096, TBLK = 8192; /* a 128 MiB key tile */
constexpr int SEL_WARPS = 2, KMAX = 1024;
constexpr int L1T = 16;                 /* manhattan tile: 16 x 16 threads */

/* s[i], b[i] of training row i (row stride pitch). */
__global__ void row_terms_kernel(const float *__restrict__ T, int64_t n, int d, int64_t pitch, int metric,
                                 float *__restrict__ s, float *__restrict__ b) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.y + threadIdx.y;
    if (i >= n) return;
    double acc = 0.0;
    for (int j = threadIdx.x; j < d; j += 32) {
        const double v = T[i * pitch + j];
        acc += v * v;
    }
    acc = mfs__warp_sum(acc);
    if (threadIdx.x == 0) {
        if (metric == 0) { s[i] = 1.f; b[i] = (float)acc; }
        else if (metric == 2) { s[i] = acc > 0 ? (float)(1.0 / sqrt(acc)) : 0.f; b[i] = 0.f; }
        else { s[i] = 1.f; b[i] = 0.f; }
    }
}

/* C (qn, tn) = sum_j |Q[r, j] - T[i, j]|. */
__global__ void l1_kernel(const float *__restrict__ Q, int qn, int64_t qpitch, const float *__restrict__ T,
                          int tn, int64_t tpitch, int d, float *__restrict__ C, int64_t ldc) {
    __shared__ float qs[L1T][L1T + 1], ts[L1T][L1T + 1];
    const int r = blockIdx.y * L1T + threadIdx.y, i = blockIdx.x * L1T + threadIdx.x;
    float acc = 0.f;
    for (int j0 = 0; j0 < d; j0 += L1T) {
        const int qr = blockIdx.y * L1T + threadIdx.y, ti = blockIdx.x * L1T + threadIdx.y;
        qs[threadIdx.y][threadIdx.x] = (qr < qn && j0 + threadIdx.x < d) ? Q[qr * qpitch + j0 + threadIdx.x] : 0.f;
        ts[threadIdx.y][threadIdx.x] = (ti < tn && j0 + threadIdx.x < d) ? T[ti * tpitch + j0 + threadIdx.x] : 0.f;
        __syncthreads();
#pragma unroll
        for (int jj = 0; jj < L1T; jj++) acc += fabsf(qs[threadIdx.y][jj] - ts[threadIdx.x][jj]);
        __syncthreads();
    }
    if (r < qn && i < tn) C[(int64_t)r * ldc + i] = acc;
}

/* Merge one tile's keys into each query's sorted candidate list (see top). */
__global__ void __launch_bounds__(SEL_WARPS * 32)
select_kernel(const float *__restrict__ C, int64_t ldc, int qn, int tn, int64_t t0, const float *__restrict__ s,
              const float *__restrict__ b, float *__restrict__ lv, int64_t *__restrict__ li,
              int *__restrict__ lcnt, int kc) {
    extern __shared__ __align__(16) unsigned char smem[];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int r = blockIdx.x * SEL_WARPS + warp;
    if (r >= qn) return; /* whole warps leave: no block-wide barrier below */
    int64_t *ki = reinterpret_cast<int64_t *>(smem) + (int64_t)warp * kc;
    float *kv = reinterpret_cast<float *>(reinterpret_cast<int64_t *>(smem) + (int64_t)SEL_WARPS * kc) +
                (int64_t)warp * kc;
    int cnt = lcnt[r];
    for (int p = lane; p < cnt; p += 32) {
        kv[p] = lv[(int64_t)r * kc + p];
        ki[p] = li[(int64_t)r * kc + p];
    }
    __syncwarp();
    const float *row = C + (int64_t)r * ldc;
    float thr = cnt == kc ? kv[kc - 1] : INFINITY;
    for (int c0 = 0; c0 < tn; c0 += 32) {
        const int c = c0 + lane;
        const float v = c < tn ? fmaf(row[c], s[t0 + c], b[t0 + c]) : INFINITY;
        unsigned mask = __ballot_sync(0xffffffffu, c < tn && (cnt < kc || v < thr));
        while (mask) {
            const int l = __ffs(mask) - 1;
            mask &= mask - 1;
            const float vl = __shfl_sync(0xffffffffu, v, l);
            const int64_t jl = t0 + c0 + l;
            if (!(cnt < kc || vl < kv[kc - 1])) continue; /* the list moved on (uniform) */
            /* position: entries before (vl, jl) */
            int pos = 0;
            for (int p0 = 0; p0 < cnt; p0 += 32) {
                const int p = p0 + lane;
                const bool before = p < cnt && (kv[p] < vl || (kv[p] == vl && ki[p] < jl));
                pos += __popc(__ballot_sync(0xffffffffu, before));
            }
            const int ncnt = cnt < kc ? cnt + 1 : kc;
            /* shift [pos, ncnt - 1) one place right, from the end, 32 at a time */
            for (int top = ncnt - 1; top > pos; top -= 32) {
                const int p = top - lane;
                float mv = 0.f;
                int64_t mi = 0;
                if (p > pos) { mv = kv[p - 1]; mi = ki[p - 1]; }
                __syncwarp();
                if (p > pos) { kv[p] = mv; ki[p] = mi; }
                __syncwarp();
            }
            if (lane == 0) { kv[pos] = vl; ki[pos] = jl; }
            __syncwarp();
            cnt = ncnt;
            thr = cnt == kc ? kv[kc - 1] : INFINITY;
        }
    }
    for (int p = lane; p < cnt; p += 32) {
        lv[(int64_t)r * kc + p] = kv[p];
        li[(int64_t)r * kc + p] = ki[p];
    }
    if (lane == 0) lcnt[r] = cnt;
}

} /* namespace */

extern "C" mfs_status mfs__knn_candidates_cuda(const float *T, int64_t n, const float *Q, int64_t m, int64_t d,
                                               int32_t metric, const float *mean, int64_t k, int64_t *idx,
                                               mfs_mem_counter *mem) {
    const char *fn = "mfs__knn_candidates_cuda";
    if (!T || !Q || !idx || n < 1 || m < 0 || d < 1 || k < 1 || k > n || metric < 0 || metric > 2)
        return mfs__error(MFS_E_INVALID_ARG,
                          "%s: needs T, Q, idx, n >= 1, m >= 0, d >= 1, 1 <= k <= n and metric 0..2 "
                          "(n=%lld, m=%lld, d=%lld, k=%lld, metric=%d)",
                          fn, (long long)n, (long long)m, (long long)d, (long long)k, (int)metric);
    if (k > KMAX)
        return mfs__error(MFS_E_UNSUPPORTED, "%s: %lld candidates per query; the GPU selection holds at most %d",
                          fn, (long long)k, KMAX);
    if (d > 0x7fffffff) return mfs__error(MFS_E_OVERFLOW, "%s: d = %lld is too large", fn, (long long)d);
    MFS_TRY(mfs__cuda_require(fn));
    if (m == 0) return MFS_OK;
    mem = mfs__cuda_counter(mem);
    const int di = (int)d, kc = (int)k;
    mfs_dev_buf<float> dT, dQ, dC, ds, db, dlv;
    mfs_dev_buf<int64_t> dli;
    mfs_dev_buf<int> dlcnt;
    mfs_dev_buf<double> dmean;
    int64_t tp = 0, qp = 0;
    MFS_TRY(mfs__upload_matrix(fn, dT, T, n, d, d, &tp, mem));
    if (mean && metric == 0) {
        double *hm = NULL;
        MFS_TRY(mfs__alloc((void **)&hm, (size_t)d * sizeof(double), fn, "the center"));
        for (int64_t j = 0; j < d; j++) hm[j] = mean[j];
        mfs_status s = dmean.alloc(fn, d, mem);
        cudaError_t e = cudaSuccess;
        if (s == MFS_OK) {
            e = cudaMemcpyAsync(dmean.ptr, hm, (size_t)d * sizeof(double), cudaMemcpyHostToDevice, MFS_STREAM);
            if (e == cudaSuccess) e = cudaStreamSynchronize(MFS_STREAM); /* hm is freed next */
        }
        mfs__free(hm);
        if (s != MFS_OK) return s;
        if (e != cudaSuccess) return mfs__cuda_fail(fn, "copying the center", e);
        MFS_TRY(mfs__center_dev(fn, dT.ptr, n, d, tp, dmean.ptr));
    }
    MFS_TRY(ds.alloc(fn, n, mem));
    MFS_TRY(db.alloc(fn, n, mem));
    {
        const dim3 threads(32, 8);
        const int64_t blocks = mfs__ceil_div(n, 8);
        if (blocks > 0x7fffffff) return mfs__error(MFS_E_OVERFLOW, "%s: n = %lld is too large", fn, (long long)n);
        row_terms_kernel<<<(unsigned)blocks, threads, 0, MFS_STREAM>>>(dT.ptr, n, di, tp, metric, ds.ptr, db.ptr);
        MFS_CUDA_LAUNCHED(fn, "row_terms_kernel");
    }
    const int64_t qrows = m < QBLK ? m : QBLK, trows = n < TBLK ? n : TBLK;
    const int64_t cp = mfs__round_up(trows, 4); /* tile row stride: 16-byte rows */
    MFS_TRY(dC.alloc(fn, qrows * cp, mem));
    MFS_TRY(dlv.alloc(fn, qrows * k, mem));
    MFS_TRY(dli.alloc(fn, qrows * k, mem));
    MFS_TRY(dlcnt.alloc(fn, qrows, mem));
    const size_t sel_smem = (size_t)SEL_WARPS * (size_t)kc * (sizeof(int64_t) + sizeof(float));
    if (sel_smem > 48 * 1024)
        MFS_CUDA_CHECK(fn, cudaFuncSetAttribute(select_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                (int)sel_smem));
    const float alpha = metric == 0 ? -2.f : -1.f;
    for (int64_t q0 = 0; q0 < m; q0 += qrows) {
        const int64_t qn = m - q0 < qrows ? m - q0 : qrows;
        if (!dQ.ptr) {
            MFS_TRY(mfs__upload_matrix(fn, dQ, Q + q0 * d, qn, d, d, &qp, mem));
        } else {
            MFS_CUDA_CHECK(fn, cudaMemcpy2DAsync(dQ.ptr, (size_t)qp * sizeof(float), Q + q0 * d,
                                                 (size_t)d * sizeof(float), (size_t)d * sizeof(float), (size_t)qn,
                                                 cudaMemcpyHostToDevice, MFS_STREAM));
        }
        if (dmean.ptr) MFS_TRY(mfs__center_dev(fn, dQ.ptr, qn, d, qp, dmean.ptr));
        MFS_CUDA_CHECK(fn, cudaMemsetAsync(dlcnt.ptr, 0, (size_t)qn * sizeof(int), MFS_STREAM));
        for (int64_t t0 = 0; t0 < n; t0 += trows) {
            const int64_t tn = n - t0 < trows ? n - t0 : trows;
            if (metric == 1) {
                const dim3 threads(L1T, L1T), grid((unsigned)mfs__ceil_div(tn, L1T), (unsigned)mfs__ceil_div(qn, L1T));
                l1_kernel<<<grid, threads, 0, MFS_STREAM>>>(dQ.ptr, (int)qn, qp, dT.ptr + t0 * tp, (int)tn, tp, di,
                                                            dC.ptr, cp);
                MFS_CUDA_LAUNCHED(fn, "l1_kernel");
            } else {
                MFS_TRY(mfs__sgemm_dev(fn, 0, 1, qn, tn, d, alpha, dQ.ptr, qp, dT.ptr + t0 * tp, tp, 0.f, dC.ptr,
                                       cp, 0, 0, mem));
            }
            select_kernel<<<(unsigned)mfs__ceil_div(qn, SEL_WARPS), SEL_WARPS * 32, sel_smem, MFS_STREAM>>>(
                dC.ptr, cp, (int)qn, (int)tn, t0, ds.ptr, db.ptr, dlv.ptr, dli.ptr, dlcnt.ptr, kc);
            MFS_CUDA_LAUNCHED(fn, "select_kernel");
        }
        MFS_CUDA_CHECK(fn, cudaMemcpyAsync(idx + q0 * k, dli.ptr, (size_t)(qn * k) * sizeof(int64_t),
                                           cudaMemcpyDeviceToHost, MFS_STREAM));
    }
    MFS_CUDA_CHECK(fn, cudaStreamSynchronize(MFS_STREAM));
    return MFS_OK;
}
