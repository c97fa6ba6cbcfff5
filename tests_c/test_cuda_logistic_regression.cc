// Logistic Regression on CUDA: the GPU loss and gradient against the CPU's on
// the same inputs (normalized error, threshold stated), and a CUDA fit against
// the CPU fit. GPU tests skip without a GPU; the NoGpu test runs only without one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "mfs/core.h"
#include "mfs/logistic_regression.h"
#include "src_cuda/cuda_api.h"

extern "C" mfs_status mfs__logreg_loss_grad_weighted(const float *X, const int32_t *y, const float *sw, int64_t n,
                                                     int64_t d, int64_t kk, const float *coef, const float *intercept,
                                                     double *loss, double *dcoef, double *dintercept);

namespace {
struct Data {
    int64_t n, d, K;
    std::vector<float> X;
    std::vector<int32_t> y;
};

Data make(int64_t n, int64_t d, int64_t K, unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<float> N(0, 1);
    Data D{n, d, K, std::vector<float>(n * d), std::vector<int32_t>(n)};
    std::vector<float> W(K * d);
    for (auto &w : W) w = N(g);
    for (auto &v : D.X) v = N(g);
    for (int64_t i = 0; i < n; i++) {
        float best = -1e30f;
        for (int64_t k = 0; k < K; k++) {
            float z = N(g);
            for (int64_t j = 0; j < d; j++) z += W[k * d + j] * D.X[i * d + j] / std::sqrt((float)d);
            if (z > best) { best = z; D.y[i] = (int32_t)k; }
        }
    }
    for (int64_t k = 0; k < K; k++) D.y[k] = (int32_t)k;
    return D;
}

mfs_model *fit(const Data &D, mfs_device device, const std::vector<float> *weights = nullptr) {
    mfs_logistic_regression_params p;
    mfs_logistic_regression_params_default(&p);
    p.tol = 1e-6;
    p.max_iter = 500;
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_logistic_regression_create(&p, device, &m), MFS_OK) << mfs_last_error();
    mfs_array X = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    mfs_array y = {(void *)D.y.data(), MFS_DTYPE_INT32, 1, {D.n}};
    if (weights) {
        mfs_array w = {(void *)weights->data(), MFS_DTYPE_FLOAT32, 1, {D.n}};
        EXPECT_EQ(mfs_model_set_array(m, "sample_weight", &w), MFS_OK) << mfs_last_error();
    }
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    return m;
}

std::vector<float> coef(const mfs_model *m, int64_t numel) {
    std::vector<float> v(numel);
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[4];
    EXPECT_EQ(mfs_model_array_info(m, "coef", &dt, &nd, shape), MFS_OK);
    mfs_array out = {v.data(), dt, nd, {shape[0], shape[1]}};
    EXPECT_EQ(mfs_model_get_array(m, "coef", &out), MFS_OK) << mfs_last_error();
    return v;
}
}  // namespace

TEST(CudaLogisticRegression, NoGpuIsADeviceError) {
    if (mfs_cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present";
    mfs_logistic_regression_params p;
    mfs_logistic_regression_params_default(&p);
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_logistic_regression_create(&p, MFS_DEVICE_CUDA, &m), MFS_E_DEVICE);
    EXPECT_EQ(m, nullptr);
    EXPECT_NE(std::string(mfs_last_error()), "");
    Data D = make(10, 2, 2, 1);
    mfs__logreg_cuda *s = reinterpret_cast<mfs__logreg_cuda *>(1);
    EXPECT_EQ(mfs__logreg_cuda_create(D.X.data(), D.y.data(), nullptr, D.n, D.d, 1, nullptr, &s), MFS_E_DEVICE);
    EXPECT_EQ(s, nullptr);
    mfs__logreg_cuda_free(nullptr);
}

TEST(CudaLogisticRegression, LossAndGradientMatchCpu) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    for (int64_t K : {2, 3, 10, 40}) {
        Data D = make(50000, 33, K, 2 + (unsigned)K);  // odd d: padded rows on the GPU
        const int64_t kk = K == 2 ? 1 : K;
        std::mt19937 g(5);
        std::normal_distribution<float> N(0, 0.3f);
        std::uniform_real_distribution<float> U(0.f, 3.f);
        std::vector<float> W(kk * D.d), b(kk), sw(D.n);
        for (auto &w : W) w = N(g);
        for (auto &v : b) v = N(g);
        for (auto &v : sw) v = U(g);
        for (int64_t i = 0; i < D.n; i += 7) sw[i] = 0.f;  // zero weights: rows that do not count
        for (const float *wp : {(const float *)nullptr, (const float *)sw.data()}) {
            double lc, lg;
            std::vector<double> gc(kk * D.d), gg(kk * D.d), bc(kk), bg(kk);
            ASSERT_EQ(mfs__logreg_loss_grad_weighted(D.X.data(), D.y.data(), wp, D.n, D.d, kk, W.data(), b.data(), &lc,
                                                     gc.data(), bc.data()), MFS_OK);
            mfs__logreg_cuda *s = nullptr;
            ASSERT_EQ(mfs__logreg_cuda_create(D.X.data(), D.y.data(), wp, D.n, D.d, kk, nullptr, &s), MFS_OK)
                << mfs_last_error();
            for (int rep = 0; rep < 2; rep++) {  // the state is reusable
                ASSERT_EQ(mfs__logreg_cuda_eval(s, W.data(), b.data(), &lg, gg.data(), bg.data()), MFS_OK)
                    << mfs_last_error();
                // Both sum float32 terms in float32 blocks and double across blocks, in a
                // different order: 1e-5 of n (the scale of both sums; weights are <= 3,
                // mean 1.3) is float32 noise.
                EXPECT_NEAR(lg, lc, 1e-5 * D.n) << K << (wp ? " weighted" : "");
                double e = 0;
                for (size_t j = 0; j < gc.size(); j++) e = std::max(e, std::fabs(gg[j] - gc[j]));
                for (int64_t k = 0; k < kk; k++) e = std::max(e, std::fabs(bg[k] - bc[k]));
                EXPECT_LT(e / D.n, 1e-5) << K << (wp ? " weighted" : "");
            }
            mfs__logreg_cuda_free(s);
        }
    }
}

TEST(CudaLogisticRegression, FitMatchesCpu) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    for (int64_t K : {2, 5}) {
        Data D = make(20000, 16, K, 30 + (unsigned)K);
        std::mt19937 gen(40 + (unsigned)K);
        std::uniform_real_distribution<float> U(0.f, 2.f);
        std::vector<float> sw(D.n);
        for (auto &v : sw) v = U(gen);
        for (const std::vector<float> *wp : {(const std::vector<float> *)nullptr, (const std::vector<float> *)&sw}) {
            mfs_model *c = fit(D, MFS_DEVICE_CPU, wp), *g = fit(D, MFS_DEVICE_CUDA, wp);
            const int64_t kk = K == 2 ? 1 : K;
            auto wc = coef(c, kk * D.d), wg = coef(g, kk * D.d);
            double e = 0, s = 0;
            for (size_t j = 0; j < wc.size(); j++) {
                e = std::max(e, (double)std::fabs(wc[j] - wg[j]));
                s = std::max(s, (double)std::fabs(wc[j]));
            }
            // Both stop at max |grad| <= 1e-6 of a well-conditioned problem (Hessian
            // eigenvalues ~0.1): coefficients agree to ~1e-5 absolute; 1e-3 relative.
            EXPECT_LT(e / s, 1e-3) << K << (wp ? " weighted" : "");
            mfs_model_free(c);
            mfs_model_free(g);
        }
    }
}
