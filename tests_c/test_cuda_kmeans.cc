// The CUDA K-Means (Lloyd iterations and assignment) checked against a
// double-precision Lloyd written here with the same rules (scikit-learn's:
// strict convergence when no label changes, else squared center shift <= tol;
// empty clusters take the points farthest from their centers), and the K-Means
// model on CPU and CUDA against each other. GPU tests skip without a GPU; the
// NoGpu tests run only without one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "mfs/core.h"
#include "mfs/kmeans.h"
#include "src_cuda/cuda_api.h"

namespace {

const double kU = std::ldexp(1.0, -24); // float32 unit roundoff

struct Data {
    int64_t n, d;
    std::vector<float> X;
};

// n points around k well-separated centers (uniform in [-spread, spread]^d),
// unit normal noise: nearest-center ties cannot happen by accident.
Data blobs(std::mt19937_64 &g, int64_t n, int64_t d, int64_t k, float spread) {
    std::uniform_real_distribution<float> u(-spread, spread);
    std::normal_distribution<float> nd(0.f, 1.f);
    std::vector<float> centers((size_t)(k * d));
    for (auto &c : centers) c = u(g);
    Data D{n, d, std::vector<float>((size_t)(n * d))};
    for (int64_t i = 0; i < n; i++) {
        const int64_t c = i % k;
        for (int64_t j = 0; j < d; j++) D.X[(size_t)(i * d + j)] = centers[(size_t)(c * d + j)] + nd(g);
    }
    // shuffle rows so that consecutive points belong to different clusters
    for (int64_t i = n - 1; i > 0; i--) {
        const int64_t r = (int64_t)(g() % (uint64_t)(i + 1));
        for (int64_t j = 0; j < d; j++) std::swap(D.X[(size_t)(i * d + j)], D.X[(size_t)(r * d + j)]);
    }
    return D;
}

std::vector<float> rows_as_init(const Data &D, int64_t k) {
    std::vector<float> C((size_t)(k * D.d));
    for (int64_t c = 0; c < k; c++) {
        const int64_t r = c * (D.n / k);
        std::copy(D.X.begin() + r * D.d, D.X.begin() + (r + 1) * D.d, C.begin() + c * D.d);
    }
    return C;
}

double sqdist(const float *x, const float *c, int64_t d) {
    double s = 0;
    for (int64_t j = 0; j < d; j++) {
        const double t = (double)x[j] - (double)c[j];
        s += t * t;
    }
    return s;
}

struct KmResult {
    std::vector<float> centers;
    std::vector<int32_t> labels;
    double inertia = 0;
    int32_t n_iter = 0;
};

// Nearest center (ties: lowest index) and its squared distance, in double.
void assign_ref(const Data &D, const std::vector<float> &C, int64_t k, std::vector<int32_t> &labels,
                std::vector<double> &dist, int64_t *changed) {
    *changed = 0;
    for (int64_t p = 0; p < D.n; p++) {
        double best = INFINITY;
        int32_t bi = 0;
        for (int64_t c = 0; c < k; c++) {
            const double v = sqdist(&D.X[(size_t)(p * D.d)], &C[(size_t)(c * D.d)], D.d);
            if (v < best) { best = v; bi = (int32_t)c; }
        }
        if (labels[(size_t)p] != bi) { labels[(size_t)p] = bi; (*changed)++; }
        dist[(size_t)p] = best;
    }
}

// The algorithm of mfs__kmeans_lloyd_cuda (see its comment), in double.
KmResult lloyd_ref(const Data &D, int64_t k, int32_t max_iter, double tol, std::vector<float> C) {
    const int64_t n = D.n, d = D.d;
    KmResult R;
    R.labels.assign((size_t)n, -1);
    std::vector<double> dist((size_t)n), sums((size_t)(k * d));
    std::vector<int64_t> counts((size_t)k);
    for (int32_t it = 0; it < max_iter; it++) {
        int64_t changed = 0;
        assign_ref(D, C, k, R.labels, dist, &changed);
        std::fill(sums.begin(), sums.end(), 0.0);
        std::fill(counts.begin(), counts.end(), 0);
        for (int64_t p = 0; p < n; p++) {
            const int32_t l = R.labels[(size_t)p];
            counts[(size_t)l]++;
            for (int64_t j = 0; j < d; j++) sums[(size_t)(l * d + j)] += D.X[(size_t)(p * d + j)];
        }
        std::vector<int64_t> order((size_t)n);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t a, int64_t b) { return dist[(size_t)a] > dist[(size_t)b]; });
        int64_t q = 0;
        for (int64_t c = 0; c < k && q < n; c++) {
            if (counts[(size_t)c] != 0) continue;
            const int64_t p = order[(size_t)q++];
            const int32_t from = R.labels[(size_t)p];
            for (int64_t j = 0; j < d; j++) {
                sums[(size_t)(from * d + j)] -= D.X[(size_t)(p * d + j)];
                sums[(size_t)(c * d + j)] = D.X[(size_t)(p * d + j)];
            }
            counts[(size_t)from]--;
            counts[(size_t)c] = 1;
        }
        double shift = 0;
        for (int64_t c = 0; c < k; c++)
            for (int64_t j = 0; j < d; j++) {
                const float old = C[(size_t)(c * d + j)];
                const float v = counts[(size_t)c] > 0 ? (float)(sums[(size_t)(c * d + j)] / (double)counts[(size_t)c]) : old;
                shift += ((double)v - old) * ((double)v - old);
                C[(size_t)(c * d + j)] = v;
            }
        R.n_iter = it + 1;
        if (changed == 0 || shift <= tol) break;
    }
    int64_t changed = 0;
    assign_ref(D, C, k, R.labels, dist, &changed);
    R.inertia = std::accumulate(dist.begin(), dist.end(), 0.0);
    R.centers = C;
    return R;
}

KmResult lloyd_gpu(const Data &D, int64_t k, int32_t max_iter, double tol, std::vector<float> C) {
    KmResult R;
    R.centers = std::move(C);
    R.labels.assign((size_t)D.n, -7);
    mfs_status s = mfs__kmeans_lloyd_cuda(D.X.data(), D.n, D.d, k, max_iter, tol, R.centers.data(),
                                          R.labels.data(), &R.inertia, &R.n_iter, nullptr);
    EXPECT_EQ(s, MFS_OK) << mfs_last_error();
    return R;
}

// Centers: both sides compute float(sum / count) from the same points; the
// GPU's double sums differ from ours only in the order of additions (atomics),
// far below float32 resolution, so centers agree to a few float ulps: 4u of
// the center's magnitude, plus 4u of the data spread for coordinates near 0.
// Inertia: float32 distances (each within (d+2)u relative) summed in double:
// (d+4)u relative.
void expect_same(const KmResult &got, const KmResult &ref, int64_t d, float spread, double center_rel = 4 * kU,
                 double inertia_rel = 0) {
    ASSERT_EQ(got.labels.size(), ref.labels.size());
    int64_t diff = 0;
    for (size_t i = 0; i < ref.labels.size(); i++) diff += got.labels[i] != ref.labels[i];
    EXPECT_EQ(diff, 0) << "labels differ";
    for (size_t i = 0; i < ref.centers.size(); i++)
        ASSERT_NEAR(got.centers[i], ref.centers[i], center_rel * (std::fabs(ref.centers[i]) + spread))
            << "center value " << i;
    if (inertia_rel == 0) inertia_rel = (double)(d + 4) * kU;
    EXPECT_NEAR(got.inertia, ref.inertia, inertia_rel * ref.inertia);
    EXPECT_EQ(got.n_iter, ref.n_iter);
}

} // namespace

// ---- without a GPU --------------------------------------------------------------

TEST(CudaKmeansNoGpu, EntryPointsAnswerDeviceError) {
    if (mfs_cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present: the no-GPU path is unreachable";
    float X[6] = {0, 1, 2, 3, 4, 5}, C[2] = {0, 1};
    int32_t labels[3];
    double inertia = 0;
    int32_t n_iter = 0;
    EXPECT_EQ(mfs__kmeans_lloyd_cuda(X, 3, 2, 1, 10, 0.0, C, labels, &inertia, &n_iter, nullptr), MFS_E_DEVICE);
    EXPECT_NE(std::string(mfs_last_error()).find("mfs__kmeans_lloyd_cuda"), std::string::npos) << mfs_last_error();
    float dist[3];
    EXPECT_EQ(mfs__kmeans_assign_cuda(X, 3, 2, C, 1, labels, dist, nullptr), MFS_E_DEVICE);
    EXPECT_NE(std::string(mfs_last_error()).find("mfs__kmeans_assign_cuda"), std::string::npos) << mfs_last_error();
}

TEST(CudaKmeansNoGpu, CudaModelCannotBeCreated) {
    if (mfs_cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present: the no-GPU path is unreachable";
    mfs_kmeans_params p;
    mfs_kmeans_params_default(&p);
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_kmeans_create(&p, MFS_DEVICE_CUDA, &m), MFS_E_DEVICE);
    EXPECT_EQ(m, nullptr);
    EXPECT_FALSE(std::string(mfs_last_error()).empty());
    mfs_model_free(m);
}

TEST(CudaKmeansArgs, RejectsBadArguments) {
    float X[6] = {0, 1, 2, 3, 4, 5}, C[2] = {0, 1};
    int32_t labels[3];
    double inertia = 0;
    int32_t n_iter = 0;
    const mfs_status want = mfs_built_with_cuda() ? MFS_E_INVALID_ARG : MFS_E_DEVICE;
    EXPECT_EQ(mfs__kmeans_lloyd_cuda(X, 3, 2, 0, 10, 0.0, C, labels, &inertia, &n_iter, nullptr), want);
    EXPECT_EQ(mfs__kmeans_lloyd_cuda(X, 3, 2, 1, 10, -1.0, C, labels, &inertia, &n_iter, nullptr), want);
    EXPECT_EQ(mfs__kmeans_assign_cuda(nullptr, 3, 2, C, 1, labels, nullptr, nullptr), want);
    EXPECT_FALSE(std::string(mfs_last_error()).empty());
}

// ---- on a GPU -------------------------------------------------------------------

// One shape per code path: d < 4, < 8, < 32, >= 32 (lanes per point in the
// accumulation); k*d small (shared-memory sums) or not (global atomics); d
// small (points resident in shared memory) or d = 200 (streamed); k > 64
// (several center tiles); n not a multiple of the 64-point tile.
TEST(CudaKmeans, LloydMatchesDoubleReference) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937_64 g(42);
    const int64_t shapes[][3] = {{3001, 2, 5}, {2000, 5, 4}, {4099, 17, 9}, {5000, 40, 6},
                                 {3000, 200, 30}, {20011, 8, 150}, {1, 3, 1}, {7, 3, 7}};
    for (auto &sh : shapes) {
        const int64_t n = sh[0], d = sh[1], k = sh[2];
        const float spread = 20.f * std::cbrt((float)k);
        Data D = blobs(g, n, d, k, spread);
        const auto init = rows_as_init(D, k);
        KmResult ref = lloyd_ref(D, k, 100, 0.0, init);
        KmResult got = lloyd_gpu(D, k, 100, 0.0, init);
        SCOPED_TRACE("n=" + std::to_string(n) + " d=" + std::to_string(d) + " k=" + std::to_string(k));
        expect_same(got, ref, d, spread);
        if (HasFatalFailure()) return;
    }
}

TEST(CudaKmeans, ToleranceAndMaxIter) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937_64 g(43);
    Data D = blobs(g, 8000, 6, 12, 10.f); // overlapping blobs: many iterations
    const auto init = rows_as_init(D, 12);
    // one iteration: centers after exactly one update, n_iter 1
    expect_same(lloyd_gpu(D, 12, 1, 0.0, init), lloyd_ref(D, 12, 1, 0.0, init), 6, 10.f);
    // a loose tol stops early; a shift within rounding of tol could stop one
    // iteration apart, so n_iter is compared to within 1 and the rest loosely
    KmResult ref = lloyd_ref(D, 12, 300, 1e-2, init), got = lloyd_gpu(D, 12, 300, 1e-2, init);
    EXPECT_LE(std::abs(got.n_iter - ref.n_iter), 1);
    EXPECT_LT(got.n_iter, 300);
    EXPECT_NEAR(got.inertia, ref.inertia, 1e-3 * ref.inertia);
}

// A center far from every point gets no point on the first pass: it must take
// the point farthest from its center, as scikit-learn does, and every cluster
// ends non-empty. Two empty clusters take the two farthest points in order.
TEST(CudaKmeans, EmptyClustersAreRelocated) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937_64 g(44);
    Data D = blobs(g, 600, 3, 3, 10.f);
    std::vector<float> init = rows_as_init(D, 3);
    for (int far = 0; far < 2; far++)
        for (int j = 0; j < 3; j++) init.push_back(1000.f + 500.f * far + (float)j);
    const int64_t k = 5;
    KmResult ref = lloyd_ref(D, k, 100, 0.0, init), got = lloyd_gpu(D, k, 100, 0.0, init);
    expect_same(got, ref, 3, 10.f);
    std::vector<int64_t> counts((size_t)k, 0);
    for (auto l : got.labels) {
        ASSERT_GE(l, 0);
        ASSERT_LT(l, k);
        counts[(size_t)l]++;
    }
    for (int64_t c = 0; c < k; c++) EXPECT_GT(counts[(size_t)c], 0) << "cluster " << c << " is empty";
}

// Random data (no structure): near-ties exist, so labels are checked by
// distance: the GPU's center must be as near as the best one, within the
// float32 error of a d-term squared distance ((d+2)u relative).
TEST(CudaKmeans, AssignLabelsAndDistances) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937_64 g(45);
    const int64_t shapes[][3] = {{50000, 24, 100}, {3000, 50, 70}, {777, 1, 3}, {1000, 300, 65}};
    for (auto &sh : shapes) {
        const int64_t n = sh[0], d = sh[1], k = sh[2];
        std::uniform_real_distribution<float> u(-3.f, 3.f);
        Data D{n, d, std::vector<float>((size_t)(n * d))};
        for (auto &x : D.X) x = u(g);
        std::vector<float> C((size_t)(k * d));
        for (auto &c : C) c = u(g);
        std::copy(D.X.begin(), D.X.begin() + d, C.begin()); // point 0 is center 0: distance exactly 0
        const bool with_dist = n * k <= 5000000;
        std::vector<int32_t> labels((size_t)n, -1);
        std::vector<float> dist(with_dist ? (size_t)(n * k) : 0, -1.f);
        ASSERT_EQ(mfs__kmeans_assign_cuda(D.X.data(), n, d, C.data(), k, labels.data(),
                                          with_dist ? dist.data() : nullptr, nullptr),
                  MFS_OK)
            << mfs_last_error();
        int64_t same = 0;
        for (int64_t p = 0; p < n; p++) {
            double best = INFINITY;
            int64_t bi = 0;
            for (int64_t c = 0; c < k; c++) {
                const double v = sqdist(&D.X[(size_t)(p * d)], &C[(size_t)(c * d)], d);
                if (v < best) { best = v; bi = c; }
                if (with_dist)
                    ASSERT_NEAR(dist[(size_t)(p * k + c)], std::sqrt(v), (double)(d + 2) * kU * std::sqrt(v) + 1e-30)
                        << "dist[" << p << "," << c << "] d=" << d;
            }
            const int32_t l = labels[(size_t)p];
            ASSERT_TRUE(l >= 0 && l < k) << "label " << l << " of point " << p;
            ASSERT_LE(sqdist(&D.X[(size_t)(p * d)], &C[(size_t)(l * d)], d), best * (1 + 2.0 * (d + 2) * kU))
                << "point " << p << " got center " << l << ", nearest is " << bi;
            same += l == bi;
        }
        EXPECT_EQ(labels[0], 0);
        if (with_dist) EXPECT_EQ(dist[0], 0.f);
        EXPECT_GE(same, n - n / 1000 - 1) << "more than 0.1% of the labels differ: ties cannot explain that";
    }
}

TEST(CudaKmeans, DeviceMemoryIsReturned) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937_64 g(46);
    Data D = blobs(g, 5000, 10, 8, 20.f);
    mfs_memory_stats before, after;
    ASSERT_EQ(mfs_memory_reset_peak(nullptr), MFS_OK);
    ASSERT_EQ(mfs_memory_stats_get(nullptr, &before), MFS_OK);
    KmResult got = lloyd_gpu(D, 8, 50, 0.0, rows_as_init(D, 8));
    ASSERT_EQ(mfs_memory_stats_get(nullptr, &after), MFS_OK);
    EXPECT_EQ(after.device_current, before.device_current);
    EXPECT_GE(after.device_peak - before.device_current, (int64_t)(D.X.size() * sizeof(float)));
}

// The K-Means model through the public API on both devices, same init array,
// tol 0 (strict convergence): the same labels and n_iter; centers and inertia
// within 1e-4 relative, since the CPU may sum in float32 (about n/k u of
// rounding per center: 700 * 6e-8 = 4e-5) and compute distances through the
// GEMM's expanded form.
TEST(CudaKmeans, ModelCpuAndCudaAgree) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937_64 g(47);
    const int64_t n = 4000, d = 7, k = 6;
    Data D = blobs(g, n, d, k, 30.f);
    std::vector<float> init = rows_as_init(D, k);
    KmResult res[2];
    for (int dev = 0; dev < 2; dev++) {
        mfs_kmeans_params p;
        mfs_kmeans_params_default(&p);
        p.n_clusters = (int32_t)k;
        p.init = MFS_KMEANS_INIT_ARRAY;
        p.n_init = 1;
        p.tol = 0.0;
        mfs_model *m = nullptr;
        ASSERT_EQ(mfs_kmeans_create(&p, dev ? MFS_DEVICE_CUDA : MFS_DEVICE_CPU, &m), MFS_OK) << mfs_last_error();
        mfs_array X = {D.X.data(), MFS_DTYPE_FLOAT32, 2, {n, d, 0, 0}};
        mfs_array I = {init.data(), MFS_DTYPE_FLOAT32, 2, {k, d, 0, 0}};
        ASSERT_EQ(mfs_model_set_array(m, "init", &I), MFS_OK) << mfs_last_error();
        ASSERT_EQ(mfs_fit(m, &X, nullptr), MFS_OK) << mfs_last_error();
        res[dev].centers.resize((size_t)(k * d));
        res[dev].labels.resize((size_t)n);
        mfs_array Cout = {res[dev].centers.data(), MFS_DTYPE_FLOAT32, 2, {k, d, 0, 0}};
        mfs_array Lout = {res[dev].labels.data(), MFS_DTYPE_INT32, 1, {n, 0, 0, 0}};
        mfs_array In = {&res[dev].inertia, MFS_DTYPE_FLOAT64, 0, {0, 0, 0, 0}};
        mfs_array It = {&res[dev].n_iter, MFS_DTYPE_INT32, 0, {0, 0, 0, 0}};
        EXPECT_EQ(mfs_model_get_array(m, "cluster_centers", &Cout), MFS_OK) << mfs_last_error();
        EXPECT_EQ(mfs_model_get_array(m, "labels", &Lout), MFS_OK) << mfs_last_error();
        EXPECT_EQ(mfs_model_get_array(m, "inertia", &In), MFS_OK) << mfs_last_error();
        EXPECT_EQ(mfs_model_get_array(m, "n_iter", &It), MFS_OK) << mfs_last_error();
        mfs_model_free(m);
    }
    expect_same(res[1], res[0], d, 30.f, 1e-4, 1e-4);
}
