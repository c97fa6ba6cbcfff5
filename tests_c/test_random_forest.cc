// Random forest: the forest against its own definition (bootstrap counts
// recomputed from the Philox streams, out-of-bag predictions from the trees'
// leaves), the same forest for 1, 2 and 3 threads, learning on separable and
// smooth data, bad parameters and input, and the model file (round trip,
// truncation, hostile bytes with a valid checksum).
#include <gtest/gtest.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>
#include "testing.h"
extern "C" {
#include "core/rng.h"
}

namespace {
struct Data {
    int64_t n, d;
    std::vector<float> X;
    std::vector<int32_t> y;  // classification labels
    std::vector<float> t;    // regression targets (n, nt)
    int64_t K, nt;
};

// K Gaussian blobs in d dimensions (the first `informative` features carry the
// class, the rest are noise), and a smooth target t = sin(x0) + x1^2 / 2 + noise.
Data make(int64_t n, int64_t d, int64_t K, unsigned seed, int64_t informative = 2, int64_t nt = 1) {
    std::mt19937 g(seed);
    std::normal_distribution<float> N(0, 1);
    Data D{n, d, std::vector<float>(n * d), std::vector<int32_t>(n), std::vector<float>(n * nt), K, nt};
    for (int64_t i = 0; i < n; i++) {
        const int32_t k = (int32_t)(g() % K);
        D.y[i] = k;
        for (int64_t j = 0; j < d; j++) D.X[i * d + j] = N(g) + (j < informative ? 3.0f * (float)((k + j) % K) : 0.0f);
        for (int64_t q = 0; q < nt; q++)
            D.t[i * nt + q] = std::sin(D.X[i * d]) * (float)(q + 1) + 0.5f * D.X[i * d + 1 % d] * D.X[i * d + 1 % d] +
                              0.05f * N(g);
    }
    return D;
}

mfs_random_forest_params clf_params(int32_t T, int64_t seed) {
    mfs_random_forest_params p;
    mfs_random_forest_params_default(&p);
    p.n_estimators = T;
    p.random_state = seed;
    return p;
}

mfs_random_forest_params reg_params(int32_t T, int64_t seed) {
    mfs_random_forest_params p = clf_params(T, seed);
    p.criterion = MFS_TREE_CRITERION_SQUARED_ERROR;
    p.max_features_mode = MFS_TREE_MAX_FEATURES_FRACTION;
    p.max_features = 1.0;
    return p;
}

mfs_array xview(const Data &D) { return mfs_array{(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}}; }
mfs_array yview(const Data &D) { return mfs_array{(void *)D.y.data(), MFS_DTYPE_INT32, 1, {D.n}}; }
mfs_array tview(const Data &D) {
    if (D.nt == 1) return mfs_array{(void *)D.t.data(), MFS_DTYPE_FLOAT32, 1, {D.n}};
    return mfs_array{(void *)D.t.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.nt}};
}

mfs_model *fit(const mfs_random_forest_params &p, const Data &D) {
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_random_forest_create(&p, MFS_DEVICE_CPU, &m), MFS_OK) << mfs_last_error();
    if (!m) return nullptr;
    mfs_array X = xview(D);
    mfs_array y = p.criterion == MFS_TREE_CRITERION_SQUARED_ERROR ? tview(D) : yview(D);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    return m;
}

std::vector<float> proba(const mfs_model *m, const Data &D) {
    std::vector<float> P(D.n * D.K);
    mfs_array X = xview(D), out = {P.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.K}};
    EXPECT_EQ(mfs_predict_proba(m, &X, &out), MFS_OK) << mfs_last_error();
    return P;
}

std::vector<int32_t> labels(const mfs_model *m, const Data &D) {
    std::vector<int32_t> L(D.n);
    mfs_array X = xview(D), out = {L.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_predict(m, &X, &out), MFS_OK) << mfs_last_error();
    return L;
}

std::vector<int64_t> apply(const mfs_model *m, const Data &D, int64_t T) {
    std::vector<int64_t> A(D.n * T);
    mfs_array X = xview(D), out = {A.data(), MFS_DTYPE_INT64, 2, {D.n, T}};
    EXPECT_EQ(mfs_random_forest_apply(m, &X, &out), MFS_OK) << mfs_last_error();
    return A;
}

// Bootstrap counts of tree t as the docs define them: nb draws of Philox
// stream 2^32 + t keyed by random_state.
std::vector<int64_t> counts_of(uint64_t seed, int64_t t, int64_t n, int64_t nb) {
    mfs_rng r = mfs_rng_make(seed, ((uint64_t)1 << 32) + (uint64_t)t);
    std::vector<int64_t> c(n, 0);
    for (int64_t q = 0; q < nb; q++) c[mfs_rng_below(&r, (uint64_t)n)]++;
    return c;
}
}  // namespace

TEST(RandomForest, DefaultsAreScikitLearns) {
    mfs_random_forest_params p;
    mfs_random_forest_params_default(&p);
    EXPECT_EQ(p.n_estimators, 100);
    EXPECT_EQ(p.criterion, MFS_TREE_CRITERION_GINI);
    EXPECT_EQ(p.max_depth, -1);
    EXPECT_EQ(p.max_features_mode, MFS_TREE_MAX_FEATURES_SQRT);
    EXPECT_EQ(p.bootstrap, 1);
    EXPECT_EQ(p.oob_score, 0);
    EXPECT_EQ(p.max_samples_mode, MFS_RANDOM_FOREST_MAX_SAMPLES_ALL);
    EXPECT_EQ(p.min_samples_split, 2.0);
    EXPECT_EQ(p.min_samples_leaf, 1.0);
    EXPECT_EQ(mfs_params_size(MFS_MODEL_RANDOM_FOREST), sizeof(mfs_random_forest_params));
}

TEST(RandomForest, LearnsSeparableBlobs) {
    Data D = make(600, 6, 3, 1);
    mfs_model *m = fit(clf_params(30, 7), D);
    auto P = proba(m, D);
    auto L = labels(m, D);
    int64_t right = 0;
    for (int64_t i = 0; i < D.n; i++) {
        double s = 0;
        int64_t best = 0;
        for (int64_t k = 0; k < D.K; k++) {
            s += P[i * D.K + k];
            if (P[i * D.K + k] > P[i * D.K + best]) best = k;
        }
        // fractions averaged in double, rounded to float32 per class: 1e-6
        ASSERT_NEAR(s, 1.0, 1e-6) << i;
        // predict is the argmax of the double mean; float32 rounding can only
        // tie it with another class, never reverse it
        ASSERT_GE(P[i * D.K + L[i]], P[i * D.K + best]) << i;
        right += L[i] == D.y[i];
    }
    // blobs 3 sigma apart in two features: > 95% of the training set right
    EXPECT_GT(right, D.n * 95 / 100);
    auto imp = get<double>(m, "feature_importances");
    double s = 0;
    for (double v : imp) {
        EXPECT_GE(v, 0.0);
        s += v;
    }
    EXPECT_NEAR(s, 1.0, 1e-12);  // renormalized in double
    // the two informative features carry most of the impurity decrease
    EXPECT_GT(imp[0] + imp[1], 0.6);
    auto off = get<int64_t>(m, "tree_offsets");
    ASSERT_EQ(off.size(), 31u);
    EXPECT_EQ(off[0], 0);
    for (int t = 0; t < 30; t++) EXPECT_GT(off[t + 1], off[t]);
    mfs_model_free(m);
}

// Each tree's root holds its bootstrap: weighted_n_node_samples = the draws,
// n_node_samples = the distinct rows drawn, as the documented Philox streams
// give them; max_samples sets the draws.
TEST(RandomForest, BootstrapIsTheDocumentedPhiloxCounts) {
    Data D = make(300, 4, 2, 2);
    for (int mode : {0, 1, 2}) {
        mfs_random_forest_params p = clf_params(8, 12345);
        p.max_samples_mode = mode;
        p.max_samples = mode == 1 ? 77.0 : 0.4;
        const int64_t nb = mode == 0 ? D.n : (mode == 1 ? 77 : 120);
        mfs_model *m = fit(p, D);
        auto off = get<int64_t>(m, "tree_offsets");
        auto wn = get<double>(m, "weighted_n_node_samples");
        auto nn = get<int64_t>(m, "n_node_samples");
        auto info = get<int64_t>(m, "info");
        EXPECT_EQ(info[2], nb);
        for (int64_t t = 0; t < 8; t++) {
            auto c = counts_of(12345, t, D.n, nb);
            int64_t distinct = 0;
            for (int64_t v : c) distinct += v > 0;
            EXPECT_EQ(wn[off[t]], (double)nb) << mode << " " << t;
            EXPECT_EQ(nn[off[t]], distinct) << mode << " " << t;
        }
        mfs_model_free(m);
    }
}

TEST(RandomForest, SameForestForAnyThreadCount) {
    Data D = make(2000, 8, 3, 3);
    for (int32_t split : {MFS_TREE_SPLIT_EXACT, MFS_TREE_SPLIT_HIST}) {
        mfs_random_forest_params p = clf_params(12, 99);
        p.split_algorithm = split;
        p.oob_score = 1;
        std::vector<unsigned char> ref;
        for (int nt : {1, 2, 3}) {
            ASSERT_EQ(mfs_set_num_threads(nt), MFS_OK);
            mfs_model *m = fit(p, D);
            auto buf = save(m);
            if (ref.empty())
                ref = buf;
            else
                EXPECT_TRUE(buf == ref) << "split " << split << ", " << nt << " threads: a different forest";
            mfs_model_free(m);
        }
        mfs_set_num_threads(2);
        // and a different seed gives a different forest
        p.random_state = 100;
        mfs_model *m = fit(p, D);
        EXPECT_FALSE(save(m) == ref);
        mfs_model_free(m);
    }
}

// oob_decision_function = the mean over the trees where a row was out of the
// bag (count 0) of its leaf's class fractions; oob_score its accuracy.
TEST(RandomForest, OutOfBagFromTheTreesLeaves) {
    Data D = make(400, 5, 3, 4);
    mfs_random_forest_params p = clf_params(15, 5);
    p.oob_score = 1;
    mfs_model *m = fit(p, D);
    const int64_t T = 15, K = D.K;
    auto A = apply(m, D, T);
    auto off = get<int64_t>(m, "tree_offsets");
    auto val = get<double>(m, "value");
    auto oob = get<double>(m, "oob_decision_function");
    auto score = get<double>(m, "oob_score");
    std::vector<std::vector<int64_t>> counts;
    for (int64_t t = 0; t < T; t++) counts.push_back(counts_of(5, t, D.n, D.n));
    int64_t right = 0;
    for (int64_t i = 0; i < D.n; i++) {
        std::vector<double> s(K, 0.0);
        int64_t c = 0;
        for (int64_t t = 0; t < T; t++) {
            if (counts[t][i] != 0) continue;
            for (int64_t k = 0; k < K; k++) s[k] += val[(off[t] + A[i * T + t]) * K + k];
            c++;
        }
        int64_t best = 0;
        for (int64_t k = 0; k < K; k++) {
            const double want = c ? s[k] / (double)c : 0.0;
            ASSERT_NEAR(oob[i * K + k], want, 1e-12) << i;  // the same double sums, in the same order
            if (oob[i * K + k] > oob[i * K + best]) best = k;
        }
        right += best == D.y[i];
    }
    EXPECT_DOUBLE_EQ(score[0], (double)right / (double)D.n);
    EXPECT_GT(score[0], 0.9);  // held-out rows of separable blobs
    mfs_model_free(m);
}

TEST(RandomForest, RegressionSingleAndMultiOutput) {
    for (int64_t nt : {1, 2}) {
        Data D = make(1500, 3, 2, 5, 2, nt);
        mfs_random_forest_params p = reg_params(25, 3);
        p.oob_score = 1;
        mfs_model *m = fit(p, D);
        std::vector<float> pred(D.n * nt);
        mfs_array X = xview(D);
        mfs_array out = nt == 1 ? mfs_array{pred.data(), MFS_DTYPE_FLOAT32, 1, {D.n}}
                                : mfs_array{pred.data(), MFS_DTYPE_FLOAT32, 2, {D.n, nt}};
        ASSERT_EQ(mfs_predict(m, &X, &out), MFS_OK) << mfs_last_error();
        // the prediction is the mean of the trees' leaf means
        const int64_t T = 25;
        auto A = apply(m, D, T);
        auto off = get<int64_t>(m, "tree_offsets");
        auto val = get<double>(m, "value");
        for (int64_t i = 0; i < D.n; i += 37)
            for (int64_t q = 0; q < nt; q++) {
                double s = 0;
                for (int64_t t = 0; t < T; t++) s += val[(off[t] + A[i * T + t]) * nt + q];
                ASSERT_NEAR(pred[i * nt + q], s / T, 1e-5 * (1 + std::fabs(s / T))) << i;  // float32 output
            }
        // out-of-bag R^2 of a smooth target with 0.05 noise: high
        auto score = get<double>(m, "oob_score");
        EXPECT_GT(score[0], 0.9) << nt;
        EXPECT_LE(score[0], 1.0);
        mfs_dtype dt;
        int32_t nd;
        int64_t shape[4];
        ASSERT_EQ(mfs_output_shape(m, MFS_METHOD_PREDICT_PROBA, &X, &dt, &nd, shape), MFS_E_UNSUPPORTED);
        mfs_model_free(m);
    }
}

TEST(RandomForest, NoBootstrapAndAllFeaturesGivesIdenticalTrees) {
    // every tree sees all rows with all features in index order: no randomness left
    Data D = make(200, 3, 2, 6);
    mfs_random_forest_params p = clf_params(4, 1);
    p.bootstrap = 0;
    p.max_features_mode = MFS_TREE_MAX_FEATURES_ALL;
    mfs_model *m = fit(p, D);
    auto off = get<int64_t>(m, "tree_offsets");
    auto thr = get<double>(m, "threshold");
    auto feat = get<int32_t>(m, "feature");
    const int64_t c = off[1];
    for (int t = 1; t < 4; t++) {
        ASSERT_EQ(off[t + 1] - off[t], c);
        for (int64_t q = 0; q < c; q++) {
            EXPECT_EQ(feat[off[t] + q], feat[q]);
            EXPECT_EQ(thr[off[t] + q], thr[q]);
        }
    }
    // the training rows are fitted exactly (pure leaves, distinct rows)
    auto L = labels(m, D);
    for (int64_t i = 0; i < D.n; i++) EXPECT_EQ(L[i], D.y[i]) << i;
    mfs_model_free(m);
}

TEST(RandomForest, BadParams) {
    struct Case {
        const char *field;
        void (*set)(mfs_random_forest_params *);
    };
    const Case cases[] = {
        {"n_estimators", [](mfs_random_forest_params *p) { p->n_estimators = 0; }},
        {"n_estimators", [](mfs_random_forest_params *p) { p->n_estimators = -3; }},
        {"criterion", [](mfs_random_forest_params *p) { p->criterion = 7; }},
        {"split_algorithm", [](mfs_random_forest_params *p) { p->split_algorithm = 3; }},
        {"max_depth", [](mfs_random_forest_params *p) { p->max_depth = 0; }},
        {"max_features_mode", [](mfs_random_forest_params *p) { p->max_features_mode = 9; }},
        {"max_features", [](mfs_random_forest_params *p) { p->max_features_mode = 3; p->max_features = 0; }},
        {"max_features", [](mfs_random_forest_params *p) { p->max_features_mode = 4; p->max_features = 1.5; }},
        {"min_samples_split", [](mfs_random_forest_params *p) { p->min_samples_split = 1.0 + 1e-9 + 1; }},
        {"min_samples_split", [](mfs_random_forest_params *p) { p->min_samples_split = 0.0; }},
        {"min_samples_leaf", [](mfs_random_forest_params *p) { p->min_samples_leaf = 0.0; }},
        {"min_weight_fraction_leaf", [](mfs_random_forest_params *p) { p->min_weight_fraction_leaf = 0.6; }},
        {"min_impurity_decrease", [](mfs_random_forest_params *p) { p->min_impurity_decrease = -1; }},
        {"max_leaf_nodes", [](mfs_random_forest_params *p) { p->max_leaf_nodes = 1; }},
        {"oob_score", [](mfs_random_forest_params *p) { p->bootstrap = 0; p->oob_score = 1; }},
        {"bootstrap", [](mfs_random_forest_params *p) { p->bootstrap = 2; }},
        {"max_samples", [](mfs_random_forest_params *p) { p->max_samples_mode = 2; p->max_samples = 0.0; }},
        {"max_samples", [](mfs_random_forest_params *p) { p->max_samples_mode = 2; p->max_samples = INFINITY; }},
        {"max_samples", [](mfs_random_forest_params *p) { p->max_samples_mode = 2; p->max_samples = NAN; }},
        {"max_samples", [](mfs_random_forest_params *p) { p->max_samples_mode = 1; p->max_samples = 0.0; }},
        {"max_samples", [](mfs_random_forest_params *p) { p->max_samples_mode = 1; p->max_samples = 2.5; }},
        {"max_samples", [](mfs_random_forest_params *p) { p->bootstrap = 0; p->max_samples_mode = 1; p->max_samples = 5; }},
        {"max_samples_mode", [](mfs_random_forest_params *p) { p->max_samples_mode = 3; }},
        {"random_state", [](mfs_random_forest_params *p) { p->random_state = -1; }},
        {"n_classes", [](mfs_random_forest_params *p) { p->n_classes = -1; }},
        {"n_classes", [](mfs_random_forest_params *p) { p->criterion = 2; p->n_classes = 3; }},
        {"class_weight_subsample", [](mfs_random_forest_params *p) { p->class_weight_subsample = 2; }},
        {"class_weight_subsample", [](mfs_random_forest_params *p) { p->class_weight_subsample = 1; p->bootstrap = 0; }},
        {"class_weight_subsample", [](mfs_random_forest_params *p) { p->class_weight_subsample = 1; p->criterion = 2; }},
    };
    for (const Case &c : cases) {
        mfs_random_forest_params p;
        mfs_random_forest_params_default(&p);
        c.set(&p);
        mfs_model *m = nullptr;
        EXPECT_EQ(mfs_random_forest_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG) << c.field;
        EXPECT_EQ(m, nullptr);
        EXPECT_NE(std::string(mfs_last_error()).find(c.field), std::string::npos)
            << c.field << ": " << mfs_last_error();
        EXPECT_NE(std::string(mfs_last_error()).find("mfs_"), std::string::npos) << mfs_last_error();
    }
    // the params_size check of the generic create
    mfs_random_forest_params p;
    mfs_random_forest_params_default(&p);
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_model_create(MFS_MODEL_RANDOM_FOREST, &p, sizeof p - 8, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
}

TEST(RandomForest, BadInput) {
    Data D = make(50, 3, 2, 8);
    mfs_array X = xview(D), y = yview(D);
    // counts only known at fit: max_samples * the total weight too large, max_features > d
    {
        mfs_random_forest_params p = clf_params(3, 0);
        p.max_samples_mode = 2;
        p.max_samples = 1e30;
        mfs_model *m = nullptr;
        ASSERT_EQ(mfs_random_forest_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
        EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_INVALID_ARG);
        EXPECT_NE(std::string(mfs_last_error()).find("max_samples = 1e+30"), std::string::npos) << mfs_last_error();
        EXPECT_NE(std::string(mfs_last_error()).find("total sample weight 50"), std::string::npos) << mfs_last_error();
        int32_t fitted = 1;
        mfs_model_info(m, nullptr, nullptr, &fitted, nullptr);
        EXPECT_EQ(fitted, 0);
        mfs_model_free(m);
        // a count above n is fine (scikit-learn >= 1.9): 51 draws of 50 rows
        p.max_samples_mode = 1;
        p.max_samples = 51;
        ASSERT_EQ(mfs_random_forest_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
        ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
        EXPECT_EQ(get<int64_t>(m, "info")[2], 51);
        EXPECT_EQ(get<double>(m, "weighted_n_node_samples")[0], 51.0);
        mfs_model_free(m);
        p.max_samples_mode = 0;
        p.max_features_mode = 3;
        p.max_features = 4;
        ASSERT_EQ(mfs_random_forest_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
        EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_INVALID_ARG);
        EXPECT_NE(std::string(mfs_last_error()).find("max_features"), std::string::npos) << mfs_last_error();
        mfs_model_free(m);
    }
    mfs_random_forest_params p = clf_params(3, 0);
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_random_forest_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    // predict before fit
    std::vector<int32_t> L(D.n);
    mfs_array out = {L.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_predict(m, &X, &out), MFS_E_NOT_FITTED);
    std::vector<int64_t> A(D.n * 3);
    mfs_array Aout = {A.data(), MFS_DTYPE_INT64, 2, {D.n, 3}};
    EXPECT_EQ(mfs_random_forest_apply(m, &X, &Aout), MFS_E_NOT_FITTED);
    // float targets to a classifier, labels out of range, wrong length
    std::vector<float> yf(D.n, 0.5f);
    mfs_array yfa = {yf.data(), MFS_DTYPE_FLOAT32, 1, {D.n}};
    EXPECT_EQ(mfs_fit(m, &X, &yfa), MFS_E_INVALID_ARG);
    EXPECT_NE(std::string(mfs_last_error()).find("int32"), std::string::npos) << mfs_last_error();
    std::vector<int32_t> yneg = D.y;
    yneg[7] = -2;
    mfs_array yn = {yneg.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_fit(m, &X, &yn), MFS_E_VALUE);
    mfs_array yshort = {(void *)D.y.data(), MFS_DTYPE_INT32, 1, {D.n - 1}};
    EXPECT_NE(mfs_fit(m, &X, &yshort), MFS_OK);
    // NaN in X
    std::vector<float> Xn = D.X;
    Xn[5] = NAN;
    mfs_array Xna = {Xn.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    EXPECT_EQ(mfs_fit(m, &Xna, &y), MFS_E_VALUE);
    // sample_weight: wrong length, negative
    std::vector<double> w(D.n - 1, 1.0);
    mfs_array wa = {w.data(), MFS_DTYPE_FLOAT64, 1, {D.n - 1}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wa), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_SHAPE);
    w.assign(D.n, 1.0);
    w[3] = -1;
    wa.data = w.data();
    wa.shape[0] = D.n;
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wa), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("sample_weight[3]"), std::string::npos) << mfs_last_error();
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", nullptr), MFS_OK);
    // fitted: wrong column count, wrong output shapes
    ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    mfs_array X2 = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 2}};
    EXPECT_EQ(mfs_predict(m, &X2, &out), MFS_E_SHAPE);
    EXPECT_EQ(mfs_random_forest_apply(m, &X2, &Aout), MFS_E_SHAPE);
    mfs_array Abad = {A.data(), MFS_DTYPE_INT64, 2, {D.n, 2}};
    EXPECT_EQ(mfs_random_forest_apply(m, &X, &Abad), MFS_E_SHAPE);
    std::vector<float> P(D.n * 3);
    mfs_array Pbad = {P.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 3}};
    EXPECT_EQ(mfs_predict_proba(m, &X, &Pbad), MFS_E_SHAPE);
    mfs_model_free(m);
    // a regressor wants float32 targets
    mfs_random_forest_params r = reg_params(2, 0);
    ASSERT_EQ(mfs_random_forest_create(&r, MFS_DEVICE_CPU, &m), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_INVALID_ARG);
    EXPECT_NE(std::string(mfs_last_error()).find("float32"), std::string::npos) << mfs_last_error();
    mfs_model_free(m);
    // apply on another kind of model
    mfs_knn_params kp;
    mfs_knn_params_default(&kp);
    ASSERT_EQ(mfs_knn_create(&kp, MFS_DEVICE_CPU, &m), MFS_OK);
    EXPECT_EQ(mfs_random_forest_apply(m, &X, &Aout), MFS_E_INVALID_ARG);
    mfs_model_free(m);
    EXPECT_EQ(mfs_random_forest_apply(nullptr, &X, &Aout), MFS_E_INVALID_ARG);
}

// With sample_weight the bootstrap draws row i with probability w_i / W, as
// the header defines it: u = mfs_rng_uniform * W, the first row whose prefix
// sum exceeds u (written out again here from that definition); the tree sees
// only the counts, so its root weight is the number of draws.
static std::vector<int64_t> weighted_counts_of(uint64_t seed, int64_t t, const std::vector<double> &w, int64_t nb) {
    mfs_rng r = mfs_rng_make(seed, ((uint64_t)1 << 32) + (uint64_t)t);
    std::vector<double> cum(w.size());
    double c = 0;
    for (size_t i = 0; i < w.size(); i++) cum[i] = c += w[i];
    std::vector<int64_t> out(w.size(), 0);
    for (int64_t q = 0; q < nb; q++) {
        double u = std::min(mfs_rng_uniform(&r) * c, std::nextafter(c, 0.0));
        out[std::upper_bound(cum.begin(), cum.end(), u) - cum.begin()]++;
    }
    return out;
}

TEST(RandomForest, SampleWeightsAreTheDrawProbabilities) {
    Data D = make(120, 3, 2, 9);
    std::vector<float> w(D.n);
    std::vector<double> wd(D.n);
    for (int64_t i = 0; i < D.n; i++) wd[i] = w[i] = (float)(i % 3) * 0.75f;
    mfs_random_forest_params p = clf_params(8, 21);
    p.max_samples_mode = 2;
    p.max_samples = 0.5; // floor(0.5 * W), W = 40 * 0.75 + 40 * 1.5 = 90: 45 draws
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_random_forest_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array wa = {w.data(), MFS_DTYPE_FLOAT32, 1, {D.n}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wa), MFS_OK);
    mfs_array X = xview(D), y = yview(D);
    ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    EXPECT_EQ(get<int64_t>(m, "info")[2], 45);
    auto off = get<int64_t>(m, "tree_offsets");
    auto wn = get<double>(m, "weighted_n_node_samples");
    auto nn = get<int64_t>(m, "n_node_samples");
    for (int64_t t = 0; t < 8; t++) {
        auto c = weighted_counts_of(21, t, wd, 45);
        int64_t distinct = 0, on_zero = 0;
        for (int64_t i = 0; i < D.n; i++) {
            distinct += c[i] > 0;
            if (wd[i] == 0) on_zero += c[i];
        }
        EXPECT_EQ(on_zero, 0) << t;
        EXPECT_EQ(wn[off[t]], 45.0) << t;   // the counts, not counts * weights
        EXPECT_EQ(nn[off[t]], distinct) << t; // the same draws
    }
    mfs_model_free(m);
}

// scikit-learn's check_classifiers_one_label_sample_weights: weight only on
// class 1. With uniform draws a tree's sample can hold class 0 rows only
// (total weight 0: this used to fail the fit); drawn by weight every tree
// sees class 1 only, and the forest predicts 1 everywhere.
TEST(RandomForest, WeightOnOneClassPredictsThatClass) {
    const int64_t n = 10, T = 20, seed = 39;
    std::vector<float> X(n * 2), w(n);
    std::vector<int32_t> y(n);
    for (int64_t i = 0; i < n; i++) {
        X[i * 2] = (float)i * 0.37f;
        X[i * 2 + 1] = (float)((i * 7) % 10);
        y[i] = (int32_t)(i % 2);
        w[i] = (float)y[i];
    }
    bool uniform_hits_zero = false; // this seed has such a tree under uniform draws
    for (int64_t t = 0; t < T; t++) {
        auto c = counts_of(seed, t, n, n);
        int64_t ones = 0;
        for (int64_t i = 1; i < n; i += 2) ones += c[i];
        uniform_hits_zero |= ones == 0;
    }
    ASSERT_TRUE(uniform_hits_zero);
    mfs_random_forest_params p = clf_params((int32_t)T, seed);
    p.n_classes = 2;
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_random_forest_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array wa = {w.data(), MFS_DTYPE_FLOAT32, 1, {n}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wa), MFS_OK);
    mfs_array Xa = {X.data(), MFS_DTYPE_FLOAT32, 2, {n, 2}}, ya = {y.data(), MFS_DTYPE_INT32, 1, {n}};
    ASSERT_EQ(mfs_fit(m, &Xa, &ya), MFS_OK) << mfs_last_error();
    std::vector<int32_t> pred(n, -1);
    mfs_array pa = {pred.data(), MFS_DTYPE_INT32, 1, {n}};
    ASSERT_EQ(mfs_predict(m, &Xa, &pa), MFS_OK) << mfs_last_error();
    for (int64_t i = 0; i < n; i++) EXPECT_EQ(pred[i], 1) << i;
    mfs_model_free(m);
}

TEST(RandomForestModelFile, RoundTrip) {
    Data D = make(300, 4, 3, 10);
    mfs_random_forest_params p = clf_params(10, 3);
    p.oob_score = 1;
    mfs_model *m = fit(p, D);
    auto buf = save(m);
    mfs_model *b = nullptr;
    ASSERT_EQ(mfs_model_load_buffer(buf.data(), buf.size(), MFS_DEVICE_CPU, &b), MFS_OK) << mfs_last_error();
    EXPECT_EQ(proba(m, D), proba(b, D));  // the same arrays, the same arithmetic: bit-identical
    EXPECT_EQ(labels(m, D), labels(b, D));
    EXPECT_TRUE(save(b) == buf);
    mfs_model_free(b);
    mfs_model_free(m);
}

TEST(RandomForestModelFile, TruncatedAtEveryOffset) {
    Data D = make(40, 2, 2, 11);
    mfs_model *m = fit(clf_params(3, 1), D);
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
// (MFS_E_FORMAT) or the model still answers without crashing (ASan build);
// the header's fitted flag set to 0 gives an unfitted model (MFS_E_NOT_FITTED).
TEST(RandomForestModelFile, HostileBytesWithValidChecksum) {
    Data D = make(30, 2, 2, 12);
    mfs_random_forest_params p = clf_params(2, 1);
    p.max_depth = 3;
    mfs_model *m = fit(p, D);
    auto buf = save(m);
    int64_t loaded = 0;
    for (size_t i = 8; i + 8 < buf.size(); i++)
        for (unsigned char v : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
            auto bad = buf;
            if (bad[i] == v) continue;
            bad[i] = v;
            refresh_checksum(bad);
            mfs_model *out = nullptr;
            mfs_status s = mfs_model_load_buffer(bad.data(), bad.size(), MFS_DEVICE_CPU, &out);
            if (s != MFS_OK) {
                ASSERT_EQ(s, MFS_E_FORMAT) << "offset " << i << ": " << mfs_last_error();
                continue;
            }
            loaded++;
            int32_t lab[30];
            float pr[30 * 8];
            int64_t lv[30 * 8];
            mfs_array Xa = xview(D), La = {lab, MFS_DTYPE_INT32, 1, {30}};
            mfs_status ps = mfs_predict(out, &Xa, &La);
            EXPECT_TRUE(ps == MFS_OK || ps == MFS_E_SHAPE || ps == MFS_E_INVALID_ARG || ps == MFS_E_NOT_FITTED) << i;
            mfs_dtype dt;
            int32_t nd;
            int64_t shape[4] = {0};
            if (mfs_output_shape(out, MFS_METHOD_PREDICT_PROBA, &Xa, &dt, &nd, shape) == MFS_OK && shape[1] <= 8) {
                mfs_array Pa = {pr, MFS_DTYPE_FLOAT32, 2, {30, shape[1]}};
                ps = mfs_predict_proba(out, &Xa, &Pa);
                EXPECT_TRUE(ps == MFS_OK || ps == MFS_E_SHAPE) << i;
            }
            mfs_random_forest_params q;
            ASSERT_EQ(mfs_model_get_params(out, &q, sizeof q), MFS_OK);
            if (q.n_estimators <= 8) {
                mfs_array Aa = {lv, MFS_DTYPE_INT64, 2, {30, q.n_estimators}};
                ps = mfs_random_forest_apply(out, &Xa, &Aa);
                EXPECT_TRUE(ps == MFS_OK || ps == MFS_E_SHAPE || ps == MFS_E_NOT_FITTED) << i;
            }
            mfs_model_free(out);
        }
    EXPECT_GT(loaded, 0);  // some edits (threshold bytes, importances) are harmless
    mfs_model_free(m);
}
