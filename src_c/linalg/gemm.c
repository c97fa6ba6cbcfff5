/* SGEMM from scratch, in the GotoBLAS/BLIS style: operands packed into
 * micro-panels, three levels of cache blocking, one register-blocked
 * micro-kernel (AVX-512, AVX2 or portable C, chosen at compile time), OpenMP
 * over the two loops around the micro-kernel. docs/linalg.md explains the numbers.
 *
 * Legend (row-major): op(A) is (M, K), op(B) is (K, N), C is (M, N).
 * Packed A: panels of MR rows, each (kc, MR) with the MR entries of one k
 * contiguous. Packed B: panels of NR columns, each (kc, NR). Edge panels are
 * zero-padded so the micro-kernel always runs a full MR x NR tile. */
#include <string.h>
#include "core/internal.h"
#include "linalg/linalg.h"
#include "mfs/linalg.h"
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- micro-kernels and cache blocks ---------------------------------------
 * MR x NR is the register tile. KC makes the (KC, NR) B micro-panel stay in
 * L1 while the (MC, KC) block of A sits in L2; NC bounds the (KC, NC) block of
 * B (L3). Measured on a Sapphire Rapids core (48 KiB L1d, 2 MiB L2): see
 * docs/linalg.md and dev/gemm/. Each kernel computes C (MR, NR), stride ldc,
 * = alpha * Ap^T Bp + beta * C over kc steps; beta == 0 never reads C. */
#ifndef MFS_GEMM_KC /* overridable for the experiments in dev/gemm */
#define MFS_GEMM_KC 512
#endif
#ifndef MFS_GEMM_MC
#define MFS_GEMM_MC 192
#endif
#define KC MFS_GEMM_KC
#define MC MFS_GEMM_MC
#ifndef MFS_GEMM_NC
#define MFS_GEMM_NC 4096
#endif
#define NC MFS_GEMM_NC
#define TILE_MAX 384 /* largest MR * NR of the kernels below */
#define GEMV_MAX_N 4 /* up to this many columns of C, and A not transposed: dot products (gemv_rows) */
#define PACK_PREFETCH 32 /* floats ahead along each row that pack_transposed prefetches */

typedef void (*kernel_fn)(int64_t kc, const float *restrict a, const float *restrict b,
                          float *restrict c, int64_t ldc, float alpha, float beta);
typedef struct { int mr, nr; kernel_fn fn; } kernel_t;

#if defined(__AVX512F__)
/* The 12x32 kernel written out by hand: GCC keeps named accumulators in
 * registers where an array of them got b1 spilled to the stack. */
static void kernel_wide(int64_t kc, const float *restrict a, const float *restrict b,
                        float *restrict c, int64_t ldc, float alpha, float beta) {
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps(), c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(), c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps(), c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps(), c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps(), c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps(), c80 = _mm512_setzero_ps(), c81 = _mm512_setzero_ps(), c90 = _mm512_setzero_ps(), c91 = _mm512_setzero_ps(), c100 = _mm512_setzero_ps(), c101 = _mm512_setzero_ps(), c110 = _mm512_setzero_ps(), c111 = _mm512_setzero_ps();
    for (int r = 0; r < 12; r++) _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
#pragma GCC unroll 4
    for (int64_t k = 0; k < kc; k++) {
        _mm_prefetch((const char *)(b + 256), _MM_HINT_T0);
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16), av;
        av = _mm512_set1_ps(a[0]); c00 = _mm512_fmadd_ps(av, b0, c00); c01 = _mm512_fmadd_ps(av, b1, c01);
        av = _mm512_set1_ps(a[1]); c10 = _mm512_fmadd_ps(av, b0, c10); c11 = _mm512_fmadd_ps(av, b1, c11);
        av = _mm512_set1_ps(a[2]); c20 = _mm512_fmadd_ps(av, b0, c20); c21 = _mm512_fmadd_ps(av, b1, c21);
        av = _mm512_set1_ps(a[3]); c30 = _mm512_fmadd_ps(av, b0, c30); c31 = _mm512_fmadd_ps(av, b1, c31);
        av = _mm512_set1_ps(a[4]); c40 = _mm512_fmadd_ps(av, b0, c40); c41 = _mm512_fmadd_ps(av, b1, c41);
        av = _mm512_set1_ps(a[5]); c50 = _mm512_fmadd_ps(av, b0, c50); c51 = _mm512_fmadd_ps(av, b1, c51);
        av = _mm512_set1_ps(a[6]); c60 = _mm512_fmadd_ps(av, b0, c60); c61 = _mm512_fmadd_ps(av, b1, c61);
        av = _mm512_set1_ps(a[7]); c70 = _mm512_fmadd_ps(av, b0, c70); c71 = _mm512_fmadd_ps(av, b1, c71);
        av = _mm512_set1_ps(a[8]); c80 = _mm512_fmadd_ps(av, b0, c80); c81 = _mm512_fmadd_ps(av, b1, c81);
        av = _mm512_set1_ps(a[9]); c90 = _mm512_fmadd_ps(av, b0, c90); c91 = _mm512_fmadd_ps(av, b1, c91);
        av = _mm512_set1_ps(a[10]); c100 = _mm512_fmadd_ps(av, b0, c100); c101 = _mm512_fmadd_ps(av, b1, c101);
        av = _mm512_set1_ps(a[11]); c110 = _mm512_fmadd_ps(av, b0, c110); c111 = _mm512_fmadd_ps(av, b1, c111);
        a += 12; b += 32;
    }
    __m512 va = _mm512_set1_ps(alpha);
    if (beta == 0.0f) {
        _mm512_storeu_ps(c + 0 * ldc, _mm512_mul_ps(va, c00)); _mm512_storeu_ps(c + 0 * ldc + 16, _mm512_mul_ps(va, c01));
        _mm512_storeu_ps(c + 1 * ldc, _mm512_mul_ps(va, c10)); _mm512_storeu_ps(c + 1 * ldc + 16, _mm512_mul_ps(va, c11));
        _mm512_storeu_ps(c + 2 * ldc, _mm512_mul_ps(va, c20)); _mm512_storeu_ps(c + 2 * ldc + 16, _mm512_mul_ps(va, c21));
        _mm512_storeu_ps(c + 3 * ldc, _mm512_mul_ps(va, c30)); _mm512_storeu_ps(c + 3 * ldc + 16, _mm512_mul_ps(va, c31));
        _mm512_storeu_ps(c + 4 * ldc, _mm512_mul_ps(va, c40)); _mm512_storeu_ps(c + 4 * ldc + 16, _mm512_mul_ps(va, c41));
        _mm512_storeu_ps(c + 5 * ldc, _mm512_mul_ps(va, c50)); _mm512_storeu_ps(c + 5 * ldc + 16, _mm512_mul_ps(va, c51));
        _mm512_storeu_ps(c + 6 * ldc, _mm512_mul_ps(va, c60)); _mm512_storeu_ps(c + 6 * ldc + 16, _mm512_mul_ps(va, c61));
        _mm512_storeu_ps(c + 7 * ldc, _mm512_mul_ps(va, c70)); _mm512_storeu_ps(c + 7 * ldc + 16, _mm512_mul_ps(va, c71));
        _mm512_storeu_ps(c + 8 * ldc, _mm512_mul_ps(va, c80)); _mm512_storeu_ps(c + 8 * ldc + 16, _mm512_mul_ps(va, c81));
        _mm512_storeu_ps(c + 9 * ldc, _mm512_mul_ps(va, c90)); _mm512_storeu_ps(c + 9 * ldc + 16, _mm512_mul_ps(va, c91));
        _mm512_storeu_ps(c + 10 * ldc, _mm512_mul_ps(va, c100)); _mm512_storeu_ps(c + 10 * ldc + 16, _mm512_mul_ps(va, c101));
        _mm512_storeu_ps(c + 11 * ldc, _mm512_mul_ps(va, c110)); _mm512_storeu_ps(c + 11 * ldc + 16, _mm512_mul_ps(va, c111));
    } else {
        __m512 vb = _mm512_set1_ps(beta);
#define UPD(p, x) _mm512_storeu_ps((p), _mm512_fmadd_ps(va, (x), _mm512_mul_ps(vb, _mm512_loadu_ps(p))))
        UPD(c + 0 * ldc, c00); UPD(c + 0 * ldc + 16, c01);
        UPD(c + 1 * ldc, c10); UPD(c + 1 * ldc + 16, c11);
        UPD(c + 2 * ldc, c20); UPD(c + 2 * ldc + 16, c21);
        UPD(c + 3 * ldc, c30); UPD(c + 3 * ldc + 16, c31);
        UPD(c + 4 * ldc, c40); UPD(c + 4 * ldc + 16, c41);
        UPD(c + 5 * ldc, c50); UPD(c + 5 * ldc + 16, c51);
        UPD(c + 6 * ldc, c60); UPD(c + 6 * ldc + 16, c61);
        UPD(c + 7 * ldc, c70); UPD(c + 7 * ldc + 16, c71);
        UPD(c + 8 * ldc, c80); UPD(c + 8 * ldc + 16, c81);
        UPD(c + 9 * ldc, c90); UPD(c + 9 * ldc + 16, c91);
        UPD(c + 10 * ldc, c100); UPD(c + 10 * ldc + 16, c101);
        UPD(c + 11 * ldc, c110); UPD(c + 11 * ldc + 16, c111);
#undef UPD
    }
}
/* 24x16: for C with at most 16 columns. */
static void kernel_narrow(int64_t kc, const float *restrict a, const float *restrict b,
                          float *restrict c, int64_t ldc, float alpha, float beta) {
    __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps(), c3 = _mm512_setzero_ps(), c4 = _mm512_setzero_ps(), c5 = _mm512_setzero_ps(), c6 = _mm512_setzero_ps(), c7 = _mm512_setzero_ps(), c8 = _mm512_setzero_ps(), c9 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps(), c12 = _mm512_setzero_ps(), c13 = _mm512_setzero_ps(), c14 = _mm512_setzero_ps(), c15 = _mm512_setzero_ps(), c16 = _mm512_setzero_ps(), c17 = _mm512_setzero_ps(), c18 = _mm512_setzero_ps(), c19 = _mm512_setzero_ps(), c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(), c22 = _mm512_setzero_ps(), c23 = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b);
        c0 = _mm512_fmadd_ps(_mm512_set1_ps(a[0]), b0, c0);
        c1 = _mm512_fmadd_ps(_mm512_set1_ps(a[1]), b0, c1);
        c2 = _mm512_fmadd_ps(_mm512_set1_ps(a[2]), b0, c2);
        c3 = _mm512_fmadd_ps(_mm512_set1_ps(a[3]), b0, c3);
        c4 = _mm512_fmadd_ps(_mm512_set1_ps(a[4]), b0, c4);
        c5 = _mm512_fmadd_ps(_mm512_set1_ps(a[5]), b0, c5);
        c6 = _mm512_fmadd_ps(_mm512_set1_ps(a[6]), b0, c6);
        c7 = _mm512_fmadd_ps(_mm512_set1_ps(a[7]), b0, c7);
        c8 = _mm512_fmadd_ps(_mm512_set1_ps(a[8]), b0, c8);
        c9 = _mm512_fmadd_ps(_mm512_set1_ps(a[9]), b0, c9);
        c10 = _mm512_fmadd_ps(_mm512_set1_ps(a[10]), b0, c10);
        c11 = _mm512_fmadd_ps(_mm512_set1_ps(a[11]), b0, c11);
        c12 = _mm512_fmadd_ps(_mm512_set1_ps(a[12]), b0, c12);
        c13 = _mm512_fmadd_ps(_mm512_set1_ps(a[13]), b0, c13);
        c14 = _mm512_fmadd_ps(_mm512_set1_ps(a[14]), b0, c14);
        c15 = _mm512_fmadd_ps(_mm512_set1_ps(a[15]), b0, c15);
        c16 = _mm512_fmadd_ps(_mm512_set1_ps(a[16]), b0, c16);
        c17 = _mm512_fmadd_ps(_mm512_set1_ps(a[17]), b0, c17);
        c18 = _mm512_fmadd_ps(_mm512_set1_ps(a[18]), b0, c18);
        c19 = _mm512_fmadd_ps(_mm512_set1_ps(a[19]), b0, c19);
        c20 = _mm512_fmadd_ps(_mm512_set1_ps(a[20]), b0, c20);
        c21 = _mm512_fmadd_ps(_mm512_set1_ps(a[21]), b0, c21);
        c22 = _mm512_fmadd_ps(_mm512_set1_ps(a[22]), b0, c22);
        c23 = _mm512_fmadd_ps(_mm512_set1_ps(a[23]), b0, c23);
        a += 24; b += 16;
    }
    __m512 va = _mm512_set1_ps(alpha);
    if (beta == 0.0f) {
        _mm512_storeu_ps(c + 0 * ldc, _mm512_mul_ps(va, c0));
        _mm512_storeu_ps(c + 1 * ldc, _mm512_mul_ps(va, c1));
        _mm512_storeu_ps(c + 2 * ldc, _mm512_mul_ps(va, c2));
        _mm512_storeu_ps(c + 3 * ldc, _mm512_mul_ps(va, c3));
        _mm512_storeu_ps(c + 4 * ldc, _mm512_mul_ps(va, c4));
        _mm512_storeu_ps(c + 5 * ldc, _mm512_mul_ps(va, c5));
        _mm512_storeu_ps(c + 6 * ldc, _mm512_mul_ps(va, c6));
        _mm512_storeu_ps(c + 7 * ldc, _mm512_mul_ps(va, c7));
        _mm512_storeu_ps(c + 8 * ldc, _mm512_mul_ps(va, c8));
        _mm512_storeu_ps(c + 9 * ldc, _mm512_mul_ps(va, c9));
        _mm512_storeu_ps(c + 10 * ldc, _mm512_mul_ps(va, c10));
        _mm512_storeu_ps(c + 11 * ldc, _mm512_mul_ps(va, c11));
        _mm512_storeu_ps(c + 12 * ldc, _mm512_mul_ps(va, c12));
        _mm512_storeu_ps(c + 13 * ldc, _mm512_mul_ps(va, c13));
        _mm512_storeu_ps(c + 14 * ldc, _mm512_mul_ps(va, c14));
        _mm512_storeu_ps(c + 15 * ldc, _mm512_mul_ps(va, c15));
        _mm512_storeu_ps(c + 16 * ldc, _mm512_mul_ps(va, c16));
        _mm512_storeu_ps(c + 17 * ldc, _mm512_mul_ps(va, c17));
        _mm512_storeu_ps(c + 18 * ldc, _mm512_mul_ps(va, c18));
        _mm512_storeu_ps(c + 19 * ldc, _mm512_mul_ps(va, c19));
        _mm512_storeu_ps(c + 20 * ldc, _mm512_mul_ps(va, c20));
        _mm512_storeu_ps(c + 21 * ldc, _mm512_mul_ps(va, c21));
        _mm512_storeu_ps(c + 22 * ldc, _mm512_mul_ps(va, c22));
        _mm512_storeu_ps(c + 23 * ldc, _mm512_mul_ps(va, c23));
    } else {
        __m512 vb = _mm512_set1_ps(beta);
#define UPD(p, x) _mm512_storeu_ps((p), _mm512_fmadd_ps(va, (x), _mm512_mul_ps(vb, _mm512_loadu_ps(p))))
        UPD(c + 0 * ldc, c0);
        UPD(c + 1 * ldc, c1);
        UPD(c + 2 * ldc, c2);
        UPD(c + 3 * ldc, c3);
        UPD(c + 4 * ldc, c4);
        UPD(c + 5 * ldc, c5);
        UPD(c + 6 * ldc, c6);
        UPD(c + 7 * ldc, c7);
        UPD(c + 8 * ldc, c8);
        UPD(c + 9 * ldc, c9);
        UPD(c + 10 * ldc, c10);
        UPD(c + 11 * ldc, c11);
        UPD(c + 12 * ldc, c12);
        UPD(c + 13 * ldc, c13);
        UPD(c + 14 * ldc, c14);
        UPD(c + 15 * ldc, c15);
        UPD(c + 16 * ldc, c16);
        UPD(c + 17 * ldc, c17);
        UPD(c + 18 * ldc, c18);
        UPD(c + 19 * ldc, c19);
        UPD(c + 20 * ldc, c20);
        UPD(c + 21 * ldc, c21);
        UPD(c + 22 * ldc, c22);
        UPD(c + 23 * ldc, c23);
#undef UPD
    }
}
static const kernel_t KERNEL_WIDE = {12, 32, kernel_wide};
static const kernel_t KERNEL_NARROW = {24, 16, kernel_narrow};
#define MFS_GEMM_KERNEL_NAME "avx512 12x32 / 24x16"
#elif defined(__AVX2__) && defined(__FMA__)
static void kernel_wide(int64_t kc, const float *restrict a, const float *restrict b,
                        float *restrict c, int64_t ldc, float alpha, float beta) {
    enum { MR_ = 6 };
    __m256 acc[MR_][2];
#pragma GCC unroll 16
    for (int r = 0; r < MR_; r++) { acc[r][0] = _mm256_setzero_ps(); acc[r][1] = _mm256_setzero_ps(); }
    for (int64_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 16
        for (int r = 0; r < MR_; r++) {
            __m256 av = _mm256_broadcast_ss(a + r);
            acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
        }
        a += MR_; b += 16;
    }
    __m256 va = _mm256_set1_ps(alpha);
    if (beta == 0.0f) {
#pragma GCC unroll 16
        for (int r = 0; r < MR_; r++) {
            _mm256_storeu_ps(c + r * ldc, _mm256_mul_ps(va, acc[r][0]));
            _mm256_storeu_ps(c + r * ldc + 8, _mm256_mul_ps(va, acc[r][1]));
        }
    } else {
        __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 16
        for (int r = 0; r < MR_; r++) {
            float *cr = c + r * ldc;
            _mm256_storeu_ps(cr, _mm256_fmadd_ps(va, acc[r][0], _mm256_mul_ps(vb, _mm256_loadu_ps(cr))));
            _mm256_storeu_ps(cr + 8, _mm256_fmadd_ps(va, acc[r][1], _mm256_mul_ps(vb, _mm256_loadu_ps(cr + 8))));
        }
    }
}
static const kernel_t KERNEL_WIDE = {6, 16, kernel_wide};
static const kernel_t KERNEL_NARROW = {6, 16, kernel_wide};
#define MFS_GEMM_KERNEL_NAME "avx2 6x16"
#else
static void kernel_wide(int64_t kc, const float *restrict a, const float *restrict b,
                        float *restrict c, int64_t ldc, float alpha, float beta) {
    enum { MR_ = 4, NR_ = 8 };
    float acc[MR_][NR_];
    memset(acc, 0, sizeof acc);
    for (int64_t k = 0; k < kc; k++) {
        for (int r = 0; r < MR_; r++) {
            float av = a[r];
            for (int j = 0; j < NR_; j++) acc[r][j] += av * b[j];
        }
        a += MR_; b += NR_;
    }
    for (int r = 0; r < MR_; r++)
        for (int j = 0; j < NR_; j++)
            c[r * ldc + j] = beta == 0.0f ? alpha * acc[r][j] : alpha * acc[r][j] + beta * c[r * ldc + j];
}
static const kernel_t KERNEL_WIDE = {4, 8, kernel_wide};
static const kernel_t KERNEL_NARROW = {4, 8, kernel_wide};
#define MFS_GEMM_KERNEL_NAME "c 4x8"
#endif

/* A tile on the right or bottom edge: full tile into a scratch, then the
 * valid (mr, nr) corner into C. */
static void edge_kernel(const kernel_t *kern, int64_t kc, const float *a, const float *b, float *c,
                        int64_t ldc, float alpha, float beta, int64_t mr, int64_t nr) {
    float tmp[TILE_MAX] __attribute__((aligned(64)));
    kern->fn(kc, a, b, tmp, kern->nr, alpha, 0.0f);
    for (int64_t r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        const float *tr = tmp + r * kern->nr;
        if (beta == 0.0f)
            for (int64_t j = 0; j < nr; j++) cr[j] = tr[j];
        else
            for (int64_t j = 0; j < nr; j++) cr[j] = tr[j] + beta * cr[j];
    }
}

/* ---- packing ------------------------------------------------------------- */

#if defined(__AVX512F__)
/* Sixteen rows of 16 floats transposed in registers: four rounds of 16
 * shuffles (32-bit, 64-bit, then 128-bit lanes twice). On return r[j] holds
 * column j, entry i from row i. */
static inline void transpose16(__m512 r[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) { /* rows 4i..4i+3: u[4i + c] holds columns c, c+4, c+8, c+12 */
        __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        u[4 * i + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int c = 0; c < 4; c++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
        __m512 w0 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88), w1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
        r[c] = _mm512_shuffle_f32x4(v0, w0, 0x88);
        r[c + 8] = _mm512_shuffle_f32x4(v0, w0, 0xDD);
        r[c + 4] = _mm512_shuffle_f32x4(v1, w1, 0x88);
        r[c + 12] = _mm512_shuffle_f32x4(v1, w1, 0xDD);
    }
}
#endif

/* dst (kc, W) = the first kc entries of `rows` rows of src (stride ld),
 * transposed; rows [rows, W) are zeros. This is the pack of a row-major A
 * (and of a transposed B): element by element it is a strided scatter that
 * cost more than the micro-kernel on a network's small products; with
 * AVX-512 it goes 16 x 16 blocks at a time through registers. */
static void pack_transposed(const float *src, int64_t ld, const int64_t *ridx, int64_t rows, int64_t kc,
                            int64_t W, float *restrict dst) {
    /* row r of src: src + r * ld, or src + ridx[r] * ld (rows picked by index) */
#define ROW(r) (src + (ridx ? ridx[r] : (int64_t)(r)) * ld)
    int64_t k0 = 0;
#if defined(__AVX512F__)
    for (; k0 < kc; k0 += 16) {
        int64_t nk = kc - k0 < 16 ? kc - k0 : 16;
        __mmask16 km = (__mmask16)((1u << nk) - 1u);
        for (int64_t g = 0; g < W; g += 16) { /* rows [g, g + 16) of the panel */
            int64_t gw = W - g < 16 ? W - g : 16;
            __m512 r[16];
            /* the same rows two cache lines further on: a network's batch
             * rows, gathered from a training X that is in no cache, came in
             * one line per row at a time (the 12 or 16 row streams of a
             * panel defeat the hardware prefetcher); this halved the pack
             * of a 128 x 784 batch (66 -> 33 us a thread) and sped the MLP
             * fit up 5-7 % (docs/linalg.md) */
            if (k0 + PACK_PREFETCH < kc)
                for (int i = 0; i < 16 && g + i < rows; i++)
                    _mm_prefetch((const char *)(ROW(g + i) + k0 + PACK_PREFETCH), _MM_HINT_T0);
            for (int i = 0; i < 16; i++)
                r[i] = g + i < rows ? _mm512_maskz_loadu_ps(km, ROW(g + i) + k0) : _mm512_setzero_ps();
            transpose16(r);
            __mmask16 wm = (__mmask16)((1u << gw) - 1u);
            for (int64_t j = 0; j < nk; j++) _mm512_mask_storeu_ps(dst + (k0 + j) * W + g, wm, r[j]);
        }
    }
#else
    for (int64_t r = 0; r < rows; r++)
        for (int64_t k = 0; k < kc; k++) dst[k * W + r] = ROW(r)[k];
    if (rows < W)
        for (int64_t k = 0; k < kc; k++)
            for (int64_t r = rows; r < W; r++) dst[k * W + r] = 0.0f;
#endif
#undef ROW
    (void)k0;
}

/* Rows [i0, i0+rows) of op(A), k in [p0, p0+kc), into one MR-row panel (kc, MR). */
static void pack_a_panel(int trans_a, const float *A, int64_t lda, const int64_t *ar, int64_t i0, int64_t rows,
                         int64_t p0, int64_t kc, int64_t MR, float *restrict dst) {
    if (!trans_a) {
        if (ar) pack_transposed(A + p0, lda, ar + i0, rows, kc, MR, dst);
        else pack_transposed(A + i0 * lda + p0, lda, NULL, rows, kc, MR, dst);
        return;
    }
#if defined(__AVX512F__)
    /* op(A) = A^T: a row of A is a k-row of the panel. Masked vectors (the
     * element loop became a libc memcpy call per 48- or 96-byte row, 3% of an
     * MLP training step in its weight gradients); the load mask zero-fills
     * rows past `rows`, the store mask stops at the panel row's MR floats. */
    for (int64_t k = 0; k < kc; k++) {
        const float *src = A + (ar ? ar[p0 + k] : p0 + k) * lda + i0;
        float *d = dst + k * MR;
        for (int64_t r = 0; r < MR; r += 16) {
            const int64_t w = rows - r, room = MR - r;
            const __mmask16 ml = w >= 16 ? (__mmask16)0xFFFF : w <= 0 ? (__mmask16)0 : (__mmask16)((1u << w) - 1u);
            const __mmask16 ms = room >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << room) - 1u);
            _mm512_mask_storeu_ps(d + r, ms, _mm512_maskz_loadu_ps(ml, src + r));
        }
    }
#else
    for (int64_t k = 0; k < kc; k++) {
        const float *src = A + (ar ? ar[p0 + k] : p0 + k) * lda + i0;
        for (int64_t r = 0; r < rows; r++) dst[k * MR + r] = src[r];
    }
    if (rows < MR)
        for (int64_t k = 0; k < kc; k++)
            for (int64_t r = rows; r < MR; r++) dst[k * MR + r] = 0.0f;
#endif
}

/* Columns [j0, j0+cols) of op(B), k in [p0, p0+kc), into one NR-column panel (kc, NR). */
static void pack_b_panel(int trans_b, const float *B, int64_t ldb, int64_t p0, int64_t kc,
                         int64_t j0, int64_t cols, int64_t NR, float *restrict dst) {
    if (!trans_b) {
#if defined(__AVX512F__)
        /* whole vectors, masked at the right edge (the byte loop below
         * became a libc memcpy call per 128-byte row) */
        for (int64_t k = 0; k < kc; k++) {
            const float *src = B + (p0 + k) * ldb + j0;
            float *d = dst + k * NR;
            for (int64_t j = 0; j < NR; j += 16) {
                int64_t w = cols - j;
                __mmask16 m = w >= 16 ? (__mmask16)0xFFFF : w <= 0 ? (__mmask16)0 : (__mmask16)((1u << w) - 1u);
                _mm512_store_ps(d + j, _mm512_maskz_loadu_ps(m, src + j));
            }
        }
#else
        for (int64_t k = 0; k < kc; k++) {
            const float *src = B + (p0 + k) * ldb + j0;
            float *d = dst + k * NR;
            int64_t j = 0;
            for (; j < cols; j++) d[j] = src[j];
            for (; j < NR; j++) d[j] = 0.0f;
        }
#endif
    } else {
        pack_transposed(B + j0 * ldb + p0, ldb, NULL, cols, kc, NR, dst);
    }
}

/* C = beta * C (beta == 0: zeros, whatever C held). */
static void scale_c(int64_t M, int64_t N, float beta, float *C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f) memset(c, 0, (size_t)N * sizeof(float));
        else if (beta != 1.0f) for (int64_t j = 0; j < N; j++) c[j] *= beta;
    }
}

static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

typedef struct gemm_args {
    int ta, tb;
    int64_t M, N, K;
    float alpha;
    const float *A; int64_t lda;
    const int64_t *ar; /* NULL, or the stored rows of A by index: row r at A + ar[r] * lda */
    const float *B; int64_t ldb;
    float beta;
    float *C; int64_t ldc;
} gemm_args;

/* Packed block of A (mc rows from ic, kc from pc) against all of packed B
 * (nc columns): the two loops around the micro-kernel, tiles [t0, t1) of the
 * (jr, ir) grid, jr outer so a B micro-panel stays in L1 across ir. */
static void macro_kernel(const kernel_t *kern, const gemm_args *g, const float *Ap, const float *Bp,
                         int64_t ic, int64_t mc, int64_t jc, int64_t nc, int64_t kc, float beta,
                         int64_t t0, int64_t t1) {
    const int64_t MR = kern->mr, NR = kern->nr, nir = (mc + MR - 1) / MR;
    for (int64_t t = t0; t < t1; t++) {
        int64_t jr = t / nir, ir = t % nir;
        int64_t mr = min64(MR, mc - ir * MR), nr = min64(NR, nc - jr * NR);
        float *c = g->C + (ic + ir * MR) * g->ldc + jc + jr * NR;
        const float *a = Ap + ir * MR * kc, *b = Bp + jr * NR * kc;
        if (mr == MR && nr == NR) kern->fn(kc, a, b, c, g->ldc, g->alpha, beta);
        else edge_kernel(kern, kc, a, b, c, g->ldc, g->alpha, beta, mr, nr);
    }
}

static void pack_a_block(const kernel_t *kern, const gemm_args *g, int64_t ic, int64_t mc, int64_t pc,
                         int64_t kc, float *Ap, int64_t ir0, int64_t ir1) {
    const int64_t MR = kern->mr;
    for (int64_t ir = ir0; ir < ir1; ir++)
        pack_a_panel(g->ta, g->A, g->lda, g->ar, ic + ir * MR, min64(MR, mc - ir * MR), pc, kc, MR, Ap + ir * MR * kc);
}

static void pack_b_block(const kernel_t *kern, const gemm_args *g, int64_t pc, int64_t kc, int64_t jc,
                         int64_t nc, float *Bp, int64_t jr0, int64_t jr1) {
    const int64_t NR = kern->nr;
    for (int64_t jr = jr0; jr < jr1; jr++)
        pack_b_panel(g->tb, g->B, g->ldb, pc, kc, jc + jr * NR, min64(NR, nc - jr * NR), NR, Bp + jr * NR * kc);
}

/* The whole product on the calling thread. */
static void gemm_serial(const kernel_t *kern, const gemm_args *g, int64_t mc_max, int64_t kc_max,
                        int64_t nc_max, float *Ap, float *Bp) {
    for (int64_t jc = 0; jc < g->N; jc += nc_max) {
        int64_t nc = min64(nc_max, g->N - jc), njr = (nc + kern->nr - 1) / kern->nr;
        for (int64_t pc = 0; pc < g->K; pc += kc_max) {
            int64_t kc = min64(kc_max, g->K - pc);
            float beta = pc == 0 ? g->beta : 1.0f;
            pack_b_block(kern, g, pc, kc, jc, nc, Bp, 0, njr);
            for (int64_t ic = 0; ic < g->M; ic += mc_max) {
                int64_t mc = min64(mc_max, g->M - ic), nir = (mc + kern->mr - 1) / kern->mr;
                pack_a_block(kern, g, ic, mc, pc, kc, Ap, 0, nir);
                macro_kernel(kern, g, Ap, Bp, ic, mc, jc, nc, kc, beta, 0, njr * nir);
            }
        }
    }
}

static mfs_status gemv_rows(const gemm_args *g, int nt);

mfs_status mfs__sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                      float alpha, const float *A, int64_t lda, const float *B,
                      int64_t ldb, float beta, float *C, int64_t ldc) {
    return mfs__sgemm_rows(trans_a, trans_b, M, N, K, alpha, A, lda, NULL, B, ldb, beta, C, ldc);
}

mfs_status mfs__sgemm_rows(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                           float alpha, const float *A, int64_t lda, const int64_t *a_rows, const float *B,
                           int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M <= 0 || N <= 0) return MFS_OK;
    if (K <= 0 || alpha == 0.0f) { scale_c(M, N, beta, C, ldc); return MFS_OK; }
    gemm_args g = {trans_a, trans_b, M, N, K, alpha, A, lda, a_rows, B, ldb, beta, C, ldc};
    /* Few columns (K-Means distances to a handful of centers): a 16-wide
     * kernel wastes less of each vector than the 32-wide one. */
    const kernel_t *kern = N <= KERNEL_NARROW.nr ? &KERNEL_NARROW : &KERNEL_WIDE;
    const int64_t MR = kern->mr, NR = kern->nr;

    int nt = mfs__num_threads();
    if (nt < 1) nt = 1;
#ifdef _OPENMP
    /* Inside a caller's parallel region a nested one gets a team of one:
     * plan the serial product rather than slices for absent threads. */
    if (omp_in_parallel()) nt = 1;
#endif
    double flops = 2.0 * (double)M * (double)N * (double)K;
    /* Below this a parallel region costs more than it saves, except for the
     * barrier-free private splits (SPLIT_N / SPLIT_MP below), which pay off
     * from about 5e5 (a network's output layer, 128 x 10 x 256). */
    if (flops < 5e5) nt = 1;
    if (N <= GEMV_MAX_N && !trans_a) return gemv_rows(&g, nt);

    /* Block sizes for this problem: never larger than it needs; K is cut into
     * equal kc blocks (no sliver at the end). */
    int64_t nkb = (K + KC - 1) / KC;
    int64_t kc_max = round_up((K + nkb - 1) / nkb, 4);
    int64_t nc_max = min64(NC, round_up(N, NR));
    int64_t n_ic = (M + MC - 1) / MC;
    /* Parallel strategy:
     *  - M spans several MC blocks: threads take whole A blocks (each packs its
     *    own, no barrier between blocks), sharing one packed B (GotoBLAS).
     *  - M*N small but K long (Gram matrices X^T X): each thread takes a slice
     *    of K into a private C, then the slices are summed.
     *  - otherwise: one shared packed A block, threads split its (jr, ir) tiles. */
    enum { SERIAL, SPLIT_M, SPLIT_K, SPLIT_TILES, SPLIT_N, SPLIT_MP } mode = SERIAL;
    if (nt > 1) {
        /* Wide and tall enough: each thread runs a private GEMM on its own
         * slice of columns (its own packed B stays in its own L2, no barrier
         * at all; A is packed once per thread, O(MK) against O(MNK/nt)). */
        if (N >= 256 * nt && M >= 4 * MC) mode = SPLIT_N;
        else if (n_ic >= 2 * nt) mode = SPLIT_M;
        else if (M * N <= 256 * 256 && K >= 2 * KC * nt) mode = SPLIT_K; /* no barrier per K block */
        else {
            /* Small products (a network's layers: 128 x 256 x 784): the
             * shared-tile split pays a barrier per packed block, which cost
             * more than the second thread gained (128 x 256 x 256 ran at 53
             * GFLOP/s on 2 threads against 118 on one). Instead each thread
             * runs a private GEMM on a slice of columns (packing all of A
             * again) or of rows (packing all of B again), whichever repeats
             * less packing, when the slices are whole panels. */
            int can_n = N >= 2 * NR * nt, can_m = M >= 2 * MR * nt;
            if (can_n && (!can_m || M * K <= K * N)) mode = SPLIT_N;
            else if (can_m) mode = SPLIT_MP;
            else mode = SPLIT_TILES;
        }
        if (flops < 4e6 && mode != SPLIT_N && mode != SPLIT_MP) { mode = SERIAL; nt = 1; }
    }
    if ((mode == SPLIT_N || mode == SPLIT_MP) && M < MC && kc_max > KC / 2) {
        /* small private products: half-size K blocks halve the packed
         * buffers (every thread holds its own) at no measured cost, and keep
         * a 32-wide B micro-panel in L1 */
        nkb = (K + KC / 2 - 1) / (KC / 2);
        kc_max = round_up((K + nkb - 1) / nkb, 4);
    }
    if (mode == SPLIT_M) n_ic = round_up(n_ic, nt); /* whole rounds of blocks */
    int64_t mc_max = round_up((M + n_ic - 1) / n_ic, MR);
    if (mc_max > round_up(MC, MR)) mc_max = round_up(MC, MR);
    if (mode == SPLIT_K) { /* each thread's slice of K is a problem of its own */
        int64_t ks = (K + nt - 1) / nt;
        nkb = (ks + KC - 1) / KC;
        kc_max = round_up((ks + nkb - 1) / nkb, 4);
    }

    int64_t n_slice = 0; /* SPLIT_N: columns per thread, whole NR panels */
    if (mode == SPLIT_N) {
        n_slice = round_up((N + nt - 1) / nt, NR);
        nc_max = min64(NC, n_slice);
    }
    int64_t m_slice = 0; /* SPLIT_MP: rows per thread, whole MR panels */
    if (mode == SPLIT_MP) {
        m_slice = round_up((M + nt - 1) / nt, MR);
        mc_max = min64(mc_max, m_slice);
    }
    int n_ap = (mode == SPLIT_M || mode == SPLIT_K || mode == SPLIT_N || mode == SPLIT_MP) ? nt : 1;
    int n_bp = (mode == SPLIT_K || mode == SPLIT_N || mode == SPLIT_MP) ? nt : 1;
    size_t ap_sz = (size_t)(mc_max * kc_max), bp_sz = (size_t)(kc_max * nc_max);
    size_t tmp_sz = mode == SPLIT_K ? (size_t)(M * N) * (size_t)(nt - 1) : 0;
    float *buf = NULL;
    MFS_TRY(mfs__alloc((void **)&buf, (ap_sz * n_ap + bp_sz * n_bp + tmp_sz) * sizeof(float),
                       "mfs_sgemm", "packing buffers"));
    float *Ap = buf, *Bp = buf + ap_sz * n_ap, *Tmp = Bp + bp_sz * n_bp;

    if (mode == SERIAL) {
        gemm_serial(kern, &g, mc_max, kc_max, nc_max, Ap, Bp);
    } else if (mode == SPLIT_N) {
#pragma omp parallel for num_threads(nt) schedule(static, 1)
        for (int t = 0; t < nt; t++) {
            int64_t j0 = min64((int64_t)t * n_slice, N), j1 = min64(j0 + n_slice, N);
            if (j1 <= j0) continue;
            gemm_args gt = g;
            gt.N = j1 - j0;
            gt.B = trans_b ? B + j0 * ldb : B + j0;
            gt.C = C + j0;
            gemm_serial(kern, &gt, mc_max, kc_max, nc_max, Ap + ap_sz * t, Bp + bp_sz * t);
        }
    } else if (mode == SPLIT_MP) {
#pragma omp parallel for num_threads(nt) schedule(static, 1)
        for (int t = 0; t < nt; t++) {
            int64_t i0 = min64((int64_t)t * m_slice, M), i1 = min64(i0 + m_slice, M);
            if (i1 <= i0) continue;
            gemm_args gt = g;
            gt.M = i1 - i0;
            if (trans_a) gt.A = A + i0;
            else if (g.ar) gt.ar = g.ar + i0;
            else gt.A = A + i0 * lda;
            gt.C = C + i0 * ldc;
            gemm_serial(kern, &gt, mc_max, kc_max, nc_max, Ap + ap_sz * t, Bp + bp_sz * t);
        }
    } else if (mode == SPLIT_K) {
#pragma omp parallel num_threads(nt)
        {
            /* The team may be smaller than asked (nested in a caller's parallel
             * region): slice K by the threads actually present. */
            int t = 0, nth = 1;
#ifdef _OPENMP
            t = omp_get_thread_num();
            nth = omp_get_num_threads();
#endif
            int64_t ks = (K + nth - 1) / nth;
            int64_t k0 = min64((int64_t)t * ks, K), k1 = min64(k0 + ks, K);
            gemm_args gt = g;
            gt.K = k1 - k0;
            if (!trans_a) gt.A = A + k0;
            else if (g.ar) gt.ar = g.ar + k0;
            else gt.A = A + k0 * lda;
            gt.B = trans_b ? B + k0 : B + k0 * ldb;
            if (t > 0) { gt.C = Tmp + (size_t)(t - 1) * (size_t)(M * N); gt.ldc = N; gt.beta = 0.0f; }
            if (gt.K > 0) gemm_serial(kern, &gt, mc_max, kc_max, nc_max, Ap + ap_sz * t, Bp + bp_sz * t);
            else scale_c(M, N, gt.beta, gt.C, gt.ldc);
#pragma omp barrier
#pragma omp for schedule(static)
            for (int64_t i = 0; i < M; i++)
                for (int s = 1; s < nth; s++) {
                    const float *src = Tmp + (size_t)(s - 1) * (size_t)(M * N) + i * N;
                    float *dst = C + i * ldc;
                    for (int64_t j = 0; j < N; j++) dst[j] += src[j];
                }
        }
    } else {
#pragma omp parallel num_threads(nt)
        {
            int t = 0;
#ifdef _OPENMP
            t = omp_get_thread_num();
#endif
            for (int64_t jc = 0; jc < N; jc += nc_max) {
                int64_t nc = min64(nc_max, N - jc), njr = (nc + NR - 1) / NR;
                for (int64_t pc = 0; pc < K; pc += kc_max) {
                    int64_t kc = min64(kc_max, K - pc);
                    float beta_p = pc == 0 ? beta : 1.0f;
#pragma omp for schedule(static)
                    for (int64_t jr = 0; jr < njr; jr++) pack_b_block(kern, &g, pc, kc, jc, nc, Bp, jr, jr + 1);
                    if (mode == SPLIT_M) {
                        float *Apt = Ap + ap_sz * t;
#pragma omp for schedule(dynamic, 1)
                        for (int64_t ic = 0; ic < M; ic += mc_max) {
                            int64_t mc = min64(mc_max, M - ic), nir = (mc + MR - 1) / MR;
                            pack_a_block(kern, &g, ic, mc, pc, kc, Apt, 0, nir);
                            macro_kernel(kern, &g, Apt, Bp, ic, mc, jc, nc, kc, beta_p, 0, njr * nir);
                        }
                    } else {
                        for (int64_t ic = 0; ic < M; ic += mc_max) {
                            int64_t mc = min64(mc_max, M - ic), nir = (mc + MR - 1) / MR;
#pragma omp for schedule(static)
                            for (int64_t ir = 0; ir < nir; ir++) pack_a_block(kern, &g, ic, mc, pc, kc, Ap, ir, ir + 1);
#pragma omp for schedule(dynamic, 4)
                            for (int64_t tt = 0; tt < njr * nir; tt++)
                                macro_kernel(kern, &g, Ap, Bp, ic, mc, jc, nc, kc, beta_p, tt, tt + 1);
                        }
                    }
                }
            }
        }
    }
    mfs__free(buf);
    return MFS_OK;
}

/* ---- matrix-vector products ----------------------------------------------
 * C (M, N) = alpha op(B)^T-dots + beta C for N <= GEMV_MAX_N and A not
 * transposed: a linear model's predict (N = 1 output). The packed GEMM would
 * copy A with a transpose and run a 16-wide kernel on one useful column, so
 * it computed mostly padding; here each row of A is read once, straight from
 * memory, and dotted with the N columns of op(B). Each C entry is one dot
 * product in a fixed order: the result does not depend on M, the row's
 * position or the thread count. */
static float dot_k(const float *restrict a, const float *restrict b, int64_t K) {
#if defined(__AVX512F__)
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 64 <= K; k += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k), _mm512_loadu_ps(b + k), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k + 16), _mm512_loadu_ps(b + k + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k + 32), _mm512_loadu_ps(b + k + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k + 48), _mm512_loadu_ps(b + k + 48), s3);
    }
    for (; k + 16 <= K; k += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k), _mm512_loadu_ps(b + k), s0);
    if (k < K) {
        const __mmask16 m = (__mmask16)((1u << (K - k)) - 1u);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + k), _mm512_maskz_loadu_ps(m, b + k), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
#else
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t k = 0; k < K; k++) s += a[k] * b[k];
    return s;
#endif
}

static mfs_status gemv_rows(const gemm_args *g, int nt) {
    const int64_t M = g->M, N = g->N, K = g->K;
    /* the N columns of op(B), each contiguous: rows of B when transposed,
     * else a small copy */
    const float *cols = g->B;
    int64_t ldcol = g->ldb;
    float *tmp = NULL;
    if (!g->tb) {
        MFS_TRY(mfs__alloc((void **)&tmp, (size_t)(N * K) * sizeof(float), "mfs_sgemm", "a column of B"));
        for (int64_t j = 0; j < N; j++)
            for (int64_t k = 0; k < K; k++) tmp[j * K + k] = g->B[k * g->ldb + j];
        cols = tmp;
        ldcol = K;
    }
#pragma omp parallel for schedule(static) num_threads(nt) if (M * K >= 65536)
    for (int64_t i = 0; i < M; i++) {
        const float *a = g->A + (g->ar ? g->ar[i] : i) * g->lda;
        float *c = g->C + i * g->ldc;
        for (int64_t j = 0; j < N; j++) {
            const float v = g->alpha * dot_k(a, cols + j * ldcol, K);
            c[j] = g->beta == 0.0f ? v : v + g->beta * c[j];
        }
    }
    mfs__free(tmp);
    return MFS_OK;
}

/* ---- public entry point --------------------------------------------------- */

mfs_status mfs_sgemm(int32_t trans_a, int32_t trans_b, int64_t M, int64_t N, int64_t K,
                     float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                     float beta, float *C, int64_t ldc) {
    if (trans_a != 0 && trans_a != 1)
        return mfs__error(MFS_E_INVALID_ARG, "mfs_sgemm: trans_a is %d, must be 0 or 1", (int)trans_a);
    if (trans_b != 0 && trans_b != 1)
        return mfs__error(MFS_E_INVALID_ARG, "mfs_sgemm: trans_b is %d, must be 0 or 1", (int)trans_b);
    if (M < 0) return mfs__error(MFS_E_INVALID_ARG, "mfs_sgemm: M is %lld, must be >= 0", (long long)M);
    if (N < 0) return mfs__error(MFS_E_INVALID_ARG, "mfs_sgemm: N is %lld, must be >= 0", (long long)N);
    if (K < 0) return mfs__error(MFS_E_INVALID_ARG, "mfs_sgemm: K is %lld, must be >= 0", (long long)K);
    /* Row lengths of the stored matrices: A is (M, K) or (K, M), B is (K, N) or (N, K). */
    int64_t a_cols = trans_a ? M : K, b_cols = trans_b ? K : N;
    int64_t a_rows = trans_a ? K : M, b_rows = trans_b ? N : K;
    if (lda < (a_cols > 1 ? a_cols : 1))
        return mfs__error(MFS_E_INVALID_ARG,
                          "mfs_sgemm: lda is %lld, smaller than the %lld columns of A (trans_a=%d)",
                          (long long)lda, (long long)a_cols, (int)trans_a);
    if (ldb < (b_cols > 1 ? b_cols : 1))
        return mfs__error(MFS_E_INVALID_ARG,
                          "mfs_sgemm: ldb is %lld, smaller than the %lld columns of B (trans_b=%d)",
                          (long long)ldb, (long long)b_cols, (int)trans_b);
    if (ldc < (N > 1 ? N : 1))
        return mfs__error(MFS_E_INVALID_ARG, "mfs_sgemm: ldc is %lld, smaller than the %lld columns of C",
                          (long long)ldc, (long long)N);
    if (C == NULL && M > 0 && N > 0) return mfs__error(MFS_E_INVALID_ARG, "mfs_sgemm: C is NULL");
    if (A == NULL && a_rows > 0 && a_cols > 0) return mfs__error(MFS_E_INVALID_ARG, "mfs_sgemm: A is NULL");
    if (B == NULL && b_rows > 0 && b_cols > 0) return mfs__error(MFS_E_INVALID_ARG, "mfs_sgemm: B is NULL");
    /* Products of sizes must fit: the indexing is int64. */
    size_t tmp;
    if (mfs__mul_overflows((size_t)(a_rows > 0 ? a_rows : 0), (size_t)lda, &tmp) ||
        mfs__mul_overflows((size_t)(b_rows > 0 ? b_rows : 0), (size_t)ldb, &tmp) ||
        mfs__mul_overflows((size_t)M, (size_t)ldc, &tmp))
        return mfs__error(MFS_E_OVERFLOW, "mfs_sgemm: a matrix of %lld x %lld elements overflows",
                          (long long)M, (long long)ldc);
    return mfs__sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
