// The CUDA k-Nearest Neighbors candidates (src_cuda/classical/knn.cu) against
// the CPU model on the same data: every metric, data far from the origin,
// query and training blocks with remainders, ties by index, and the knn model
// on CPU and CUDA giving identical neighbors. GPU tests skip without a GPU;
// the NoGpu tests run only without one.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "mfs/core.h"
#include "mfs/knn.h"
#include "src_cuda/cuda_api.h"

namespace {

std::vector<float> normal(int64_t count, unsigned seed, float offset = 0) {
    std::mt19937 g(seed);
    std::normal_distribution<float> N(0, 1);
    std::vector<float> v(count);
    for (auto &x : v) x = N(g) + offset;
    return v;
}

struct Nb {
    std::vector<float> dist;
    std::vector<int64_t> idx;
};

Nb neighbors(mfs_device device, int metric, const std::vector<float> &X, int64_t n, const std::vector<float> &Q,
             int64_t m, int64_t d, int64_t k) {
    mfs_knn_params p;
    mfs_knn_params_default(&p);
    p.metric = metric;
    p.algorithm = MFS_KNN_ALGORITHM_BRUTE;
    mfs_model *mod = nullptr;
    Nb r{std::vector<float>(m * k), std::vector<int64_t>(m * k)};
    EXPECT_EQ(mfs_knn_create(&p, device, &mod), MFS_OK) << mfs_last_error();
    std::vector<int32_t> y(n, 0);
    mfs_array Xa = {(void *)X.data(), MFS_DTYPE_FLOAT32, 2, {n, d}}, ya = {y.data(), MFS_DTYPE_INT32, 1, {n}};
    EXPECT_EQ(mfs_fit(mod, &Xa, &ya), MFS_OK) << mfs_last_error();
    mfs_array Qa = {(void *)Q.data(), MFS_DTYPE_FLOAT32, 2, {m, d}};
    mfs_array D = {r.dist.data(), MFS_DTYPE_FLOAT32, 2, {m, k}}, I = {r.idx.data(), MFS_DTYPE_INT64, 2, {m, k}};
    EXPECT_EQ(mfs_kneighbors(mod, &Qa, (int32_t)k, &D, &I), MFS_OK) << mfs_last_error();
    mfs_model_free(mod);
    return r;
}

}  // namespace

// ---- without a GPU --------------------------------------------------------------

TEST(CudaKnnNoGpu, EntryPointAnswersDeviceError) {
    if (mfs_cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present: the no-GPU path is unreachable";
    float T[6] = {0, 1, 2, 3, 4, 5}, Q[2] = {0, 1};
    int64_t idx[1];
    EXPECT_EQ(mfs__knn_candidates_cuda(T, 3, Q, 1, 2, 0, nullptr, 1, idx, nullptr), MFS_E_DEVICE);
    EXPECT_NE(std::string(mfs_last_error()).find("mfs__knn_candidates_cuda"), std::string::npos) << mfs_last_error();
}

TEST(CudaKnnNoGpu, CudaModelCannotBeCreated) {
    if (mfs_cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present: the no-GPU path is unreachable";
    mfs_knn_params p;
    mfs_knn_params_default(&p);
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_knn_create(&p, MFS_DEVICE_CUDA, &m), MFS_E_DEVICE);
    EXPECT_EQ(m, nullptr);
    EXPECT_FALSE(std::string(mfs_last_error()).empty());
}

TEST(CudaKnnArgs, RejectsBadArguments) {
    float T[6] = {0, 1, 2, 3, 4, 5}, Q[2] = {0, 1};
    int64_t idx[4];
    const mfs_status want = mfs_built_with_cuda() ? MFS_E_INVALID_ARG : MFS_E_DEVICE;
    EXPECT_EQ(mfs__knn_candidates_cuda(T, 3, Q, 1, 2, 0, nullptr, 4, idx, nullptr), want);  // k > n
    EXPECT_EQ(mfs__knn_candidates_cuda(T, 3, Q, 1, 2, 3, nullptr, 1, idx, nullptr), want);  // metric 3
    EXPECT_EQ(mfs__knn_candidates_cuda(nullptr, 3, Q, 1, 2, 0, nullptr, 1, idx, nullptr), want);
    EXPECT_FALSE(std::string(mfs_last_error()).empty());
}

// ---- on a GPU -------------------------------------------------------------------

// Shapes cross the 4096-query and 8192-row blocks with remainders; both
// devices recompute the chosen distances exactly on the host, so neighbors and
// distances are identical on continuous data (no near-ties).
TEST(CudaKnn, ModelCpuAndCudaAgree) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    const int64_t shapes[][4] = {{9000, 4200, 7, 5}, {20000, 300, 64, 12}, {100, 50, 3, 100}, {8193, 4097, 33, 1}};
    for (auto &s : shapes) {
        const int64_t n = s[0], m = s[1], d = s[2], k = s[3];
        for (int metric : {0, 1, 2})
            for (float offset : {0.0f, 1000.0f}) {
                // far from the origin, cosine distances all sit near 0 below
                // float32 resolution: no well-defined ranking to compare
                if (metric == 2 && offset != 0) continue;
                auto X = normal(n * d, 1 + (unsigned)d, offset), Q = normal(m * d, 2 + (unsigned)d, offset);
                Nb c = neighbors(MFS_DEVICE_CPU, metric, X, n, Q, m, d, k);
                Nb g = neighbors(MFS_DEVICE_CUDA, metric, X, n, Q, m, d, k);
                int64_t bad = 0;
                for (size_t i = 0; i < c.idx.size(); i++) bad += c.idx[i] != g.idx[i];
                EXPECT_EQ(bad, 0) << "n=" << n << " d=" << d << " metric " << metric << " offset " << offset;
                for (size_t i = 0; i < c.dist.size(); i++)
                    if (c.idx[i] == g.idx[i]) ASSERT_EQ(c.dist[i], g.dist[i]);
            }
    }
}

// Duplicates across a training tile edge: the lowest indices, in order.
TEST(CudaKnn, TiesGoToTheLowerIndex) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    const int64_t n = 8192 + 300, d = 3, k = 40;
    std::vector<float> X(n * d, 2.0f), Q(5 * d, 2.0f);
    Nb g = neighbors(MFS_DEVICE_CUDA, 0, X, n, Q, 5, d, k);
    for (int64_t i = 0; i < 5; i++)
        for (int64_t q = 0; q < k; q++) EXPECT_EQ(g.idx[i * k + q], q);
}

TEST(CudaKnn, DeviceMemoryIsReturned) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    mfs_memory_stats before, after;
    mfs_memory_stats_get(nullptr, &before);
    auto X = normal(5000 * 16, 3), Q = normal(600 * 16, 4);
    std::vector<int64_t> idx(600 * 10);
    ASSERT_EQ(mfs__knn_candidates_cuda(X.data(), 5000, Q.data(), 600, 16, 0, nullptr, 10, idx.data(), nullptr),
              MFS_OK)
        << mfs_last_error();
    mfs_memory_stats_get(nullptr, &after);
    EXPECT_EQ(after.device_current, before.device_current);
}
