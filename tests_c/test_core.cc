// Core units: errors, threads, memory accounting, array validation, the RNG,
// the registry, and the generic model interface's handling of bad calls.
#include <gtest/gtest.h>
#include <cmath>
#include <cstdio>
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
    // Blocks from 4 MiB on are advised for huge pages (its 2 MiB-aligned
    // interior): still aligned, counted to the byte, every byte usable.
    for (size_t bytes : {(size_t)(4 << 20), (size_t)(9 << 20) + 13}) {
        ASSERT_EQ(mfs_memory_stats_get(nullptr, &a), MFS_OK);
        auto *q = (unsigned char *)mfs__malloc(bytes);
        ASSERT_NE(q, nullptr);
        EXPECT_EQ((uintptr_t)q % 64, 0u);
        ASSERT_EQ(mfs_memory_stats_get(nullptr, &b), MFS_OK);
        EXPECT_EQ(b.host_current - a.host_current, (int64_t)bytes);
        std::memset(q, 0xA5, bytes);
        EXPECT_EQ(q[0], 0xA5);
        EXPECT_EQ(q[bytes - 1], 0xA5);
        mfs__free(q);
        ASSERT_EQ(mfs_memory_stats_get(nullptr, &c), MFS_OK);
        EXPECT_EQ(c.host_current, a.host_current);
    }
    EXPECT_EQ(mfs_memory_reset_peak(nullptr), MFS_OK);
    ASSERT_EQ(mfs_memory_stats_get(nullptr, &c), MFS_OK);
    EXPECT_EQ(c.host_peak, c.host_current);
    EXPECT_EQ(mfs_memory_stats_get(nullptr, nullptr), MFS_E_INVALID_ARG);
    EXPECT_EQ(mfs__calloc(SIZE_MAX / 2, 4), nullptr);  // overflow, not a wrap
    EXPECT_EQ(mfs__malloc(SIZE_MAX - 8), nullptr);
}

// mfs__row_blocks_checked: every row visited once, in blocks, on each
// thread count; a non-finite value anywhere gives the whole-X check's message
// naming the first one; a failing block's status and message reach the caller.
namespace {
struct Seen {
    std::vector<int> rows;
    int64_t fail_at = -1;
};
mfs_status mark_rows(void *c, int64_t r0, int64_t r1, int thread) {
    auto *s = (Seen *)c;
    if (thread < 0 || thread >= mfs_get_num_threads()) return mfs__error(MFS_E_VALUE, "bad thread %d", thread);
    if (r0 == s->fail_at) return mfs__error(MFS_E_NOMEM, "block at row %lld failed", (long long)r0);
    for (int64_t r = r0; r < r1; r++) {
#pragma omp atomic
        s->rows[(size_t)r]++;
    }
    return MFS_OK;
}
}  // namespace

TEST(Core, RowBlocksChecked) {
    const int64_t n = 1000, d = 7;
    std::vector<float> X((size_t)(n * d), 1.0f);
    const int32_t before = mfs_get_num_threads();
    for (int threads : {1, 2, 3})
        for (int64_t block : {1, 16, 333, 1000, 5000}) {
            ASSERT_EQ(mfs_set_num_threads(threads), MFS_OK);
            Seen s;
            s.rows.assign((size_t)n, 0);
            ASSERT_EQ(mfs__row_blocks_checked("f", "X", X.data(), n, d, block, mark_rows, &s), MFS_OK) << err();
            for (int64_t r = 0; r < n; r++) ASSERT_EQ(s.rows[(size_t)r], 1) << "row " << r << " block " << block;
            // two bad values in different blocks: the first one is named
            X[(size_t)(900 * d + 1)] = INFINITY;
            X[(size_t)(700 * d + 3)] = NAN;
            s.rows.assign((size_t)n, 0);
            EXPECT_EQ(mfs__row_blocks_checked("f", "X", X.data(), n, d, block, mark_rows, &s), MFS_E_VALUE);
            EXPECT_EQ(err(), "f: X contains NaN at row 700, column 3");
            X[(size_t)(700 * d + 3)] = 1.0f;
            EXPECT_EQ(mfs__row_blocks_checked("f", "X", X.data(), n, d, block, mark_rows, &s), MFS_E_VALUE);
            EXPECT_NE(err().find("infinity at row 900, column 1"), std::string::npos) << err();
            X[(size_t)(900 * d + 1)] = 1.0f;
            X[(size_t)(n * d - 1)] = NAN;  // the very last entry
            EXPECT_EQ(mfs__row_blocks_checked("f", "X", X.data(), n, d, block, mark_rows, &s), MFS_E_VALUE);
            EXPECT_EQ(err(), "f: X contains NaN at row 999, column 6");
            X[(size_t)(n * d - 1)] = 1.0f;
            // a block's own failure, from whichever thread ran it
            s.fail_at = block < n ? block : 0;
            EXPECT_EQ(mfs__row_blocks_checked("f", "X", X.data(), n, d, block, mark_rows, &s), MFS_E_NOMEM);
            EXPECT_EQ(err(), "block at row " + std::to_string(s.fail_at) + " failed");
        }
    Seen s;
    EXPECT_EQ(mfs__row_blocks_checked("f", "X", X.data(), 0, d, 16, mark_rows, &s), MFS_OK);  // no rows: no call
    ASSERT_EQ(mfs_set_num_threads(before), MFS_OK);
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

// Above 4 blocks of 65536 the check runs in blocks over the threads: a bad
// value in the first, a middle, the last full and the short last block is
// found with 1, 2 and 3 threads.
TEST(Core, AllFiniteBlockedOverThreads) {
    const size_t n = 5 * 65536 + 77;
    std::vector<float> x(n, -2.5f);
    for (int threads : {1, 2, 3}) {
        ASSERT_EQ(mfs_set_num_threads(threads), MFS_OK);
        EXPECT_TRUE(mfs__all_finite(x.data(), (int64_t)n));
        for (size_t pos : {size_t(0), size_t(65535), size_t(2 * 65536 + 3), size_t(4 * 65536), n - 1}) {
            x[pos] = NAN;
            EXPECT_FALSE(mfs__all_finite(x.data(), (int64_t)n)) << pos << " threads " << threads;
            x[pos] = INFINITY;
            EXPECT_FALSE(mfs__all_finite(x.data(), (int64_t)n)) << pos << " threads " << threads;
            x[pos] = -2.5f;
        }
    }
    mfs_set_num_threads(1);
}

// The one reader of optional weight vectors (class_weight, sample_weight):
// absent means ones, float32 and float64 are read, and each bad input is an
// error naming the input: wrong rank, wrong length, NaN, and a zero where
// weights must be > 0 (allowed where >= 0).
TEST(Core, InputWeightsOneReaderForEveryModel) {
    mfs_linear_regression_params p;
    mfs_linear_regression_params_default(&p);
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_linear_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    double w[4] = {7, 7, 7, 7};  // room for the n = 4 call below
    int given = -1;
    ASSERT_EQ(mfs__input_weights(m, "fn", "class_weight", 3, 1, "classes in the data", w, &given), MFS_OK);
    EXPECT_EQ(given, 0);
    for (int i = 0; i < 3; i++) EXPECT_EQ(w[i], 1.0);
    EXPECT_EQ(w[3], 7.0);  // n = 3: the fourth is untouched
    float f[3] = {0.5f, 2.0f, 0.0f};
    mfs_array a = {f, MFS_DTYPE_FLOAT32, 1, {3}};
    ASSERT_EQ(mfs_model_set_array(m, "class_weight", &a), MFS_OK);
    EXPECT_EQ(mfs__input_weights(m, "fn", "class_weight", 3, 1, "classes in the data", w, &given), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("fn: class_weight[2] = 0, weights must be finite and > 0"),
              std::string::npos) << mfs_last_error();
    ASSERT_EQ(mfs__input_weights(m, "fn", "class_weight", 3, 0, "rows of X", w, &given), MFS_OK);
    EXPECT_EQ(given, 1);
    EXPECT_EQ(w[0], 0.5);
    EXPECT_EQ(w[1], 2.0);
    EXPECT_EQ(w[2], 0.0);
    EXPECT_EQ(mfs__input_weights(m, "fn", "class_weight", 4, 0, "rows of X", w, &given), MFS_E_SHAPE);
    EXPECT_NE(std::string(mfs_last_error()).find("class_weight has 3 values, expected 4 (the rows of X)"),
              std::string::npos) << mfs_last_error();
    double dd[2][2] = {{1, 2}, {3, 4}};
    mfs_array b = {dd, MFS_DTYPE_FLOAT64, 2, {2, 2}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &b), MFS_OK);
    EXPECT_EQ(mfs__input_weights(m, "fn", "sample_weight", 2, 0, "rows of X", w, &given), MFS_E_SHAPE);
    EXPECT_NE(std::string(mfs_last_error()).find("sample_weight must be a float32 or float64 vector, got a 2-D"),
              std::string::npos) << mfs_last_error();
    double dn[2] = {1.0, NAN};
    mfs_array c = {dn, MFS_DTYPE_FLOAT64, 1, {2}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &c), MFS_OK);
    EXPECT_EQ(mfs__input_weights(m, "fn", "sample_weight", 2, 0, "rows of X", w, &given), MFS_E_VALUE);
    mfs_model_free(m);
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

// ---- metadata arrays ("meta.*"): user data saved with the model --------------

static mfs_model *fitted_linear_regression(std::vector<float> &X, std::vector<float> &y) {
    // y = 1 + 2 x0 - x1, exactly representable: 8 rows, 2 features
    X.clear();
    y.clear();
    for (int i = 0; i < 8; i++) {
        float a = (float)i, b = (float)(i * i % 5);
        X.push_back(a);
        X.push_back(b);
        y.push_back(1 + 2 * a - b);
    }
    mfs_linear_regression_params p;
    mfs_linear_regression_params_default(&p);
    mfs_model *m = nullptr;
    if (mfs_linear_regression_create(&p, MFS_DEVICE_CPU, &m) != MFS_OK) return nullptr;
    mfs_array Xa = {X.data(), MFS_DTYPE_FLOAT32, 2, {8, 2}}, ya = {y.data(), MFS_DTYPE_FLOAT32, 1, {8}};
    if (mfs_fit(m, &Xa, &ya) != MFS_OK) { mfs_model_free(m); return nullptr; }
    return m;
}

static std::vector<std::string> array_names(const mfs_model *m) {
    std::vector<std::string> names;
    for (int32_t i = 0; i < mfs_model_array_count(m); i++) names.push_back(mfs_model_array_name(m, i));
    return names;
}

static std::vector<uint8_t> get_bytes(const mfs_model *m, const char *name) {
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[4];
    if (mfs_model_array_info(m, name, &dt, &nd, shape) != MFS_OK || dt != MFS_DTYPE_UINT8 || nd != 1) return {};
    std::vector<uint8_t> out((size_t)shape[0]);
    mfs_array o = {out.data(), MFS_DTYPE_UINT8, 1, {shape[0]}};
    if (mfs_model_get_array(m, name, &o) != MFS_OK) return {};
    return out;
}

static std::vector<uint8_t> save_bytes(const mfs_model *m) {
    size_t needed = 0;
    EXPECT_EQ(mfs_model_save_buffer(m, nullptr, 0, &needed), MFS_E_BUFFER_TOO_SMALL);
    std::vector<uint8_t> buf(needed);
    EXPECT_EQ(mfs_model_save_buffer(m, buf.data(), buf.size(), &needed), MFS_OK) << err();
    return buf;
}

TEST(Meta, SetGetListReplaceRemove) {
    std::vector<float> X, y;
    mfs_model *m = fitted_linear_regression(X, y);
    ASSERT_NE(m, nullptr) << err();
    std::vector<std::string> fitted = array_names(m);
    ASSERT_EQ(fitted.size(), 3u);  // coef, intercept, rank
    uint8_t labels[5] = {'a', 'b', 0, 'c', 255};  // opaque bytes, NUL included
    mfs_array lv = {labels, MFS_DTYPE_UINT8, 1, {5}};
    ASSERT_EQ(mfs_model_set_array(m, "meta.classes", &lv), MFS_OK) << err();
    double grid[6] = {1, 2, 3, 4, 5, NAN};  // float64 metadata may hold NaN (only float32 is checked)
    mfs_array gv = {grid, MFS_DTYPE_FLOAT64, 2, {2, 3}};
    ASSERT_EQ(mfs_model_set_array(m, "meta.grid", &gv), MFS_OK) << err();
    std::vector<std::string> names = array_names(m);
    ASSERT_EQ(names.size(), 5u);
    EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 3), fitted);  // model arrays first
    EXPECT_EQ(names[3], "meta.classes");
    EXPECT_EQ(names[4], "meta.grid");
    EXPECT_EQ(mfs_model_array_name(m, 5), nullptr);
    EXPECT_EQ(get_bytes(m, "meta.classes"), std::vector<uint8_t>(labels, labels + 5));
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[4];
    ASSERT_EQ(mfs_model_array_info(m, "meta.grid", &dt, &nd, shape), MFS_OK);
    EXPECT_EQ(dt, MFS_DTYPE_FLOAT64);
    EXPECT_EQ(nd, 2);
    EXPECT_EQ(shape[0], 2);
    EXPECT_EQ(shape[1], 3);
    double back[6];
    mfs_array bv = {back, MFS_DTYPE_FLOAT64, 2, {2, 3}};
    ASSERT_EQ(mfs_model_get_array(m, "meta.grid", &bv), MFS_OK);
    EXPECT_EQ(0, memcmp(back, grid, sizeof grid));  // bit-exact copy, NaN included
    mfs_array wrong = {back, MFS_DTYPE_FLOAT64, 1, {6}};
    EXPECT_EQ(mfs_model_get_array(m, "meta.grid", &wrong), MFS_E_SHAPE);
    // the caller's buffer was copied: changing it does not change the model
    labels[0] = 'z';
    EXPECT_EQ(get_bytes(m, "meta.classes")[0], 'a');
    // replacing keeps one entry (and the listing order)
    uint8_t two[2] = {7, 8};
    mfs_array tv = {two, MFS_DTYPE_UINT8, 1, {2}};
    ASSERT_EQ(mfs_model_set_array(m, "meta.classes", &tv), MFS_OK);
    EXPECT_EQ(mfs_model_array_count(m), 5);
    EXPECT_EQ(get_bytes(m, "meta.classes"), std::vector<uint8_t>({7, 8}));
    // remove: the first of two, then an absent one (not an error)
    ASSERT_EQ(mfs_model_set_array(m, "meta.classes", nullptr), MFS_OK);
    names = array_names(m);
    ASSERT_EQ(names.size(), 4u);
    EXPECT_EQ(names[3], "meta.grid");
    EXPECT_EQ(mfs_model_array_info(m, "meta.classes", nullptr, nullptr, nullptr), MFS_E_INVALID_ARG);
    EXPECT_NE(err().find("no array named 'meta.classes'"), std::string::npos) << err();
    EXPECT_EQ(mfs_model_set_array(m, "meta.classes", nullptr), MFS_OK);
    ASSERT_EQ(mfs_model_set_array(m, "meta.grid", nullptr), MFS_OK);
    EXPECT_EQ(array_names(m), fitted);
    mfs_model_free(m);
}

TEST(Meta, KeptThroughFitAndCountedInMemory) {
    mfs_linear_regression_params p;
    mfs_linear_regression_params_default(&p);
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_linear_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_memory_stats before, after;
    ASSERT_EQ(mfs_memory_stats_get(m, &before), MFS_OK);
    std::vector<int64_t> ids(1000, 42);
    mfs_array iv = {ids.data(), MFS_DTYPE_INT64, 1, {1000}};
    // set before fit: listed on the unfitted model, and charged to it
    ASSERT_EQ(mfs_model_set_array(m, "meta.ids", &iv), MFS_OK) << err();
    ASSERT_EQ(mfs_memory_stats_get(m, &after), MFS_OK);
    EXPECT_GE(after.host_current - before.host_current, 8000);
    EXPECT_EQ(array_names(m), std::vector<std::string>({"meta.ids"}));
    EXPECT_EQ(mfs_model_array_info(m, "meta.ids", nullptr, nullptr, nullptr), MFS_OK);
    EXPECT_EQ(mfs_model_array_info(m, "coef", nullptr, nullptr, nullptr), MFS_E_NOT_FITTED);
    float x[6] = {0, 1, 2, 3, 4, 5}, yv[3] = {1, 2, 3};
    mfs_array X = {x, MFS_DTYPE_FLOAT32, 2, {3, 2}}, y = {yv, MFS_DTYPE_FLOAT32, 1, {3}};
    for (int fit = 0; fit < 2; fit++) {  // a refit does not clear metadata either
        ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK) << err();
        std::vector<std::string> names = array_names(m);
        ASSERT_EQ(names.size(), 4u);
        EXPECT_EQ(names.back(), "meta.ids");
    }
    // an unfitted model with metadata saves and loads it
    mfs_model *u = nullptr, *v = nullptr;
    ASSERT_EQ(mfs_linear_regression_create(&p, MFS_DEVICE_CPU, &u), MFS_OK);
    ASSERT_EQ(mfs_model_set_array(u, "meta.ids", &iv), MFS_OK);
    std::vector<uint8_t> buf = save_bytes(u);
    ASSERT_EQ(mfs_model_load_buffer(buf.data(), buf.size(), MFS_DEVICE_CPU, &v), MFS_OK) << err();
    int32_t fitted = 1;
    ASSERT_EQ(mfs_model_info(v, nullptr, nullptr, &fitted, nullptr), MFS_OK);
    EXPECT_EQ(fitted, 0);
    std::vector<int64_t> back(1000);
    mfs_array bv = {back.data(), MFS_DTYPE_INT64, 1, {1000}};
    ASSERT_EQ(mfs_model_get_array(v, "meta.ids", &bv), MFS_OK);
    EXPECT_EQ(back, ids);
    mfs_model_free(u);
    mfs_model_free(v);
    mfs_model_free(m);
}

TEST(Meta, LimitsAreClearErrorsAndLeaveTheModelAsItWas) {
    std::vector<float> X, y;
    mfs_model *m = fitted_linear_regression(X, y);
    ASSERT_NE(m, nullptr) << err();
    uint8_t one = 1;
    mfs_array ov = {&one, MFS_DTYPE_UINT8, 1, {1}};
    EXPECT_EQ(mfs_model_set_array(m, "meta.", &ov), MFS_E_INVALID_ARG);
    EXPECT_NE(err().find("mfs_model_set_array: metadata array name 'meta.' must be 'meta.' followed by"),
              std::string::npos) << err();
    EXPECT_EQ(mfs_model_set_array(m, "meta.a_name_that_is_far_too_long_", &ov), MFS_E_INVALID_ARG);
    EXPECT_NE(err().find("too long"), std::string::npos) << err();
    float bad[2] = {1.0f, NAN};
    mfs_array fv = {bad, MFS_DTYPE_FLOAT32, 1, {2}};
    EXPECT_EQ(mfs_model_set_array(m, "meta.f", &fv), MFS_E_VALUE);
    EXPECT_NE(err().find("'meta.f' contains NaN"), std::string::npos) << err();
    mfs_array dv = {&one, (mfs_dtype)77, 1, {1}};
    EXPECT_EQ(mfs_model_set_array(m, "meta.d", &dv), MFS_E_UNSUPPORTED);
    mfs_array nv = {&one, MFS_DTYPE_UINT8, 5, {1, 1, 1, 1}};
    EXPECT_EQ(mfs_model_set_array(m, "meta.d", &nv), MFS_E_SHAPE);
    mfs_array hv = {&one, MFS_DTYPE_UINT8, 2, {INT64_MAX / 2, 4}};  // hostile shape: refused before any read
    EXPECT_EQ(mfs_model_set_array(m, "meta.d", &hv), MFS_E_OVERFLOW);
    mfs_array zv = {nullptr, MFS_DTYPE_UINT8, 1, {3}};
    EXPECT_EQ(mfs_model_set_array(m, "meta.d", &zv), MFS_E_INVALID_ARG);
    EXPECT_EQ(mfs_model_array_count(m), 3);  // nothing was added
    // count cap: 16 metadata arrays
    char name[MFS_NAME_MAX];
    for (int i = 0; i < MFS_META_MAX_ARRAYS; i++) {
        snprintf(name, sizeof name, "meta.k%d", i);
        ASSERT_EQ(mfs_model_set_array(m, name, &ov), MFS_OK) << i << err();
    }
    EXPECT_EQ(mfs_model_set_array(m, "meta.one_more", &ov), MFS_E_INVALID_ARG);
    EXPECT_NE(err().find("already has 16 metadata arrays, at most 16"), std::string::npos) << err();
    EXPECT_EQ(mfs_model_set_array(m, "meta.k3", &ov), MFS_OK);  // replacing is not adding
    EXPECT_EQ(mfs_model_array_count(m), 3 + MFS_META_MAX_ARRAYS);
    for (int i = 0; i < MFS_META_MAX_ARRAYS; i++) {
        snprintf(name, sizeof name, "meta.k%d", i);
        ASSERT_EQ(mfs_model_set_array(m, name, nullptr), MFS_OK);
    }
    // size cap: 64 MiB in all, the array being replaced not counted
    std::vector<uint8_t> big((size_t)MFS_META_MAX_BYTES + 1, 3);
    mfs_array bv = {big.data(), MFS_DTYPE_UINT8, 1, {(int64_t)big.size()}};
    EXPECT_EQ(mfs_model_set_array(m, "meta.big", &bv), MFS_E_INVALID_ARG);
    EXPECT_NE(err().find("'meta.big' has 67108865 bytes; metadata arrays hold at most 67108864 bytes"),
              std::string::npos) << err();
    bv.shape[0] = 40 << 20;
    ASSERT_EQ(mfs_model_set_array(m, "meta.big", &bv), MFS_OK) << err();
    bv.shape[0] = 30 << 20;
    EXPECT_EQ(mfs_model_set_array(m, "meta.more", &bv), MFS_E_INVALID_ARG);
    EXPECT_NE(err().find("the others use 41943040"), std::string::npos) << err();
    bv.shape[0] = 60 << 20;
    EXPECT_EQ(mfs_model_set_array(m, "meta.big", &bv), MFS_OK) << err();  // 60 MiB replaces 40 MiB
    bv.shape[0] = 4 << 20;
    EXPECT_EQ(mfs_model_set_array(m, "meta.more", &bv), MFS_OK) << err();  // exactly 64 MiB in all
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[4];
    ASSERT_EQ(mfs_model_array_info(m, "meta.big", &dt, &nd, shape), MFS_OK);
    EXPECT_EQ(shape[0], 60 << 20);
    mfs_model_free(m);
}

TEST(Meta, NotVisibleToTheModel) {
    std::vector<float> X, y;
    mfs_model *m = fitted_linear_regression(X, y);
    ASSERT_NE(m, nullptr) << err();
    std::vector<float> before(8), after(8);
    mfs_array Xa = {X.data(), MFS_DTYPE_FLOAT32, 2, {8, 2}};
    mfs_array ob = {before.data(), MFS_DTYPE_FLOAT32, 1, {8}}, oa = {after.data(), MFS_DTYPE_FLOAT32, 1, {8}};
    ASSERT_EQ(mfs_predict(m, &Xa, &ob), MFS_OK);
    float junk[3] = {1e30f, -1e30f, 0};
    mfs_array jv = {junk, MFS_DTYPE_FLOAT32, 1, {3}};
    ASSERT_EQ(mfs_model_set_array(m, "meta.coef", &jv), MFS_OK);
    EXPECT_EQ(mfs__array_find(m, "meta.coef"), nullptr);  // the model's lookup never returns metadata
    EXPECT_NE(mfs__meta_find(m, "meta.coef"), nullptr);
    ASSERT_EQ(mfs_predict(m, &Xa, &oa), MFS_OK);
    EXPECT_EQ(before, after);  // bit-identical: the same code on the same state
    // model code cannot create an array in the metadata namespace
    EXPECT_EQ(mfs__array_new(m, "meta.x", MFS_DTYPE_FLOAT32, 0, nullptr, nullptr), MFS_E_INTERNAL);
    // after a round trip the model's check_state passes and predict is unchanged
    std::vector<uint8_t> buf = save_bytes(m);
    mfs_model *l = nullptr;
    ASSERT_EQ(mfs_model_load_buffer(buf.data(), buf.size(), MFS_DEVICE_CPU, &l), MFS_OK) << err();
    ASSERT_EQ(mfs_predict(l, &Xa, &oa), MFS_OK);
    EXPECT_EQ(before, after);
    EXPECT_EQ(mfs__array_find(l, "meta.coef"), nullptr);
    mfs_model_free(l);
    mfs_model_free(m);
}

// Fit one model of a classifier kind on 3 separable classes.
static mfs_model *fitted_classifier(mfs_model_kind kind) {
    mfs_model *m = nullptr;
    mfs_status s = MFS_E_INTERNAL;
    if (kind == MFS_MODEL_LOGISTIC_REGRESSION) {
        mfs_logistic_regression_params p;
        mfs_logistic_regression_params_default(&p);
        s = mfs_model_create(kind, &p, sizeof p, MFS_DEVICE_CPU, &m);
    } else if (kind == MFS_MODEL_KNN) {
        mfs_knn_params p;
        mfs_knn_params_default(&p);
        p.n_neighbors = 3;
        s = mfs_model_create(kind, &p, sizeof p, MFS_DEVICE_CPU, &m);
    } else if (kind == MFS_MODEL_NAIVE_BAYES) {
        mfs_naive_bayes_params p;
        mfs_naive_bayes_params_default(&p);
        s = mfs_model_create(kind, &p, sizeof p, MFS_DEVICE_CPU, &m);
    }
    if (s != MFS_OK) return nullptr;
    float x[12] = {0, 0, 0.2f, 0.1f, 5, 5, 5.1f, 4.9f, 10, 0, 9.8f, 0.3f};
    int32_t lab[6] = {0, 0, 1, 1, 2, 2};
    mfs_array X = {x, MFS_DTYPE_FLOAT32, 2, {6, 2}}, y = {lab, MFS_DTYPE_INT32, 1, {6}};
    if (mfs_fit(m, &X, &y) != MFS_OK) { mfs_model_free(m); return nullptr; }
    return m;
}

TEST(Meta, EveryClassifierSavesAndLoadsIt) {
    for (mfs_model_kind kind : {MFS_MODEL_LOGISTIC_REGRESSION, MFS_MODEL_KNN, MFS_MODEL_NAIVE_BAYES}) {
        mfs_model *m = fitted_classifier(kind);
        ASSERT_NE(m, nullptr) << kind << err();
        int32_t n_fitted = mfs_model_array_count(m);
        uint8_t labels[4] = {'x', 'y', 'z', 0};
        mfs_array lv = {labels, MFS_DTYPE_UINT8, 1, {4}};
        ASSERT_EQ(mfs_model_set_array(m, "meta.classes", &lv), MFS_OK);
        float probe[2] = {5, 5.2f};
        mfs_array P = {probe, MFS_DTYPE_FLOAT32, 2, {1, 2}};
        int32_t want = -1, got = -2;
        mfs_array w = {&want, MFS_DTYPE_INT32, 1, {1}}, g = {&got, MFS_DTYPE_INT32, 1, {1}};
        ASSERT_EQ(mfs_predict(m, &P, &w), MFS_OK) << kind << err();
        std::vector<uint8_t> buf = save_bytes(m);
        mfs_model *l = nullptr;
        // the model's check_state runs on load and does not see the metadata
        ASSERT_EQ(mfs_model_load_buffer(buf.data(), buf.size(), MFS_DEVICE_CPU, &l), MFS_OK) << kind << err();
        EXPECT_EQ(mfs_model_array_count(l), n_fitted + 1) << kind;
        EXPECT_EQ(get_bytes(l, "meta.classes"), std::vector<uint8_t>(labels, labels + 4)) << kind;
        ASSERT_EQ(mfs_predict(l, &P, &g), MFS_OK) << kind << err();
        EXPECT_EQ(got, want) << kind;
        EXPECT_EQ(got, 1) << kind;  // the probe sits on class 1
        mfs_model_free(l);
        mfs_model_free(m);
    }
}

TEST(Meta, FileRoundTrip) {
    std::vector<float> X, y;
    mfs_model *m = fitted_linear_regression(X, y);
    ASSERT_NE(m, nullptr) << err();
    int32_t codes[3] = {3, 7, 11};
    mfs_array cv = {codes, MFS_DTYPE_INT32, 1, {3}};
    ASSERT_EQ(mfs_model_set_array(m, "meta.classes", &cv), MFS_OK);
    std::string path = ::testing::TempDir() + "mfs_meta_roundtrip.mfs";
    ASSERT_EQ(mfs_model_save(m, path.c_str()), MFS_OK) << err();
    mfs_model *l = nullptr;
    ASSERT_EQ(mfs_model_load(path.c_str(), MFS_DEVICE_CPU, &l), MFS_OK) << err();
    int32_t back[3] = {0, 0, 0};
    mfs_array bv = {back, MFS_DTYPE_INT32, 1, {3}};
    ASSERT_EQ(mfs_model_get_array(l, "meta.classes", &bv), MFS_OK) << err();
    EXPECT_EQ(0, memcmp(back, codes, sizeof codes));
    // saving again gives the same bytes: the metadata is part of the state
    EXPECT_EQ(save_bytes(l), save_bytes(m));
    std::remove(path.c_str());
    mfs_model_free(l);
    mfs_model_free(m);
}

// ---- hand-built model files: the old writer's output and hostile metadata ----

static uint64_t fnv1a64(const std::vector<uint8_t> &b) {
    uint64_t h = 1469598103934665603ull;
    for (uint8_t c : b) { h ^= c; h *= 1099511628211ull; }
    return h;
}

struct FileArray {
    std::string name;
    uint32_t dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> data;
};

template <class T> static void put_le(std::vector<uint8_t> &b, T v) {
    uint8_t raw[sizeof(T)];
    memcpy(raw, &v, sizeof v);  // the format is little-endian, as this host (x86-64/aarch64)
    b.insert(b.end(), raw, raw + sizeof v);
}

template <class T> static std::vector<uint8_t> raw_bytes(std::initializer_list<T> v) {
    std::vector<uint8_t> out(v.size() * sizeof(T));
    memcpy(out.data(), std::data(v), out.size());
    return out;
}

// A version-1 linear regression file written field by field from the format
// description in modelfile.c, as the writer before metadata existed wrote it.
static std::vector<uint8_t> hand_file(const std::vector<FileArray> &arrays, int64_t n_features = 2) {
    mfs_linear_regression_params p;
    mfs_linear_regression_params_default(&p);
    std::vector<uint8_t> b = {'M', 'F', 'S', 'M', 'O', 'D', 'E', 'L'};
    put_le<uint32_t>(b, 1);  // format version
    put_le<uint32_t>(b, MFS_MODEL_LINEAR_REGRESSION);
    put_le<uint32_t>(b, MFS_DEVICE_CPU);
    put_le<uint32_t>(b, 1);  // fitted
    put_le<int64_t>(b, n_features);
    put_le<uint32_t>(b, (uint32_t)sizeof p);
    put_le<uint32_t>(b, (uint32_t)arrays.size());
    const uint8_t *pp = (const uint8_t *)&p;
    b.insert(b.end(), pp, pp + sizeof p);
    for (const FileArray &a : arrays) {
        put_le<uint32_t>(b, (uint32_t)a.name.size());
        b.insert(b.end(), a.name.begin(), a.name.end());
        put_le<uint32_t>(b, a.dtype);
        put_le<uint32_t>(b, (uint32_t)a.shape.size());
        for (int64_t s : a.shape) put_le<int64_t>(b, s);
        put_le<uint64_t>(b, a.data.size());
        b.insert(b.end(), a.data.begin(), a.data.end());
    }
    put_le<uint64_t>(b, fnv1a64(b));
    return b;
}

// y = 1 + 2 x0 - x1
static std::vector<FileArray> lr_arrays() {
    return {{"coef", MFS_DTYPE_FLOAT32, {2}, raw_bytes<float>({2.0f, -1.0f})},
            {"intercept", MFS_DTYPE_FLOAT32, {}, raw_bytes<float>({1.0f})},
            {"rank", MFS_DTYPE_INT32, {}, raw_bytes<int32_t>({2})}};
}

static mfs_status load_hand(const std::vector<uint8_t> &b, mfs_model **m) {
    return mfs_model_load_buffer(b.data(), b.size(), MFS_DEVICE_CPU, m);
}

TEST(Meta, OldFormatFileStillLoads) {
    std::vector<uint8_t> old = hand_file(lr_arrays());
    mfs_model *m = nullptr;
    ASSERT_EQ(load_hand(old, &m), MFS_OK) << err();
    EXPECT_EQ(array_names(m), std::vector<std::string>({"coef", "intercept", "rank"}));
    float x[4] = {1, 0, 3, 2}, o[2];
    mfs_array X = {x, MFS_DTYPE_FLOAT32, 2, {2, 2}}, out = {o, MFS_DTYPE_FLOAT32, 1, {2}};
    ASSERT_EQ(mfs_predict(m, &X, &out), MFS_OK) << err();
    EXPECT_FLOAT_EQ(o[0], 3.0f);  // 1 + 2*1 - 0, exact in float32
    EXPECT_FLOAT_EQ(o[1], 5.0f);  // 1 + 2*3 - 2
    // a model without metadata is written exactly as the old writer wrote it
    EXPECT_EQ(save_bytes(m), old);
    mfs_model_free(m);
    // and a file with metadata is the same layout with more arrays
    std::vector<FileArray> with = lr_arrays();
    with.push_back({"meta.classes", MFS_DTYPE_UINT8, {3}, {1, 2, 3}});
    std::vector<uint8_t> meta_file = hand_file(with);
    ASSERT_EQ(load_hand(meta_file, &m), MFS_OK) << err();
    EXPECT_EQ(get_bytes(m, "meta.classes"), std::vector<uint8_t>({1, 2, 3}));
    EXPECT_EQ(save_bytes(m), meta_file);
    mfs_model_free(m);
}

TEST(Meta, HostileMetadataInFilesIsAFormatError) {
    auto expect_format = [](std::vector<FileArray> arrays, const char *needle) {
        std::vector<uint8_t> b = hand_file(arrays);
        mfs_model *m = (mfs_model *)0x1;
        EXPECT_EQ(load_hand(b, &m), MFS_E_FORMAT) << needle;
        EXPECT_EQ(m, nullptr);
        EXPECT_NE(err().find(needle), std::string::npos) << err();
    };
    std::vector<FileArray> a = lr_arrays();
    a.push_back({"meta.", MFS_DTYPE_UINT8, {1}, {0}});
    expect_format(a, "must be 'meta.' followed by");
    a = lr_arrays();
    a.push_back({"meta.x", MFS_DTYPE_UINT8, {1}, {0}});
    a.push_back({"meta.x", MFS_DTYPE_UINT8, {1}, {0}});
    expect_format(a, "'meta.x' appears twice");
    a = lr_arrays();
    a.push_back({"meta.f", MFS_DTYPE_FLOAT32, {1}, raw_bytes<float>({NAN})});
    expect_format(a, "'meta.f' contains NaN");
    a = lr_arrays();
    a.push_back({"meta.d", 99, {1}, {0}});
    expect_format(a, "has dtype 99");
    a = lr_arrays();
    a.push_back({"meta.s", MFS_DTYPE_UINT8, {INT64_MAX / 2, 8}, {0}});  // a shape whose size overflows
    expect_format(a, "invalid shape");
    a = lr_arrays();
    a.push_back({"meta.s", MFS_DTYPE_UINT8, {1 << 30}, {0}});  // a GiB claimed, one byte present
    expect_format(a, "size does not match");
    a = lr_arrays();
    for (int i = 0; i <= MFS_META_MAX_ARRAYS; i++)
        a.push_back({"meta.k" + std::to_string(i), MFS_DTYPE_UINT8, {1}, {0}});
    expect_format(a, "already has 16 metadata arrays");
    a = lr_arrays();
    for (int i = 0; i < MFS_MAX_ARRAYS + MFS_META_MAX_ARRAYS; i++)
        a.push_back({"x" + std::to_string(i), MFS_DTYPE_UINT8, {1}, {0}});
    expect_format(a, "at most 48");
    a = lr_arrays();
    for (int i = 0; i < MFS_MAX_ARRAYS; i++)  // 35 model arrays: the metadata slots are not theirs
        a.push_back({"x" + std::to_string(i), MFS_DTYPE_UINT8, {1}, {0}});
    expect_format(a, "more than 32 model arrays");
    a = lr_arrays();
    a.push_back({"meta.big", MFS_DTYPE_UINT8, {(int64_t)MFS_META_MAX_BYTES + 1},
                 std::vector<uint8_t>((size_t)MFS_META_MAX_BYTES + 1, 7)});
    expect_format(a, "metadata arrays hold at most 67108864 bytes");
    // the model's own arrays are still checked with metadata present
    a = lr_arrays();
    a.erase(a.begin());  // no coef
    a.push_back({"meta.coef", MFS_DTYPE_FLOAT32, {2}, raw_bytes<float>({2.0f, -1.0f})});
    expect_format(a, "'coef' missing");
}

TEST(Meta, LoadsOntoCuda) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    mfs_model *m = fitted_classifier(MFS_MODEL_LOGISTIC_REGRESSION);
    ASSERT_NE(m, nullptr) << err();
    uint8_t labels[3] = {'p', 'q', 'r'};
    mfs_array lv = {labels, MFS_DTYPE_UINT8, 1, {3}};
    ASSERT_EQ(mfs_model_set_array(m, "meta.classes", &lv), MFS_OK);
    std::vector<uint8_t> buf = save_bytes(m);
    mfs_model *g = nullptr;
    ASSERT_EQ(mfs_model_load_buffer(buf.data(), buf.size(), MFS_DEVICE_CUDA, &g), MFS_OK) << err();
    EXPECT_EQ(get_bytes(g, "meta.classes"), std::vector<uint8_t>(labels, labels + 3));
    EXPECT_EQ(save_bytes(g).size(), buf.size());  // the metadata is saved again from the GPU model
    mfs_model_free(g);
    mfs_model_free(m);
}
