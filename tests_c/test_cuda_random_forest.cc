// Random forest inference on CUDA against the CPU model on the same forest
// (GPU tests skip without a GPU), and the no-GPU contract: MFS_E_DEVICE with a
// message.
#include <gtest/gtest.h>
#include <cmath>
#include <random>
#include <string>
#include <vector>
#include "testing.h"

namespace {
struct Data {
    int64_t n, d, K;
    std::vector<float> X;
    std::vector<int32_t> y;
    std::vector<float> t;
};

Data make(int64_t n, int64_t d, int64_t K, unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<float> N(0, 1);
    Data D{n, d, K, std::vector<float>(n * d), std::vector<int32_t>(n), std::vector<float>(n)};
    for (int64_t i = 0; i < n; i++) {
        D.y[i] = (int32_t)(g() % K);
        for (int64_t j = 0; j < d; j++) D.X[i * d + j] = N(g) + (j < 3 ? 1.5f * (float)((D.y[i] + j) % K) : 0.f);
        D.t[i] = std::sin(D.X[i * d]) + D.X[i * d + 1] * D.X[i * d + 2] + 0.1f * N(g);
    }
    return D;
}

mfs_model *fit_cpu(const Data &D, bool regression, int32_t T) {
    mfs_random_forest_params p;
    mfs_random_forest_params_default(&p);
    p.n_estimators = T;
    p.random_state = 3;
    if (regression) {
        p.criterion = MFS_TREE_CRITERION_SQUARED_ERROR;
        p.max_features_mode = MFS_TREE_MAX_FEATURES_FRACTION;
        p.max_features = 1.0;
    }
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_random_forest_create(&p, MFS_DEVICE_CPU, &m), MFS_OK) << mfs_last_error();
    mfs_array X = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    mfs_array y = regression ? mfs_array{(void *)D.t.data(), MFS_DTYPE_FLOAT32, 1, {D.n}}
                             : mfs_array{(void *)D.y.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    return m;
}

// The same forest on the GPU: the CPU model's file loaded with MFS_DEVICE_CUDA.
mfs_model *on_gpu(const mfs_model *m) {
    auto buf = save(m);
    mfs_model *g = nullptr;
    EXPECT_EQ(mfs_model_load_buffer(buf.data(), buf.size(), MFS_DEVICE_CUDA, &g), MFS_OK) << mfs_last_error();
    return g;
}
}  // namespace

TEST(CudaRandomForest, ClassifierMatchesCpu) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    Data D = make(20000, 12, 4, 1);
    mfs_model *c = fit_cpu(D, false, 40);
    mfs_model *g = on_gpu(c);
    ASSERT_NE(g, nullptr);
    // 70001 query rows: not a multiple of the 128-thread blocks (the ragged tail)
    Data Q = make(70001, 12, 4, 2);
    std::vector<float> pc(Q.n * Q.K), pg(Q.n * Q.K);
    std::vector<int32_t> lc(Q.n), lg(Q.n);
    mfs_array X = {Q.X.data(), MFS_DTYPE_FLOAT32, 2, {Q.n, Q.d}};
    mfs_array Pc = {pc.data(), MFS_DTYPE_FLOAT32, 2, {Q.n, Q.K}}, Pg = {pg.data(), MFS_DTYPE_FLOAT32, 2, {Q.n, Q.K}};
    mfs_array Lc = {lc.data(), MFS_DTYPE_INT32, 1, {Q.n}}, Lg = {lg.data(), MFS_DTYPE_INT32, 1, {Q.n}};
    ASSERT_EQ(mfs_predict_proba(c, &X, &Pc), MFS_OK) << mfs_last_error();
    ASSERT_EQ(mfs_predict_proba(g, &X, &Pg), MFS_OK) << mfs_last_error();
    ASSERT_EQ(mfs_predict(c, &X, &Lc), MFS_OK) << mfs_last_error();
    ASSERT_EQ(mfs_predict(g, &X, &Lg), MFS_OK) << mfs_last_error();
    // the same double additions in the same (tree) order, the same float32
    // threshold comparisons: identical, not just close
    for (int64_t i = 0; i < Q.n; i++) ASSERT_EQ(lc[i], lg[i]) << i;
    for (int64_t q = 0; q < Q.n * Q.K; q++) ASSERT_EQ(pc[q], pg[q]) << q;
    mfs_memory_stats st;
    ASSERT_EQ(mfs_memory_stats_get(g, &st), MFS_OK);
    EXPECT_GT(st.device_peak, 0);     // the forest went to the device
    EXPECT_EQ(st.device_current, 0);  // and nothing stays there after predict
    mfs_model_free(c);
    mfs_model_free(g);
}

TEST(CudaRandomForest, RegressorMatchesCpuAndFitsOnCuda) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    Data D = make(5000, 6, 2, 3);
    mfs_model *c = fit_cpu(D, true, 25);
    // a CUDA model fits on the CPU (the same forest) and predicts on the GPU
    mfs_random_forest_params p;
    ASSERT_EQ(mfs_model_get_params(c, &p, sizeof p), MFS_OK);
    mfs_model *g = nullptr;
    ASSERT_EQ(mfs_random_forest_create(&p, MFS_DEVICE_CUDA, &g), MFS_OK) << mfs_last_error();
    mfs_array X = {D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    mfs_array y = {D.t.data(), MFS_DTYPE_FLOAT32, 1, {D.n}};
    ASSERT_EQ(mfs_fit(g, &X, &y), MFS_OK) << mfs_last_error();
    std::vector<float> rc(D.n), rg(D.n);
    mfs_array Rc = {rc.data(), MFS_DTYPE_FLOAT32, 1, {D.n}}, Rg = {rg.data(), MFS_DTYPE_FLOAT32, 1, {D.n}};
    ASSERT_EQ(mfs_predict(c, &X, &Rc), MFS_OK) << mfs_last_error();
    ASSERT_EQ(mfs_predict(g, &X, &Rg), MFS_OK) << mfs_last_error();
    for (int64_t i = 0; i < D.n; i++) ASSERT_EQ(rc[i], rg[i]) << i;  // same sums, same order
    mfs_model_free(c);
    mfs_model_free(g);
}

TEST(CudaRandomForest, NoGpuIsADeviceError) {
    if (mfs_cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present";
    mfs_random_forest_params p;
    mfs_random_forest_params_default(&p);
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_random_forest_create(&p, MFS_DEVICE_CUDA, &m), MFS_E_DEVICE);
    EXPECT_EQ(m, nullptr);
    EXPECT_NE(std::string(mfs_last_error()).find("mfs_random_forest_create"), std::string::npos) << mfs_last_error();
    // a CPU model's file loaded on CUDA: the same error, not a crash
    Data D = make(50, 3, 2, 4);
    mfs_model *c = fit_cpu(D, false, 3);
    auto buf = save(c);
    EXPECT_EQ(mfs_model_load_buffer(buf.data(), buf.size(), MFS_DEVICE_CUDA, &m), MFS_E_DEVICE);
    EXPECT_EQ(m, nullptr);
    mfs_model_free(c);
}
