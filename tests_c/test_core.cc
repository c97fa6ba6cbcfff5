// Core units: errors, threads, memory accounting, array validation, the RNG,
// the registry, and the generic model interface's handling of bad calls.
#include <gtest/gtest.h>
#include <cmath>
#include <cstring>
#include <set>
#include <string>
#include <vector>
extern "C" {
#include "mfs/mfs.h"
#include "core/internal.h"
#include "core/rng.h"
}

static std::string err() { return mfs_last_error(); }

TEST(Core, VersionAndAbi) {
    EXPECT_STREQ(mfs_version(), "0.1.0");
    EXPECT_EQ(mfs_abi_version(), MFS_ABI_VERSION);
}

TEST(Core, StatusStrings) {
    EXPECT_STREQ(mfs_status_string(MFS_OK), "MFS_OK");
    EXPECT_STREQ(mfs_status_string(MFS_E_FORMAT), "MFS_E_FORMAT");
    EXPECT_STREQ(mfs_status_string((mfs_status)999), "MFS_E_UNKNOWN");
}

TEST(Core, Threads) {
    int32_t before = mfs_get_num_threads();
    EXPECT_GE(before, 1);
    EXPECT_EQ(mfs_set_num_threads(0), MFS_E_INVALID_ARG);
    EXPECT_NE(err().find("mfs_set_num_threads: n is 0"), std::string::npos) << err();
    EXPECT_EQ(mfs_set_num_threads(-3), MFS_E_INVALID_ARG);
    EXPECT_EQ(mfs_set_num_threads(1), MFS_OK);
    EXPECT_EQ(mfs_get_num_threads(), 1);
    EXPECT_EQ(mfs_set_num_threads(before), MFS_OK);
}

TEST(Core, CudaCountNeverFails) {
    int32_t n = mfs_cuda_device_count();
    EXPECT_GE(n, 0);
}

TEST(Core, MemoryAccounting) {
    mfs_memory_stats a, b, c;
    ASSERT_EQ(mfs_memory_stats_get(nullptr, &a), MFS_OK);
    void *p = mfs__malloc(1 << 20);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ((uintptr_t)p % 64, 0u);
    ASSERT_EQ(mfs_memory_stats_get(nullptr, &b), MFS_OK);
    EXPECT_EQ(b.host_current - a.host_current, 1 << 20);
    EXPECT_GE(b.host_peak, b.host_current);
    mfs__free(p);
    ASSERT_EQ(mfs_memory_stats_get(nullptr, &c), MFS_OK);
    EXPECT_EQ(c.host_current, a.host_current);
    EXPECT_GE(c.host_peak, a.host_current + (1 << 20));
    EXPECT_EQ(mfs_memory_reset_peak(nullptr), MFS_OK);
    ASSERT_EQ(mfs_memory_stats_get(nullptr, &c), MFS_OK);
    EXPECT_EQ(c.host_peak, c.host_current);
    EXPECT_EQ(mfs_memory_stats_get(nullptr, nullptr), MFS_E_INVALID_ARG);
    EXPECT_EQ(mfs__calloc(SIZE_MAX / 2, 4), nullptr);  // overflow, not a wrap
    EXPECT_EQ(mfs__malloc(SIZE_MAX - 8), nullptr);
}

TEST(Core, ValidationMessages) {
    float data[6] = {1, 2, 3, 4, 5, 6};
    mfs_array X = {data, MFS_DTYPE_FLOAT32, 2, {3, 2}};
    int64_t n, d;
    ASSERT_EQ(mfs__check_matrix("f", "X", &X, 1, &n, &d), MFS_OK);
    EXPECT_EQ(n, 3);
    EXPECT_EQ(d, 2);
    data[3] = NAN;
    EXPECT_EQ(mfs__check_matrix("f", "X", &X, 1, &n, &d), MFS_E_VALUE);
    EXPECT_EQ(err(), "f: X contains NaN at row 1, column 1");
    data[3] = INFINITY;
    EXPECT_EQ(mfs__check_matrix("f", "X", &X, 1, &n, &d), MFS_E_VALUE);
    EXPECT_NE(err().find("infinity"), std::string::npos);
    data[3] = 4;
    mfs_array v = {data, MFS_DTYPE_FLOAT32, 1, {6}};
    EXPECT_EQ(mfs__check_matrix("f", "X", &v, 1, &n, &d), MFS_E_SHAPE);
    mfs_array i32 = {data, MFS_DTYPE_INT32, 2, {3, 2}};
    EXPECT_EQ(mfs__check_matrix("f", "X", &i32, 1, &n, &d), MFS_E_UNSUPPORTED);
    mfs_array big = {data, MFS_DTYPE_FLOAT32, 2, {INT64_MAX / 2, 4}};
    EXPECT_EQ(mfs__check_matrix("f", "X", &big, 1, &n, &d), MFS_E_OVERFLOW);
    mfs_array neg = {data, MFS_DTYPE_FLOAT32, 2, {-1, 2}};
    EXPECT_EQ(mfs__check_matrix("f", "X", &neg, 1, &n, &d), MFS_E_SHAPE);
    mfs_array nul = {nullptr, MFS_DTYPE_FLOAT32, 2, {3, 2}};
    EXPECT_EQ(mfs__check_matrix("f", "X", &nul, 1, &n, &d), MFS_E_INVALID_ARG);
    mfs_array few = {data, MFS_DTYPE_FLOAT32, 2, {1, 2}};
    EXPECT_EQ(mfs__check_matrix("f", "X", &few, 2, &n, &d), MFS_E_SHAPE);
    EXPECT_EQ(mfs__check_matrix("f", "X", nullptr, 1, &n, &d), MFS_E_INVALID_ARG);
    mfs_array baddt = {data, (mfs_dtype)77, 2, {3, 2}};
    EXPECT_EQ(mfs__check_matrix("f", "X", &baddt, 1, &n, &d), MFS_E_UNSUPPORTED);
    mfs_array ndim9 = {data, MFS_DTYPE_FLOAT32, 9, {3, 2}};
    EXPECT_EQ(mfs__check_matrix("f", "X", &ndim9, 1, &n, &d), MFS_E_SHAPE);
}

TEST(Core, AllFiniteLongAndShort) {
    std::vector<float> x(1000, 1.0f);
    EXPECT_TRUE(mfs__all_finite(x.data(), (int64_t)x.size()));
    for (size_t pos : {size_t(0), size_t(15), size_t(16), size_t(999)}) {
        x[pos] = NAN;
        EXPECT_FALSE(mfs__all_finite(x.data(), (int64_t)x.size())) << pos;
        x[pos] = -INFINITY;
        EXPECT_FALSE(mfs__all_finite(x.data(), (int64_t)x.size())) << pos;
        x[pos] = 1.0f;
    }
    x[5] = 3.4e38f;  // large but finite
    EXPECT_TRUE(mfs__all_finite(x.data(), (int64_t)x.size()));
}

TEST(Rng, DeterministicAndCounterBased) {
    mfs_u32x4 a = mfs_philox(42, 0, 0), b = mfs_philox(42, 0, 0), c = mfs_philox(42, 0, 1);
    EXPECT_EQ(0, memcmp(&a, &b, sizeof a));
    EXPECT_NE(0, memcmp(&a, &c, sizeof a));
    mfs_u32x4 d = mfs_philox(43, 0, 0), e = mfs_philox(42, 1, 0);
    EXPECT_NE(0, memcmp(&a, &d, sizeof a));
    EXPECT_NE(0, memcmp(&a, &e, sizeof a));
    // A sequential stream is the blocks in counter order.
    mfs_rng r = mfs_rng_make(42, 0);
    for (int blk = 0; blk < 3; blk++) {
        mfs_u32x4 e = mfs_philox(42, 0, (uint64_t)blk);
        for (int i = 0; i < 4; i++) EXPECT_EQ(mfs_rng_u32(&r), e.v[i]);
    }
}

TEST(Rng, UniformAndNormalMoments) {
    mfs_rng r = mfs_rng_make(7, 3);
    const int N = 200000;
    double s = 0, s2 = 0, z = 0, z2 = 0;
    for (int i = 0; i < N; i++) {
        double u = mfs_rng_uniform(&r);
        ASSERT_GE(u, 0.0);
        ASSERT_LT(u, 1.0);
        s += u; s2 += u * u;
        double g = mfs_rng_normal(&r);
        z += g; z2 += g * g;
    }
    // 5-sigma bounds for N = 2e5: mean of U(0,1) has sd 0.29/sqrt(N) = 6.5e-4.
    EXPECT_NEAR(s / N, 0.5, 5 * 6.5e-4);
    EXPECT_NEAR(s2 / N - 0.25, 1.0 / 12, 0.003);
    EXPECT_NEAR(z / N, 0.0, 5 * 2.3e-3);
    EXPECT_NEAR(z2 / N, 1.0, 0.02);
    std::set<uint64_t> seen;
    for (int i = 0; i < 1000; i++) {
        uint64_t v = mfs_rng_below(&r, 10);
        ASSERT_LT(v, 10u);
        seen.insert(v);
    }
    EXPECT_EQ(seen.size(), 10u);
}

TEST(Registry, EveryKindHasATable) {
    for (int k : {MFS_MODEL_LINEAR_REGRESSION, MFS_MODEL_KMEANS, MFS_MODEL_PCA,
                  MFS_MODEL_LOGISTIC_REGRESSION, MFS_MODEL_KNN, MFS_MODEL_NAIVE_BAYES,
                  MFS_MODEL_DECISION_TREE, MFS_MODEL_RANDOM_FOREST, MFS_MODEL_SVM,
                  MFS_MODEL_LINEAR_SVM, MFS_MODEL_MLP, MFS_MODEL_CNN}) {
        const mfs_model_vtable *vt = mfs__vtable((mfs_model_kind)k);
        ASSERT_NE(vt, nullptr) << k;
        EXPECT_EQ((int)vt->kind, k);
        EXPECT_GT(mfs_params_size((mfs_model_kind)k), 0u);
    }
    EXPECT_EQ(mfs__vtable((mfs_model_kind)0), nullptr);
    EXPECT_EQ(mfs__vtable((mfs_model_kind)1000), nullptr);
    EXPECT_EQ(mfs_params_size((mfs_model_kind)1000), 0u);
    EXPECT_EQ(mfs_params_size(MFS_MODEL_LINEAR_REGRESSION), sizeof(mfs_linear_regression_params));
    EXPECT_EQ(mfs_params_size(MFS_MODEL_KMEANS), sizeof(mfs_kmeans_params));
    EXPECT_EQ(mfs_params_size(MFS_MODEL_PCA), sizeof(mfs_pca_params));
}

TEST(Model, CreateRejectsBadCalls) {
    mfs_linear_regression_params p;
    mfs_linear_regression_params_default(&p);
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_model_create(MFS_MODEL_LINEAR_REGRESSION, &p, sizeof p - 1, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
    EXPECT_NE(err().find("params_size"), std::string::npos);
    EXPECT_EQ(mfs_model_create((mfs_model_kind)99, &p, sizeof p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
    EXPECT_EQ(mfs_model_create(MFS_MODEL_LINEAR_REGRESSION, nullptr, sizeof p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
    EXPECT_EQ(mfs_model_create(MFS_MODEL_LINEAR_REGRESSION, &p, sizeof p, (mfs_device)5, &m), MFS_E_INVALID_ARG);
    EXPECT_EQ(mfs_model_create(MFS_MODEL_LINEAR_REGRESSION, &p, sizeof p, MFS_DEVICE_CPU, nullptr), MFS_E_INVALID_ARG);
    p.alpha = -1;
    EXPECT_EQ(mfs_linear_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
    EXPECT_NE(err().find("alpha is -1"), std::string::npos) << err();
    p.alpha = NAN;
    EXPECT_EQ(mfs_linear_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
    EXPECT_EQ(m, nullptr);
    mfs_model_free(nullptr);  // no-op
}

TEST(Model, CudaWithoutGpuIsADeviceError) {
    if (mfs_cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present";
    mfs_linear_regression_params p;
    mfs_linear_regression_params_default(&p);
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_linear_regression_create(&p, MFS_DEVICE_CUDA, &m), MFS_E_DEVICE);
    EXPECT_FALSE(err().empty());
    EXPECT_EQ(m, nullptr);
}

TEST(Model, UnfittedAndWrongCalls) {
    mfs_linear_regression_params p;
    mfs_linear_regression_params_default(&p);
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_linear_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    float x[4] = {1, 2, 3, 4}, o[2];
    mfs_array X = {x, MFS_DTYPE_FLOAT32, 2, {2, 2}}, out = {o, MFS_DTYPE_FLOAT32, 1, {2}};
    EXPECT_EQ(mfs_predict(m, &X, &out), MFS_E_NOT_FITTED);
    EXPECT_NE(err().find("not fitted"), std::string::npos);
    EXPECT_EQ(mfs_transform(m, &X, &out), MFS_E_UNSUPPORTED);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_E_INVALID_ARG);  // supervised needs y
    EXPECT_EQ(mfs_predict(nullptr, &X, &out), MFS_E_INVALID_ARG);
    mfs_model_kind kind;
    int32_t fitted;
    int64_t nf;
    ASSERT_EQ(mfs_model_info(m, &kind, nullptr, &fitted, &nf), MFS_OK);
    EXPECT_EQ(kind, MFS_MODEL_LINEAR_REGRESSION);
    EXPECT_EQ(fitted, 0);
    EXPECT_EQ(mfs_model_array_count(m), 0);
    EXPECT_EQ(mfs_model_array_info(m, "coef", nullptr, nullptr, nullptr), MFS_E_NOT_FITTED);
    size_t needed = 0;
    EXPECT_EQ(mfs_model_save_buffer(m, nullptr, 0, &needed), MFS_E_BUFFER_TOO_SMALL);
    EXPECT_GT(needed, 40u);
    mfs_model_free(m);
}
