/* Centered Gram matrix on the GPU, exact in double as the CPU's (gram_f64 in
 * src_c/classical/pca.c):  G = (X - mean)^T (X - mean).
 *   X (n, d) float32, uploaded once (padded pitch), read as is;
 *   mean (d) double or NULL (then 0); G (d, d) float32, the only rounding.
 * Each element is centered in double (x - mean, never rounded to float32),
 * products are formed and summed in double.
 *
 * gram_partial_kernel: one block of 32 x 8 threads per (upper-triangle 32 x 32
 *   tile of G, chunk of rows). The block walks its rows GRAM_KB at a time,
 *   staging the centered rows of its two column ranges in shared memory
 *   (double), so each X element is read once per tile; each thread sums 4
 *   entries of the tile (one column, rows ty + 8m) in double, in row order.
 *   With one chunk it writes G directly (float, both triangles); otherwise the
 *   tile's partial sums go to a double workspace W [chunks][d][d].
 * gram_reduce_kernel: G[a][b] = G[b][a] = float(sum over chunks c = 0, 1, ...
 *   of W[c][a][b]) for a <= b: a fixed order, no atomics, so the result is the
 *   same on every run and exactly symmetric.
 * Chunks: enough for ~4 blocks per SM when the tiles alone are fewer, at least
 * GRAM_MIN_ROWS rows each, and W at most GRAM_WS_BYTES.
 *
 * mfs__center_dev (float32 centering in place) also lives here; other model
 * files use it. */
#include "src_cuda/linalg/gemm.cuh"

namespace {
constexpr int GRAM_TILE = 32;                              /* G tile edge */
constexpr int GRAM_TY = 8;                                 /* threads per block: 32 x 8 */
constexpr int GRAM_KB = 32;                                /* rows staged per step */
constexpr int64_t GRAM_MIN_ROWS = 256;                     /* rows per chunk, at least */
constexpr int64_t GRAM_WS_BYTES = (int64_t)256 << 20;      /* workspace W, at most */

/* One thread per element, grid-stride; mean read through the read-only cache. */
__global__ void center_kernel(float *__restrict__ X, int64_t n, int64_t d, int64_t pitch,
                              const double *__restrict__ mean) {
    const int64_t total = n * d;
    for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < total;
         idx += (int64_t)gridDim.x * blockDim.x) {
        const int64_t i = idx / d, j = idx % d;
        float *p = X + i * pitch + j;
        *p = (float)((double)*p - __ldg(mean + j));
    }
}

/* X (n, d) row stride pitch; mean (d) or NULL; rows_per_chunk > 0.
 * Grid: x = upper-triangle tile index (nt (nt + 1) / 2 of them, nt = ceil(d / 32)),
 * z = chunk. W [gridDim.z][d][d] if gridDim.z > 1, else G (d, d) is written. */
__global__ void __launch_bounds__(GRAM_TILE *GRAM_TY)
    gram_partial_kernel(const float *__restrict__ X, int64_t n, int64_t d, int64_t pitch,
                        const double *__restrict__ mean, int64_t nt, int64_t rows_per_chunk,
                        double *__restrict__ W, float *__restrict__ G) {
    __shared__ double As[GRAM_KB][GRAM_TILE]; /* centered X[r0 + k][a0 + i] */
    __shared__ double Bs[GRAM_KB][GRAM_TILE]; /* centered X[r0 + k][b0 + j] */
    __shared__ double meanA[GRAM_TILE], meanB[GRAM_TILE];

    /* tile index -> (ti, tj), ti <= tj: row ti of the upper triangle has nt - ti tiles */
    int64_t ti = 0, rem = blockIdx.x;
    while (rem >= nt - ti) {
        rem -= nt - ti;
        ti++;
    }
    const int64_t tj = ti + rem;
    const int64_t a0 = ti * GRAM_TILE, b0 = tj * GRAM_TILE;
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int64_t rbeg = (int64_t)blockIdx.z * rows_per_chunk;
    const int64_t rend = rbeg + rows_per_chunk < n ? rbeg + rows_per_chunk : n;

    if (ty == 0) {
        meanA[tx] = (mean && a0 + tx < d) ? mean[a0 + tx] : 0.0;
        meanB[tx] = (mean && b0 + tx < d) ? mean[b0 + tx] : 0.0;
    }
    /* column loads: this thread's column within the tile, valid or not */
    const bool a_ok = a0 + tx < d, b_ok = b0 + tx < d;

    double acc[GRAM_TILE / GRAM_TY] = {};
    for (int64_t r0 = rbeg; r0 < rend; r0 += GRAM_KB) {
        __syncthreads(); /* previous step's reads done (and meanA / meanB written) */
#pragma unroll
        for (int q = 0; q < GRAM_KB / GRAM_TY; q++) {
            const int k = ty + GRAM_TY * q;
            const int64_t r = r0 + k;
            const bool r_ok = r < rend;
            As[k][tx] = (r_ok && a_ok) ? (double)X[r * pitch + a0 + tx] - meanA[tx] : 0.0;
            Bs[k][tx] = (r_ok && b_ok) ? (double)X[r * pitch + b0 + tx] - meanB[tx] : 0.0;
        }
        __syncthreads();
#pragma unroll 8
        for (int k = 0; k < GRAM_KB; k++) {
            const double bk = Bs[k][tx];
#pragma unroll
            for (int m = 0; m < GRAM_TILE / GRAM_TY; m++) acc[m] = fma(As[k][ty + GRAM_TY * m], bk, acc[m]);
        }
    }

    /* entry (a, b) = (a0 + ty + 8m, b0 + tx); only a <= b is stored (in a
     * diagonal tile the rest is its mirror), so each entry has one writer */
    const int64_t b = b0 + tx;
#pragma unroll
    for (int m = 0; m < GRAM_TILE / GRAM_TY; m++) {
        const int64_t a = a0 + ty + GRAM_TY * m;
        if (a >= d || b >= d || a > b) continue;
        if (gridDim.z > 1) {
            W[(int64_t)blockIdx.z * d * d + a * d + b] = acc[m];
        } else {
            const float v = (float)acc[m];
            G[a * d + b] = v;
            G[b * d + a] = v;
        }
    }
}

/* G (d, d) from W [chunks][d][d] (upper triangle a <= b written), chunks
 * summed in index order; grid-stride over the d * d entries. */
__global__ void gram_reduce_kernel(const double *__restrict__ W, int64_t chunks, int64_t d,
                                   float *__restrict__ G) {
    const int64_t dd = d * d;
    for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < dd;
         idx += (int64_t)gridDim.x * blockDim.x) {
        const int64_t a = idx / d, b = idx % d;
        if (a > b) continue;
        double s = 0.0;
        for (int64_t c = 0; c < chunks; c++) s += W[c * dd + idx];
        const float v = (float)s;
        G[a * d + b] = v;
        G[b * d + a] = v;
    }
}
} /* namespace */

mfs_status mfs__center_dev(const char *fn, float *X, int64_t n, int64_t d, int64_t pitch,
                           const double *mean) {
    if (n <= 0 || d <= 0 || !mean) return MFS_OK;
    int64_t blocks = mfs__ceil_div(n * d, 256), cap = (int64_t)mfs__cuda_sm_count() * 32;
    center_kernel<<<(unsigned)(blocks < cap ? blocks : cap), 256, 0, MFS_STREAM>>>(X, n, d, pitch, mean);
    MFS_CUDA_LAUNCHED(fn, "center_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__centered_gram_cuda(const float *X, int64_t n, int64_t d,
                                              const double *mean, float *G, mfs_mem_counter *mem) {
    const char *fn = "mfs__centered_gram_cuda";
    if (n < 0 || d < 1 || !X || !G)
        return mfs__error(MFS_E_INVALID_ARG, "%s: needs X and G and n >= 0, d >= 1 (n=%lld, d=%lld)", fn,
                          (long long)n, (long long)d);
    MFS_TRY(mfs__cuda_require(fn));
    mem = mfs__cuda_counter(mem);
    mfs_dev_buf<float> dX, dG;
    mfs_dev_buf<double> dmean, dW;
    int64_t pitch = 0;
    MFS_TRY(mfs__upload_matrix(fn, dX, X, n, d, d, &pitch, mem));
    if (mean && n > 0) {
        MFS_TRY(dmean.alloc(fn, d, mem));
        MFS_CUDA_CHECK(fn, cudaMemcpyAsync(dmean.ptr, mean, (size_t)d * sizeof(double),
                                           cudaMemcpyHostToDevice, MFS_STREAM));
    }
    MFS_TRY(dG.alloc(fn, d * d, mem));
    if (n == 0) {
        MFS_CUDA_CHECK(fn, cudaMemsetAsync(dG.ptr, 0, dG.bytes, MFS_STREAM));
    } else {
        const int64_t nt = mfs__ceil_div(d, GRAM_TILE), tiles = nt * (nt + 1) / 2;
        const int64_t sms = mfs__cuda_sm_count() > 0 ? mfs__cuda_sm_count() : 1;
        int64_t chunks = mfs__ceil_div(4 * sms, tiles);                 /* ~4 blocks per SM */
        const int64_t by_rows = mfs__ceil_div(n, GRAM_MIN_ROWS);
        const int64_t by_ws = GRAM_WS_BYTES / (int64_t)sizeof(double) / d / d;
        if (chunks > by_rows) chunks = by_rows;
        if (chunks > by_ws) chunks = by_ws;
        if (chunks > 65535) chunks = 65535; /* grid z */
        if (chunks < 1) chunks = 1;
        const int64_t rows_per_chunk = mfs__round_up(mfs__ceil_div(n, chunks), GRAM_KB);
        chunks = mfs__ceil_div(n, rows_per_chunk); /* every chunk has rows */
        if (chunks > 1) MFS_TRY(dW.alloc(fn, chunks * d * d, mem));
        /* tiles fits grid x (2^31 - 1) for any d whose G could be allocated */
        const dim3 grid((unsigned)tiles, 1, (unsigned)chunks), block(GRAM_TILE, GRAM_TY);
        gram_partial_kernel<<<grid, block, 0, MFS_STREAM>>>(dX.ptr, n, d, pitch, dmean.ptr, nt,
                                                             rows_per_chunk, dW.ptr, dG.ptr);
        MFS_CUDA_LAUNCHED(fn, "gram_partial_kernel");
        if (chunks > 1) {
            const int64_t blocks = mfs__ceil_div(d * d, 256), cap = sms * 32;
            gram_reduce_kernel<<<(unsigned)(blocks < cap ? blocks : cap), 256, 0, MFS_STREAM>>>(
                dW.ptr, chunks, d, dG.ptr);
            MFS_CUDA_LAUNCHED(fn, "gram_reduce_kernel");
        }
    }
    return mfs__download_matrix(fn, G, d, dG.ptr, d, d, d);
}
