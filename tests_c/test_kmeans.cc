// K-Means: blobs recovered, Lloyd against a naive double implementation of
// scikit-learn's rules, seeds and thread counts, bad input, the model file
// (round trip and hostile input), and sample_weight (weighted naive Lloyd,
// repeated and dropped rows, weighted seeding, bad weights).
#include <gtest/gtest.h>
#include "testing.h"
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>
extern "C" {
#include "mfs/mfs.h"
}

namespace {
struct Data {
    int64_t n, d;
    std::vector<float> X;
    std::vector<int> truth;
};

// `blobs` Gaussian blobs (std 1) whose means are `sep` apart on the axes, plus
// an offset of 50 on every feature (exercises the shift in the E-step).
Data blobs(int64_t n, int64_t d, int blobs, float sep, unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<float> N(0, 1);
    Data D{n, d, std::vector<float>(n * d), std::vector<int>(n)};
    for (int64_t i = 0; i < n; i++) {
        int b = (int)(i % blobs);
        D.truth[i] = b;
        for (int64_t j = 0; j < d; j++)
            D.X[i * d + j] = 50.0f + N(g) + ((j % blobs) == b ? sep : 0.0f) + (j == 0 ? sep * b : 0.0f);
    }
    return D;
}

mfs_array view(const Data &D) { return {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}}; }

mfs_kmeans_params params(int k, int init = MFS_KMEANS_INIT_K_MEANS_PP, int64_t seed = 0) {
    mfs_kmeans_params p;
    mfs_kmeans_params_default(&p);
    p.n_clusters = k;
    p.init = init;
    p.random_state = seed;
    return p;
}

mfs_model *fit(const Data &D, const mfs_kmeans_params &p, const std::vector<float> *init = nullptr,
               const std::vector<float> *weights = nullptr) {
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_kmeans_create(&p, MFS_DEVICE_CPU, &m), MFS_OK) << mfs_last_error();
    if (init) {
        mfs_array a = {(void *)init->data(), MFS_DTYPE_FLOAT32, 2, {p.n_clusters, D.d}};
        EXPECT_EQ(mfs_model_set_array(m, "init", &a), MFS_OK) << mfs_last_error();
    }
    if (weights) {
        mfs_array a = {(void *)weights->data(), MFS_DTYPE_FLOAT32, 1, {(int64_t)weights->size()}};
        EXPECT_EQ(mfs_model_set_array(m, "sample_weight", &a), MFS_OK) << mfs_last_error();
    }
    mfs_array X = view(D);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_OK) << mfs_last_error();
    return m;
}

std::vector<int32_t> predict(const mfs_model *m, const Data &D) {
    std::vector<int32_t> out(D.n);
    mfs_array X = view(D), o = {out.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_predict(m, &X, &o), MFS_OK) << mfs_last_error();
    return out;
}

double sq(const float *a, const double *c, int64_t d) {
    double s = 0;
    for (int64_t j = 0; j < d; j++) s += ((double)a[j] - c[j]) * ((double)a[j] - c[j]);
    return s;
}

// scikit-learn's Lloyd in double: strict convergence on unchanged labels, else
// squared center shift <= tol * mean variance; a last assignment; empty
// clusters take the farthest points.
struct Naive {
    std::vector<double> C;
    std::vector<int> labels;
    double inertia;
    int n_iter;
};

// With weights w (n) or all 1: centers are weighted means, the inertia is
// weighted, a cluster is empty without rows of weight > 0 and takes only such
// rows; tol stays relative to the unweighted variance (scikit-learn's).
Naive naive_lloyd(const Data &D, std::vector<double> C, int k, int max_iter, double tol_rel,
                  const std::vector<float> *w = nullptr) {
    const int64_t n = D.n, d = D.d;
    auto wt = [&](int64_t i) { return w ? (double)(*w)[i] : 1.0; };
    std::vector<double> mean(d, 0), var(d, 0);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) mean[j] += D.X[i * d + j];
    for (auto &v : mean) v /= n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) var[j] += (D.X[i * d + j] - mean[j]) * (D.X[i * d + j] - mean[j]);
    double mv = 0;
    for (auto v : var) mv += v / n;
    double tol = tol_rel * mv / d;
    std::vector<int> labels(n, -1), old(n, -1);
    auto assign = [&]() {
        for (int64_t i = 0; i < n; i++) {
            double best = INFINITY;
            for (int q = 0; q < k; q++) {
                double v = sq(&D.X[i * d], &C[q * d], d);
                if (v < best) { best = v; labels[i] = q; }
            }
        }
    };
    bool strict = false;
    int it;
    for (it = 0; it < max_iter; it++) {
        assign();
        std::vector<double> S(k * d, 0), cnt(k, 0), W(k, 0);
        for (int64_t i = 0; i < n; i++) {
            if (wt(i) == 0) continue;
            cnt[labels[i]] += 1;
            W[labels[i]] += wt(i);
            for (int64_t j = 0; j < d; j++) S[labels[i] * d + j] += wt(i) * D.X[i * d + j];
        }
        std::vector<double> far(n);
        for (int64_t i = 0; i < n; i++) far[i] = wt(i) == 0 ? -1 : sq(&D.X[i * d], &C[labels[i] * d], d);
        for (int q = 0; q < k; q++) {
            if (cnt[q] != 0) continue;
            int64_t b = 0;
            for (int64_t i = 1; i < n; i++)
                if (far[i] > far[b]) b = i;
            if (far[b] < 0) {  // no row of weight > 0 left: a zero sum
                for (int64_t j = 0; j < d; j++) S[q * d + j] = 0;
                continue;
            }
            far[b] = -1;
            for (int64_t j = 0; j < d; j++) {
                S[labels[b] * d + j] -= wt(b) * D.X[b * d + j];
                S[q * d + j] = wt(b) * D.X[b * d + j];
            }
            cnt[labels[b]] -= 1;
            cnt[q] = 1;
            W[labels[b]] -= wt(b);
            W[q] = wt(b);
        }
        double shift = 0;
        for (int q = 0; q < k; q++)
            for (int64_t j = 0; j < d; j++) {
                double v = S[q * d + j] / (cnt[q] > 0 ? W[q] : 1);
                shift += (v - C[q * d + j]) * (v - C[q * d + j]);
                C[q * d + j] = v;
            }
        if (labels == old) { strict = true; it++; break; }
        if (shift <= tol) { it++; break; }
        old = labels;
    }
    if (!strict) assign();
    double in = 0;
    for (int64_t i = 0; i < n; i++) in += wt(i) * sq(&D.X[i * d], &C[labels[i] * d], d);
    return {C, labels, in, it};
}
}  // namespace

TEST(KMeans, DefaultsAreScikitLearns) {
    mfs_kmeans_params p;
    mfs_kmeans_params_default(&p);
    EXPECT_EQ(p.n_clusters, 8);
    EXPECT_EQ(p.init, MFS_KMEANS_INIT_K_MEANS_PP);
    EXPECT_EQ(p.n_init, 1);
    EXPECT_EQ(p.max_iter, 300);
    EXPECT_EQ(p.tol, 1e-4);
    EXPECT_EQ(p.random_state, 0);
    EXPECT_EQ(mfs_params_size(MFS_MODEL_KMEANS), sizeof(mfs_kmeans_params));
}

TEST(KMeans, SeparatedBlobsRecovered) {
    for (int init : {MFS_KMEANS_INIT_K_MEANS_PP, MFS_KMEANS_INIT_RANDOM}) {
        Data D = blobs(2000, 6, 4, 12.0f, 1);
        mfs_kmeans_params p = params(4, init, 3);
        p.n_init = init == MFS_KMEANS_INIT_RANDOM ? 5 : 1;  // random seeding may put two centers in one blob
        mfs_model *m = fit(D, p);
        auto labels = get<int32_t>(m, "labels");
        // every blob is one cluster, and the 4 clusters are distinct
        std::vector<int> of_blob(4, -1);
        for (int64_t i = 0; i < D.n; i++) {
            int b = D.truth[i];
            if (of_blob[b] < 0) of_blob[b] = labels[i];
            ASSERT_EQ(labels[i], of_blob[b]) << "init " << init << " sample " << i;
        }
        for (int a = 0; a < 4; a++)
            for (int b = a + 1; b < 4; b++) EXPECT_NE(of_blob[a], of_blob[b]);
        // inertia is the sum of squared distances to the centers (double, 1e-6)
        auto C = get<float>(m, "cluster_centers");
        double in = 0;
        for (int64_t i = 0; i < D.n; i++) {
            std::vector<double> c(C.begin() + labels[i] * D.d, C.begin() + (labels[i] + 1) * D.d);
            in += sq(&D.X[i * D.d], c.data(), D.d);
        }
        auto inertia = get<double>(m, "inertia");
        EXPECT_NEAR(inertia[0], in, 1e-6 * in);
        // ~ n * d * std^2 for std-1 blobs
        EXPECT_NEAR(inertia[0] / (D.n * D.d), 1.0, 0.1);
        EXPECT_EQ(predict(m, D), labels);
        EXPECT_GE(get<int32_t>(m, "n_iter")[0], 1);
        mfs_model_free(m);
    }
}

TEST(KMeans, InitArrayMatchesNaiveLloyd) {
    // overlapping blobs: many iterations, labels that move
    Data D = blobs(3000, 5, 3, 2.5f, 2);
    const int k = 5;
    std::vector<float> init(k * D.d);
    for (int q = 0; q < k; q++)
        for (int64_t j = 0; j < D.d; j++) init[q * D.d + j] = D.X[(q * 97) * D.d + j];
    for (int max_iter : {1, 2, 300}) {
        mfs_kmeans_params p = params(k, MFS_KMEANS_INIT_ARRAY);
        p.max_iter = max_iter;
        mfs_model *m = fit(D, p, &init);
        Naive ref = naive_lloyd(D, std::vector<double>(init.begin(), init.end()), k, max_iter, p.tol);
        auto C = get<float>(m, "cluster_centers");
        auto labels = get<int32_t>(m, "labels");
        EXPECT_EQ(get<int32_t>(m, "n_iter")[0], ref.n_iter) << "max_iter " << max_iter;
        // float32 data summed in double both sides: centers agree to float32 rounding
        // (|c| ~ 50, so 1e-4 absolute is ~2e-6 relative)
        for (size_t i = 0; i < C.size(); i++) ASSERT_NEAR(C[i], ref.C[i], 1e-4) << "max_iter " << max_iter;
        int diff = 0;
        for (int64_t i = 0; i < D.n; i++) diff += labels[i] != ref.labels[i];
        EXPECT_EQ(diff, 0) << "max_iter " << max_iter;
        EXPECT_NEAR(get<double>(m, "inertia")[0], ref.inertia, 1e-6 * ref.inertia);
        mfs_model_free(m);
    }
}

TEST(KMeans, EmptyClusterRelocatedToFarthestPoint) {
    Data D = blobs(400, 3, 2, 10.0f, 3);
    const int k = 3;
    // the third center is far from every point: it starts with no point
    std::vector<float> init = {D.X[0], D.X[1], D.X[2], D.X[3], D.X[4], D.X[5], 1e4f, 1e4f, 1e4f};
    mfs_kmeans_params p = params(k, MFS_KMEANS_INIT_ARRAY);
    mfs_model *m = fit(D, p, &init);
    Naive ref = naive_lloyd(D, std::vector<double>(init.begin(), init.end()), k, 300, p.tol);
    auto labels = get<int32_t>(m, "labels");
    std::vector<int> count(k, 0);
    for (auto l : labels) count[l]++;
    for (int q = 0; q < k; q++) EXPECT_GT(count[q], 0) << "cluster " << q;
    EXPECT_EQ(std::vector<int>(labels.begin(), labels.end()), ref.labels);
    EXPECT_NEAR(get<double>(m, "inertia")[0], ref.inertia, 1e-6 * ref.inertia);
    mfs_model_free(m);
}

TEST(KMeans, IdenticalPointsAndOneCluster) {
    Data D{50, 2, std::vector<float>(100, 3.0f), {}};
    mfs_model *m = fit(D, params(3));
    EXPECT_EQ(get<double>(m, "inertia")[0], 0.0);
    for (float c : get<float>(m, "cluster_centers")) EXPECT_EQ(c, 3.0f);
    mfs_model_free(m);
    Data E = blobs(100, 4, 2, 5.0f, 4);
    m = fit(E, params(1));
    auto C = get<float>(m, "cluster_centers");
    for (int64_t j = 0; j < E.d; j++) {
        double mean = 0;
        for (int64_t i = 0; i < E.n; i++) mean += E.X[i * E.d + j];
        EXPECT_NEAR(C[j], mean / E.n, 1e-4);
    }
    mfs_model_free(m);
}

TEST(KMeans, SameSeedSameBitsOtherSeedOtherStart) {
    Data D = blobs(1500, 8, 5, 3.0f, 5);
    for (int init : {MFS_KMEANS_INIT_K_MEANS_PP, MFS_KMEANS_INIT_RANDOM}) {
        mfs_kmeans_params p = params(6, init, 42);
        p.n_init = 3;
        mfs_model *a = fit(D, p), *b = fit(D, p);
        EXPECT_EQ(get<float>(a, "cluster_centers"), get<float>(b, "cluster_centers"));
        EXPECT_EQ(get<int32_t>(a, "labels"), get<int32_t>(b, "labels"));
        EXPECT_EQ(get<double>(a, "inertia"), get<double>(b, "inertia"));
        // a different seed starts elsewhere (one iteration shows the start)
        p.n_init = 1;
        p.max_iter = 1;
        mfs_model *c = fit(D, p);
        p.random_state = 43;
        mfs_model *e = fit(D, p);
        EXPECT_NE(get<float>(c, "cluster_centers"), get<float>(e, "cluster_centers"));
        for (auto *m : {a, b, c, e}) mfs_model_free(m);
    }
}

TEST(KMeans, MoreRunsNeverWorse) {
    Data D = blobs(1000, 4, 6, 2.0f, 6);
    mfs_kmeans_params p = params(6, MFS_KMEANS_INIT_RANDOM, 9);
    mfs_model *one = fit(D, p);
    p.n_init = 6;  // run 0 is the run above (stream 0 of the same seed)
    mfs_model *six = fit(D, p);
    EXPECT_LE(get<double>(six, "inertia")[0], get<double>(one, "inertia")[0]);
    mfs_model_free(one);
    mfs_model_free(six);
}

TEST(KMeans, ThreadCountDoesNotChangeBits) {
    int32_t before = mfs_get_num_threads();
    if (mfs_set_num_threads(2) != MFS_OK) GTEST_SKIP() << "built without OpenMP";
    Data D = blobs(20000, 12, 7, 2.0f, 7);  // many chunks: 40 chunks of 512 rows
    mfs_kmeans_params p = params(7, MFS_KMEANS_INIT_K_MEANS_PP, 11);
    mfs_model *two = fit(D, p);
    ASSERT_EQ(mfs_set_num_threads(1), MFS_OK);
    mfs_model *one = fit(D, p);
    ASSERT_EQ(mfs_set_num_threads(3), MFS_OK);  // more threads than cores, uneven chunks
    mfs_model *three = fit(D, p);
    ASSERT_EQ(mfs_set_num_threads(before), MFS_OK);
    for (auto *m : {two, three}) {
        EXPECT_EQ(get<float>(one, "cluster_centers"), get<float>(m, "cluster_centers"));
        EXPECT_EQ(get<int32_t>(one, "labels"), get<int32_t>(m, "labels"));
        EXPECT_EQ(get<double>(one, "inertia"), get<double>(m, "inertia"));
        EXPECT_EQ(get<int32_t>(one, "n_iter"), get<int32_t>(m, "n_iter"));
    }
    for (auto *m : {one, two, three}) mfs_model_free(m);
}

// ---- Hamerly's bounds against the plain Lloyd ---------------------------------------
// MFS_KMEANS_PLAIN=1 makes the library run a full E-step every iteration (the
// plain Lloyd); the bounds must give the same labels at every iteration, hence
// the same n_iter and final labels, and centers equal up to the rounding of the
// incrementally updated double sums.
namespace {
mfs_model *fit_plain(const Data &D, const mfs_kmeans_params &p, const std::vector<float> *init = nullptr,
                     const std::vector<float> *weights = nullptr) {
    setenv("MFS_KMEANS_PLAIN", "1", 1);
    mfs_model *m = fit(D, p, init, weights);
    unsetenv("MFS_KMEANS_PLAIN");
    return m;
}

void expect_same_as_plain(const Data &D, const mfs_kmeans_params &p, const std::vector<float> *init,
                          const std::string &what, const std::vector<float> *weights = nullptr) {
    mfs_model *a = fit(D, p, init, weights), *b = fit_plain(D, p, init, weights);
    EXPECT_EQ(get<int32_t>(a, "n_iter"), get<int32_t>(b, "n_iter")) << what;
    auto la = get<int32_t>(a, "labels"), lb = get<int32_t>(b, "labels");
    int64_t diff = 0;
    for (size_t i = 0; i < la.size(); i++) diff += la[i] != lb[i];
    EXPECT_EQ(diff, 0) << what;
    auto ca = get<float>(a, "cluster_centers"), cb = get<float>(b, "cluster_centers");
    for (size_t i = 0; i < ca.size(); i++)
        ASSERT_NEAR(ca[i], cb[i], 1e-5 * std::max(1.0f, std::fabs(cb[i]))) << what << " center value " << i;
    double ia = get<double>(a, "inertia")[0], ib = get<double>(b, "inertia")[0];
    EXPECT_NEAR(ia, ib, 1e-5 * ib + 1e-12) << what;
    mfs_model_free(a);
    mfs_model_free(b);
}

std::vector<float> rows_init(const Data &D, int k, int64_t step) {
    std::vector<float> init(k * D.d);
    for (int q = 0; q < k; q++)
        for (int64_t j = 0; j < D.d; j++) init[q * D.d + j] = D.X[((q * step) % D.n) * D.d + j];
    return init;
}
}  // namespace

TEST(KMeansBounds, SameAsPlainLloydOnSeedsAndShapes) {
    struct Case { int64_t n, d; int blobs; float sep; int k; };
    // k = 4 .. 50 spans 1 to 4 vectors of 16 centers; d = 1, 3, 33, 100 (not
    // multiples of 16 too); overlapping blobs keep labels moving for many iterations
    const Case cases[] = {{2000, 3, 4, 2.0f, 4}, {1500, 33, 6, 1.5f, 17}, {1200, 100, 8, 1.0f, 8},
                          {1000, 7, 5, 2.0f, 50}, {3000, 1, 3, 1.0f, 5},  {6000, 12, 7, 1.2f, 9}};
    for (const Case &c : cases)
        for (unsigned seed : {1u, 2u}) {
            Data D = blobs(c.n, c.d, c.blobs, c.sep, seed);
            std::string what = "n " + std::to_string(c.n) + " d " + std::to_string(c.d) + " k " +
                               std::to_string(c.k) + " seed " + std::to_string(seed);
            expect_same_as_plain(D, params(c.k, MFS_KMEANS_INIT_K_MEANS_PP, seed), nullptr, what + " k-means++");
            std::vector<float> init = rows_init(D, c.k, 37 + seed);
            mfs_kmeans_params p = params(c.k, MFS_KMEANS_INIT_ARRAY);
            for (int max_iter : {2, 300}) {
                p.max_iter = max_iter;
                expect_same_as_plain(D, p, &init, what + " rows, max_iter " + std::to_string(max_iter));
            }
            p.max_iter = 300;
            p.tol = 0.0;  // only strict convergence (or max_iter) stops it
            expect_same_as_plain(D, p, &init, what + " rows, tol 0");
        }
}

TEST(KMeansBounds, SameAsNaiveDoubleLloyd) {
    for (unsigned seed : {4u, 5u, 6u, 7u}) {
        Data D = blobs(3000, 6, 4, 2.5f, seed);
        const int k = 4 + (int)seed % 3;
        std::vector<float> init = rows_init(D, k, 101 + seed);
        mfs_kmeans_params p = params(k, MFS_KMEANS_INIT_ARRAY);
        mfs_model *m = fit(D, p, &init);
        Naive ref = naive_lloyd(D, std::vector<double>(init.begin(), init.end()), k, 300, p.tol);
        EXPECT_EQ(get<int32_t>(m, "n_iter")[0], ref.n_iter) << "seed " << seed;
        auto labels = get<int32_t>(m, "labels");
        EXPECT_EQ(std::vector<int>(labels.begin(), labels.end()), ref.labels) << "seed " << seed;
        auto C = get<float>(m, "cluster_centers");
        for (size_t i = 0; i < C.size(); i++) ASSERT_NEAR(C[i], ref.C[i], 1e-5 * std::fabs(ref.C[i])) << "seed " << seed;
        mfs_model_free(m);
    }
}

TEST(KMeansBounds, EmptyClustersDuringTheIterations) {
    // small data, many centers started at random places in a wider box:
    // clusters empty at the start and in later iterations (counted with the
    // naive reference); the bounded runs must relocate exactly as plain Lloyd
    int later_empty = 0;
    for (unsigned seed = 0; seed < 200; seed++) {
        std::mt19937 g(seed);
        std::uniform_real_distribution<float> U(-5.0f, 15.0f);
        std::normal_distribution<float> N(0, 1);
        Data D{60, 2, std::vector<float>(120), {}};
        for (int64_t i = 0; i < D.n; i++)
            for (int j = 0; j < 2; j++) D.X[i * 2 + j] = (float)(i % 3) * 4.0f * (j + 1) + N(g);
        const int k = 12;
        std::vector<float> init(k * 2);
        for (auto &v : init) v = U(g);
        mfs_kmeans_params p = params(k, MFS_KMEANS_INIT_ARRAY);
        expect_same_as_plain(D, p, &init, "seed " + std::to_string(seed));
        // count the runs where a cluster empties after the first iteration
        std::vector<double> C(init.begin(), init.end());
        Naive ref1 = naive_lloyd(D, C, k, 1, p.tol);
        for (int it = 1; it < 30; it++) {
            Naive r = naive_lloyd(D, ref1.C, k, 1, 0.0);
            std::vector<int> cnt(k, 0);
            for (int l : r.labels) cnt[l]++;
            bool empty = false;
            for (int q = 0; q < k; q++) empty |= cnt[q] == 0;
            if (empty) { later_empty++; break; }
            if (r.labels == ref1.labels) break;
            ref1 = r;
        }
        if (HasFatalFailure()) return;
    }
    EXPECT_GT(later_empty, 0) << "no run emptied a cluster after the first iteration: the test lost its point";
}

TEST(KMeansBounds, OneClusterEveryPointAClusterDuplicates) {
    Data D = blobs(3000, 5, 3, 2.0f, 8);
    expect_same_as_plain(D, params(1), nullptr, "k = 1");
    Data S = blobs(24, 3, 3, 2.0f, 9);
    std::vector<float> init = rows_init(S, 24, 5);  // 5 and 24 coprime: every row once
    expect_same_as_plain(S, params(24, MFS_KMEANS_INIT_ARRAY), &init, "k = n, rows");
    expect_same_as_plain(S, params(24), nullptr, "k = n, k-means++");
    // every point three times, and centers started on duplicated rows (ties)
    Data T = blobs(1000, 4, 4, 1.5f, 10);
    Data U{3 * T.n, T.d, std::vector<float>(3 * T.n * T.d), {}};
    for (int64_t i = 0; i < U.n; i++)
        for (int64_t j = 0; j < T.d; j++) U.X[i * T.d + j] = T.X[(i / 3) * T.d + j];
    expect_same_as_plain(U, params(6, MFS_KMEANS_INIT_K_MEANS_PP, 3), nullptr, "duplicates, k-means++");
    std::vector<float> dup = rows_init(U, 6, 1);  // rows 0, 1, 2 equal: two empty clusters at once
    expect_same_as_plain(U, params(6, MFS_KMEANS_INIT_ARRAY), &dup, "duplicates, equal initial centers");
    Data Z{300, 3, std::vector<float>(900, -2.5f), {}};
    expect_same_as_plain(Z, params(4), nullptr, "all points equal");
}

TEST(KMeansBounds, ThreadCountDoesNotChangeBitsLongRun) {
    int32_t before = mfs_get_num_threads();
    if (mfs_set_num_threads(2) != MFS_OK) GTEST_SKIP() << "built without OpenMP";
    Data D = blobs(30000, 20, 9, 1.0f, 11);  // overlapping: many bounded iterations over 59 chunks
    std::vector<float> init = rows_init(D, 9, 1);
    mfs_kmeans_params p = params(9, MFS_KMEANS_INIT_ARRAY);
    mfs_model *two = fit(D, p, &init);
    ASSERT_EQ(mfs_set_num_threads(1), MFS_OK);
    mfs_model *one = fit(D, p, &init);
    ASSERT_EQ(mfs_set_num_threads(before), MFS_OK);
    EXPECT_GT(get<int32_t>(one, "n_iter")[0], 5);
    EXPECT_EQ(get<float>(one, "cluster_centers"), get<float>(two, "cluster_centers"));
    EXPECT_EQ(get<int32_t>(one, "labels"), get<int32_t>(two, "labels"));
    EXPECT_EQ(get<double>(one, "inertia"), get<double>(two, "inertia"));
    EXPECT_EQ(get<int32_t>(one, "n_iter"), get<int32_t>(two, "n_iter"));
    for (auto *m : {one, two}) mfs_model_free(m);
    expect_same_as_plain(D, p, &init, "long run");
}

TEST(KMeans, PredictAndTransform) {
    Data D = blobs(600, 7, 3, 4.0f, 8);
    mfs_model *m = fit(D, params(4));
    auto C = get<float>(m, "cluster_centers");
    Data T = blobs(333, 7, 3, 4.0f, 9);
    std::vector<float> dist(T.n * 4);
    mfs_array X = view(T), o = {dist.data(), MFS_DTYPE_FLOAT32, 2, {T.n, 4}};
    ASSERT_EQ(mfs_transform(m, &X, &o), MFS_OK) << mfs_last_error();
    auto labels = predict(m, T);
    for (int64_t i = 0; i < T.n; i++) {
        int best = 0;
        double bd = INFINITY;
        for (int q = 0; q < 4; q++) {
            std::vector<double> c(C.begin() + q * T.d, C.begin() + (q + 1) * T.d);
            double v = sq(&T.X[i * T.d], c.data(), T.d);
            // explicit differences in float32: ~1e-6 relative
            ASSERT_NEAR(dist[i * 4 + q], std::sqrt(v), 1e-5 * std::sqrt(v) + 1e-6);
            if (v < bd) { bd = v; best = q; }
        }
        ASSERT_EQ(labels[i], best) << "row " << i;
    }
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[4];
    ASSERT_EQ(mfs_output_shape(m, MFS_METHOD_TRANSFORM, &X, &dt, &nd, shape), MFS_OK);
    EXPECT_EQ(dt, MFS_DTYPE_FLOAT32);
    EXPECT_EQ(nd, 2);
    EXPECT_EQ(shape[1], 4);
    ASSERT_EQ(mfs_output_shape(m, MFS_METHOD_PREDICT, &X, &dt, &nd, shape), MFS_OK);
    EXPECT_EQ(dt, MFS_DTYPE_INT32);
    EXPECT_EQ(nd, 1);
    EXPECT_EQ(mfs_output_shape(m, MFS_METHOD_PREDICT_PROBA, &X, &dt, &nd, shape), MFS_E_UNSUPPORTED);
    // wrong number of features
    Data W = blobs(10, 6, 3, 4.0f, 9);
    std::vector<int32_t> wl(10);
    mfs_array XW = view(W), ow = {wl.data(), MFS_DTYPE_INT32, 1, {10}};
    EXPECT_EQ(mfs_predict(m, &XW, &ow), MFS_E_SHAPE);
    EXPECT_NE(std::string(mfs_last_error()).find("6 columns"), std::string::npos) << mfs_last_error();
    mfs_model_free(m);
}

// Data beyond float32's squared range run rescaled by a power of two inside
// fit / predict / transform: X * 2^s gives exactly the answers for X, scaled
// (the centers by 2^s, the inertia by 2^2s, the distances by 2^s), with
// k-means++ seeding, with weights, and with an init array.
TEST(KMeans, PowerOfTwoScaledDataGivesTheScaledAnswers) {
    Data D = blobs(700, 5, 3, 4.0f, 21);
    std::vector<float> w(D.n);
    for (int64_t i = 0; i < D.n; i++) w[i] = (float)(1 + i % 3);
    for (int s : {-90, -40, 40, 90}) {
        const float f = std::ldexp(1.0f, s);
        Data S = D;
        for (float &v : S.X) v *= f;
        for (int weighted = 0; weighted < 2; weighted++) {
            mfs_model *a = fit(D, params(3, MFS_KMEANS_INIT_K_MEANS_PP, 5), nullptr, weighted ? &w : nullptr);
            mfs_model *b = fit(S, params(3, MFS_KMEANS_INIT_K_MEANS_PP, 5), nullptr, weighted ? &w : nullptr);
            auto ca = get<float>(a, "cluster_centers"), cb = get<float>(b, "cluster_centers");
            for (size_t i = 0; i < ca.size(); i++) ASSERT_EQ(cb[i], ca[i] * f) << "scale 2^" << s << " center " << i;
            EXPECT_EQ(get<int32_t>(b, "labels"), get<int32_t>(a, "labels"));
            EXPECT_EQ(get<double>(b, "inertia")[0], std::ldexp(get<double>(a, "inertia")[0], 2 * s));
            EXPECT_EQ(predict(b, S), predict(a, D));
            std::vector<float> da(D.n * 3), db(D.n * 3);
            mfs_array xa = view(D), xb = view(S), oa = {da.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 3}},
                      ob = {db.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 3}};
            ASSERT_EQ(mfs_transform(a, &xa, &oa), MFS_OK) << mfs_last_error();
            ASSERT_EQ(mfs_transform(b, &xb, &ob), MFS_OK) << mfs_last_error();
            for (size_t i = 0; i < da.size(); i++) ASSERT_EQ(db[i], da[i] * f) << "distance " << i;
            mfs_model_free(a);
            mfs_model_free(b);
        }
        // an init array is scaled with X
        std::vector<float> init(D.X.begin(), D.X.begin() + 3 * D.d), init_s(init);
        for (float &v : init_s) v *= f;
        mfs_model *a = fit(D, params(3, MFS_KMEANS_INIT_ARRAY), &init), *b = fit(S, params(3, MFS_KMEANS_INIT_ARRAY), &init_s);
        EXPECT_EQ(get<int32_t>(b, "labels"), get<int32_t>(a, "labels"));
        EXPECT_EQ(get<int32_t>(b, "n_iter")[0], get<int32_t>(a, "n_iter")[0]);
        mfs_model_free(a);
        mfs_model_free(b);
    }
    // 1e20-sized rows (squares ~1e40 > FLT_MAX): the blobs are found, the inertia finite
    Data H = D;
    for (float &v : H.X) v = (v - 50.0f) * 1e20f;
    mfs_model *h = fit(H, params(3));
    EXPECT_TRUE(std::isfinite(get<double>(h, "inertia")[0]));
    auto lh = get<int32_t>(h, "labels");
    std::vector<int> count(3, 0);
    for (int32_t l : lh) count[l]++;
    for (int c : count) EXPECT_GT(c, 150) << "a cluster lost its blob";
    mfs_model_free(h);
}

TEST(KMeans, BadParams) {
    struct Case {
        void (*set)(mfs_kmeans_params *);
        const char *word;
    } cases[] = {
        {[](mfs_kmeans_params *p) { p->n_clusters = 0; }, "n_clusters is 0"},
        {[](mfs_kmeans_params *p) { p->init = 3; }, "init is 3"},
        {[](mfs_kmeans_params *p) { p->n_init = 0; }, "n_init is 0"},
        {[](mfs_kmeans_params *p) { p->max_iter = -1; }, "max_iter is -1"},
        {[](mfs_kmeans_params *p) { p->tol = -1e-3; }, "tol is"},
        {[](mfs_kmeans_params *p) { p->tol = NAN; }, "tol is"},
    };
    for (const Case &c : cases) {
        mfs_kmeans_params p;
        mfs_kmeans_params_default(&p);
        c.set(&p);
        mfs_model *m = nullptr;
        EXPECT_EQ(mfs_kmeans_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG) << c.word;
        EXPECT_EQ(m, nullptr);
        EXPECT_NE(std::string(mfs_last_error()).find(c.word), std::string::npos) << mfs_last_error();
    }
    mfs_kmeans_params p;
    mfs_kmeans_params_default(&p);
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_model_create(MFS_MODEL_KMEANS, &p, sizeof p - 8, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
    if (mfs_cuda_device_count() == 0) {
        EXPECT_EQ(mfs_kmeans_create(&p, MFS_DEVICE_CUDA, &m), MFS_E_DEVICE);
        EXPECT_EQ(m, nullptr);
    }
}

TEST(KMeans, BadFitInput) {
    Data D = blobs(5, 3, 2, 4.0f, 10);
    mfs_model *m = nullptr;
    mfs_kmeans_params p = params(10);
    ASSERT_EQ(mfs_kmeans_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array X = view(D);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_E_INVALID_ARG);
    std::string msg = mfs_last_error();
    EXPECT_NE(msg.find("n_clusters is 10"), std::string::npos) << msg;
    EXPECT_NE(msg.find("5 samples"), std::string::npos) << msg;
    int32_t fitted = 1;
    mfs_model_info(m, nullptr, nullptr, &fitted, nullptr);
    EXPECT_EQ(fitted, 0);
    std::vector<int32_t> out(5);
    mfs_array o = {out.data(), MFS_DTYPE_INT32, 1, {5}};
    EXPECT_EQ(mfs_predict(m, &X, &o), MFS_E_NOT_FITTED);
    mfs_model_free(m);

    // NaN in X
    D.X[4] = NAN;
    p = params(2);
    ASSERT_EQ(mfs_kmeans_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_E_VALUE);
    mfs_model_free(m);
}

TEST(KMeans, InitArrayMissingOrWrongShape) {
    Data D = blobs(50, 3, 2, 4.0f, 11);
    mfs_kmeans_params p = params(2, MFS_KMEANS_INIT_ARRAY);
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_kmeans_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array X = view(D);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_E_INVALID_ARG);
    EXPECT_NE(std::string(mfs_last_error()).find("'init'"), std::string::npos) << mfs_last_error();
    std::vector<float> init(12, 1.0f);
    struct { int32_t ndim; int64_t r, c; } shapes[] = {{2, 3, 3}, {2, 2, 4}, {2, 2, 2}, {1, 6, 0}, {2, 4, 3}};
    for (auto s : shapes) {
        mfs_array a = {init.data(), MFS_DTYPE_FLOAT32, s.ndim, {s.r, s.c}};
        ASSERT_EQ(mfs_model_set_array(m, "init", &a), MFS_OK) << mfs_last_error();
        EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_E_SHAPE) << s.ndim << " " << s.r << " " << s.c;
        std::string msg = mfs_last_error();
        EXPECT_NE(msg.find("n_clusters=2, n_features=3"), std::string::npos) << msg;
    }
    // a NaN in the init array is refused when it is given
    init[0] = NAN;
    mfs_array a = {init.data(), MFS_DTYPE_FLOAT32, 2, {2, 3}};
    EXPECT_EQ(mfs_model_set_array(m, "init", &a), MFS_E_VALUE);
    mfs_model_free(m);
}

TEST(KMeans, MemoryIsBoundedAndReturned) {
    mfs_memory_stats before, after;
    ASSERT_EQ(mfs_memory_stats_get(nullptr, &before), MFS_OK);
    Data D = blobs(40000, 32, 8, 3.0f, 12);
    mfs_kmeans_params p = params(8);
    mfs_model *m = fit(D, p);
    mfs_memory_stats ms;
    ASSERT_EQ(mfs_memory_stats_get(m, &ms), MFS_OK);
    // no (n, k) distance matrix and no copy of X: the peak stays below the
    // bytes of X itself (5.1 MB here; scikit-learn copies X)
    EXPECT_LT(ms.host_peak, (int64_t)(D.X.size() * sizeof(float)));
    mfs_model_free(m);
    ASSERT_EQ(mfs_memory_stats_get(nullptr, &after), MFS_OK);
    EXPECT_EQ(after.host_current, before.host_current);
}

TEST(KMeansFile, RoundTripPredictsTheSame) {
    Data D = blobs(300, 5, 3, 6.0f, 13);
    mfs_kmeans_params p = params(3, MFS_KMEANS_INIT_RANDOM, 5);
    p.n_init = 2;
    mfs_model *m = fit(D, p);
    auto buf = save(m);
    mfs_model *m2 = nullptr;
    ASSERT_EQ(mfs_model_load_buffer(buf.data(), buf.size(), MFS_DEVICE_CPU, &m2), MFS_OK) << mfs_last_error();
    EXPECT_EQ(predict(m, D), predict(m2, D));
    EXPECT_EQ(get<float>(m, "cluster_centers"), get<float>(m2, "cluster_centers"));
    EXPECT_EQ(get<int32_t>(m, "labels"), get<int32_t>(m2, "labels"));
    EXPECT_EQ(get<double>(m, "inertia"), get<double>(m2, "inertia"));
    EXPECT_EQ(get<int32_t>(m, "n_iter"), get<int32_t>(m2, "n_iter"));
    mfs_kmeans_params q;
    ASSERT_EQ(mfs_model_get_params(m2, &q, sizeof q), MFS_OK);
    EXPECT_EQ(0, std::memcmp(&p, &q, sizeof p));
    std::string path = ::testing::TempDir() + "kmeans.mfs";
    ASSERT_EQ(mfs_model_save(m, path.c_str()), MFS_OK);
    mfs_model *m3 = nullptr;
    ASSERT_EQ(mfs_model_load(path.c_str(), MFS_DEVICE_CPU, &m3), MFS_OK) << mfs_last_error();
    EXPECT_EQ(predict(m, D), predict(m3, D));
    for (auto *x : {m, m2, m3}) mfs_model_free(x);
}

TEST(KMeansFile, TruncatedAtEveryOffset) {
    Data D = blobs(20, 3, 2, 6.0f, 14);
    mfs_model *m = fit(D, params(2));
    auto buf = save(m);
    for (size_t len = 0; len < buf.size(); len++) {
        std::vector<unsigned char> cut(buf.begin(), buf.begin() + len);
        mfs_model *out = nullptr;
        ASSERT_EQ(mfs_model_load_buffer(cut.data(), cut.size(), MFS_DEVICE_CPU, &out), MFS_E_FORMAT) << "length " << len;
        ASSERT_EQ(out, nullptr);
    }
    mfs_model_free(m);
}

namespace {
size_t find(const std::vector<unsigned char> &b, const char *s) {
    std::string hay(b.begin(), b.end());
    return hay.find(s);
}
}  // namespace

TEST(KMeansFile, HostileStateWithValidChecksum) {
    Data D = blobs(20, 3, 2, 6.0f, 15);
    mfs_model *m = fit(D, params(2));
    auto good = save(m);
    mfs_model *out = nullptr;
    // n_clusters (first field of the params at offset 40) disagrees with the centers
    auto b = good;
    int32_t k = 3;
    std::memcpy(b.data() + 40, &k, 4);
    refresh_checksum(b);
    EXPECT_EQ(mfs_model_load_buffer(b.data(), b.size(), MFS_DEVICE_CPU, &out), MFS_E_FORMAT);
    EXPECT_EQ(out, nullptr);
    // a label out of range: name, dtype, ndim, shape[0], nbytes, then the data
    b = good;
    size_t at = find(b, "labels");
    ASSERT_NE(at, std::string::npos);
    int32_t bad = 7;
    std::memcpy(b.data() + at + 6 + 4 + 4 + 8 + 8, &bad, 4);
    refresh_checksum(b);
    EXPECT_EQ(mfs_model_load_buffer(b.data(), b.size(), MFS_DEVICE_CPU, &out), MFS_E_FORMAT);
    EXPECT_NE(std::string(mfs_last_error()).find("labels"), std::string::npos) << mfs_last_error();
    // a negative inertia
    b = good;
    at = find(b, "inertia");
    ASSERT_NE(at, std::string::npos);
    double neg = -1.0;
    std::memcpy(b.data() + at + 7 + 4 + 4 + 8, &neg, 8);
    refresh_checksum(b);
    EXPECT_EQ(mfs_model_load_buffer(b.data(), b.size(), MFS_DEVICE_CPU, &out), MFS_E_FORMAT);
    // the sealed original still loads (the forging itself is right)
    b = good;
    refresh_checksum(b);
    ASSERT_EQ(mfs_model_load_buffer(b.data(), b.size(), MFS_DEVICE_CPU, &out), MFS_OK) << mfs_last_error();
    mfs_model_free(out);
    mfs_model_free(m);
}

// ---- sample_weight ------------------------------------------------------------------
namespace {
// Integer weights 0..3 (a quarter of each), deterministic in the row index.
std::vector<float> int_weights(int64_t n, unsigned seed) {
    std::mt19937 g(seed);
    std::uniform_int_distribution<int> U(0, 3);
    std::vector<float> w(n);
    for (auto &v : w) v = (float)U(g);
    return w;
}

// D's rows repeated w_i times (w integer).
Data repeated(const Data &D, const std::vector<float> &w) {
    Data R{0, D.d, {}, {}};
    for (int64_t i = 0; i < D.n; i++)
        for (int r = 0; r < (int)w[i]; r++) {
            R.X.insert(R.X.end(), D.X.begin() + i * D.d, D.X.begin() + (i + 1) * D.d);
            R.n++;
        }
    return R;
}
}  // namespace

TEST(KMeansWeights, MatchesNaiveWeightedLloyd) {
    // real-valued weights (and some zeros), overlapping blobs: many iterations
    for (unsigned seed : {21u, 22u, 23u}) {
        Data D = blobs(3000, 6, 4, 2.5f, seed);
        std::mt19937 g(seed);
        std::uniform_real_distribution<float> U(0.0f, 3.0f);
        std::vector<float> w(D.n);
        for (int64_t i = 0; i < D.n; i++) w[i] = i % 7 == 0 ? 0.0f : U(g);
        const int k = 5;
        std::vector<float> init = rows_init(D, k, 89 + seed);
        for (double tol : {1e-4, 0.0}) {
            mfs_kmeans_params p = params(k, MFS_KMEANS_INIT_ARRAY);
            p.tol = tol;
            mfs_model *m = fit(D, p, &init, &w);
            Naive ref = naive_lloyd(D, std::vector<double>(init.begin(), init.end()), k, 300, tol, &w);
            std::string what = "seed " + std::to_string(seed) + " tol " + std::to_string(tol);
            EXPECT_EQ(get<int32_t>(m, "n_iter")[0], ref.n_iter) << what;
            auto labels = get<int32_t>(m, "labels");
            EXPECT_EQ(std::vector<int>(labels.begin(), labels.end()), ref.labels) << what;
            // double sums both sides: float32 rounding of centers ~50 (1e-5 relative, as above)
            auto C = get<float>(m, "cluster_centers");
            for (size_t i = 0; i < C.size(); i++) ASSERT_NEAR(C[i], ref.C[i], 1e-5 * std::fabs(ref.C[i])) << what;
            EXPECT_NEAR(get<double>(m, "inertia")[0], ref.inertia, 1e-6 * ref.inertia) << what;
            mfs_model_free(m);
        }
    }
}

TEST(KMeansWeights, IntegerWeightsAreRepeatedRowsZeroWeightsDroppedRows) {
    Data D = blobs(2500, 5, 4, 2.0f, 24);
    std::vector<float> w = int_weights(D.n, 24);
    Data R = repeated(D, w);
    const int k = 6;
    std::vector<float> init = rows_init(D, k, 53);
    mfs_kmeans_params p = params(k, MFS_KMEANS_INIT_ARRAY);
    p.tol = 0.0;  // tol is relative to the unweighted variance (scikit-learn's), which repetition changes
    mfs_model *a = fit(D, p, &init, &w), *b = fit(R, p, &init);
    // the same labels of the present rows at every iteration, so the same
    // centers up to the order of the double sums (float32 rounding: 1 ulp of ~50)
    auto ca = get<float>(a, "cluster_centers"), cb = get<float>(b, "cluster_centers");
    for (size_t i = 0; i < ca.size(); i++) ASSERT_NEAR(ca[i], cb[i], 1e-5 * std::fabs(cb[i])) << i;
    EXPECT_NEAR(get<double>(a, "inertia")[0], get<double>(b, "inertia")[0], 1e-9 * get<double>(b, "inertia")[0]);
    auto la = get<int32_t>(a, "labels"), lb = get<int32_t>(b, "labels");
    int64_t r = 0, diff = 0;
    for (int64_t i = 0; i < D.n; i++)
        for (int t = 0; t < (int)w[i]; t++) diff += la[i] != lb[r++];
    EXPECT_EQ(diff, 0);
    // zero-weight rows get a label too (their nearest center)
    EXPECT_EQ(predict(a, D), la);
    // 0/1 weights: the rows of weight 1 alone
    std::vector<float> w01(D.n);
    for (int64_t i = 0; i < D.n; i++) w01[i] = w[i] > 0 ? 1.0f : 0.0f;
    mfs_model *c = fit(D, p, &init, &w01), *e = fit(repeated(D, w01), p, &init);
    auto cc = get<float>(c, "cluster_centers"), ce = get<float>(e, "cluster_centers");
    for (size_t i = 0; i < cc.size(); i++) ASSERT_NEAR(cc[i], ce[i], 1e-5 * std::fabs(ce[i])) << i;
    EXPECT_NEAR(get<double>(c, "inertia")[0], get<double>(e, "inertia")[0], 1e-9 * get<double>(e, "inertia")[0]);
    for (auto *m : {a, b, c, e}) mfs_model_free(m);
}

TEST(KMeansWeights, UnitWeightsAreTheUnweightedBits) {
    Data D = blobs(3000, 7, 5, 2.0f, 25);
    std::vector<float> ones(D.n, 1.0f);
    for (int init : {MFS_KMEANS_INIT_K_MEANS_PP, MFS_KMEANS_INIT_RANDOM}) {
        mfs_kmeans_params p = params(5, init, 7);
        p.n_init = 2;
        mfs_model *a = fit(D, p), *b = fit(D, p, nullptr, &ones);
        EXPECT_EQ(get<float>(a, "cluster_centers"), get<float>(b, "cluster_centers"));
        EXPECT_EQ(get<int32_t>(a, "labels"), get<int32_t>(b, "labels"));
        EXPECT_EQ(get<double>(a, "inertia"), get<double>(b, "inertia"));
        EXPECT_EQ(get<int32_t>(a, "n_iter"), get<int32_t>(b, "n_iter"));
        mfs_model_free(a);
        mfs_model_free(b);
    }
}

TEST(KMeansWeights, BoundsSameAsPlainLloydAndThreads) {
    // the bounded steps move w x between the sums: the same labels as plain Lloyd
    Data D = blobs(6000, 12, 7, 1.2f, 26);
    std::vector<float> w(D.n);
    std::mt19937 g(26);
    std::uniform_real_distribution<float> U(0.0f, 2.0f);
    for (int64_t i = 0; i < D.n; i++) w[i] = i % 5 == 0 ? 0.0f : U(g);
    std::vector<float> init = rows_init(D, 9, 41);
    mfs_kmeans_params p = params(9, MFS_KMEANS_INIT_ARRAY);
    expect_same_as_plain(D, p, &init, "weighted rows", &w);
    p.tol = 0.0;
    expect_same_as_plain(D, p, &init, "weighted rows, tol 0", &w);
    expect_same_as_plain(D, params(9, MFS_KMEANS_INIT_K_MEANS_PP, 4), nullptr, "weighted k-means++", &w);
    int32_t before = mfs_get_num_threads();
    if (mfs_set_num_threads(2) != MFS_OK) GTEST_SKIP() << "built without OpenMP";
    Data L = blobs(20000, 10, 6, 1.5f, 27);  // 40 chunks
    std::vector<float> wl = int_weights(L.n, 27);
    mfs_kmeans_params q = params(6, MFS_KMEANS_INIT_K_MEANS_PP, 12);
    q.n_init = 2;
    mfs_model *two = fit(L, q, nullptr, &wl);
    ASSERT_EQ(mfs_set_num_threads(1), MFS_OK);
    mfs_model *one = fit(L, q, nullptr, &wl);
    ASSERT_EQ(mfs_set_num_threads(before), MFS_OK);
    EXPECT_EQ(get<float>(one, "cluster_centers"), get<float>(two, "cluster_centers"));
    EXPECT_EQ(get<int32_t>(one, "labels"), get<int32_t>(two, "labels"));
    EXPECT_EQ(get<double>(one, "inertia"), get<double>(two, "inertia"));
    mfs_model_free(one);
    mfs_model_free(two);
}

TEST(KMeansWeights, SeedingDrawsOnlyRowsOfPositiveWeight) {
    // Exactly k rows have weight > 0, and far outliers (at 1e4) have weight 0:
    // unweighted, k-means++ would take the outliers first (D^2 sampling). A
    // seeding that draws in proportion to w must pick exactly the k present
    // rows; then the first M-step keeps every center (a one-row weighted mean
    // w x / w is x exactly), so the fit stops after 1 iteration with inertia 0.
    // A zero-weight seed would leave a cluster without rows: a relocation, a
    // moved center, n_iter >= 2.
    Data D = blobs(600, 3, 4, 8.0f, 28);
    for (int64_t i = 0; i < D.n; i += 10)
        for (int64_t j = 0; j < D.d; j++) D.X[i * D.d + j] = 1e4f + (float)i;
    const int k = 5;
    for (int init : {MFS_KMEANS_INIT_K_MEANS_PP, MFS_KMEANS_INIT_RANDOM}) {
        for (int64_t seed = 0; seed < 20; seed++) {
            std::mt19937 g((unsigned)seed);
            std::vector<float> w(D.n, 0.0f);
            std::vector<int64_t> present;
            while ((int)present.size() < k) {
                int64_t i = 1 + 10 * (int64_t)(g() % 59) + (int64_t)(g() % 9);  // never an outlier row
                if (w[i] == 0.0f) { w[i] = 0.25f + (float)(g() % 8); present.push_back(i); }
            }
            mfs_kmeans_params p = params(k, init, seed);
            mfs_model *m = fit(D, p, nullptr, &w);
            std::string what = "init " + std::to_string(init) + " seed " + std::to_string(seed);
            EXPECT_EQ(get<int32_t>(m, "n_iter")[0], 1) << what;
            EXPECT_EQ(get<double>(m, "inertia")[0], 0.0) << what;
            auto C = get<float>(m, "cluster_centers");
            for (int64_t r : present) {
                bool found = false;
                for (int q = 0; q < k; q++)
                    found |= std::equal(C.begin() + q * D.d, C.begin() + (q + 1) * D.d, D.X.begin() + r * D.d);
                EXPECT_TRUE(found) << what << ": row " << r << " is not a center";
            }
            mfs_model_free(m);
        }
    }
}

TEST(KMeansWeights, FewerPresentRowsThanClusters) {
    // 3 rows of weight > 0 and k = 5: k-means++ and an init array still fit
    // (the clusters without rows keep a zero sum, as the C code's rule);
    // random init cannot draw 5 distinct rows of weight > 0: a clear error
    Data D = blobs(40, 2, 2, 6.0f, 29);
    std::vector<float> w(D.n, 0.0f);
    w[3] = 1.0f; w[17] = 2.0f; w[30] = 0.5f;
    mfs_model *m = fit(D, params(5, MFS_KMEANS_INIT_K_MEANS_PP, 1), nullptr, &w);
    EXPECT_GE(get<double>(m, "inertia")[0], 0.0);
    mfs_model_free(m);
    std::vector<float> init = rows_init(D, 5, 7);
    m = fit(D, params(5, MFS_KMEANS_INIT_ARRAY), &init, &w);
    Naive ref = naive_lloyd(D, std::vector<double>(init.begin(), init.end()), 5, 300, 1e-4, &w);
    auto C = get<float>(m, "cluster_centers");
    for (size_t i = 0; i < C.size(); i++) ASSERT_NEAR(C[i], ref.C[i], 1e-5 * std::fabs(ref.C[i]) + 1e-6) << i;
    EXPECT_NEAR(get<double>(m, "inertia")[0], ref.inertia, 1e-6 * ref.inertia + 1e-9);
    mfs_model_free(m);
    mfs_kmeans_params p = params(5, MFS_KMEANS_INIT_RANDOM, 1);
    ASSERT_EQ(mfs_kmeans_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array X = view(D), wa = {w.data(), MFS_DTYPE_FLOAT32, 1, {D.n}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wa), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("only 3 rows have sample_weight > 0, fewer than n_clusters=5"),
              std::string::npos) << mfs_last_error();
    mfs_model_free(m);
}

TEST(KMeansWeights, BadWeightsAreClearErrors) {
    Data D = blobs(10, 3, 2, 4.0f, 30);
    mfs_kmeans_params p = params(2);
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_kmeans_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array X = view(D);
    std::vector<float> w(10, 1.0f);
    mfs_array wa = {w.data(), MFS_DTYPE_FLOAT32, 1, {10}};
    w[3] = -1.0f;
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wa), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("sample_weight[3] = -1, weights must be finite and >= 0"),
              std::string::npos) << mfs_last_error();
    // NaN: float32 inputs are refused by mfs_model_set_array itself, float64 by the fit
    std::vector<double> wnan(10, 1.0);
    wnan[4] = NAN;
    mfs_array wna = {wnan.data(), MFS_DTYPE_FLOAT64, 1, {10}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wna), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("sample_weight[4] = nan, weights must be finite"), std::string::npos)
        << mfs_last_error();
    wnan[4] = INFINITY;
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wna), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_E_VALUE);
    w[3] = NAN;
    EXPECT_EQ(mfs_model_set_array(m, "sample_weight", &wa), MFS_E_VALUE);
    std::fill(w.begin(), w.end(), 0.0f);  // mfs_model_set_array copies: set again after each change
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wa), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_E_VALUE);
    EXPECT_STREQ(mfs_last_error(), "mfs_fit: sample_weight sums to 0; at least one weight must be > 0");
    mfs_array wshort = {w.data(), MFS_DTYPE_FLOAT32, 1, {9}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wshort), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_E_SHAPE);
    EXPECT_NE(std::string(mfs_last_error()).find("has 9 values, expected 10 (the rows of X)"), std::string::npos)
        << mfs_last_error();
    mfs_array w2d = {w.data(), MFS_DTYPE_FLOAT32, 2, {5, 2}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &w2d), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_E_SHAPE);
    std::vector<double> big(10, 1.0);
    big[2] = 1e300;  // finite in float64, not in float32
    mfs_array wbig = {big.data(), MFS_DTYPE_FLOAT64, 1, {10}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wbig), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("does not fit in float32"), std::string::npos) << mfs_last_error();
    std::vector<int32_t> wi(10, 1);
    mfs_array wint = {wi.data(), MFS_DTYPE_INT32, 1, {10}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wint), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_E_SHAPE);
    int32_t fitted = 1;
    mfs_model_info(m, nullptr, nullptr, &fitted, nullptr);
    EXPECT_EQ(fitted, 0);
    // float64 weights are accepted (used as float32); removing the input fits unweighted
    std::fill(big.begin(), big.end(), 2.0);
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wbig), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_OK) << mfs_last_error();
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", nullptr), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_OK) << mfs_last_error();
    mfs_model_free(m);
}

TEST(KMeansWeights, CudaFitWithWeightsIsUnsupported) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    Data D = blobs(100, 3, 2, 4.0f, 31);
    mfs_kmeans_params p = params(2);
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_kmeans_create(&p, MFS_DEVICE_CUDA, &m), MFS_OK) << mfs_last_error();
    std::vector<float> w(D.n, 2.0f);
    mfs_array X = view(D), wa = {w.data(), MFS_DTYPE_FLOAT32, 1, {D.n}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wa), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_E_UNSUPPORTED);
    EXPECT_NE(std::string(mfs_last_error()).find("sample_weight is not supported on backend='cuda' yet"),
              std::string::npos) << mfs_last_error();
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", nullptr), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_OK) << mfs_last_error();
    mfs_model_free(m);
}
