// Naive Bayes on CUDA against the CPU model on the same data (GPU tests skip
// without a GPU), and the no-GPU contract: MFS_E_DEVICE with a message.
#include <gtest/gtest.h>
#include <cmath>
#include <random>
#include <string>
#include <vector>
extern "C" {
#include "mfs/mfs.h"
}
#include "src_cuda/cuda_api.h"

namespace {
struct Data {
    int64_t n, d, K;
    std::vector<float> X;
    std::vector<int32_t> y;
};

Data counts(int64_t n, int64_t d, int64_t K, unsigned seed) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<double> U(0.2, 3.0);
    std::vector<double> rate(K * d);
    for (auto &r : rate) r = U(g);
    Data D{n, d, K, std::vector<float>(n * d), std::vector<int32_t>(n)};
    for (int64_t i = 0; i < n; i++) {
        D.y[i] = (int32_t)(g() % K);
        for (int64_t j = 0; j < d; j++) {
            std::poisson_distribution<int> P(rate[D.y[i] * d + j]);
            D.X[i * d + j] = (float)P(g);
        }
    }
    return D;
}

mfs_status fit(const Data &D, int variant, mfs_device dev, mfs_model **m) {
    mfs_naive_bayes_params p;
    mfs_naive_bayes_params_default(&p);
    p.variant = variant;
    p.n_classes = (int32_t)D.K;
    p.binarize = 1.0;
    mfs_status s = mfs_naive_bayes_create(&p, dev, m);
    if (s != MFS_OK) return s;
    mfs_array X = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    mfs_array y = {(void *)D.y.data(), MFS_DTYPE_INT32, 1, {D.n}};
    return mfs_fit(*m, &X, &y);
}
}  // namespace

TEST(CudaNaiveBayes, MatchesCpu) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    Data D = counts(20000, 300, 6, 1);
    for (int variant : {0, 1, 2}) {
        mfs_model *c = nullptr, *g = nullptr;
        ASSERT_EQ(fit(D, variant, MFS_DEVICE_CPU, &c), MFS_OK) << mfs_last_error();
        ASSERT_EQ(fit(D, variant, MFS_DEVICE_CUDA, &g), MFS_OK) << mfs_last_error();
        std::vector<float> pc(D.n * D.K), pg(D.n * D.K);
        std::vector<int32_t> lc(D.n), lg(D.n);
        mfs_array X = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
        mfs_array Pc = {pc.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.K}}, Pg = {pg.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.K}};
        mfs_array Lc = {lc.data(), MFS_DTYPE_INT32, 1, {D.n}}, Lg = {lg.data(), MFS_DTYPE_INT32, 1, {D.n}};
        ASSERT_EQ(mfs_predict_proba(c, &X, &Pc), MFS_OK);
        ASSERT_EQ(mfs_predict_proba(g, &X, &Pg), MFS_OK) << mfs_last_error();
        ASSERT_EQ(mfs_predict(c, &X, &Lc), MFS_OK);
        ASSERT_EQ(mfs_predict(g, &X, &Lg), MFS_OK) << mfs_last_error();
        int64_t same = 0;
        for (int64_t i = 0; i < D.n; i++) same += lc[i] == lg[i];
        EXPECT_GE(same, D.n * 999 / 1000) << variant;
        // different float32 summation orders of the discrete GEMM: 1e-4
        for (int64_t q = 0; q < D.n * D.K; q++) ASSERT_NEAR(pc[q], pg[q], 1e-4) << variant << " " << q;
        mfs_model_free(c);
        mfs_model_free(g);
    }
}

TEST(CudaNaiveBayes, NoGpuIsADeviceError) {
    if (mfs_cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present";
    Data D = counts(10, 3, 2, 2);
    mfs_model *m = nullptr;
    EXPECT_EQ(fit(D, 1, MFS_DEVICE_CUDA, &m), MFS_E_DEVICE);
    EXPECT_EQ(m, nullptr);
    EXPECT_FALSE(std::string(mfs_last_error()).empty());
    float W[3] = {0, 0, 0};
    double b[1] = {0};
    float lp[10];
    EXPECT_EQ(mfs__naive_bayes_discrete_cuda(D.X.data(), 10, 3, 1, W, b, NAN, lp, nullptr, nullptr), MFS_E_DEVICE);
    double th[3] = {0, 0, 0}, pr[3] = {1, 1, 1};
    EXPECT_EQ(mfs__naive_bayes_gaussian_cuda(D.X.data(), 10, 3, 1, th, pr, b, lp, nullptr, nullptr), MFS_E_DEVICE);
}
