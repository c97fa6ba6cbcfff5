// Tests of src_c/linalg against naive double-precision loops: GEMM (all
// transposes, edge tiles, alpha/beta, threads), Gram, distances, Cholesky and
// triangular solves, least squares, the symmetric eigensolver, thin and
// randomized SVD, and the argument checks of the public mfs_sgemm.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "core/internal.h"
#include "linalg/linalg.h"
#include "mfs/linalg.h"
}

namespace {

std::vector<float> randn_f(size_t n, unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> v(n);
    for (auto &x : v) x = d(g);
    return v;
}
std::vector<double> randn_d(size_t n, unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<double> d(0.0, 1.0);
    std::vector<double> v(n);
    for (auto &x : v) x = d(g);
    return v;
}

// Reference C = alpha op(A) op(B) + beta C in double; beta == 0 ignores C.
std::vector<double> gemm_ref(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                             const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                             const float *C, int64_t ldc) {
    std::vector<double> out((size_t)(M * N));
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0.0;
            for (int64_t k = 0; k < K; k++) {
                double a = ta ? A[k * lda + i] : A[i * lda + k];
                double b = tb ? B[j * ldb + k] : B[k * ldb + j];
                s += a * b;
            }
            double c = beta == 0.0f ? 0.0 : (double)beta * C[i * ldc + j];
            out[(size_t)(i * N + j)] = (double)alpha * s + c;
        }
    return out;
}

// Runs one GEMM case against the reference. The error bound: each entry is a
// float32 dot product of length K, whose rounding error is at most about
// K * eps32 * sum|a||b| (in practice sqrt(K) * eps32, blocked summation); we
// allow 4 * (K+2) * eps32 * (|alpha| sum|a b| + |beta c|), a worst-case bound.
void check_gemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, float beta,
                int threads, int64_t pad = 0, bool nan_c = false) {
    int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    int64_t arows = ta ? K : M, brows = tb ? N : K;
    auto A = randn_f((size_t)std::max<int64_t>(arows * lda, 1), 1 + (unsigned)(M * 7 + K));
    auto B = randn_f((size_t)std::max<int64_t>(brows * ldb, 1), 2 + (unsigned)(N * 3 + K));
    auto C = randn_f((size_t)std::max<int64_t>(M * ldc, 1), 3);
    if (nan_c) std::fill(C.begin(), C.end(), std::numeric_limits<float>::quiet_NaN());
    auto ref = gemm_ref(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
    const auto C0 = C;
    mfs_set_num_threads(threads);
    ASSERT_EQ(mfs_sgemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc), MFS_OK)
        << mfs_last_error();
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double mag = 0.0;
            for (int64_t k = 0; k < K; k++) {
                double a = ta ? A[(size_t)(k * lda + i)] : A[(size_t)(i * lda + k)];
                double b = tb ? B[(size_t)(j * ldb + k)] : B[(size_t)(k * ldb + j)];
                mag += std::fabs(a * b);
            }
            mag = std::fabs(alpha) * mag + (beta == 0.0f ? 0.0 : std::fabs((double)beta * C0[(size_t)(i * ldc + j)])) + 1.0;
            double tol = 4.0 * (double)(K + 2) * 1.2e-7 * mag;
            double got = C[(size_t)(i * ldc + j)];
            ASSERT_NEAR(got, ref[(size_t)(i * N + j)], tol)
                << "ta=" << ta << " tb=" << tb << " M=" << M << " N=" << N << " K=" << K << " at (" << i
                << "," << j << ") threads=" << threads;
        }
    // Padding columns of C must be untouched (they still hold the initial draws / NaN).
    if (pad > 0 && M > 0 && !nan_c) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = N; j < ldc; j++) ASSERT_EQ(C[(size_t)(i * ldc + j)], C0[(size_t)(i * ldc + j)]);
    }
}

}  // namespace

TEST(Sgemm, SizesTransposesThreads) {
    const int64_t sizes[][3] = {{1, 1, 1},   {1, 7, 1},    {7, 1, 1},    {1, 1, 9},     {1, 40, 3},
                                {40, 1, 3},  {17, 33, 5},  {12, 32, 384}, {13, 33, 385}, {11, 31, 383},
                                {25, 65, 1}, {100, 8, 100}, {64, 64, 800}, {200, 70, 30}, {3, 300, 17}};
    for (auto &s : sizes)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int threads : {1, 2}) check_gemm(ta, tb, s[0], s[1], s[2], 1.0f, 0.0f, threads);
}

// Rows of A by index (a network's first layer reading its batch in place):
// exactly the product of the gathered copy, for both transposes, on shapes
// that take every parallel split (private rows/columns, shared tiles, K
// slices) and with repeated and out-of-order indices.
TEST(Sgemm, RowsByIndexEqualTheGatheredCopy) {
    const int64_t shapes[][3] = {{1, 1, 1}, {7, 33, 5}, {128, 256, 784}, {128, 10, 256}, {784, 256, 128},
                                 {13, 300, 17}, {40, 40, 3000}, {100, 8, 100}, {300, 1, 100}, {50, 3, 70}};
    std::mt19937 g(3);
    for (auto &s : shapes)
        for (int ta = 0; ta < 2; ta++)
            for (int threads : {1, 2, 3}) {
                const int64_t M = s[0], N = s[1], K = s[2];
                const int64_t nidx = ta ? K : M, width = ta ? M : K, pool = nidx + 5;
                std::vector<float> X = randn_f((size_t)(pool * (width + 3)), 7), B = randn_f((size_t)(K * N), 8);
                std::vector<int64_t> idx((size_t)nidx);
                for (auto &v : idx) v = (int64_t)(g() % (uint64_t)pool);  // repeats, any order
                std::vector<float> A((size_t)(nidx * width));
                for (int64_t r = 0; r < nidx; r++)
                    std::memcpy(&A[(size_t)(r * width)], &X[(size_t)(idx[r] * (width + 3))], sizeof(float) * width);
                std::vector<float> want((size_t)(M * N)), got((size_t)(M * N), 5.0f);
                ASSERT_EQ(mfs_set_num_threads(threads), MFS_OK);
                ASSERT_EQ(mfs__sgemm(ta, 0, M, N, K, 1.0f, A.data(), width, B.data(), N, 0.0f, want.data(), N), MFS_OK);
                ASSERT_EQ(mfs__sgemm_rows(ta, 0, M, N, K, 1.0f, X.data(), width + 3, idx.data(), B.data(), N, 0.0f,
                                          got.data(), N),
                          MFS_OK);
                for (size_t i = 0; i < got.size(); i++)
                    ASSERT_EQ(got[i], want[i]) << M << "x" << N << "x" << K << " ta " << ta << " threads " << threads;
            }
    mfs_set_num_threads(1);
}

TEST(Sgemm, AlphaBetaAndStrides) {
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            check_gemm(ta, tb, 37, 45, 29, 0.5f, 1.0f, 2);
            check_gemm(ta, tb, 37, 45, 29, -2.0f, 0.25f, 1);
            check_gemm(ta, tb, 37, 45, 29, 1.5f, -1.0f, 2, /*pad=*/5);
            check_gemm(ta, tb, 14, 50, 600, 1.0f, 2.0f, 2, /*pad=*/3);
        }
}

TEST(Sgemm, BetaZeroIgnoresNaN) {
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int threads : {1, 2}) {
                check_gemm(ta, tb, 19, 37, 11, 1.0f, 0.0f, threads, 0, /*nan_c=*/true);
                check_gemm(ta, tb, 130, 70, 400, 1.0f, 0.0f, threads, 2, /*nan_c=*/true);
            }
    // K == 0 and alpha == 0 reduce to C = beta C: with beta 0 that is zeros, NaN or not.
    std::vector<float> C(6, std::numeric_limits<float>::quiet_NaN()), A(6, 1.0f), B(6, 1.0f);
    ASSERT_EQ(mfs_sgemm(0, 0, 2, 3, 0, 1.0f, A.data(), 1, B.data(), 3, 0.0f, C.data(), 3), MFS_OK);
    for (float c : C) EXPECT_EQ(c, 0.0f);
    std::fill(C.begin(), C.end(), std::numeric_limits<float>::quiet_NaN());
    ASSERT_EQ(mfs_sgemm(0, 0, 2, 3, 2, 0.0f, A.data(), 2, B.data(), 3, 0.0f, C.data(), 3), MFS_OK);
    for (float c : C) EXPECT_EQ(c, 0.0f);
    std::fill(C.begin(), C.end(), 2.0f);
    ASSERT_EQ(mfs_sgemm(0, 0, 2, 3, 0, 1.0f, A.data(), 1, B.data(), 3, 3.0f, C.data(), 3), MFS_OK);
    for (float c : C) EXPECT_EQ(c, 6.0f);  // exact: 3 * 2
}

TEST(Sgemm, LargeMultiBlock) {
    // Crosses the MC/KC/NC block boundaries on both threads settings.
    check_gemm(0, 0, 390, 270, 800, 1.0f, 0.5f, 2);
    check_gemm(1, 1, 390, 270, 800, 1.0f, 0.0f, 1);
}

TEST(Sgemm, SkinnyShapes) {
    check_gemm(0, 1, 3000, 8, 100, -2.0f, 0.0f, 2);   // K-Means distances: many points, few centers
    check_gemm(1, 0, 40, 40, 20000, 1.0f, 0.0f, 2);   // Gram X^T X: long K (K split over threads)
    check_gemm(0, 1, 13, 17, 7000, 0.5f, -1.5f, 2, 3); // K split with beta and strides
    check_gemm(1, 1, 9, 5, 7001, 1.0f, 0.0f, 2, 0, /*nan_c=*/true);
    check_gemm(1, 0, 2500, 16, 33, 1.0f, 2.0f, 2, 1);  // narrow kernel, M split, beta
    check_gemm(0, 0, 2500, 3, 33, 1.0f, 0.0f, 1);
}

// Up to GEMV_MAX_N (4) columns of C with A not transposed (a linear model's
// predict) take the dot-product path: every K tail of the 64- and 16-wide
// loops, both layouts of B, alpha, beta, strides and a NaN C under beta 0.
TEST(Sgemm, FewColumnsDotProducts) {
    for (int64_t N = 1; N <= 5; N++)  // 5: just past the path, the packed GEMM
        for (int64_t K : {1, 15, 16, 17, 63, 64, 65, 100, 1000})
            for (int tb = 0; tb < 2; tb++) {
                check_gemm(0, tb, 301, N, K, 1.0f, 0.0f, 2);
                check_gemm(0, tb, 7, N, K, -0.5f, 1.5f, 1, /*pad=*/2);
            }
    for (int tb = 0; tb < 2; tb++)
        for (int threads : {1, 2}) check_gemm(0, tb, 2000, 2, 90, 1.0f, 0.0f, threads, 1, /*nan_c=*/true);
}

// On that path a row's result is one dot product in a fixed order: the same
// bits whatever the number of rows beside it and the thread count.
TEST(Sgemm, FewColumnsRowResultIndependentOfBatch) {
    const int64_t M = 5000, K = 100, N = 2;
    auto A = randn_f((size_t)(M * K), 11), B = randn_f((size_t)(N * K), 12);
    std::vector<float> all((size_t)(M * N)), one((size_t)N);
    ASSERT_EQ(mfs_set_num_threads(2), MFS_OK);
    ASSERT_EQ(mfs_sgemm(0, 1, M, N, K, 1.0f, A.data(), K, B.data(), K, 0.0f, all.data(), N), MFS_OK);
    ASSERT_EQ(mfs_set_num_threads(1), MFS_OK);
    for (int64_t i : {(int64_t)0, (int64_t)1, (int64_t)2499, M - 1}) {
        ASSERT_EQ(mfs_sgemm(0, 1, 1, N, K, 1.0f, A.data() + i * K, K, B.data(), K, 0.0f, one.data(), N), MFS_OK);
        for (int64_t j = 0; j < N; j++) ASSERT_EQ(one[(size_t)j], all[(size_t)(i * N + j)]) << "row " << i;
    }
}

TEST(Sgemm, ConcurrentCallersFromTwoThreads) {
    // The GEMM keeps no static scratch: two application threads may call it at once
    // (each runs its own OpenMP team), covering the K-split and M-split paths.
    std::thread t1([] { check_gemm(1, 0, 30, 30, 9000, 1.0f, 0.0f, 2); });
    std::thread t2([] { check_gemm(0, 1, 2000, 40, 50, 1.0f, 0.5f, 2); });
    t1.join();
    t2.join();
}

TEST(Sgemm, BadArguments) {
    float a[16] = {0}, b[16] = {0}, c[16] = {0};
    struct Case {
        int ta, tb;
        int64_t M, N, K, lda, ldb, ldc;
        const float *A, *B;
        float *C;
        const char *needle;
    } cases[] = {
        {2, 0, 2, 2, 2, 2, 2, 2, a, b, c, "trans_a"},
        {0, -1, 2, 2, 2, 2, 2, 2, a, b, c, "trans_b"},
        {0, 0, -1, 2, 2, 2, 2, 2, a, b, c, "M is -1"},
        {0, 0, 2, -3, 2, 2, 2, 2, a, b, c, "N is -3"},
        {0, 0, 2, 2, -2, 2, 2, 2, a, b, c, "K is -2"},
        {0, 0, 2, 2, 3, 2, 2, 2, a, b, c, "lda is 2"},
        {1, 0, 4, 2, 2, 3, 2, 2, a, b, c, "lda is 3"},
        {0, 0, 2, 3, 2, 2, 2, 3, a, b, c, "ldb is 2"},
        {0, 1, 2, 2, 4, 4, 3, 2, a, b, c, "ldb is 3"},
        {0, 0, 2, 3, 2, 2, 3, 2, a, b, c, "ldc is 2"},
        {0, 0, 2, 2, 2, 2, 2, 2, nullptr, b, c, "A is NULL"},
        {0, 0, 2, 2, 2, 2, 2, 2, a, nullptr, c, "B is NULL"},
        {0, 0, 2, 2, 2, 2, 2, 2, a, b, nullptr, "C is NULL"},
    };
    for (auto &t : cases) {
        EXPECT_EQ(mfs_sgemm(t.ta, t.tb, t.M, t.N, t.K, 1.0f, t.A, t.lda, t.B, t.ldb, 0.0f, t.C, t.ldc),
                  MFS_E_INVALID_ARG)
            << t.needle;
        std::string msg = mfs_last_error();
        EXPECT_NE(msg.find("mfs_sgemm"), std::string::npos) << msg;
        EXPECT_NE(msg.find(t.needle), std::string::npos) << msg;
    }
    // Empty products are valid with NULL pointers.
    EXPECT_EQ(mfs_sgemm(0, 0, 0, 0, 0, 1.0f, nullptr, 1, nullptr, 1, 0.0f, nullptr, 1), MFS_OK);
}

TEST(Linalg, GramColMeanRowNorm) {
    for (int threads : {1, 2}) {
        mfs_set_num_threads(threads);
        for (auto nd : {std::pair<int64_t, int64_t>{1, 1}, {5, 3}, {300, 17}, {1000, 40}}) {
            int64_t n = nd.first, d = nd.second;
            auto X = randn_f((size_t)(n * d), 11);
            std::vector<float> G((size_t)(d * d), std::numeric_limits<float>::quiet_NaN());
            ASSERT_EQ(mfs__gram(X.data(), n, d, G.data()), MFS_OK);
            for (int64_t i = 0; i < d; i++)
                for (int64_t j = 0; j < d; j++) {
                    double s = 0.0, mag = 0.0;
                    for (int64_t k = 0; k < n; k++) {
                        s += (double)X[k * d + i] * X[k * d + j];
                        mag += std::fabs((double)X[k * d + i] * X[k * d + j]);
                    }
                    // float32 accumulation over n terms: worst case n * eps32 * sum|x_i x_j|.
                    ASSERT_NEAR(G[i * d + j], s, 2.0 * (n + 2) * 1.2e-7 * mag);
                    ASSERT_EQ(G[i * d + j], G[j * d + i]);  // exactly symmetric by contract
                }
            std::vector<double> mean((size_t)d);
            mfs__col_mean(X.data(), n, d, mean.data());
            std::vector<float> nrm((size_t)n);
            mfs__row_sqnorm(X.data(), n, d, nrm.data());
            for (int64_t j = 0; j < d; j++) {
                double s = 0.0;
                for (int64_t i = 0; i < n; i++) s += X[i * d + j];
                EXPECT_NEAR(mean[(size_t)j], s / n, 1e-12);  // both double sums of the same terms
            }
            for (int64_t i = 0; i < n; i++) {
                double s = 0.0;
                for (int64_t j = 0; j < d; j++) s += (double)X[i * d + j] * X[i * d + j];
                EXPECT_NEAR(nrm[(size_t)i], s, 1e-6 * s);  // double sum rounded once to float
            }
        }
    }
}

TEST(Linalg, SqDist) {
    for (int threads : {1, 2}) {
        mfs_set_num_threads(threads);
        int64_t m = 57, n = 23, d = 13;
        auto X = randn_f((size_t)(m * d), 5), Y = randn_f((size_t)(n * d), 6);
        for (int64_t j = 0; j < d; j++) Y[j] = X[j];  // D[0][0] == 0 exactly: tests the clamp
        std::vector<float> D((size_t)(m * n));
        ASSERT_EQ(mfs_pairwise_sqdist(X.data(), m, Y.data(), n, d, D.data()), MFS_OK);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double s = 0.0, xx = 0.0, yy = 0.0;
                for (int64_t k = 0; k < d; k++) {
                    double t = (double)X[i * d + k] - Y[j * d + k];
                    s += t * t;
                    xx += (double)X[i * d + k] * X[i * d + k];
                    yy += (double)Y[j * d + k] * Y[j * d + k];
                }
                // The expansion cancels: error relative to ||x||^2 + ||y||^2, not to D.
                ASSERT_NEAR(D[i * n + j], s, 8.0 * (d + 2) * 1.2e-7 * (xx + yy));
                ASSERT_GE(D[i * n + j], 0.0f);
            }
        // Also through the internal entry with precomputed norms.
        std::vector<float> xn((size_t)m), yn((size_t)n), D2((size_t)(m * n));
        mfs__row_sqnorm(X.data(), m, d, xn.data());
        mfs__row_sqnorm(Y.data(), n, d, yn.data());
        ASSERT_EQ(mfs__sqdist(X.data(), m, Y.data(), n, d, xn.data(), yn.data(), D2.data()), MFS_OK);
        for (size_t i = 0; i < D.size(); i++) ASSERT_EQ(D[i], D2[i]);  // same arithmetic, same bits
    }
    float x[2] = {0, 0};
    EXPECT_EQ(mfs_pairwise_sqdist(x, -1, x, 1, 2, x), MFS_E_INVALID_ARG);
    EXPECT_NE(std::string(mfs_last_error()).find("mfs_pairwise_sqdist"), std::string::npos);
    EXPECT_EQ(mfs_pairwise_sqdist(nullptr, 1, x, 1, 2, x), MFS_E_INVALID_ARG);
}

namespace {
// A random SPD matrix B B^T + n I in double.
std::vector<double> spd(int64_t n, unsigned seed) {
    auto B = randn_d((size_t)(n * n), seed);
    std::vector<double> A((size_t)(n * n));
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0;
            for (int64_t k = 0; k < n; k++) s += B[i * n + k] * B[j * n + k];
            A[i * n + j] = s + (i == j ? (double)n : 0.0);
        }
    return A;
}
}  // namespace

TEST(Linalg, CholeskyAndSolves) {
    for (int threads : {1, 2}) {
        mfs_set_num_threads(threads);
        for (int64_t n : {1, 2, 7, 64, 300}) {
            auto A = spd(n, 21), L = A;
            ASSERT_EQ(mfs__cholesky(L.data(), n), MFS_OK);
            double amax = 0.0;
            for (double v : A) amax = std::max(amax, std::fabs(v));
            for (int64_t i = 0; i < n; i++)
                for (int64_t j = 0; j < n; j++) {
                    if (j > i) { ASSERT_EQ(L[i * n + j], 0.0); continue; }  // upper zeroed by contract
                    double s = 0.0;
                    for (int64_t k = 0; k <= j; k++) s += L[i * n + k] * L[j * n + k];
                    // Cholesky is backward stable: |L L^T - A| <= c n eps |A|.
                    ASSERT_NEAR(s, A[i * n + j], 4.0 * n * 2.2e-16 * amax);
                }
            int64_t nrhs = 3;
            auto X = randn_d((size_t)(n * nrhs), 22);
            std::vector<double> B((size_t)(n * nrhs), 0.0);
            for (int64_t i = 0; i < n; i++)
                for (int64_t c = 0; c < nrhs; c++)
                    for (int64_t k = 0; k < n; k++) B[i * nrhs + c] += A[i * n + k] * X[k * nrhs + c];
            auto B2 = B;
            mfs__cholesky_solve(L.data(), n, B2.data(), nrhs);
            // The matrix has condition < ~5 (B B^T + n I): forward error ~ cond * eps.
            for (size_t i = 0; i < B2.size(); i++) ASSERT_NEAR(B2[i], X[i], 1e-10 * (1 + std::fabs(X[i])));
            // trsm both ways against explicit products.
            auto Y = X;
            mfs__trsm_lower(L.data(), n, 0, Y.data(), nrhs);  // Y = L^-1 X
            for (int64_t i = 0; i < n; i++)
                for (int64_t c = 0; c < nrhs; c++) {
                    double s = 0.0;
                    for (int64_t k = 0; k <= i; k++) s += L[i * n + k] * Y[k * nrhs + c];
                    ASSERT_NEAR(s, X[i * nrhs + c], 1e-10);  // residual of a well-conditioned L
                }
            Y = X;
            mfs__trsm_lower(L.data(), n, 1, Y.data(), nrhs);  // Y = L^-T X
            for (int64_t i = 0; i < n; i++)
                for (int64_t c = 0; c < nrhs; c++) {
                    double s = 0.0;
                    for (int64_t k = i; k < n; k++) s += L[k * n + i] * Y[k * nrhs + c];
                    ASSERT_NEAR(s, X[i * nrhs + c], 1e-10);
                }
        }
    }
    // Not positive definite: MFS_E_VALUE.
    std::vector<double> A = {1, 2, 2, 1};
    EXPECT_EQ(mfs__cholesky(A.data(), 2), MFS_E_VALUE);
    std::vector<double> Z = {0.0};
    EXPECT_EQ(mfs__cholesky(Z.data(), 1), MFS_E_VALUE);
    std::vector<double> N = {std::nan("")};
    EXPECT_EQ(mfs__cholesky(N.data(), 1), MFS_E_VALUE);
}

TEST(Linalg, LstsqFullRankAndRankDeficient) {
    // Full rank, overdetermined: compare with the normal equations solved in double.
    {
        int64_t m = 50, n = 6, nrhs = 2;
        auto A = randn_d((size_t)(m * n), 31), B = randn_d((size_t)(m * nrhs), 32);
        auto A0 = A, B0 = B;
        std::vector<double> X((size_t)(n * nrhs));
        int64_t rank = -1;
        ASSERT_EQ(mfs__lstsq_qr(A.data(), m, n, B.data(), nrhs, 1e-12, X.data(), &rank), MFS_OK);
        EXPECT_EQ(rank, n);
        // Optimality: A^T (A x - b) = 0 (to ~ eps * ||A||^2 ||x||).
        for (int64_t c = 0; c < nrhs; c++)
            for (int64_t j = 0; j < n; j++) {
                double g = 0.0;
                for (int64_t i = 0; i < m; i++) {
                    double r = -B0[i * nrhs + c];
                    for (int64_t k = 0; k < n; k++) r += A0[i * n + k] * X[k * nrhs + c];
                    g += A0[i * n + j] * r;
                }
                EXPECT_NEAR(g, 0.0, 1e-11);
            }
    }
    // Rank deficient: column 3 = column 0 + column 1, column 5 = 2 * column 2.
    {
        int64_t m = 40, n = 6;
        auto A = randn_d((size_t)(m * n), 41);
        for (int64_t i = 0; i < m; i++) {
            A[i * n + 3] = A[i * n + 0] + A[i * n + 1];
            A[i * n + 5] = 2.0 * A[i * n + 2];
        }
        std::vector<double> xtrue = {1.0, -2.0, 0.5, 0.0, 3.0, 0.0};
        std::vector<double> b((size_t)m, 0.0);
        for (int64_t i = 0; i < m; i++)
            for (int64_t k = 0; k < n; k++) b[i] += A[i * n + k] * xtrue[k];
        auto A0 = A, b0 = b;
        std::vector<double> x((size_t)n);
        int64_t rank = -1;
        ASSERT_EQ(mfs__lstsq_qr(A.data(), m, n, b.data(), 1, 1e-10, x.data(), &rank), MFS_OK);
        EXPECT_EQ(rank, 4);
        int zeros = 0;
        for (double v : x) zeros += v == 0.0;
        EXPECT_EQ(zeros, 2);  // the dropped columns get exactly 0 by contract
        for (int64_t i = 0; i < m; i++) {
            double r = -b0[i];
            for (int64_t k = 0; k < n; k++) r += A0[i * n + k] * x[k];
            EXPECT_NEAR(r, 0.0, 1e-10);  // consistent system: zero residual up to rounding * ||A|| ||x||
        }
    }
    // Underdetermined m < n and a zero matrix.
    {
        int64_t m = 3, n = 5;
        auto A = randn_d((size_t)(m * n), 51), b = randn_d((size_t)m, 52);
        auto A0 = A, b0 = b;
        std::vector<double> x((size_t)n);
        int64_t rank = -1;
        ASSERT_EQ(mfs__lstsq_qr(A.data(), m, n, b.data(), 1, 1e-12, x.data(), &rank), MFS_OK);
        EXPECT_EQ(rank, 3);
        for (int64_t i = 0; i < m; i++) {
            double r = -b0[i];
            for (int64_t k = 0; k < n; k++) r += A0[i * n + k] * x[k];
            EXPECT_NEAR(r, 0.0, 1e-12);  // exact fit possible; well-conditioned 3x3 block
        }
        std::vector<double> Zm(6, 0.0), zb = {1, 2, 3}, zx(2, 7.0);
        ASSERT_EQ(mfs__lstsq_qr(Zm.data(), 3, 2, zb.data(), 1, 1e-12, zx.data(), &rank), MFS_OK);
        EXPECT_EQ(rank, 0);
        EXPECT_EQ(zx[0], 0.0);
        EXPECT_EQ(zx[1], 0.0);
    }
}

TEST(Linalg, Eigh) {
    for (int64_t n : {1, 2, 3, 10, 100, 257}) {
        auto R = randn_d((size_t)(n * n), 61 + (unsigned)n);
        std::vector<double> A((size_t)(n * n));
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) A[i * n + j] = R[i * n + j] + R[j * n + i];
        if (n == 10)  // a repeated eigenvalue block: diag(3, 3, 3, ...) plus a rank-1 term
            for (int64_t i = 0; i < n; i++)
                for (int64_t j = 0; j < n; j++) A[i * n + j] = (i == j ? 3.0 : 0.0) + 0.1 * (i + 1) * (j + 1);
        auto A0 = A;
        std::vector<double> w((size_t)n), V((size_t)(n * n));
        ASSERT_EQ(mfs__eigh(A.data(), n, w.data(), V.data()), MFS_OK);
        double anorm = 0.0;
        for (double v : A0) anorm = std::max(anorm, std::fabs(v));
        anorm *= (double)n;  // >= ||A||_2
        for (int64_t i = 1; i < n; i++) EXPECT_GE(w[i - 1], w[i]);  // descending by contract
        // Backward stability: ||A V - V W|| <= c n eps ||A||; we ask 1e-12 relative.
        for (int64_t i = 0; i < n; i++)
            for (int64_t c = 0; c < n; c++) {
                double s = 0.0;
                for (int64_t k = 0; k < n; k++) s += A0[i * n + k] * V[k * n + c];
                ASSERT_NEAR(s, V[i * n + c] * w[c], 1e-12 * anorm) << n;
            }
        // Orthonormal eigenvectors, same bound.
        for (int64_t a = 0; a < n; a++)
            for (int64_t b = a; b < n; b++) {
                double s = 0.0;
                for (int64_t k = 0; k < n; k++) s += V[k * n + a] * V[k * n + b];
                ASSERT_NEAR(s, a == b ? 1.0 : 0.0, 1e-12 * n);
            }
    }
}

namespace {
// Checks a thin SVD of A (m, n): reconstruction, orthonormality, order, signs.
void check_svd(const std::vector<float> &A, int64_t m, int64_t n, const float *U, const float *S,
               const float *Vt, int64_t k, double rec_tol) {
    double amax = 0.0;
    for (float v : A) amax = std::max(amax, (double)std::fabs(v));
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0;
            for (int64_t c = 0; c < k; c++) s += (double)U[i * k + c] * S[c] * Vt[c * n + j];
            ASSERT_NEAR(s, A[(size_t)(i * n + j)], rec_tol * (1.0 + amax)) << m << "x" << n;
        }
    for (int64_t c = 1; c < k; c++) EXPECT_GE(S[c - 1], S[c]);
    for (int64_t c = 0; c < k; c++) EXPECT_GE(S[c], 0.0f);
    // Orthonormality of float32 outputs: entries rounded to float, so ~ sqrt(n) * eps32.
    for (int64_t a = 0; a < k; a++)
        for (int64_t b = a; b < k; b++) {
            double su = 0.0, sv = 0.0;
            for (int64_t i = 0; i < m; i++) su += (double)U[i * k + a] * U[i * k + b];
            for (int64_t j = 0; j < n; j++) sv += (double)Vt[a * n + j] * Vt[b * n + j];
            ASSERT_NEAR(su, a == b ? 1.0 : 0.0, 1e-5) << "U " << a << "," << b;
            ASSERT_NEAR(sv, a == b ? 1.0 : 0.0, 1e-5) << "V " << a << "," << b;
        }
    // svd_flip(u_based_decision=False): the largest-|.| entry of each Vt row is positive.
    for (int64_t c = 0; c < k; c++) {
        int64_t arg = 0;
        for (int64_t j = 1; j < n; j++)
            if (std::fabs(Vt[c * n + j]) > std::fabs(Vt[c * n + arg])) arg = j;
        EXPECT_GT(Vt[c * n + arg], 0.0f);
    }
}
}  // namespace

TEST(Linalg, SvdThin) {
    const int64_t shapes[][2] = {{1, 1}, {1, 5}, {5, 1}, {2, 2}, {17, 5}, {5, 17}, {60, 60}, {300, 40}, {33, 120}};
    for (int threads : {1, 2}) {
        mfs_set_num_threads(threads);
        for (auto &s : shapes) {
            int64_t m = s[0], n = s[1], k = std::min(m, n);
            auto A = randn_f((size_t)(m * n), 71 + (unsigned)(m * n));
            std::vector<float> U((size_t)(m * k)), S((size_t)k), Vt((size_t)(k * n));
            ASSERT_EQ(mfs__svd_thin(A.data(), m, n, U.data(), S.data(), Vt.data()), MFS_OK);
            // Computed in double, rounded to float32 outputs: reconstruction ~ k * eps32 * |A|.
            check_svd(A, m, n, U.data(), S.data(), Vt.data(), k, 1e-5 * std::sqrt((double)k));
            // Singular values against the eigenvalues of A^T A / A A^T (double eigh).
            int64_t p = k;
            std::vector<double> G((size_t)(p * p), 0.0), w((size_t)p), V((size_t)(p * p));
            for (int64_t a = 0; a < p; a++)
                for (int64_t b = 0; b < p; b++)
                    for (int64_t t = 0; t < std::max(m, n); t++) {
                        if (m >= n) G[a * p + b] += (double)A[t * n + a] * A[t * n + b];
                        else G[a * p + b] += (double)A[a * n + t] * A[b * n + t];
                    }
            ASSERT_EQ(mfs__eigh(G.data(), p, w.data(), V.data()), MFS_OK);
            for (int64_t c = 0; c < k; c++)  // sigma^2 from a well-conditioned Gram: rel 1e-5 (float32 S)
                EXPECT_NEAR((double)S[c] * S[c], std::max(w[c], 0.0), 1e-5 * w[0] + 1e-6);
        }
    }
    // Exactly rank-deficient input (rank 2 of 8 columns): orthonormal completion.
    int64_t m = 20, n = 8;
    auto L = randn_f((size_t)(m * 2), 81), R = randn_f((size_t)(2 * n), 82);
    std::vector<float> A((size_t)(m * n), 0.0f);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) A[i * n + j] = L[i * 2] * R[j] + L[i * 2 + 1] * R[n + j];
    std::vector<float> U((size_t)(m * n)), S((size_t)n), Vt((size_t)(n * n));
    ASSERT_EQ(mfs__svd_thin(A.data(), m, n, U.data(), S.data(), Vt.data()), MFS_OK);
    check_svd(A, m, n, U.data(), S.data(), Vt.data(), n, 1e-5);
    for (int64_t c = 2; c < n; c++) EXPECT_LT(S[c], 1e-5 * S[0]);  // float32 input: rank 2 up to eps32
    // All zeros.
    std::vector<float> Z(12, 0.0f), Uz(12), Sz(3), Vz(9);
    ASSERT_EQ(mfs__svd_thin(Z.data(), 4, 3, Uz.data(), Sz.data(), Vz.data()), MFS_OK);
    check_svd(Z, 4, 3, Uz.data(), Sz.data(), Vz.data(), 3, 1e-6);
}

TEST(Linalg, RandomizedSvdMatchesThinSvdOnLowRank) {
    // A rank-5 matrix plus small noise; the top 5 triplets are well separated.
    int64_t m = 400, n = 150, r = 5;
    auto L = randn_f((size_t)(m * r), 91), R = randn_f((size_t)(r * n), 92), E = randn_f((size_t)(m * n), 93);
    std::vector<float> A((size_t)(m * n));
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0;
            for (int64_t t = 0; t < r; t++) s += (double)L[i * r + t] * R[t * n + j] * (double)(r - t);
            A[(size_t)(i * n + j)] = (float)s + 1e-3f * E[(size_t)(i * n + j)];
        }
    int64_t k = std::min(m, n);
    std::vector<float> U((size_t)(m * k)), S((size_t)k), Vt((size_t)(k * n));
    ASSERT_EQ(mfs__svd_thin(A.data(), m, n, U.data(), S.data(), Vt.data()), MFS_OK);
    for (int threads : {1, 2}) {
        mfs_set_num_threads(threads);
        std::vector<float> Ur((size_t)(m * r)), Sr((size_t)r), Vr((size_t)(r * n));
        ASSERT_EQ(mfs__randomized_svd(A.data(), m, n, r, 10, 4, 42, Ur.data(), Sr.data(), Vr.data()), MFS_OK);
        for (int64_t c = 0; c < r; c++) {
            // Gap sigma_5 / sigma_6 > 1e3 and 4 power iterations: relative error << 1e-4.
            EXPECT_NEAR(Sr[c], S[c], 1e-4 * S[c]);
            for (int64_t j = 0; j < n; j++) ASSERT_NEAR(Vr[c * n + j], Vt[c * n + j], 1e-3);  // same signs by svd_flip
            for (int64_t i = 0; i < m; i++) ASSERT_NEAR(Ur[i * r + c], U[i * k + c], 1e-3);
        }
        // Same seed, same thread count: the same bits.
        std::vector<float> Ur2((size_t)(m * r)), Sr2((size_t)r), Vr2((size_t)(r * n));
        ASSERT_EQ(mfs__randomized_svd(A.data(), m, n, r, 10, 4, 42, Ur2.data(), Sr2.data(), Vr2.data()), MFS_OK);
        EXPECT_EQ(0, std::memcmp(Ur.data(), Ur2.data(), Ur.size() * sizeof(float)));
        EXPECT_EQ(0, std::memcmp(Sr.data(), Sr2.data(), Sr.size() * sizeof(float)));
    }
    // k larger than min(m, n) - oversamples is clamped; a wide matrix works too.
    auto W = randn_f(6 * 30, 94);
    std::vector<float> Uw(6 * 6), Sw(6), Vw(6 * 30);
    ASSERT_EQ(mfs__randomized_svd(W.data(), 6, 30, 6, 10, 2, 1, Uw.data(), Sw.data(), Vw.data()), MFS_OK);
    check_svd(W, 6, 30, Uw.data(), Sw.data(), Vw.data(), 6, 1e-5);
}
