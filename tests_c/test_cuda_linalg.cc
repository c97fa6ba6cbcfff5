// The CUDA linear algebra checked against double-precision references computed
// here on the CPU (and the SGEMM also against the CPU's mfs_sgemm): every
// transpose, ragged and odd sizes, split-K, the triangle-only Gram, the normal
// equations, the PCA projection, memory accounting. GPU tests skip without a
// GPU; the NoGpu tests run only without one and check that every entry point
// answers MFS_E_DEVICE with a message instead of crashing.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "mfs/core.h"
#include "mfs/linalg.h"
#include "src_cuda/cuda_api.h"

namespace {

const double kU = std::ldexp(1.0, -24); // float32 unit roundoff

std::vector<float> random_matrix(std::mt19937_64 &g, int64_t count, float lo = -1.f, float hi = 1.f) {
    std::uniform_real_distribution<float> u(lo, hi);
    std::vector<float> v((size_t)count);
    for (auto &x : v) x = u(g);
    return v;
}

float at(const std::vector<float> &A, int64_t ld, bool trans, int64_t r, int64_t c) {
    return trans ? A[(size_t)(c * ld + r)] : A[(size_t)(r * ld + c)];
}

struct GemmCase {
    int64_t M, N, K;
};

// Runs one GPU SGEMM and checks every element against a double reference with
// the rounding-error bound of a K-term float32 dot product,
// |err| <= K u (|alpha| sum |a||b| + |beta c|) (Higham, gamma_K), which any
// summation order meets (the GPU's k-splits are summed in double, tighter
// still); a wrong index or a missed tile gives O(1) errors, far above it. The
// normwise relative error is also held to 1e-5 (float32 sums land near
// sqrt(K) u ~ 1e-6 here).
void check_sgemm(std::mt19937_64 &g, int ta, int tb, GemmCase c, float alpha, float beta, int64_t pad) {
    const int64_t ar = ta ? c.K : c.M, ac = ta ? c.M : c.K;
    const int64_t br = tb ? c.N : c.K, bc = tb ? c.K : c.N;
    const int64_t lda = std::max<int64_t>(ac, 1) + pad, ldb = std::max<int64_t>(bc, 1) + pad,
                  ldc = std::max<int64_t>(c.N, 1) + pad;
    auto A = random_matrix(g, std::max<int64_t>(ar * lda, 1));
    auto B = random_matrix(g, std::max<int64_t>(br * ldb, 1));
    auto C0 = random_matrix(g, std::max<int64_t>(c.M * ldc, 1));
    // beta == 0 must ignore C: poison it
    if (beta == 0.f) std::fill(C0.begin(), C0.end(), std::numeric_limits<float>::quiet_NaN());
    auto C = C0;
    ASSERT_EQ(mfs_sgemm_cuda(ta, tb, c.M, c.N, c.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc),
              MFS_OK)
        << mfs_last_error();
    double err2 = 0, ref2 = 0;
    for (int64_t i = 0; i < c.M; i++) {
        for (int64_t j = 0; j < c.N; j++) {
            double s = 0, sa = 0;
            for (int64_t k = 0; k < c.K; k++) {
                double p = (double)at(A, lda, ta, i, k) * at(B, ldb, tb, k, j);
                s += p;
                sa += std::fabs(p);
            }
            double ref = alpha * s, scale = std::fabs(alpha) * sa;
            if (beta != 0.f) {
                ref += (double)beta * C0[(size_t)(i * ldc + j)];
                scale += std::fabs((double)beta * C0[(size_t)(i * ldc + j)]);
            }
            const double got = C[(size_t)(i * ldc + j)];
            ASSERT_TRUE(std::isfinite(got)) << "C[" << i << "," << j << "] not finite";
            ASSERT_LE(std::fabs(got - ref), (double)(c.K + 2) * kU * scale + 1e-30)
                << "C[" << i << "," << j << "] ta=" << ta << " tb=" << tb << " M=" << c.M << " N=" << c.N
                << " K=" << c.K;
            err2 += (got - ref) * (got - ref);
            ref2 += ref * ref;
        }
        // the padding between rows of C is not ours: it must be untouched
        for (int64_t j = c.N; j < ldc && i < c.M - 1; j++) {
            const float a = C[(size_t)(i * ldc + j)], b = C0[(size_t)(i * ldc + j)];
            ASSERT_TRUE((std::isnan(a) && std::isnan(b)) || a == b) << "padding of C was written";
        }
    }
    if (ref2 > 0) EXPECT_LE(std::sqrt(err2 / ref2), 1e-5);
}

} // namespace

// ---- without a GPU --------------------------------------------------------------

#define SKIP_IF_GPU() \
    if (mfs_cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present: the no-GPU path is unreachable"

static void expect_device_error(mfs_status s, const char *fn) {
    EXPECT_EQ(s, MFS_E_DEVICE);
    std::string msg = mfs_last_error();
    EXPECT_FALSE(msg.empty());
    EXPECT_NE(msg.find(fn), std::string::npos) << msg;
}

TEST(CudaNoGpu, DeviceCountIsZeroAndRequireFails) {
    SKIP_IF_GPU();
    EXPECT_EQ(mfs__cuda_device_count(), 0);
    expect_device_error(mfs__cuda_require("mfs_fit"), "mfs_fit");
    void *p = (void *)0x1;
    expect_device_error(mfs__cuda_alloc(&p, 1024, nullptr), "mfs__cuda_alloc");
    EXPECT_EQ(p, nullptr);
    mfs__cuda_release(nullptr, 0, nullptr); // a no-op, not a crash
    float h[4] = {0};
    EXPECT_NE(mfs__cuda_upload(h, h, sizeof h), MFS_OK);
    EXPECT_NE(mfs__cuda_download(h, h, sizeof h), MFS_OK);
}

TEST(CudaNoGpu, LinalgEntryPointsAnswerDeviceError) {
    SKIP_IF_GPU();
    float A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, 0, 0, 1, 1, 1}, C[4] = {0};
    expect_device_error(mfs_sgemm_cuda(0, 0, 2, 2, 3, 1.f, A, 3, B, 2, 0.f, C, 2), "mfs_sgemm_cuda");
    double mean[3] = {0, 0, 0};
    float G[9];
    expect_device_error(mfs__centered_gram_cuda(A, 2, 3, mean, G, nullptr), "mfs__centered_gram_cuda");
    float XtX[9], XtY[3];
    expect_device_error(mfs__linreg_normal_cuda(A, B, 2, 3, 1, mean, nullptr, nullptr, XtX, XtY, nullptr),
                        "mfs__linreg_normal_cuda");
    float out[2];
    expect_device_error(mfs__pca_transform_cuda(A, 2, 3, mean, A, 1, out, nullptr), "mfs__pca_transform_cuda");
}

TEST(CudaNoGpu, PublicCountMatchesInternal) {
    EXPECT_EQ(mfs_cuda_device_count(), mfs__cuda_device_count());
    if (!mfs_built_with_cuda()) EXPECT_EQ(mfs_cuda_device_count(), 0);
}

// Argument checks come before the device check, so they answer alike with and
// without a GPU (a CPU-only build answers MFS_E_DEVICE to everything).
TEST(CudaArgs, SgemmRejectsBadArguments) {
    float A[4] = {0}, B[4] = {0}, C[4] = {0};
    const mfs_status want = mfs_built_with_cuda() ? MFS_E_INVALID_ARG : MFS_E_DEVICE;
    EXPECT_EQ(mfs_sgemm_cuda(0, 0, -1, 2, 2, 1.f, A, 2, B, 2, 0.f, C, 2), want);
    EXPECT_EQ(mfs_sgemm_cuda(0, 0, 2, 2, 2, 1.f, A, 1, B, 2, 0.f, C, 2), want); // lda < K
    EXPECT_EQ(mfs_sgemm_cuda(0, 0, 2, 2, 2, 1.f, nullptr, 2, B, 2, 0.f, C, 2), want);
    EXPECT_EQ(mfs_sgemm_cuda(0, 0, 2, 2, 2, 1.f, A, 2, B, 2, 0.f, C, 1), want); // ldc < N
    EXPECT_FALSE(std::string(mfs_last_error()).empty());
}

// ---- on a GPU -------------------------------------------------------------------

TEST(CudaSgemm, AllTransposesRaggedSizes) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937_64 g(1234);
    const GemmCase cases[] = {{1, 1, 1},    {7, 5, 3},     {33, 65, 17},  {64, 64, 64},
                              {127, 129, 255}, {128, 128, 8}, {200, 3, 51}, {3, 300, 9},
                              {65, 1, 1000},   {1, 70, 33},   // below: M <= 32, N >= 256, the flat 32x128 tile
                              {32, 257, 40},   {17, 1000, 129}, {1, 256, 7}};
    for (const auto &c : cases)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                check_sgemm(g, ta, tb, c, 1.f, 0.f, 0);
                if (HasFatalFailure()) return;
                check_sgemm(g, ta, tb, c, -0.5f, 0.75f, 3); // odd strides: scalar edge paths
                if (HasFatalFailure()) return;
            }
}

TEST(CudaSgemm, LargeTilesAndSplitK) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937_64 g(99);
    // 13 x 13 tiles of 128: the 128x128 kernel on an H100 (132 SMs)
    for (int t = 0; t < 4; t++) {
        check_sgemm(g, t & 1, t >> 1, {1601, 1550, 37}, 1.f, 0.f, 4);
        if (HasFatalFailure()) return;
    }
    // tall-skinny products: few output tiles, long K -> split-K with a workspace
    check_sgemm(g, 1, 0, {9, 11, 40000}, 1.f, 0.f, 0);
    if (HasFatalFailure()) return;
    check_sgemm(g, 0, 1, {3, 130, 20011}, 2.f, -1.f, 1);
    if (HasFatalFailure()) return;
    check_sgemm(g, 1, 0, {16, 300, 30000}, 1.f, 0.5f, 0); // the flat tile, split over K
    if (HasFatalFailure()) return;
    check_sgemm(g, 0, 0, {0, 5, 7}, 1.f, 0.f, 0); // empty outputs are no-ops
    check_sgemm(g, 0, 0, {5, 5, 0}, 1.f, 0.5f, 0); // K = 0: C = beta C
}

// GPU and CPU SGEMM on the same inputs: both must sit within the float32 bound
// of each other (2x the one-sided bound: each may err by it in either direction).
TEST(CudaSgemm, MatchesCpuSgemm) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937_64 g(7);
    const int64_t M = 301, N = 173, K = 419;
    for (int t = 0; t < 4; t++) {
        const int ta = t & 1, tb = t >> 1;
        auto A = random_matrix(g, M * K), B = random_matrix(g, K * N), C = random_matrix(g, M * N);
        auto Cg = C, Cc = C;
        const int64_t lda = ta ? M : K, ldb = tb ? K : N;
        ASSERT_EQ(mfs_sgemm_cuda(ta, tb, M, N, K, 1.5f, A.data(), lda, B.data(), ldb, 0.5f, Cg.data(), N), MFS_OK)
            << mfs_last_error();
        ASSERT_EQ(mfs_sgemm(ta, tb, M, N, K, 1.5f, A.data(), lda, B.data(), ldb, 0.5f, Cc.data(), N), MFS_OK)
            << mfs_last_error();
        for (int64_t i = 0; i < M * N; i++) {
            // |a|,|b| < 1: sum |a b| <= K, times |alpha|, plus |beta c|
            ASSERT_NEAR(Cg[(size_t)i], Cc[(size_t)i], 2.0 * (K + 2) * kU * (1.5 * K + 0.5)) << "element " << i;
        }
    }
}

TEST(CudaSgemm, DeviceMemoryIsCountedAndReturned) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937_64 g(5);
    const int64_t M = 100, N = 60, K = 40;
    auto A = random_matrix(g, M * K), B = random_matrix(g, K * N);
    std::vector<float> C((size_t)(M * N));
    mfs_memory_stats before, after;
    ASSERT_EQ(mfs_memory_reset_peak(nullptr), MFS_OK);
    ASSERT_EQ(mfs_memory_stats_get(nullptr, &before), MFS_OK);
    ASSERT_EQ(mfs_sgemm_cuda(0, 0, M, N, K, 1.f, A.data(), K, B.data(), N, 0.f, C.data(), N), MFS_OK);
    ASSERT_EQ(mfs_memory_stats_get(nullptr, &after), MFS_OK);
    EXPECT_EQ(after.device_current, before.device_current) << "a device buffer was not released";
    EXPECT_GE(after.device_peak - before.device_current, (int64_t)((M * K + K * N + M * N) * sizeof(float)));
}

namespace {

// Double reference G = (X - mean)^T (X - mean), X (n, d) float, mean (d) or
// NULL, each centered value formed in double as the GPU does.
std::vector<double> gram_reference(const std::vector<float> &X, int64_t n, int64_t d, const double *mean) {
    std::vector<double> ref((size_t)(d * d), 0.0), row((size_t)d);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < d; j++) row[(size_t)j] = (double)X[(size_t)(i * d + j)] - (mean ? mean[j] : 0.0);
        for (int64_t a = 0; a < d; a++)
            for (int64_t b = 0; b < d; b++) ref[(size_t)(a * d + b)] += row[(size_t)a] * row[(size_t)b];
    }
    return ref;
}

// Tolerance of the GPU's G[a, b] against gram_reference. Both are double sums
// of the same n products of the same centered doubles, each within
// n eps64 sum |x_a x_b| <= n eps64 sqrt(G_aa G_bb) of the exact sum
// (Cauchy-Schwarz; summation order and FMA only move where inside); G is that
// sum rounded once to float32, which moves it by at most u |G_ab|. So
// |G - ref| <= u |ref| + 4 n eps64 sqrt(G_aa G_bb): float32 rounding of each
// entry and nothing more (well below 1e-6 of max |G|). A float32 accumulation
// (the former SGEMM route) is off by ~sqrt(n) u of the scale and fails it.
double gram_tolerance(const std::vector<double> &ref, int64_t n, int64_t d, int64_t a, int64_t b) {
    const double eps64 = std::ldexp(1.0, -53);
    const double scale = std::sqrt(ref[(size_t)(a * d + a)] * ref[(size_t)(b * d + b)]);
    return kU * std::fabs(ref[(size_t)(a * d + b)]) + 4.0 * (double)n * eps64 * scale;
}

// Every entry within gram_tolerance, and G exactly symmetric (the lower
// triangle is a copy of the upper one).
void expect_gram_matches(const std::vector<float> &G, const std::vector<double> &ref, int64_t n, int64_t d,
                         const char *what) {
    for (int64_t a = 0; a < d; a++)
        for (int64_t b = 0; b < d; b++) {
            ASSERT_NEAR(G[(size_t)(a * d + b)], ref[(size_t)(a * d + b)], gram_tolerance(ref, n, d, a, b))
                << "G[" << a << "," << b << "] n=" << n << " d=" << d << " " << what;
            ASSERT_EQ(G[(size_t)(a * d + b)], G[(size_t)(b * d + a)]) << "G is not exactly symmetric, " << what;
        }
}

} // namespace

// Centered Gram of data sitting far from the origin (mean 100, spread 1), so
// that centering matters, against the double reference at float32 rounding of
// each entry (gram_tolerance). The shapes cover one and many row chunks (the
// GPU splits n when the 32 x 32 tiles of G are too few to fill it, at least
// 256 rows a chunk), d = 1, d a multiple of the tile (32, 64) and ragged
// (7, 33, 130, 257), n = 1 and a last chunk shorter than the others.
TEST(CudaGram, CenteredGramMatchesDouble) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937_64 g(11);
    const int64_t shapes[][2] = {{1, 1}, {2, 3}, {1000, 1}, {100, 7}, {4000, 32}, {5000, 33},
                                 {3001, 64}, {30001, 130}, {300, 257}};
    for (auto &sh : shapes) {
        const int64_t n = sh[0], d = sh[1];
        auto X = random_matrix(g, n * d, 99.f, 101.f);
        for (int centered = 0; centered < 2; centered++) {
            std::vector<double> mean((size_t)d, 0.0);
            if (centered) {
                for (int64_t i = 0; i < n; i++)
                    for (int64_t j = 0; j < d; j++) mean[(size_t)j] += X[(size_t)(i * d + j)];
                for (auto &m : mean) m /= (double)n;
            }
            std::vector<float> G((size_t)(d * d), -1.f);
            ASSERT_EQ(mfs__centered_gram_cuda(X.data(), n, d, centered ? mean.data() : nullptr, G.data(), nullptr),
                      MFS_OK)
                << mfs_last_error();
            auto ref = gram_reference(X, n, d, centered ? mean.data() : nullptr);
            expect_gram_matches(G, ref, n, d, centered ? "centered" : "not centered");
            if (HasFatalFailure()) return;
        }
    }
}

// n == 0: G is all zeros.
TEST(CudaGram, NoRowsGivesZero) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    const float X[1] = {0.f};
    const double mean[5] = {1, 2, 3, 4, 5};
    std::vector<float> G(25, -1.f);
    ASSERT_EQ(mfs__centered_gram_cuda(X, 0, 5, mean, G.data(), nullptr), MFS_OK) << mfs_last_error();
    for (float v : G) EXPECT_EQ(v, 0.f);
}

// The data of tests_py/test_pca.py's whitening test (n = 800, d = 12, mean 10,
// standard deviations 2 * 0.7^j, so variances 4 down to 4 * 0.49^11 ~ 1.6e-3,
// along a random rotation), where a float32 Gram made the CUDA PCA's smallest
// axes too inaccurate. Every entry is held to gram_tolerance, and so is the
// Gram along the smallest eigenvector v of the reference: |v^T G v - v^T ref v|
// <= sum |v_a| |v_b| tol_ab, the sum of the per-entry float32 roundings.
TEST(CudaGram, SmallestAxisOfPcaDataIsExact) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    const int64_t n = 800, d = 12;
    std::mt19937_64 g(5);
    std::normal_distribution<double> N01(0.0, 1.0);
    // random rotation R (d, d): Gram-Schmidt on the columns of a Gaussian matrix
    std::vector<double> R((size_t)(d * d));
    for (auto &r : R) r = N01(g);
    for (int64_t c = 0; c < d; c++) {
        for (int64_t p = 0; p < c; p++) {
            double dot = 0.0;
            for (int64_t i = 0; i < d; i++) dot += R[(size_t)(i * d + c)] * R[(size_t)(i * d + p)];
            for (int64_t i = 0; i < d; i++) R[(size_t)(i * d + c)] -= dot * R[(size_t)(i * d + p)];
        }
        double nrm = 0.0;
        for (int64_t i = 0; i < d; i++) nrm += R[(size_t)(i * d + c)] * R[(size_t)(i * d + c)];
        for (int64_t i = 0; i < d; i++) R[(size_t)(i * d + c)] /= std::sqrt(nrm);
    }
    std::vector<float> X((size_t)(n * d));
    std::vector<double> z((size_t)d);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t k = 0; k < d; k++) z[(size_t)k] = N01(g) * 2.0 * std::pow(0.7, (double)k);
        for (int64_t j = 0; j < d; j++) {
            double x = 10.0;
            for (int64_t k = 0; k < d; k++) x += z[(size_t)k] * R[(size_t)(j * d + k)];
            X[(size_t)(i * d + j)] = (float)x;
        }
    }
    std::vector<double> mean((size_t)d, 0.0);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) mean[(size_t)j] += X[(size_t)(i * d + j)];
    for (auto &m : mean) m /= (double)n;

    std::vector<float> G((size_t)(d * d), -1.f);
    ASSERT_EQ(mfs__centered_gram_cuda(X.data(), n, d, mean.data(), G.data(), nullptr), MFS_OK) << mfs_last_error();
    const auto ref = gram_reference(X, n, d, mean.data());
    expect_gram_matches(G, ref, n, d, "PCA data");
    if (HasFatalFailure()) return;

    // smallest eigenvector of ref: inverse iteration with its Cholesky factor L
    // (ref = L L^T, SPD; neighbouring eigenvalues differ by 2x, so 100 steps
    // converge to double precision)
    std::vector<double> L((size_t)(d * d), 0.0);
    for (int64_t j = 0; j < d; j++)
        for (int64_t i = j; i < d; i++) {
            double s = ref[(size_t)(i * d + j)];
            for (int64_t k = 0; k < j; k++) s -= L[(size_t)(i * d + k)] * L[(size_t)(j * d + k)];
            if (i == j) {
                ASSERT_GT(s, 0.0) << "reference Gram is not positive definite";
                L[(size_t)(j * d + j)] = std::sqrt(s);
            } else {
                L[(size_t)(i * d + j)] = s / L[(size_t)(j * d + j)];
            }
        }
    std::vector<double> v((size_t)d, 1.0), y((size_t)d);
    for (int it = 0; it < 100; it++) {
        for (int64_t i = 0; i < d; i++) { // L y = v
            double s = v[(size_t)i];
            for (int64_t k = 0; k < i; k++) s -= L[(size_t)(i * d + k)] * y[(size_t)k];
            y[(size_t)i] = s / L[(size_t)(i * d + i)];
        }
        for (int64_t i = d - 1; i >= 0; i--) { // L^T v = y
            double s = y[(size_t)i];
            for (int64_t k = i + 1; k < d; k++) s -= L[(size_t)(k * d + i)] * v[(size_t)k];
            v[(size_t)i] = s / L[(size_t)(i * d + i)];
        }
        double nrm = 0.0;
        for (double x : v) nrm += x * x;
        for (auto &x : v) x /= std::sqrt(nrm);
    }
    double qg = 0.0, qr = 0.0, tol = 0.0;
    for (int64_t a = 0; a < d; a++)
        for (int64_t b = 0; b < d; b++) {
            const double w = v[(size_t)a] * v[(size_t)b];
            qg += w * G[(size_t)(a * d + b)];
            qr += w * ref[(size_t)(a * d + b)];
            tol += std::fabs(w) * gram_tolerance(ref, n, d, a, b);
        }
    // qr is the smallest variance times n - 1, about 1.3 here
    EXPECT_NEAR(qg, qr, tol) << "smallest axis: v^T ref v = " << qr;
}

// Normal equations: float32 products summed in float32 within chunks of at
// most 16384 rows (the chunks in double), as the CPU's blockwise centered
// products: each entry within 2e-4 of sqrt(XtX_aa XtX_bb) (XtY: of
// sqrt(XtX_aa YtY_bb)), Cauchy-Schwarz's bound on its size, i.e. float32
// sums of <= 16384 terms of either sign.
// Weighted: the centered rows scaled by sw[i] (zero weights included).
TEST(CudaLinreg, NormalEquationsMatchDouble) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937_64 g(21);
    const int64_t shapes[][3] = {{1, 1, 1}, {50, 3, 1}, {4097, 19, 3}, {40000, 64, 5}};
    for (int weighted = 0; weighted < 2; weighted++)
    for (auto &sh : shapes) {
        const int64_t n = sh[0], d = sh[1], t = sh[2];
        std::vector<float> sw = random_matrix(g, n, 0.f, 1.7f);
        if (n > 1) sw[0] = 0.f;
        auto X = random_matrix(g, n * d, -5.f, 15.f), Y = random_matrix(g, n * t, 40.f, 60.f);
        std::vector<double> xm((size_t)d, 0.0), ym((size_t)t, 0.0);
        for (int64_t i = 0; i < n; i++) {
            for (int64_t j = 0; j < d; j++) xm[(size_t)j] += X[(size_t)(i * d + j)] / (double)n;
            for (int64_t j = 0; j < t; j++) ym[(size_t)j] += Y[(size_t)(i * t + j)] / (double)n;
        }
        std::vector<float> XtX((size_t)(d * d)), XtY((size_t)(d * t));
        ASSERT_EQ(mfs__linreg_normal_cuda(X.data(), Y.data(), n, d, t, xm.data(), ym.data(), weighted ? sw.data() : nullptr,
                                          XtX.data(), XtY.data(),
                                          nullptr),
                  MFS_OK)
            << mfs_last_error() << " weighted " << weighted;
        std::vector<double> rxx((size_t)(d * d), 0.0), rxy((size_t)(d * t), 0.0), ryy((size_t)t, 0.0);
        for (int64_t i = 0; i < n; i++) {
            const double w = weighted ? (double)sw[(size_t)i] * sw[(size_t)i] : 1.0;
            for (int64_t a = 0; a < d; a++) {
                const double xa = X[(size_t)(i * d + a)] - xm[(size_t)a];
                for (int64_t b = 0; b < d; b++) rxx[(size_t)(a * d + b)] += w * xa * (X[(size_t)(i * d + b)] - xm[(size_t)b]);
                for (int64_t b = 0; b < t; b++) rxy[(size_t)(a * t + b)] += w * xa * (Y[(size_t)(i * t + b)] - ym[(size_t)b]);
            }
            for (int64_t b = 0; b < t; b++) {
                const double yb = Y[(size_t)(i * t + b)] - ym[(size_t)b];
                ryy[(size_t)b] += w * yb * yb;
            }
        }
        for (int64_t a = 0; a < d; a++) {
            for (int64_t b = 0; b < d; b++)
                ASSERT_NEAR(XtX[(size_t)(a * d + b)], rxx[(size_t)(a * d + b)],
                            2e-4 * std::sqrt(rxx[(size_t)(a * d + a)] * rxx[(size_t)(b * d + b)]) + 1e-30);
            for (int64_t b = 0; b < t; b++)
                ASSERT_NEAR(XtY[(size_t)(a * t + b)], rxy[(size_t)(a * t + b)],
                            2e-4 * std::sqrt(rxx[(size_t)(a * d + a)] * ryy[(size_t)b]) + 1e-30);
        }
    }
}

// Projection: each output is a d-term dot product of centered x with a
// component row: |err| <= (d + 2) u sum |xc_j c_j| (+ the rounding of the
// float32 centered value, u |xc_j|, inside the same bound's factor).
TEST(CudaPca, TransformMatchesDouble) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937_64 g(31);
    const int64_t shapes[][3] = {{1, 1, 1}, {10, 4, 2}, {1000, 33, 5}, {20000, 100, 17}};
    for (auto &sh : shapes) {
        const int64_t n = sh[0], d = sh[1], k = sh[2];
        auto X = random_matrix(g, n * d, 0.f, 10.f), Cm = random_matrix(g, k * d);
        std::vector<double> mean((size_t)d);
        for (auto &m : mean) m = 5.0 + 0.1 * (double)(&m - mean.data());
        std::vector<float> out((size_t)(n * k), -7.f);
        ASSERT_EQ(mfs__pca_transform_cuda(X.data(), n, d, mean.data(), Cm.data(), k, out.data(), nullptr), MFS_OK)
            << mfs_last_error();
        for (int64_t i = 0; i < n; i++)
            for (int64_t c = 0; c < k; c++) {
                double s = 0, sa = 0;
                for (int64_t j = 0; j < d; j++) {
                    const double p = ((double)X[(size_t)(i * d + j)] - mean[(size_t)j]) * Cm[(size_t)(c * d + j)];
                    s += p;
                    sa += std::fabs(p);
                }
                ASSERT_NEAR(out[(size_t)(i * k + c)], s, (double)(d + 3) * kU * sa + 1e-30)
                    << "out[" << i << "," << c << "] n=" << n << " d=" << d << " k=" << k;
            }
    }
}
