// Kernel SVM on CUDA against the CPU model on the same data (GPU tests skip
// without a GPU), and the no-GPU contract: MFS_E_DEVICE with a message.
#include <gtest/gtest.h>
#include <cmath>
#include <random>
#include <string>
#include <vector>
#include "testing.h"
#include "src_cuda/cuda_api.h"

namespace {
struct Data {
    int64_t n, d;
    std::vector<float> X;
    std::vector<int32_t> y;
    std::vector<float> t;
};

Data blobs(int64_t n, int64_t d, int K, unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<float> N(0, 1);
    std::vector<float> c(K * d);
    for (auto &v : c) v = N(g);
    Data D{n, d, std::vector<float>(n * d), std::vector<int32_t>(n), std::vector<float>(n)};
    for (int64_t i = 0; i < n; i++) {
        D.y[i] = (int32_t)(i % K);
        double s = 0;
        for (int64_t j = 0; j < d; j++) {
            D.X[i * d + j] = c[D.y[i] * d + j] + N(g);
            s += D.X[i * d + j];
        }
        D.t[i] = (float)std::sin(s);
    }
    return D;
}

mfs_status fit(const Data &D, int variant, mfs_device dev, mfs_model **m) {
    mfs_svm_params p;
    mfs_svm_params_default(&p);
    p.variant = variant;
    mfs_status s = mfs_svm_create(&p, dev, m);
    if (s != MFS_OK) return s;
    mfs_array X = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    mfs_array y = variant ? mfs_array{(void *)D.t.data(), MFS_DTYPE_FLOAT32, 1, {D.n}}
                          : mfs_array{(void *)D.y.data(), MFS_DTYPE_INT32, 1, {D.n}};
    return mfs_fit(*m, &X, &y);
}

int64_t count(const mfs_model *m, const char *name) {
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[4];
    EXPECT_EQ(mfs_model_array_info(m, name, &dt, &nd, shape), MFS_OK);
    return shape[0];
}

std::vector<float> values(const mfs_model *m, const Data &D, int variant, int64_t cols) {
    std::vector<float> v(D.n * cols);
    mfs_array X = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    mfs_array out = {v.data(), MFS_DTYPE_FLOAT32, cols > 1 ? 2 : 1, {D.n, cols > 1 ? cols : 0}};
    EXPECT_EQ(variant ? mfs_predict(m, &X, &out) : mfs_decision_function(m, &X, &out), MFS_OK) << mfs_last_error();
    return v;
}
}  // namespace

TEST(CudaSvm, MatchesCpu) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    for (int variant : {0, 1}) {
        for (int K : {2, 4}) {
            if (variant == 1 && K == 4) continue;
            Data D = blobs(3000, 20, K, 10 + K);
            mfs_model *c = nullptr, *g = nullptr;
            ASSERT_EQ(fit(D, variant, MFS_DEVICE_CPU, &c), MFS_OK) << mfs_last_error();
            ASSERT_EQ(fit(D, variant, MFS_DEVICE_CUDA, &g), MFS_OK) << mfs_last_error();
            // the device's kernel values are the CPU's but for the last bits of
            // exp: the same path, or one that parts within the tolerance
            const int64_t nc = count(c, "support"), ng = count(g, "support");
            EXPECT_LE(std::llabs(nc - ng), nc / 100 + 1) << variant << " " << K;
            const int64_t cols = variant || K == 2 ? 1 : K;
            auto vc = values(c, D, variant, cols), vg = values(g, D, variant, cols);
            // both within tol (1e-3) of the optimum: values agree to a few tol
            for (size_t q = 0; q < vc.size(); q++) ASSERT_NEAR(vc[q], vg[q], 1e-2) << variant << " " << K << " " << q;
            // the same fitted arrays, predicted on the GPU: double sums on both
            // sides, float32 output: 1e-5 relative
            auto buf = save(c);
            mfs_model *l = nullptr;
            ASSERT_EQ(mfs_model_load_buffer(buf.data(), buf.size(), MFS_DEVICE_CUDA, &l), MFS_OK) << mfs_last_error();
            auto vl = values(l, D, variant, cols);
            for (size_t q = 0; q < vc.size(); q++) ASSERT_NEAR(vc[q], vl[q], 1e-5 * (1 + std::fabs(vc[q]))) << q;
            mfs_model_free(l);
            mfs_model_free(c);
            mfs_model_free(g);
        }
    }
}

TEST(CudaSvm, LinearSvcDecisionsOnTheDevice) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    Data D = blobs(5000, 30, 3, 7);
    mfs_linear_svm_params p;
    mfs_linear_svm_params_default(&p);
    mfs_model *c = nullptr, *g = nullptr;
    ASSERT_EQ(mfs_linear_svm_create(&p, MFS_DEVICE_CPU, &c), MFS_OK);
    ASSERT_EQ(mfs_linear_svm_create(&p, MFS_DEVICE_CUDA, &g), MFS_OK) << mfs_last_error();
    mfs_array X = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    mfs_array y = {(void *)D.y.data(), MFS_DTYPE_INT32, 1, {D.n}};
    ASSERT_EQ(mfs_fit(c, &X, &y), MFS_OK);
    ASSERT_EQ(mfs_fit(g, &X, &y), MFS_OK) << mfs_last_error();
    std::vector<float> dc(D.n * 3), dg(D.n * 3);
    mfs_array Oc = {dc.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 3}}, Og = {dg.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 3}};
    ASSERT_EQ(mfs_decision_function(c, &X, &Oc), MFS_OK);
    ASSERT_EQ(mfs_decision_function(g, &X, &Og), MFS_OK) << mfs_last_error();
    // same fit (the host solves it); float32 GEMM vs double sums over 30 features
    for (size_t q = 0; q < dc.size(); q++) ASSERT_NEAR(dc[q], dg[q], 1e-4 * (1 + std::fabs(dc[q]))) << q;
    mfs_model_free(c);
    mfs_model_free(g);
}

TEST(CudaSvm, NoGpuIsADeviceError) {
    if (mfs_cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present";
    Data D = blobs(20, 3, 2, 2);
    mfs_model *m = nullptr;
    EXPECT_EQ(fit(D, 0, MFS_DEVICE_CUDA, &m), MFS_E_DEVICE);
    EXPECT_EQ(m, nullptr);
    EXPECT_FALSE(std::string(mfs_last_error()).empty());
    mfs__svm_cuda *s = nullptr;
    EXPECT_EQ(mfs__svm_cuda_create(D.X.data(), D.n, D.d, 2, 3, 1.0, 0.0, nullptr, &s), MFS_E_DEVICE);
    EXPECT_EQ(s, nullptr);
    double W[1] = {1}, rho[1] = {0}, dec[20];
    EXPECT_EQ(mfs__svm_decision_cuda(D.X.data(), D.n, D.d, D.X.data(), 1, W, rho, 1, 2, 3, 1.0, 0.0, dec, nullptr),
              MFS_E_DEVICE);
    mfs__svm_cuda_free(nullptr);  // a no-op
}
