// k-Nearest Neighbors: neighbors against naive double loops (every metric,
// brute force across query and training block boundaries, the k-d tree),
// ties by index, data far from the origin, votes and means, bad parameters and
// input, bounded memory, and the model file (round trip, truncated, hostile).
#include <gtest/gtest.h>
#include "testing.h"
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>
extern "C" {
#include "mfs/mfs.h"
}

namespace {
// Block sizes of src_c/classical/knn.c, to place data across block edges.
const int64_t kQB = 512, kTB = 512;

std::vector<float> normal(int64_t count, unsigned seed, float scale = 1, float offset = 0) {
    std::mt19937 g(seed);
    std::normal_distribution<float> N(0, 1);
    std::vector<float> v(count);
    for (auto &x : v) x = N(g) * scale + offset;
    return v;
}

// The distance as the library defines it: exact per pair (double), then float.
float ref_dist(const float *a, const float *b, int64_t d, int metric) {
    double s = 0, aa = 0, bb = 0;
    for (int64_t j = 0; j < d; j++) {
        double t = (double)a[j] - b[j];
        if (metric == MFS_KNN_METRIC_EUCLIDEAN) s += t * t;
        else if (metric == MFS_KNN_METRIC_MANHATTAN) s += std::fabs(t);
        else if (metric == MFS_KNN_METRIC_CHEBYSHEV) s = std::max(s, std::fabs(t));
        else { s += (double)a[j] * b[j]; aa += (double)a[j] * a[j]; bb += (double)b[j] * b[j]; }
    }
    if (metric == MFS_KNN_METRIC_EUCLIDEAN) return (float)std::sqrt(s);
    if (metric == MFS_KNN_METRIC_MANHATTAN || metric == MFS_KNN_METRIC_CHEBYSHEV) return (float)s;
    double v = (aa > 0 && bb > 0) ? 1.0 - s / (std::sqrt(aa) * std::sqrt(bb)) : 1.0;
    return (float)std::min(2.0, std::max(0.0, v));
}

struct Nb {
    std::vector<float> dist;
    std::vector<int64_t> idx;
};

// Naive: every distance, stable order by (distance, index).
Nb naive(const std::vector<float> &X, int64_t n, const std::vector<float> &Q, int64_t m, int64_t d,
         int64_t k, int metric) {
    Nb r{std::vector<float>(m * k), std::vector<int64_t>(m * k)};
    std::vector<float> D(n);
    std::vector<int64_t> order(n);
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) D[j] = ref_dist(&Q[i * d], &X[j * d], d, metric);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return D[a] < D[b]; });
        for (int64_t q = 0; q < k; q++) {
            r.idx[i * k + q] = order[q];
            r.dist[i * k + q] = D[order[q]];
        }
    }
    return r;
}

mfs_knn_params params(int metric, int algorithm, int k = 5, int task = MFS_KNN_TASK_CLASSIFICATION) {
    mfs_knn_params p;
    mfs_knn_params_default(&p);
    p.metric = metric;
    p.algorithm = algorithm;
    p.n_neighbors = k;
    p.task = task;
    return p;
}

mfs_model *fit(const mfs_knn_params &p, const std::vector<float> &X, int64_t n, int64_t d,
               const std::vector<int32_t> *labels = nullptr, const std::vector<float> *targets = nullptr,
               int64_t t = 0) {
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_knn_create(&p, MFS_DEVICE_CPU, &m), MFS_OK) << mfs_last_error();
    std::vector<int32_t> zeros(n, 0);
    mfs_array Xa = {(void *)X.data(), MFS_DTYPE_FLOAT32, 2, {n, d}};
    mfs_array ya = labels ? mfs_array{(void *)labels->data(), MFS_DTYPE_INT32, 1, {n}}
                 : targets ? mfs_array{(void *)targets->data(), MFS_DTYPE_FLOAT32, t ? 2 : 1, {n, t}}
                           : mfs_array{(void *)zeros.data(), MFS_DTYPE_INT32, 1, {n}};
    EXPECT_EQ(mfs_fit(m, &Xa, &ya), MFS_OK) << mfs_last_error();
    return m;
}

Nb query(const mfs_model *m, const std::vector<float> *Q, int64_t mq, int64_t d, int64_t k) {
    Nb r{std::vector<float>(mq * k), std::vector<int64_t>(mq * k)};
    mfs_array Qa = {Q ? (void *)Q->data() : nullptr, MFS_DTYPE_FLOAT32, 2, {mq, d}};
    mfs_array D = {r.dist.data(), MFS_DTYPE_FLOAT32, 2, {mq, k}}, I = {r.idx.data(), MFS_DTYPE_INT64, 2, {mq, k}};
    EXPECT_EQ(mfs_kneighbors(m, Q ? &Qa : nullptr, (int32_t)k, &D, &I), MFS_OK) << mfs_last_error();
    return r;
}

void expect_same(const Nb &got, const Nb &want, const char *what) {
    ASSERT_EQ(got.idx.size(), want.idx.size());
    int64_t bad = 0;
    for (size_t i = 0; i < want.idx.size(); i++) bad += got.idx[i] != want.idx[i];
    EXPECT_EQ(bad, 0) << what << ": indices differ";
    // the same pairs and the same exact formula: bitwise equal distances
    for (size_t i = 0; i < want.dist.size(); i++)
        ASSERT_EQ(got.dist[i], want.dist[i]) << what << " at " << i;
}

}  // namespace

// Brute force: n crosses two training blocks plus a remainder, m several query
// blocks plus a remainder; continuous data, so no ties.
TEST(Knn, BruteMatchesNaiveEveryMetric) {
    const int64_t n = 2 * kTB + 77, m = kQB * 2 + 13, d = 23;
    auto X = normal(n * d, 1), Q = normal(m * d, 2);
    for (int metric : {0, 1, 2, 3})
        for (int64_t k : {1, 7, 40}) {
            mfs_model *mod = fit(params(metric, MFS_KNN_ALGORITHM_BRUTE), X, n, d);
            expect_same(query(mod, &Q, m, d, k), naive(X, n, Q, m, d, k, metric),
                        ("metric " + std::to_string(metric) + " k " + std::to_string(k)).c_str());
            mfs_model_free(mod);
        }
}

// The k-d tree gives exactly brute force's answer, for any leaf size
// (one point per leaf, one leaf for all), k up to n.
TEST(Knn, KdTreeEqualsBruteAndNaive) {
    const int64_t n = 3001, m = 300;
    for (int64_t d : {1, 3, 8})
        for (int metric : {0, 1, 3}) {
            auto X = normal(n * d, 3 + (unsigned)d), Q = normal(m * d, 4);
            const Nb want1 = naive(X, n, Q, m, d, 1, metric), want10 = naive(X, n, Q, m, d, 10, metric);
            for (int leaf : {1, 2, 30, 5000}) {
                mfs_knn_params p = params(metric, MFS_KNN_ALGORITHM_KD_TREE);
                p.leaf_size = leaf;
                mfs_model *tree = fit(p, X, n, d), *brute = fit(params(metric, MFS_KNN_ALGORITHM_BRUTE), X, n, d);
                for (int64_t k : {1, 10}) {
                    auto a = query(tree, &Q, m, d, k);
                    expect_same(a, query(brute, &Q, m, d, k), "tree vs brute");
                    expect_same(a, k == 1 ? want1 : want10, "tree vs naive");
                }
                mfs_model_free(tree);
                mfs_model_free(brute);
            }
        }
    // k = n: every point, sorted
    auto X = normal(50 * 2, 9), Q = normal(4 * 2, 10);
    mfs_model *tree = fit(params(0, MFS_KNN_ALGORITHM_KD_TREE), X, 50, 2);
    expect_same(query(tree, &Q, 4, 2, 50), naive(X, 50, Q, 4, 2, 50, 0), "k = n");
    mfs_model_free(tree);
}

// Equal distances go to the lower training index: duplicates across block
// edges (brute) and in a tree; integer-valued data with many exact ties.
TEST(Knn, TiesGoToTheLowerIndex) {
    const int64_t n = kTB + 500, d = 4;
    std::vector<float> X(n * d, 1.0f), Q(2 * d, 1.0f);
    for (int alg : {MFS_KNN_ALGORITHM_BRUTE, MFS_KNN_ALGORITHM_KD_TREE}) {
        mfs_model *m = fit(params(0, alg), X, n, d);
        auto r = query(m, &Q, 2, d, 30);
        for (int64_t q = 0; q < 30; q++) {
            EXPECT_EQ(r.idx[q], q) << "algorithm " << alg;
            EXPECT_EQ(r.dist[q], 0.0f);
        }
        mfs_model_free(m);
    }
    // integers on a small grid: squared distances and GEMM keys are exact
    std::mt19937 g(5);
    std::uniform_int_distribution<int> U(0, 3);
    const int64_t n2 = 2500, m2 = 300, d2 = 6;
    std::vector<float> G(n2 * d2), GQ(m2 * d2);
    for (auto &v : G) v = (float)U(g);
    for (auto &v : GQ) v = (float)U(g);
    for (int metric : {0, 1, 3})
        for (int alg : {MFS_KNN_ALGORITHM_BRUTE, MFS_KNN_ALGORITHM_KD_TREE}) {
            mfs_model *m = fit(params(metric, alg), G, n2, d2);
            expect_same(query(m, &GQ, m2, d2, 12), naive(G, n2, GQ, m2, d2, 12, metric), "integer grid");
            mfs_model_free(m);
        }
}

// X = NULL: the training data, each sample not its own neighbor; with
// duplicates crowding a sample out, its nearest is dropped (scikit-learn).
TEST(Knn, SelfQueryDropsTheSample) {
    const int64_t n = 400, d = 3, k = 6;
    auto X = normal(n * d, 6);
    for (int alg : {MFS_KNN_ALGORITHM_BRUTE, MFS_KNN_ALGORITHM_KD_TREE}) {
        mfs_model *m = fit(params(0, alg), X, n, d);
        auto self = query(m, nullptr, n, d, k);
        auto full = naive(X, n, X, n, d, k + 1, 0);
        for (int64_t i = 0; i < n; i++) {
            ASSERT_EQ(full.idx[i * (k + 1)], i);
            for (int64_t q = 0; q < k; q++) EXPECT_EQ(self.idx[i * k + q], full.idx[i * (k + 1) + q + 1]);
        }
        mfs_model_free(m);
    }
    std::vector<float> D(10 * 2, 0.0f);  // ten copies of one point
    mfs_model *m = fit(params(0, MFS_KNN_ALGORITHM_BRUTE), D, 10, 2);
    auto r = query(m, nullptr, 10, 2, 3);
    EXPECT_EQ(r.idx[0 * 3 + 0], 1);  // sample 0: itself dropped -> 1, 2, 3
    EXPECT_EQ(r.idx[9 * 3 + 0], 1);  // sample 9 is not among 0..3: 0 dropped
    EXPECT_EQ(r.idx[9 * 3 + 2], 3);
    mfs_model_free(m);
}

// Data far from the origin (|mean| = 1e4, spread 1): the GEMM form
// ||t||^2 - 2 q.t would lose every digit in float32; brute force centers it.
TEST(Knn, DataFarFromTheOrigin) {
    const int64_t n = 3000, m = 200, d = 20;
    auto X = normal(n * d, 7, 1.0f, 1e4f), Q = normal(m * d, 8, 1.0f, 1e4f);
    mfs_model *mod = fit(params(0, MFS_KNN_ALGORITHM_BRUTE), X, n, d);
    auto got = query(mod, &Q, m, d, 5);
    auto want = naive(X, n, Q, m, d, 5, 0);
    // float32 data of magnitude 1e4 hold ~1e-3 absolute: distances are exact
    // for these floats, the ranking may only swap near-ties below that
    int64_t bad = 0;
    for (size_t i = 0; i < want.idx.size(); i++)
        if (got.idx[i] != want.idx[i] && std::fabs(got.dist[i] - want.dist[i]) > 1e-3f * want.dist[i]) bad++;
    EXPECT_EQ(bad, 0);
    mfs_model_free(mod);
}

// Votes, probabilities and means against the naive neighbors.
TEST(Knn, PredictVotesAndMeans) {
    const int64_t n = 1500, m = 400, d = 5, K = 4, k = 9;
    auto X = normal(n * d, 11), Q = normal(m * d, 12);
    std::vector<int32_t> y(n);
    std::vector<float> Y(n * 2);
    for (int64_t i = 0; i < n; i++) {
        y[i] = (int32_t)((X[i * d] > 0) + 2 * (X[i * d + 1] > 0));
        Y[i * 2] = X[i * d] * 2 + 1;
        Y[i * 2 + 1] = (float)i;
    }
    auto nb = naive(X, n, Q, m, d, k, 0);
    for (int w : {0, 1}) {
        for (int alg : {MFS_KNN_ALGORITHM_BRUTE, MFS_KNN_ALGORITHM_KD_TREE}) {
            mfs_knn_params p = params(0, alg, (int)k);
            p.weights = w;
            mfs_model *c = fit(p, X, n, d, &y);
            std::vector<int32_t> lab(m);
            std::vector<float> proba(m * K);
            mfs_array Qa = {Q.data(), MFS_DTYPE_FLOAT32, 2, {m, d}};
            mfs_array L = {lab.data(), MFS_DTYPE_INT32, 1, {m}}, P = {proba.data(), MFS_DTYPE_FLOAT32, 2, {m, K}};
            ASSERT_EQ(mfs_predict(c, &Qa, &L), MFS_OK) << mfs_last_error();
            ASSERT_EQ(mfs_predict_proba(c, &Qa, &P), MFS_OK) << mfs_last_error();
            p.task = MFS_KNN_TASK_REGRESSION;
            mfs_model *r = fit(p, X, n, d, nullptr, &Y, 2);
            std::vector<float> out(m * 2);
            mfs_array O = {out.data(), MFS_DTYPE_FLOAT32, 2, {m, 2}};
            ASSERT_EQ(mfs_predict(r, &Qa, &O), MFS_OK) << mfs_last_error();
            for (int64_t i = 0; i < m; i++) {
                double votes[K] = {0}, tot = 0, acc[2] = {0, 0};
                for (int64_t q = 0; q < k; q++) {
                    double wt = w ? 1.0 / nb.dist[i * k + q] : 1.0;
                    int64_t j = nb.idx[i * k + q];
                    votes[y[j]] += wt;
                    tot += wt;
                    acc[0] += wt * Y[j * 2];
                    acc[1] += wt * Y[j * 2 + 1];
                }
                int best = 0;
                for (int c2 = 1; c2 < K; c2++) if (votes[c2] > votes[best]) best = c2;
                EXPECT_EQ(lab[i], best) << i;
                for (int c2 = 0; c2 < K; c2++) EXPECT_NEAR(proba[i * K + c2], votes[c2] / tot, 1e-6);
                EXPECT_NEAR(out[i * 2], acc[0] / tot, 1e-5 * (1 + std::fabs(acc[0] / tot)));
                EXPECT_NEAR(out[i * 2 + 1], acc[1] / tot, 1e-6 * n);
            }
            mfs_model_free(c);
            mfs_model_free(r);
        }
    }
}

// Zero distances take all the weight; tied votes go to the lower class.
TEST(Knn, ZeroDistanceWeightsAndTiedVotes) {
    std::vector<float> X = {0, 0, 0, 1, 5, 5};  // three 1-D... as (6, 1)
    std::vector<int32_t> y = {2, 1, 1, 0, 0, 0};
    mfs_knn_params p = params(0, MFS_KNN_ALGORITHM_BRUTE, 4);
    p.weights = MFS_KNN_WEIGHTS_DISTANCE;
    mfs_model *m = fit(p, X, 6, 1, &y);
    float q[1] = {0};
    int32_t lab = -1;
    float proba[3];
    mfs_array Q = {q, MFS_DTYPE_FLOAT32, 2, {1, 1}}, L = {&lab, MFS_DTYPE_INT32, 1, {1}},
              P = {proba, MFS_DTYPE_FLOAT32, 2, {1, 3}};
    ASSERT_EQ(mfs_predict(m, &Q, &L), MFS_OK);
    ASSERT_EQ(mfs_predict_proba(m, &Q, &P), MFS_OK);
    EXPECT_EQ(lab, 1);  // three zero-distance neighbors: 2, 1, 1 (the 1 at distance 1 gets 0)
    EXPECT_FLOAT_EQ(proba[0], 0.0f);
    EXPECT_FLOAT_EQ(proba[1], 2.0f / 3);
    EXPECT_FLOAT_EQ(proba[2], 1.0f / 3);
    mfs_model_free(m);
    // uniform, k = 2 at q = 0.5 (neighbors 0 and 1... classes 2 and 1): tie -> class 1
    p = params(0, MFS_KNN_ALGORITHM_BRUTE, 2);
    std::vector<float> X2 = {0, 1, 9};
    std::vector<int32_t> y2 = {2, 1, 0};
    m = fit(p, X2, 3, 1, &y2);
    q[0] = 0.5f;
    ASSERT_EQ(mfs_predict(m, &Q, &L), MFS_OK);
    EXPECT_EQ(lab, 1);
    mfs_model_free(m);
}

TEST(Knn, BadParams) {
    mfs_model *m = nullptr;
    auto bad = [&](void (*edit)(mfs_knn_params &), const char *what) {
        mfs_knn_params p;
        mfs_knn_params_default(&p);
        edit(p);
        EXPECT_EQ(mfs_knn_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG) << what;
        EXPECT_NE(std::string(mfs_last_error()).find(what), std::string::npos) << mfs_last_error();
        EXPECT_EQ(m, nullptr);
    };
    bad([](mfs_knn_params &p) { p.n_neighbors = 0; }, "n_neighbors is 0");
    bad([](mfs_knn_params &p) { p.weights = 2; }, "weights is 2");
    bad([](mfs_knn_params &p) { p.algorithm = 3; }, "algorithm is 3");
    bad([](mfs_knn_params &p) { p.metric = -1; }, "metric is -1");
    bad([](mfs_knn_params &p) { p.metric = 4; }, "metric is 4");
    bad([](mfs_knn_params &p) { p.leaf_size = 0; }, "leaf_size is 0");
    bad([](mfs_knn_params &p) { p.task = 2; }, "task is 2");
    bad([](mfs_knn_params &p) { p.algorithm = 2; p.metric = 2; }, "cosine");
}

TEST(Knn, BadInput) {
    auto X = normal(10 * 3, 13);
    std::vector<int32_t> y(10, 0);
    mfs_knn_params p = params(0, MFS_KNN_ALGORITHM_AUTO, 11);
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_knn_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array Xa = {X.data(), MFS_DTYPE_FLOAT32, 2, {10, 3}};
    int32_t lab[10];
    float dist[30];
    int64_t idx[30];
    mfs_array L = {lab, MFS_DTYPE_INT32, 1, {10}};
    EXPECT_EQ(mfs_predict(m, &Xa, &L), MFS_E_NOT_FITTED);
    mfs_array D = {dist, MFS_DTYPE_FLOAT32, 2, {10, 3}}, I = {idx, MFS_DTYPE_INT64, 2, {10, 3}};
    EXPECT_EQ(mfs_kneighbors(m, &Xa, 3, &D, &I), MFS_E_NOT_FITTED);
    y[3] = -1;
    mfs_array ya = {y.data(), MFS_DTYPE_INT32, 1, {10}};
    EXPECT_EQ(mfs_fit(m, &Xa, &ya), MFS_E_VALUE);
    y[3] = 0;
    mfs_array yf = {X.data(), MFS_DTYPE_FLOAT32, 1, {10}};
    EXPECT_EQ(mfs_fit(m, &Xa, &yf), MFS_E_UNSUPPORTED);  // classification takes int32 labels
    ASSERT_EQ(mfs_fit(m, &Xa, &ya), MFS_OK);
    // n_neighbors 11 > 10 samples: a clear error at query time (as scikit-learn)
    EXPECT_EQ(mfs_predict(m, &Xa, &L), MFS_E_INVALID_ARG);
    EXPECT_STREQ(mfs_last_error(), "mfs_predict: n_neighbors is 11, the model was fitted on 10 samples; "
                                   "n_neighbors must be <= n_samples");
    EXPECT_EQ(mfs_kneighbors(m, &Xa, 3, &D, &I), MFS_OK);
    EXPECT_EQ(mfs_kneighbors(m, &Xa, 11, &D, &I), MFS_E_INVALID_ARG);
    EXPECT_EQ(mfs_kneighbors(m, &Xa, -1, &D, &I), MFS_E_INVALID_ARG);
    EXPECT_EQ(mfs_kneighbors(m, nullptr, 10, &D, &I), MFS_E_INVALID_ARG);  // X = NULL needs k < n
    EXPECT_EQ(mfs_kneighbors(m, &Xa, 3, nullptr, nullptr), MFS_E_INVALID_ARG);
    EXPECT_EQ(mfs_kneighbors(m, &Xa, 4, &D, &I), MFS_E_SHAPE);  // outputs are (10, 3)
    mfs_array Xw = {X.data(), MFS_DTYPE_FLOAT32, 2, {5, 2}}, D5 = {dist, MFS_DTYPE_FLOAT32, 2, {5, 3}},
              I5 = {idx, MFS_DTYPE_INT64, 2, {5, 3}};
    EXPECT_EQ(mfs_kneighbors(m, &Xw, 3, &D5, &I5), MFS_E_SHAPE);
    EXPECT_STREQ(mfs_last_error(), "mfs_kneighbors: X has 2 columns, the model was fitted on 3");
    mfs_array If = {idx, MFS_DTYPE_FLOAT32, 2, {10, 3}};
    EXPECT_EQ(mfs_kneighbors(m, &Xa, 3, &D, &If), MFS_E_UNSUPPORTED);
    int32_t idx32[30];
    mfs_array I32 = {idx32, MFS_DTYPE_INT32, 2, {10, 3}};
    ASSERT_EQ(mfs_kneighbors(m, &Xa, 3, nullptr, &I32), MFS_OK);
    for (int i = 0; i < 30; i++) EXPECT_EQ(idx32[i], idx[i]);
    X[4] = NAN;
    EXPECT_EQ(mfs_kneighbors(m, &Xa, 3, &D, &I), MFS_E_VALUE);
    mfs_model_free(m);
    // kneighbors on another kind of model
    mfs_linear_regression_params lp;
    mfs_linear_regression_params_default(&lp);
    ASSERT_EQ(mfs_linear_regression_create(&lp, MFS_DEVICE_CPU, &m), MFS_OK);
    EXPECT_EQ(mfs_kneighbors(m, &Xa, 3, &D, &I), MFS_E_INVALID_ARG);
    mfs_model_free(m);
}

// Many queries against many training rows: the scratch is a few tiles per
// thread and the (m, k) lists, never an (m, n) matrix (here 640 MB).
TEST(Knn, MemoryStaysBounded) {
    const int64_t n = 8000, m = 20000, d = 8, k = 5;
    auto X = normal(n * d, 14), Q = normal(m * d, 15);
    mfs_model *mod = fit(params(0, MFS_KNN_ALGORITHM_BRUTE), X, n, d);
    ASSERT_EQ(mfs_memory_reset_peak(mod), MFS_OK);
    mfs_memory_stats before, after;
    mfs_memory_stats_get(mod, &before);
    query(mod, &Q, m, d, k);
    mfs_memory_stats_get(mod, &after);
    EXPECT_LT(after.host_peak - before.host_current, (int64_t)24 << 20);
    EXPECT_EQ(after.host_current, before.host_current);
    mfs_model_free(mod);
}

TEST(KnnModelFile, RoundTripWithAndWithoutTree) {
    const int64_t n = 700, m = 50, d = 4;
    auto X = normal(n * d, 16), Q = normal(m * d, 17);
    std::vector<float> Y(n);
    for (int64_t i = 0; i < n; i++) Y[i] = X[i * d] - X[i * d + 2];
    for (int alg : {MFS_KNN_ALGORITHM_BRUTE, MFS_KNN_ALGORITHM_KD_TREE}) {
        mfs_knn_params p = params(1, alg, 3, MFS_KNN_TASK_REGRESSION);
        mfs_model *a = fit(p, X, n, d, nullptr, &Y);
        auto buf = save(a);
        mfs_model *b = nullptr;
        ASSERT_EQ(mfs_model_load_buffer(buf.data(), buf.size(), MFS_DEVICE_CPU, &b), MFS_OK) << mfs_last_error();
        auto ra = query(a, &Q, m, d, 3), rb = query(b, &Q, m, d, 3);
        EXPECT_EQ(ra.idx, rb.idx);
        EXPECT_EQ(ra.dist, rb.dist);
        std::vector<float> pa(m), pb(m);
        mfs_array Qa = {Q.data(), MFS_DTYPE_FLOAT32, 2, {m, d}};
        mfs_array Oa = {pa.data(), MFS_DTYPE_FLOAT32, 1, {m}}, Ob = {pb.data(), MFS_DTYPE_FLOAT32, 1, {m}};
        ASSERT_EQ(mfs_predict(a, &Qa, &Oa), MFS_OK);
        ASSERT_EQ(mfs_predict(b, &Qa, &Ob), MFS_OK);
        EXPECT_EQ(pa, pb);
        mfs_knn_params got;
        ASSERT_EQ(mfs_model_get_params(b, &got, sizeof got), MFS_OK);
        EXPECT_EQ(got.algorithm, alg);
        EXPECT_EQ(got.metric, 1);
        mfs_model_free(a);
        mfs_model_free(b);
    }
}

TEST(KnnModelFile, TruncatedAtEveryOffset) {
    auto X = normal(40 * 3, 18);
    std::vector<int32_t> y(40);
    for (int i = 0; i < 40; i++) y[i] = i % 3;
    mfs_model *m = fit(params(0, MFS_KNN_ALGORITHM_KD_TREE, 3), X, 40, 3, &y);
    auto buf = save(m);
    for (size_t len = 0; len < buf.size(); len++) {
        std::vector<unsigned char> cut(buf.begin(), buf.begin() + len);
        mfs_model *out = nullptr;
        ASSERT_EQ(mfs_model_load_buffer(cut.data(), cut.size(), MFS_DEVICE_CPU, &out), MFS_E_FORMAT) << len;
        ASSERT_EQ(out, nullptr);
    }
    mfs_model_free(m);
}

// Every byte set to hostile values with a valid checksum: load refuses it
// (MFS_E_FORMAT) or the model still answers without crashing.
TEST(KnnModelFile, HostileFieldsWithValidChecksum) {
    auto X = normal(24 * 2, 19);
    std::vector<int32_t> y(24);
    for (int i = 0; i < 24; i++) y[i] = i % 2;
    mfs_knn_params p = params(0, MFS_KNN_ALGORITHM_KD_TREE, 3);
    p.leaf_size = 4;
    mfs_model *m = fit(p, X, 24, 2, &y);
    auto buf = save(m);
    for (size_t i = 8; i + 8 < buf.size(); i++)
        for (unsigned char v : {0x00, 0x01, 0x7f, 0xff}) {
            auto bad = buf;
            if (bad[i] == v) continue;
            bad[i] = v;
            refresh_checksum(bad);
            mfs_model *out = nullptr;
            mfs_status s = mfs_model_load_buffer(bad.data(), bad.size(), MFS_DEVICE_CPU, &out);
            if (s == MFS_OK) {
                int32_t lab[24];
                float dist[24 * 3];
                int64_t idx[24 * 3];
                mfs_array Xa = {X.data(), MFS_DTYPE_FLOAT32, 2, {24, 2}}, L = {lab, MFS_DTYPE_INT32, 1, {24}};
                mfs_array D = {dist, MFS_DTYPE_FLOAT32, 2, {24, 3}}, I = {idx, MFS_DTYPE_INT64, 2, {24, 3}};
                mfs_status ps = mfs_predict(out, &Xa, &L);
                EXPECT_TRUE(ps == MFS_OK || ps == MFS_E_SHAPE || ps == MFS_E_INVALID_ARG || ps == MFS_E_NOT_FITTED) << i;
                ps = mfs_kneighbors(out, &Xa, 3, &D, &I);
                EXPECT_TRUE(ps == MFS_OK || ps == MFS_E_SHAPE || ps == MFS_E_INVALID_ARG || ps == MFS_E_NOT_FITTED) << i;
                mfs_model_free(out);
            } else {
                ASSERT_EQ(s, MFS_E_FORMAT) << "offset " << i << ": " << mfs_last_error();
            }
        }
    mfs_model_free(m);
}
