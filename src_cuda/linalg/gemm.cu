/* SGEMM on the GPU, from scratch: shared-memory tiles, 8x8 register blocking,
 * 16-byte loads, register prefetch into a second shared buffer, split-K for
 * tall-skinny products, and a triangle-only mode for Gram matrices.
 *
 * Letters: M, N, K the GEMM sizes; BM x BN the block tile of C; BK the depth
 * of a k-step; NT threads per block; each thread owns an 8x8 sub-block of C,
 * made of four 4x4 quadrants (rows ty*4.. and BM/2+ty*4.., columns tx*4.. and
 * BN/2+tx*4..) so that its shared-memory reads are float4 and conflict-free. */
#include <stdint.h>
#include "src_cuda/linalg/gemm.cuh"

namespace {

constexpr int BK = 8;
constexpr int SPLIT_MIN_K = 256;          /* fewest products a split-K chunk gets */
constexpr size_t SPLIT_WORKSPACE_MAX = (size_t)512 << 20; /* bytes */

/* Loads a (BO outer) x (BK) tile of op(X) into registers, then into shared
 * memory as S[k][outer] (k-major, so the compute loop reads float4 along outer).
 * KCONTIG: X is stored (outer, k): X[o * ld + k] (A untransposed, B transposed);
 * else X is stored (k, outer): X[k * ld + o]. Outside [0, olim) x [k0, klim)
 * the tile is zero-filled, which handles every ragged edge. vec: ld is a
 * multiple of 4 and X 16-byte aligned, so in-bounds quads load as float4. */
template <int BO, int NT, bool KCONTIG> struct TileLoader {
    static constexpr int NV = BO * BK / 4 / NT; /* float4 per thread */
    static_assert(NV >= 1 && BO * BK == NV * 4 * NT, "tile / thread mismatch");
    float4 r[NV];

    __device__ __forceinline__ void load(const float *__restrict__ X, int64_t ld, int64_t o0,
                                         int64_t olim, int64_t k0, int64_t klim, bool vec) {
#pragma unroll
        for (int v = 0; v < NV; v++) {
            int idx = threadIdx.x + v * NT;
            if (KCONTIG) {
                int o = idx / (BK / 4), kq = (idx % (BK / 4)) * 4;
                int64_t go = o0 + o, gk = k0 + kq;
                if (vec && go < olim && gk + 3 < klim) {
                    r[v] = __ldg(reinterpret_cast<const float4 *>(X + go * ld + gk));
                } else {
                    const float *p = X + go * ld + gk;
                    bool ok = go < olim;
                    r[v].x = (ok && gk + 0 < klim) ? p[0] : 0.f;
                    r[v].y = (ok && gk + 1 < klim) ? p[1] : 0.f;
                    r[v].z = (ok && gk + 2 < klim) ? p[2] : 0.f;
                    r[v].w = (ok && gk + 3 < klim) ? p[3] : 0.f;
                }
            } else {
                int k = idx / (BO / 4), oq = (idx % (BO / 4)) * 4;
                int64_t go = o0 + oq, gk = k0 + k;
                if (vec && gk < klim && go + 3 < olim) {
                    r[v] = __ldg(reinterpret_cast<const float4 *>(X + gk * ld + go));
                } else {
                    const float *p = X + gk * ld + go;
                    bool ok = gk < klim;
                    r[v].x = (ok && go + 0 < olim) ? p[0] : 0.f;
                    r[v].y = (ok && go + 1 < olim) ? p[1] : 0.f;
                    r[v].z = (ok && go + 2 < olim) ? p[2] : 0.f;
                    r[v].w = (ok && go + 3 < olim) ? p[3] : 0.f;
                }
            }
        }
    }

    /* S is [BK][BO + 4]: the 4-float pad keeps rows 16-byte aligned and moves
     * the transposed stores of the KCONTIG case onto different banks. */
    __device__ __forceinline__ void store(float (*S)[BO + 4]) const {
#pragma unroll
        for (int v = 0; v < NV; v++) {
            int idx = threadIdx.x + v * NT;
            if (KCONTIG) {
                int o = idx / (BK / 4), kq = (idx % (BK / 4)) * 4;
                S[kq + 0][o] = r[v].x;
                S[kq + 1][o] = r[v].y;
                S[kq + 2][o] = r[v].z;
                S[kq + 3][o] = r[v].w;
            } else {
                int k = idx / (BO / 4), oq = (idx % (BO / 4)) * 4;
                *reinterpret_cast<float4 *>(&S[k][oq]) = r[v];
            }
        }
    }
};

/* One block computes the BM x BN tile (blockIdx.x, blockIdx.y + nt_offset) of
 * C over the k range of split blockIdx.z: [z*kchunk, min(K, (z+1)*kchunk)).
 * Split z writes to C + z*c_split_stride (a workspace; alpha 1, beta 0). */
template <int BM, int BN, bool TA, bool TB, bool SYRK>
__global__ void __launch_bounds__((BM / 8) * (BN / 8))
sgemm_kernel(int64_t M, int64_t N, int64_t K, int64_t kchunk, float alpha,
             const float *__restrict__ A, int64_t lda, const float *__restrict__ B, int64_t ldb,
             float beta, float *__restrict__ C, int64_t ldc, int64_t c_split_stride,
             int64_t nt_offset, bool vecA, bool vecB, bool vecC) {
    constexpr int NT = (BM / 8) * (BN / 8);
    const int64_t mt = blockIdx.x, nt = (int64_t)blockIdx.y + nt_offset;
    if (SYRK && mt > nt) return; /* below the diagonal: mirrored afterwards */
    const int64_t m0 = mt * BM, n0 = nt * BN;
    if (n0 >= N) return;
    const int64_t kb = (int64_t)blockIdx.z * kchunk;
    const int64_t ke = kb + kchunk < K ? kb + kchunk : K;
    C += (int64_t)blockIdx.z * c_split_stride;

    __shared__ __align__(16) float As[2][BK][BM + 4];
    __shared__ __align__(16) float Bs[2][BK][BN + 4];
    TileLoader<BM, NT, !TA> la; /* op(A) rows are m: stored (M, K) unless TA */
    TileLoader<BN, NT, TB> lb;  /* op(B) columns are n: stored (K, N) unless TB */

    const int tx = threadIdx.x % (BN / 8), ty = threadIdx.x / (BN / 8);
    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; i++)
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = 0.f;

    const int64_t ntiles = ke > kb ? (ke - kb + BK - 1) / BK : 0;
    if (ntiles > 0) {
        la.load(A, lda, m0, M, kb, ke, vecA);
        lb.load(B, ldb, n0, N, kb, ke, vecB);
        la.store(As[0]);
        lb.store(Bs[0]);
        __syncthreads();
    }
    for (int64_t t = 0; t < ntiles; t++) {
        const int cur = (int)(t & 1);
        const bool more = t + 1 < ntiles;
        if (more) { /* global loads of the next tile overlap this tile's math */
            la.load(A, lda, m0, M, kb + (t + 1) * BK, ke, vecA);
            lb.load(B, ldb, n0, N, kb + (t + 1) * BK, ke, vecB);
        }
#pragma unroll
        for (int kk = 0; kk < BK; kk++) {
            float4 a0 = *reinterpret_cast<const float4 *>(&As[cur][kk][ty * 4]);
            float4 a1 = *reinterpret_cast<const float4 *>(&As[cur][kk][BM / 2 + ty * 4]);
            float4 b0 = *reinterpret_cast<const float4 *>(&Bs[cur][kk][tx * 4]);
            float4 b1 = *reinterpret_cast<const float4 *>(&Bs[cur][kk][BN / 2 + tx * 4]);
            const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
            const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
            for (int i = 0; i < 8; i++)
#pragma unroll
                for (int j = 0; j < 8; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        if (more) {
            /* the other buffer was last read before the previous barrier */
            la.store(As[cur ^ 1]);
            lb.store(Bs[cur ^ 1]);
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 8; i++) {
        const int64_t row = m0 + (i < 4 ? ty * 4 + i : BM / 2 + ty * 4 + (i - 4));
        if (row >= M) continue;
        float *crow = C + row * ldc;
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const int64_t col = n0 + (h == 0 ? tx * 4 : BN / 2 + tx * 4);
            float v[4];
#pragma unroll
            for (int j = 0; j < 4; j++) v[j] = alpha * acc[i][h * 4 + j];
            if (vecC && col + 3 < N) {
                float4 *cp = reinterpret_cast<float4 *>(crow + col);
                float4 o = make_float4(v[0], v[1], v[2], v[3]);
                if (beta != 0.f) { /* beta == 0 never reads C: NaN there is ignored */
                    float4 c = *cp;
                    o.x += beta * c.x; o.y += beta * c.y; o.z += beta * c.z; o.w += beta * c.w;
                }
                *cp = o;
            } else {
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    if (col + j < N) {
                        float o = v[j];
                        if (beta != 0.f) o += beta * crow[col + j];
                        crow[col + j] = o;
                    }
                }
            }
        }
    }
}

/* C = alpha * sum_z W[z] + beta * C, the splits summed in double in a fixed
 * order (deterministic). SYRK: only the upper triangle. */
__global__ void splitk_reduce_kernel(int64_t M, int64_t N, int splits, const float *__restrict__ W,
                                     int64_t ldw, int64_t wstride, float alpha, float beta,
                                     float *__restrict__ C, int64_t ldc, bool syrk) {
    const int64_t total = M * N;
    for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < total;
         idx += (int64_t)gridDim.x * blockDim.x) {
        const int64_t i = idx / N, j = idx % N;
        if (syrk && i > j) continue;
        double s = 0.0;
        for (int z = 0; z < splits; z++) s += (double)W[z * wstride + i * ldw + j];
        float o = alpha * (float)s;
        if (beta != 0.f) o += beta * C[i * ldc + j];
        C[i * ldc + j] = o;
    }
}

/* Lower triangle of the (N, N) C from its upper triangle. */
__global__ void syrk_mirror_kernel(int64_t N, float *__restrict__ C, int64_t ldc) {
    const int64_t total = N * N;
    for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < total;
         idx += (int64_t)gridDim.x * blockDim.x) {
        const int64_t i = idx / N, j = idx % N;
        if (i > j) C[i * ldc + j] = C[j * ldc + i];
    }
}

bool aligned16(const void *p, int64_t ld) { return ((uintptr_t)p % 16) == 0 && ld % 4 == 0; }

unsigned grid_1d(int64_t work, int threads) {
    int64_t b = (work + threads - 1) / threads, cap = (int64_t)mfs__cuda_sm_count() * 32;
    if (b < 1) b = 1;
    return (unsigned)(b < cap ? b : cap);
}

struct GemmArgs {
    int64_t M, N, K, kchunk;
    float alpha;
    const float *A;
    int64_t lda;
    const float *B;
    int64_t ldb;
    float beta;
    float *C;
    int64_t ldc, c_split_stride;
    int splits;
};

template <int BM, int BN, bool TA, bool TB, bool SYRK>
mfs_status launch_tiles(const char *fn, const GemmArgs &g) {
    constexpr int NT = (BM / 8) * (BN / 8);
    const int64_t mtiles = mfs__ceil_div(g.M, BM), ntiles = mfs__ceil_div(g.N, BN);
    if (mtiles > 0x7fffffff)
        return mfs__error(MFS_E_OVERFLOW, "%s: M = %lld is too large for one GEMM launch", fn, (long long)g.M);
    const bool vecA = aligned16(g.A, g.lda), vecB = aligned16(g.B, g.ldb), vecC = aligned16(g.C, g.ldc);
    /* gridDim.y is at most 65535: wide outputs go in several launches */
    for (int64_t nt0 = 0; nt0 < ntiles; nt0 += 65535) {
        const int64_t ny = ntiles - nt0 < 65535 ? ntiles - nt0 : 65535;
        dim3 grid((unsigned)mtiles, (unsigned)ny, (unsigned)g.splits);
        sgemm_kernel<BM, BN, TA, TB, SYRK><<<grid, NT, 0, MFS_STREAM>>>(
            g.M, g.N, g.K, g.kchunk, g.alpha, g.A, g.lda, g.B, g.ldb, g.beta, g.C, g.ldc,
            g.c_split_stride, nt0, vecA, vecB, vecC);
        MFS_CUDA_LAUNCHED(fn, "sgemm_kernel");
    }
    return MFS_OK;
}

template <int BM, int BN> mfs_status dispatch(const char *fn, int ta, int tb, int syrk, const GemmArgs &g) {
    if (syrk) return launch_tiles<BM, BN, true, false, true>(fn, g);
    if (!ta && !tb) return launch_tiles<BM, BN, false, false, false>(fn, g);
    if (!ta && tb) return launch_tiles<BM, BN, false, true, false>(fn, g);
    if (ta && !tb) return launch_tiles<BM, BN, true, false, false>(fn, g);
    return launch_tiles<BM, BN, true, true, false>(fn, g);
}

/* the flat tile: only for general products (the triangle mode needs square tiles) */
mfs_status dispatch_flat(const char *fn, int ta, int tb, const GemmArgs &g) {
    if (!ta && !tb) return launch_tiles<32, 128, false, false, false>(fn, g);
    if (!ta && tb) return launch_tiles<32, 128, false, true, false>(fn, g);
    if (ta && !tb) return launch_tiles<32, 128, true, false, false>(fn, g);
    return launch_tiles<32, 128, true, true, false>(fn, g);
}

} /* namespace */

mfs_status mfs__sgemm_dev(const char *fn, int trans_a, int trans_b, int64_t M, int64_t N,
                          int64_t K, float alpha, const float *A, int64_t lda, const float *B,
                          int64_t ldb, float beta, float *C, int64_t ldc, int syrk_upper,
                          int64_t kchunk_max, mfs_mem_counter *mem) {
    if (M <= 0 || N <= 0) return MFS_OK;
    if (syrk_upper && (M != N || beta != 0.f || !trans_a || trans_b))
        return mfs__error(MFS_E_INTERNAL, "%s: the triangle-only GEMM needs A^T A with beta 0", fn);
    const int sms = mfs__cuda_sm_count();

    /* Tile: 128x128 (256 threads, 64 outputs each) when the output has enough
     * tiles to fill the GPU, else 64x64 (64 threads) for four times the blocks;
     * a flat 32x128 (64 threads) when M <= 32 and N is wide (a conv's
     * (OC, images x pixels) output: a square tile would compute mostly rows
     * past M). */
    const int64_t t128 = mfs__ceil_div(M, 128) * mfs__ceil_div(N, 128);
    const bool flat = !syrk_upper && M <= 32 && N >= 256;
    const int bm = flat ? 32 : t128 >= sms ? 128 : 64, bn = flat ? 128 : bm;
    int64_t tiles = mfs__ceil_div(M, bm) * mfs__ceil_div(N, bn);
    if (syrk_upper) {
        const int64_t mt = mfs__ceil_div(M, bm);
        tiles = mt * (mt + 1) / 2;
    }

    /* Split K when the tiles cannot fill the GPU (tall-skinny A^T B: Gram
     * matrices, normal equations) or when the caller bounds float32 sums. */
    int64_t splits = 1;
    const int64_t target = (int64_t)sms * (bm == 128 ? 2 : 8);
    if (tiles < target && K >= 2 * SPLIT_MIN_K) {
        splits = mfs__ceil_div(target, tiles);
        const int64_t kmax = K / SPLIT_MIN_K;
        if (splits > kmax) splits = kmax;
    }
    if (kchunk_max > 0 && mfs__ceil_div(K, kchunk_max) > splits) splits = mfs__ceil_div(K, kchunk_max);
    const int64_t ldw = mfs__round_up(N, 4);
    const int64_t wstride = M * ldw;
    int64_t wcap = (int64_t)(SPLIT_WORKSPACE_MAX / sizeof(float)) / (wstride > 0 ? wstride : 1);
    if (wcap > 4096) wcap = 4096;
    if (splits > wcap) splits = wcap; /* a huge output: fewer, longer chunks */
    if (splits < 1) splits = 1;
    int64_t kchunk = K > 0 ? mfs__round_up(mfs__ceil_div(K, splits), BK) : BK;
    splits = K > 0 ? mfs__ceil_div(K, kchunk) : 1;

    GemmArgs g = {M, N, K, kchunk, alpha, A, lda, B, ldb, beta, C, ldc, 0, (int)splits};
    mfs_dev_buf<float> work;
    if (splits > 1) {
        MFS_TRY(work.alloc(fn, splits * wstride, mem));
        g.alpha = 1.f;
        g.beta = 0.f;
        g.C = work.ptr;
        g.ldc = ldw;
        g.c_split_stride = wstride;
    }
    if (flat) MFS_TRY(dispatch_flat(fn, trans_a, trans_b, g));
    else if (bm == 128) MFS_TRY((dispatch<128, 128>(fn, trans_a, trans_b, syrk_upper, g)));
    else MFS_TRY((dispatch<64, 64>(fn, trans_a, trans_b, syrk_upper, g)));
    if (splits > 1) {
        splitk_reduce_kernel<<<grid_1d(M * N, 256), 256, 0, MFS_STREAM>>>(
            M, N, (int)splits, work.ptr, ldw, wstride, alpha, beta, C, ldc, syrk_upper != 0);
        MFS_CUDA_LAUNCHED(fn, "splitk_reduce_kernel");
    }
    if (syrk_upper) {
        syrk_mirror_kernel<<<grid_1d(M * N, 256), 256, 0, MFS_STREAM>>>(N, C, ldc);
        MFS_CUDA_LAUNCHED(fn, "syrk_mirror_kernel");
    }
    /* the workspace is freed on return; cudaFree waits for the kernels using it */
    return MFS_OK;
}

mfs_status mfs__upload_matrix(const char *fn, mfs_dev_buf<float> &buf, const float *host,
                              int64_t rows, int64_t cols, int64_t ld, int64_t *pitch,
                              mfs_mem_counter *mem) {
    const int64_t p = mfs__round_up(cols > 0 ? cols : 1, 4);
    *pitch = p;
    int64_t count = 0;
    if (rows > 0 && p > INT64_MAX / rows)
        return mfs__error(MFS_E_OVERFLOW, "%s: a (%lld, %lld) matrix overflows", fn, (long long)rows,
                          (long long)cols);
    count = rows * p;
    MFS_TRY(buf.alloc(fn, count, mem));
    if (rows == 0 || cols == 0) return MFS_OK;
    if (p != cols) MFS_CUDA_CHECK(fn, cudaMemsetAsync(buf.ptr, 0, buf.bytes, MFS_STREAM));
    MFS_CUDA_CHECK(fn, cudaMemcpy2DAsync(buf.ptr, (size_t)p * sizeof(float), host,
                                         (size_t)ld * sizeof(float), (size_t)cols * sizeof(float),
                                         (size_t)rows, cudaMemcpyHostToDevice, MFS_STREAM));
    return MFS_OK;
}

mfs_status mfs__download_matrix(const char *fn, float *host, int64_t ld, const float *dev,
                                int64_t rows, int64_t cols, int64_t pitch) {
    if (rows == 0 || cols == 0) return MFS_OK;
    MFS_CUDA_CHECK(fn, cudaMemcpy2DAsync(host, (size_t)ld * sizeof(float), dev,
                                         (size_t)pitch * sizeof(float), (size_t)cols * sizeof(float),
                                         (size_t)rows, cudaMemcpyDeviceToHost, MFS_STREAM));
    MFS_CUDA_CHECK(fn, cudaStreamSynchronize(MFS_STREAM));
    return MFS_OK;
}

/* Same argument checks as the CPU's mfs_sgemm, so the two answer alike. */
static mfs_status check_sgemm_args(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                   const float *A, int64_t lda, const float *B, int64_t ldb,
                                   const float *C, int64_t ldc) {
    const char *fn = "mfs_sgemm_cuda";
    if (M < 0 || N < 0 || K < 0)
        return mfs__error(MFS_E_INVALID_ARG, "%s: sizes must be >= 0, got M=%lld N=%lld K=%lld", fn,
                          (long long)M, (long long)N, (long long)K);
    const int64_t acols = trans_a ? M : K, bcols = trans_b ? K : N;
    if (lda < (acols > 1 ? acols : 1))
        return mfs__error(MFS_E_INVALID_ARG, "%s: lda is %lld, smaller than a row of A (%lld)", fn,
                          (long long)lda, (long long)acols);
    if (ldb < (bcols > 1 ? bcols : 1))
        return mfs__error(MFS_E_INVALID_ARG, "%s: ldb is %lld, smaller than a row of B (%lld)", fn,
                          (long long)ldb, (long long)bcols);
    if (ldc < (N > 1 ? N : 1))
        return mfs__error(MFS_E_INVALID_ARG, "%s: ldc is %lld, smaller than a row of C (%lld)", fn,
                          (long long)ldc, (long long)N);
    if ((M > 0 && K > 0 && !A) || (K > 0 && N > 0 && !B) || (M > 0 && N > 0 && !C))
        return mfs__error(MFS_E_INVALID_ARG, "%s: A, B or C is NULL", fn);
    return MFS_OK;
}

extern "C" mfs_status mfs_sgemm_cuda(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                     float alpha, const float *A, int64_t lda, const float *B,
                                     int64_t ldb, float beta, float *C, int64_t ldc) {
    const char *fn = "mfs_sgemm_cuda";
    MFS_TRY(check_sgemm_args(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc));
    MFS_TRY(mfs__cuda_require(fn));
    if (M == 0 || N == 0) return MFS_OK;
    mfs_mem_counter *mem = mfs__cuda_counter(NULL);
    mfs_dev_buf<float> dA, dB, dC;
    int64_t pa = 1, pb = 1, pc = 1;
    if (K > 0) {
        MFS_TRY(mfs__upload_matrix(fn, dA, A, trans_a ? K : M, trans_a ? M : K, lda, &pa, mem));
        MFS_TRY(mfs__upload_matrix(fn, dB, B, trans_b ? N : K, trans_b ? K : N, ldb, &pb, mem));
    }
    if (beta != 0.f) {
        MFS_TRY(mfs__upload_matrix(fn, dC, C, M, N, ldc, &pc, mem));
    } else {
        MFS_TRY(dC.alloc(fn, M * mfs__round_up(N, 4), mem));
        pc = mfs__round_up(N, 4);
    }
    MFS_TRY(mfs__sgemm_dev(fn, trans_a != 0, trans_b != 0, M, N, K, alpha, dA.ptr, pa, dB.ptr, pb,
                           beta, dC.ptr, pc, 0, 0, mem));
    return mfs__download_matrix(fn, C, ldc, dC.ptr, M, N, pc);
}
