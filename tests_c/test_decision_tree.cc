// Decision trees (CART): a hand-checked tree, the root split against a brute
// force double loop, exact == hist where every value has its own bin, the same
// tree for every thread count, stopping rules, weights, bad input, and the
// model file (round trip, truncation, hostile fields).
#include <gtest/gtest.h>
#include "testing.h"
#include <algorithm>
#include <cmath>
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
    std::vector<int32_t> y;  // classification labels
    std::vector<float> t;    // regression targets
};

// Continuous features; labels from an axis-aligned rule plus 10% noise; targets
// a smooth function plus noise. `levels` > 0 rounds X to that many values.
Data make(int64_t n, int64_t d, int K, unsigned seed, int levels = 0) {
    std::mt19937 g(seed);
    std::normal_distribution<float> N(0, 1);
    std::uniform_real_distribution<float> U(0, 1);
    Data D{n, d, std::vector<float>(n * d), std::vector<int32_t>(n), std::vector<float>(n)};
    for (int64_t i = 0; i < n; i++) {
        float *x = &D.X[i * d];
        for (int64_t j = 0; j < d; j++) {
            x[j] = N(g);
            if (levels > 0) x[j] = std::round(x[j] * levels / 6.0f);
        }
        float s = x[0] + (d > 1 ? 0.5f * x[1] * x[1] : 0.f) - (d > 2 ? x[2] : 0.f);
        int k = (int)std::floor((std::tanh(s) + 1) / 2 * K);
        k = std::min(std::max(k, 0), K - 1);
        if (U(g) < 0.1f) k = (int)(g() % K);
        D.y[i] = k;
        D.t[i] = std::sin(2 * x[0]) + (d > 1 ? x[1] : 0.f) + 0.1f * N(g);
    }
    return D;
}

mfs_decision_tree_params params(int criterion = MFS_TREE_CRITERION_GINI, int split = MFS_TREE_SPLIT_EXACT) {
    mfs_decision_tree_params p;
    mfs_decision_tree_params_default(&p);
    p.criterion = criterion;
    p.split_algorithm = split;
    return p;
}

mfs_array xview(const Data &D) { return mfs_array{(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}}; }
mfs_array yview(const Data &D, bool reg) {
    if (reg) return mfs_array{(void *)D.t.data(), MFS_DTYPE_FLOAT32, 1, {D.n}};
    return mfs_array{(void *)D.y.data(), MFS_DTYPE_INT32, 1, {D.n}};
}

mfs_model *fit(const mfs_decision_tree_params &p, const Data &D, const std::vector<double> *w = nullptr) {
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_decision_tree_create(&p, MFS_DEVICE_CPU, &m), MFS_OK) << mfs_last_error();
    if (!m) return nullptr;
    if (w) {
        mfs_array wa = {(void *)w->data(), MFS_DTYPE_FLOAT64, 1, {(int64_t)w->size()}};
        EXPECT_EQ(mfs_model_set_array(m, "sample_weight", &wa), MFS_OK) << mfs_last_error();
    }
    mfs_array X = xview(D), y = yview(D, p.criterion == MFS_TREE_CRITERION_SQUARED_ERROR);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    return m;
}

std::vector<int32_t> labels(const mfs_model *m, const Data &D) {
    std::vector<int32_t> o(D.n);
    mfs_array X = xview(D), out = {o.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_predict(m, &X, &out), MFS_OK) << mfs_last_error();
    return o;
}

std::vector<float> targets(const mfs_model *m, const Data &D) {
    std::vector<float> o(D.n);
    mfs_array X = xview(D), out = {o.data(), MFS_DTYPE_FLOAT32, 1, {D.n}};
    EXPECT_EQ(mfs_predict(m, &X, &out), MFS_OK) << mfs_last_error();
    return o;
}

std::vector<int64_t> leaves(const mfs_model *m, const Data &D) {
    std::vector<int64_t> o(D.n);
    mfs_array X = xview(D), out = {o.data(), MFS_DTYPE_INT64, 1, {D.n}};
    EXPECT_EQ(mfs_decision_tree_apply(m, &X, &out), MFS_OK) << mfs_last_error();
    return o;
}

// Every node array of two models, exactly.
void expect_same_tree(const mfs_model *a, const mfs_model *b) {
    EXPECT_EQ(get<int32_t>(a, "children_left"), get<int32_t>(b, "children_left"));
    EXPECT_EQ(get<int32_t>(a, "children_right"), get<int32_t>(b, "children_right"));
    EXPECT_EQ(get<int32_t>(a, "feature"), get<int32_t>(b, "feature"));
    EXPECT_EQ(get<double>(a, "threshold"), get<double>(b, "threshold"));
    EXPECT_EQ(get<double>(a, "value"), get<double>(b, "value"));
    EXPECT_EQ(get<double>(a, "impurity"), get<double>(b, "impurity"));
    EXPECT_EQ(get<int64_t>(a, "n_node_samples"), get<int64_t>(b, "n_node_samples"));
}

double gini(const std::vector<double> &c, double w) {
    double s = 0;
    for (double v : c) s += v * v;
    return 1.0 - s / (w * w);
}
}  // namespace

TEST(DecisionTree, HandCheckedTree) {
    Data D{4, 1, {0.f, 1.f, 2.f, 3.f}, {0, 0, 1, 1}, {}};
    mfs_model *m = fit(params(), D);
    EXPECT_EQ(get<int32_t>(m, "children_left"), (std::vector<int32_t>{1, -1, -1}));
    EXPECT_EQ(get<int32_t>(m, "children_right"), (std::vector<int32_t>{2, -1, -1}));
    EXPECT_EQ(get<int32_t>(m, "feature"), (std::vector<int32_t>{0, -2, -2}));
    // the midpoint of 1 and 2, exactly; leaves -2 as scikit-learn's TREE_UNDEFINED
    EXPECT_EQ(get<double>(m, "threshold"), (std::vector<double>{1.5, -2.0, -2.0}));
    EXPECT_EQ(get<double>(m, "value"), (std::vector<double>{0.5, 0.5, 1.0, 0.0, 0.0, 1.0}));
    EXPECT_EQ(get<double>(m, "impurity"), (std::vector<double>{0.5, 0.0, 0.0}));
    EXPECT_EQ(get<int64_t>(m, "n_node_samples"), (std::vector<int64_t>{4, 2, 2}));
    EXPECT_EQ(get<int64_t>(m, "info"), (std::vector<int64_t>{1, 2, 2, 1, 1}));
    EXPECT_EQ(get<double>(m, "feature_importances"), (std::vector<double>{1.0}));
    Data Q{4, 1, {-5.f, 1.5f, 1.5000001f, 9.f}, {}, {}};
    EXPECT_EQ(labels(m, Q), (std::vector<int32_t>{0, 0, 1, 1}));  // x <= 1.5 goes left
    EXPECT_EQ(leaves(m, Q), (std::vector<int64_t>{1, 1, 2, 2}));
    std::vector<float> proba(8);
    mfs_array X = xview(Q), P = {proba.data(), MFS_DTYPE_FLOAT32, 2, {4, 2}};
    ASSERT_EQ(mfs_predict_proba(m, &X, &P), MFS_OK) << mfs_last_error();
    EXPECT_EQ(proba, (std::vector<float>{1, 0, 1, 0, 0, 1, 0, 1}));
    mfs_model_free(m);
}

// The root split equals the best of every (feature, midpoint) by a direct
// double loop over the Gini decrease (continuous data: no ties).
TEST(DecisionTree, RootSplitIsTheBruteForceBest) {
    Data D = make(300, 5, 3, 1);
    mfs_decision_tree_params p = params();
    p.max_depth = 1;
    mfs_model *m = fit(p, D);
    double best = -1, best_thr = 0;
    int best_f = -1;
    for (int64_t f = 0; f < D.d; f++) {
        std::vector<float> v(D.n);
        for (int64_t i = 0; i < D.n; i++) v[i] = D.X[i * D.d + f];
        std::sort(v.begin(), v.end());
        for (int64_t q = 0; q + 1 < D.n; q++) {
            if (v[q + 1] == v[q]) continue;
            const double thr = (double)v[q] / 2 + (double)v[q + 1] / 2;
            std::vector<double> l(3, 0), r(3, 0), t(3, 0);
            for (int64_t i = 0; i < D.n; i++) {
                ((double)D.X[i * D.d + f] <= thr ? l : r)[D.y[i]] += 1;
                t[D.y[i]] += 1;
            }
            const double nl = l[0] + l[1] + l[2], nr = r[0] + r[1] + r[2];
            const double dec = gini(t, D.n) - nl / D.n * gini(l, nl) - nr / D.n * gini(r, nr);
            if (dec > best) { best = dec; best_f = (int)f; best_thr = thr; }
        }
    }
    EXPECT_EQ(get<int32_t>(m, "feature")[0], best_f);
    EXPECT_EQ(get<double>(m, "threshold")[0], best_thr);
    // feature_importances of a stump: all of the decrease on the root's feature
    auto imp = get<double>(m, "feature_importances");
    EXPECT_EQ(imp[best_f], 1.0);
    mfs_model_free(m);
}

// With at most 256 distinct values per feature every value has its own bin,
// so hist sees every candidate partition that exact sees and grows the same
// tree: the same nodes, features, samples, values and impurities. Only the
// thresholds may differ: exact takes the midpoint of the neighbouring values
// in the node, hist the midpoint of the neighbouring values in the whole
// training set; both separate the node's samples the same way.
TEST(DecisionTree, HistEqualsExactWhenEveryValueHasABin) {
    for (int crit : {MFS_TREE_CRITERION_GINI, MFS_TREE_CRITERION_ENTROPY}) {
        Data D = make(6000, 6, 3, 2, /*levels=*/40);  // ~80 distinct values per feature
        mfs_model *a = fit(params(crit, MFS_TREE_SPLIT_EXACT), D);
        mfs_model *b = fit(params(crit, MFS_TREE_SPLIT_HIST), D);
        EXPECT_EQ(get<int32_t>(a, "children_left"), get<int32_t>(b, "children_left"));
        EXPECT_EQ(get<int32_t>(a, "feature"), get<int32_t>(b, "feature"));
        EXPECT_EQ(get<double>(a, "value"), get<double>(b, "value"));
        EXPECT_EQ(get<double>(a, "impurity"), get<double>(b, "impurity"));
        EXPECT_EQ(get<int64_t>(a, "n_node_samples"), get<int64_t>(b, "n_node_samples"));
        EXPECT_EQ(leaves(a, D), leaves(b, D));  // the same partition of the training set
        mfs_model_free(a);
        mfs_model_free(b);
    }
}

// The tree does not depend on the thread count (features of a node are
// evaluated in parallel and reduced in index order).
TEST(DecisionTree, SameTreeForEveryThreadCount) {
    const int32_t saved = mfs_get_num_threads();
    for (int split : {MFS_TREE_SPLIT_EXACT, MFS_TREE_SPLIT_HIST})
        for (int crit : {MFS_TREE_CRITERION_GINI, MFS_TREE_CRITERION_SQUARED_ERROR}) {
            Data D = make(20000, 8, 4, 3);
            ASSERT_EQ(mfs_set_num_threads(1), MFS_OK);
            mfs_model *a = fit(params(crit, split), D);
            ASSERT_EQ(mfs_set_num_threads(3), MFS_OK);
            mfs_model *b = fit(params(crit, split), D);
            expect_same_tree(a, b);
            mfs_model_free(a);
            mfs_model_free(b);
        }
    mfs_set_num_threads(saved);
}

TEST(DecisionTree, StoppingRules) {
    Data D = make(2000, 5, 3, 4);
    {  // max_depth
        mfs_decision_tree_params p = params();
        p.max_depth = 3;
        mfs_model *m = fit(p, D);
        EXPECT_EQ(get<int64_t>(m, "info")[0], 3);
        mfs_model_free(m);
    }
    {  // min_samples_leaf: every leaf keeps at least 25 samples
        mfs_decision_tree_params p = params();
        p.min_samples_leaf = 25;
        mfs_model *m = fit(p, D);
        auto cl = get<int32_t>(m, "children_left");
        auto ns = get<int64_t>(m, "n_node_samples");
        EXPECT_GT(cl.size(), 3u);
        for (size_t q = 0; q < cl.size(); q++)
            if (cl[q] == -1) EXPECT_GE(ns[q], 25) << q;
        mfs_model_free(m);
    }
    {  // max_leaf_nodes: best-first growth to exactly that many leaves (noisy data)
        mfs_decision_tree_params p = params();
        p.max_leaf_nodes = 7;
        mfs_model *m = fit(p, D);
        EXPECT_EQ(get<int64_t>(m, "info")[1], 7);
        EXPECT_EQ(get<int32_t>(m, "children_left").size(), 13u);
        mfs_model_free(m);
    }
    {  // min_impurity_decrease above the root's decrease: a single leaf
        mfs_decision_tree_params p = params();
        p.min_impurity_decrease = 1.0;
        mfs_model *m = fit(p, D);
        EXPECT_EQ(get<int32_t>(m, "children_left").size(), 1u);
        mfs_model_free(m);
    }
    {  // min_samples_leaf larger than n: a single leaf (scikit-learn's rule n < 2 msl)
        mfs_decision_tree_params p = params();
        p.min_samples_leaf = 5000;
        mfs_model *m = fit(p, D);
        EXPECT_EQ(get<int32_t>(m, "children_left").size(), 1u);
        auto v = get<double>(m, "value");
        double s = v[0] + v[1] + v[2];
        EXPECT_NEAR(s, 1.0, 1e-12);  // class fractions of the whole set (rounding of 3 divisions)
        mfs_model_free(m);
    }
}

TEST(DecisionTree, ConstantFeaturesAndOneClass) {
    Data D = make(200, 3, 2, 5);
    for (int64_t i = 0; i < D.n; i++) D.X[i * 3 + 1] = 7.f;  // one constant feature
    mfs_model *m = fit(params(), D);
    for (int32_t f : get<int32_t>(m, "feature")) EXPECT_NE(f, 1);
    EXPECT_EQ(get<double>(m, "feature_importances")[1], 0.0);
    mfs_model_free(m);
    for (int64_t i = 0; i < D.n; i++) D.y[i] = 1;  // one class only: a single leaf
    mfs_decision_tree_params p = params();
    p.n_classes = 2;
    m = fit(p, D);
    EXPECT_EQ(get<int32_t>(m, "children_left").size(), 1u);
    for (int32_t l : labels(m, D)) EXPECT_EQ(l, 1);
    mfs_model_free(m);
    for (auto &x : D.X) x = 3.f;  // every feature constant: a single leaf
    D.y[0] = 0;
    m = fit(params(), D);
    EXPECT_EQ(get<int32_t>(m, "children_left").size(), 1u);
    mfs_model_free(m);
}

// Integer weights == repeated rows; zero weights == rows left out.
TEST(DecisionTree, WeightsAreRepeatsAndZeroWeightsDrop) {
    for (int crit : {MFS_TREE_CRITERION_GINI, MFS_TREE_CRITERION_SQUARED_ERROR}) {
        Data D = make(300, 4, 3, 6);
        std::vector<double> w(D.n);
        Data R{0, D.d, {}, {}, {}}, Z{0, D.d, {}, {}, {}};
        for (int64_t i = 0; i < D.n; i++) {
            w[i] = (double)(i % 3);
            for (int r = 0; r < (int)w[i]; r++) {
                R.X.insert(R.X.end(), D.X.begin() + i * D.d, D.X.begin() + (i + 1) * D.d);
                R.y.push_back(D.y[i]);
                R.t.push_back(D.t[i]);
                R.n++;
            }
        }
        mfs_model *a = fit(params(crit), D, &w);
        mfs_model *b = fit(params(crit), R);
        EXPECT_EQ(get<int32_t>(a, "feature"), get<int32_t>(b, "feature"));
        EXPECT_EQ(get<double>(a, "threshold"), get<double>(b, "threshold"));
        EXPECT_EQ(get<double>(a, "weighted_n_node_samples"), get<double>(b, "weighted_n_node_samples"));
        auto va = get<double>(a, "value"), vb = get<double>(b, "value");
        ASSERT_EQ(va.size(), vb.size());
        // class fractions of integer counts agree exactly; target means to 1e-12
        // relative (the sums are accumulated in a different order)
        for (size_t q = 0; q < va.size(); q++) EXPECT_NEAR(va[q], vb[q], 1e-12 * (1 + std::fabs(vb[q])));
        mfs_model_free(a);
        mfs_model_free(b);
    }
    // zero weight: the rows count nowhere
    Data D = make(200, 3, 2, 7);
    std::vector<double> w(D.n, 1.0);
    Data K{0, D.d, {}, {}, {}};
    for (int64_t i = 0; i < D.n; i++) {
        if (i % 4 == 0) { w[i] = 0; continue; }
        K.X.insert(K.X.end(), D.X.begin() + i * D.d, D.X.begin() + (i + 1) * D.d);
        K.y.push_back(D.y[i]);
        K.n++;
    }
    mfs_model *a = fit(params(), D, &w), *b = fit(params(), K);
    EXPECT_EQ(get<int32_t>(a, "feature"), get<int32_t>(b, "feature"));
    EXPECT_EQ(get<int64_t>(a, "n_node_samples"), get<int64_t>(b, "n_node_samples"));
    EXPECT_EQ(get<double>(a, "value"), get<double>(b, "value"));
    mfs_model_free(a);
    mfs_model_free(b);
}

TEST(DecisionTree, RegressionLeavesAreMeans) {
    Data D = make(500, 3, 2, 8);
    mfs_decision_tree_params p = params(MFS_TREE_CRITERION_SQUARED_ERROR);
    p.min_samples_leaf = 10;
    mfs_model *m = fit(p, D);
    auto leaf = leaves(m, D);
    auto pred = targets(m, D);
    auto val = get<double>(m, "value");
    auto cl = get<int32_t>(m, "children_left");
    std::vector<double> sum(cl.size(), 0), cnt(cl.size(), 0);
    for (int64_t i = 0; i < D.n; i++) {
        ASSERT_EQ(cl[leaf[i]], -1);
        sum[leaf[i]] += D.t[i];
        cnt[leaf[i]] += 1;
        EXPECT_EQ(pred[i], (float)val[leaf[i]]);
    }
    for (size_t q = 0; q < cl.size(); q++)
        if (cl[q] == -1) EXPECT_NEAR(val[q], sum[q] / cnt[q], 1e-12 * (1 + std::fabs(val[q])));  // summation order
    // a multi-output tree: (n, 2) targets in, (m, 2) out
    std::vector<float> t2(D.n * 2);
    for (int64_t i = 0; i < D.n; i++) { t2[2 * i] = D.t[i]; t2[2 * i + 1] = -2 * D.t[i]; }
    mfs_model *m2 = nullptr;
    ASSERT_EQ(mfs_decision_tree_create(&p, MFS_DEVICE_CPU, &m2), MFS_OK);
    mfs_array X = xview(D), Y = {t2.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 2}};
    ASSERT_EQ(mfs_fit(m2, &X, &Y), MFS_OK) << mfs_last_error();
    std::vector<float> o(D.n * 2);
    mfs_array O = {o.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 2}};
    ASSERT_EQ(mfs_predict(m2, &X, &O), MFS_OK) << mfs_last_error();
    // the second output is -2x the first: the splits are the same, so is the ratio
    for (int64_t i = 0; i < D.n; i++) EXPECT_NEAR(o[2 * i + 1], -2 * o[2 * i], 1e-5 * (1 + std::fabs(o[2 * i])));
    mfs_model_free(m);
    mfs_model_free(m2);
}

TEST(DecisionTree, MaxFeaturesDrawsDependOnlyOnTheSeed) {
    Data D = make(3000, 12, 3, 9);
    mfs_decision_tree_params p = params();
    p.max_features_mode = MFS_TREE_MAX_FEATURES_SQRT;
    p.random_state = 5;
    mfs_model *a = fit(p, D), *b = fit(p, D);
    expect_same_tree(a, b);
    p.random_state = 6;
    mfs_model *c = fit(p, D);
    EXPECT_NE(get<int32_t>(a, "feature"), get<int32_t>(c, "feature"));
    for (auto *m : {a, c}) {  // still a valid tree: leaves reached and importances normalized
        auto imp = get<double>(m, "feature_importances");
        double s = 0;
        for (double v : imp) s += v;
        EXPECT_NEAR(s, 1.0, 1e-12);  // a sum of 12 normalized terms
    }
    mfs_model_free(a);
    mfs_model_free(b);
    mfs_model_free(c);
}

TEST(DecisionTree, BadInput) {
    mfs_decision_tree_params p = params();
    mfs_model *m = nullptr;
    p.max_depth = 0;
    EXPECT_EQ(mfs_decision_tree_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
    EXPECT_NE(std::string(mfs_last_error()).find("max_depth is 0"), std::string::npos) << mfs_last_error();
    p.max_depth = -3;
    EXPECT_EQ(mfs_decision_tree_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
    p = params();
    p.min_samples_split = 1.5;  // neither an integer >= 2 nor a fraction in (0, 1]
    EXPECT_EQ(mfs_decision_tree_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
    p = params();
    p.min_samples_leaf = 2.5;
    EXPECT_EQ(mfs_decision_tree_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
    p = params();
    p.max_features_mode = MFS_TREE_MAX_FEATURES_FRACTION;
    p.max_features = 1.5;
    EXPECT_EQ(mfs_decision_tree_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
    p = params();
    p.max_leaf_nodes = 1;
    EXPECT_EQ(mfs_decision_tree_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
    p = params();
    p.criterion = 7;
    EXPECT_EQ(mfs_decision_tree_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
    EXPECT_EQ(m, nullptr);

    Data D = make(50, 3, 2, 10);
    ASSERT_EQ(mfs_decision_tree_create(&(p = params()), MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array X = xview(D), y = yview(D, false), t = yview(D, true);
    EXPECT_EQ(mfs_fit(m, &X, &t), MFS_E_UNSUPPORTED);  // float targets for gini
    D.X[7] = NAN;
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_VALUE);
    D.X[7] = 0;
    std::vector<double> w(D.n, 1.0);
    w[3] = -1;
    mfs_array wa = {w.data(), MFS_DTYPE_FLOAT64, 1, {D.n}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wa), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("sample_weight[3]"), std::string::npos) << mfs_last_error();
    std::fill(w.begin(), w.end(), 0.0);
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wa), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_VALUE);  // all weights zero
    mfs_array wshort = {w.data(), MFS_DTYPE_FLOAT64, 1, {D.n - 1}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wshort), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_SHAPE);
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", nullptr), MFS_OK);
    D.y[4] = -1;
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_VALUE);
    D.y[4] = 0;
    int64_t lv[50];
    mfs_array L = {lv, MFS_DTYPE_INT64, 1, {50}};
    EXPECT_EQ(mfs_decision_tree_apply(m, &X, &L), MFS_E_NOT_FITTED);
    ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    mfs_array X2 = {D.X.data(), MFS_DTYPE_FLOAT32, 2, {25, 6}};
    EXPECT_EQ(mfs_decision_tree_apply(m, &X2, &L), MFS_E_SHAPE);
    mfs_array L32 = {lv, MFS_DTYPE_INT32, 1, {50}};
    EXPECT_EQ(mfs_decision_tree_apply(m, &X, &L32), MFS_E_UNSUPPORTED);
    std::vector<float> proba(100);
    mfs_array P = {proba.data(), MFS_DTYPE_FLOAT32, 2, {50, 2}};
    EXPECT_EQ(mfs_predict_proba(m, &X, &P), MFS_OK);
    mfs_model_free(m);
    // max_features larger than d: at fit
    p = params();
    p.max_features_mode = MFS_TREE_MAX_FEATURES_COUNT;
    p.max_features = 4;
    ASSERT_EQ(mfs_decision_tree_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_INVALID_ARG);
    EXPECT_NE(std::string(mfs_last_error()).find("max_features is 4"), std::string::npos) << mfs_last_error();
    mfs_model_free(m);
    // a regressor has no predict_proba
    ASSERT_EQ(mfs_decision_tree_create(&(p = params(MFS_TREE_CRITERION_SQUARED_ERROR)), MFS_DEVICE_CPU, &m), MFS_OK);
    ASSERT_EQ(mfs_fit(m, &X, &t), MFS_OK);
    EXPECT_EQ(mfs_predict_proba(m, &X, &P), MFS_E_UNSUPPORTED);
    mfs_model_free(m);
    // a model of another kind
    EXPECT_EQ(mfs_decision_tree_apply(nullptr, &X, &L), MFS_E_INVALID_ARG);
}

TEST(DecisionTreeModelFile, RoundTripAndTruncation) {
    Data D = make(400, 4, 3, 11);
    mfs_model *m = fit(params(MFS_TREE_CRITERION_ENTROPY), D);
    auto buf = save(m);
    mfs_model *l = nullptr;
    ASSERT_EQ(mfs_model_load_buffer(buf.data(), buf.size(), MFS_DEVICE_CPU, &l), MFS_OK) << mfs_last_error();
    expect_same_tree(m, l);
    EXPECT_EQ(labels(m, D), labels(l, D));
    EXPECT_EQ(leaves(m, D), leaves(l, D));
    mfs_model_free(l);
    for (size_t cut : {(size_t)0, (size_t)10, buf.size() / 2, buf.size() - 1}) {
        mfs_model *t = nullptr;
        EXPECT_EQ(mfs_model_load_buffer(buf.data(), cut, MFS_DEVICE_CPU, &t), MFS_E_FORMAT) << cut;
    }
    mfs_model_free(m);
}

// Every byte set to hostile values with a valid checksum: load refuses it
// (MFS_E_FORMAT) or the model still predicts without crashing.
TEST(DecisionTreeModelFile, HostileFieldsWithValidChecksum) {
    Data D = make(40, 2, 2, 12);
    mfs_decision_tree_params p = params();
    p.max_depth = 3;
    mfs_model *m = fit(p, D);
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
                int32_t lab[40];
                int64_t lv[40];
                float pr[80];
                mfs_array Xa = xview(D), La = {lab, MFS_DTYPE_INT32, 1, {40}}, Lv = {lv, MFS_DTYPE_INT64, 1, {40}};
                mfs_array Pa = {pr, MFS_DTYPE_FLOAT32, 2, {40, 2}};
                mfs_status ps = mfs_predict(out, &Xa, &La);
                EXPECT_TRUE(ps == MFS_OK || ps == MFS_E_SHAPE || ps == MFS_E_UNSUPPORTED || ps == MFS_E_NOT_FITTED)
                    << i << " " << mfs_last_error();
                ps = mfs_predict_proba(out, &Xa, &Pa);
                EXPECT_TRUE(ps == MFS_OK || ps == MFS_E_SHAPE || ps == MFS_E_UNSUPPORTED || ps == MFS_E_NOT_FITTED) << i;
                ps = mfs_decision_tree_apply(out, &Xa, &Lv);
                EXPECT_TRUE(ps == MFS_OK || ps == MFS_E_SHAPE || ps == MFS_E_NOT_FITTED) << i;
                mfs_model_free(out);
            } else {
                ASSERT_EQ(s, MFS_E_FORMAT) << "offset " << i << ": " << mfs_last_error();
            }
        }
    mfs_model_free(m);
}

// The builder's memory is counted: the model's peak covers at least the
// sample index arrays and the bin codes of a hist fit.
TEST(DecisionTree, MemoryIsCounted) {
    Data D = make(20000, 10, 2, 13);
    mfs_model *m = nullptr;
    mfs_decision_tree_params p = params(MFS_TREE_CRITERION_GINI, MFS_TREE_SPLIT_HIST);
    ASSERT_EQ(mfs_decision_tree_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array X = xview(D), y = yview(D, false);
    ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    mfs_memory_stats st;
    ASSERT_EQ(mfs_memory_stats_get(m, &st), MFS_OK);
    EXPECT_GE(st.host_peak, D.n * D.d + 2 * D.n * 4);  // codes (n d bytes) + samples, tmp (2 n int32)
    EXPECT_LT(st.host_current, st.host_peak);           // the scratch was freed
    mfs_model_free(m);
}

// ---- minimal cost-complexity pruning: the optional input "ccp_alpha" ----------------

namespace {
mfs_model *fit_ccp(const mfs_decision_tree_params &p, const Data &D, double alpha) {
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_decision_tree_create(&p, MFS_DEVICE_CPU, &m), MFS_OK) << mfs_last_error();
    mfs_array a = {&alpha, MFS_DTYPE_FLOAT64, 0, {0}};
    EXPECT_EQ(mfs_model_set_array(m, "ccp_alpha", &a), MFS_OK) << mfs_last_error();
    mfs_array X = xview(D), y = yview(D, p.criterion == MFS_TREE_CRITERION_SQUARED_ERROR);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    return m;
}
}  // namespace

TEST(DecisionTreePruning, HandCheckedWeakestLink) {
    // x 0..3, labels 0 0 0 1: the root (gini 1 - (9 + 1) / 16 = 0.375) splits at
    // 2.5 into two pure leaves, so its alpha is (0.375 * 4/4 - 0) / (2 - 1) = 0.375:
    // pruned at ccp_alpha >= 0.375 (scikit-learn prunes while alpha <= ccp_alpha)
    Data D{4, 1, {0.f, 1.f, 2.f, 3.f}, {0, 0, 0, 1}, {}};
    mfs_model *kept = fit_ccp(params(), D, 0.3749999);
    EXPECT_EQ(get<int32_t>(kept, "children_left"), (std::vector<int32_t>{1, -1, -1}));
    mfs_model *cut = fit_ccp(params(), D, 0.375);
    EXPECT_EQ(get<int32_t>(cut, "children_left"), (std::vector<int32_t>{-1}));
    EXPECT_EQ(get<int32_t>(cut, "feature"), (std::vector<int32_t>{-2}));
    EXPECT_EQ(get<double>(cut, "threshold"), (std::vector<double>{-2.0}));
    EXPECT_EQ(get<double>(cut, "value"), (std::vector<double>{0.75, 0.25}));
    EXPECT_EQ(get<int64_t>(cut, "info"), (std::vector<int64_t>{0, 1, 2, 1, 1}));  // depth 0, 1 leaf
    EXPECT_EQ(get<double>(cut, "feature_importances"), (std::vector<double>{0.0}));
    EXPECT_EQ(labels(cut, D), (std::vector<int32_t>{0, 0, 0, 0}));
    mfs_model_free(kept);
    mfs_model_free(cut);
}

TEST(DecisionTreePruning, SubtreesShrinkWithAlphaAndStayValid) {
    for (int crit : {MFS_TREE_CRITERION_GINI, MFS_TREE_CRITERION_SQUARED_ERROR}) {
        Data D = make(500, 4, 3, 77);
        mfs_decision_tree_params p = params(crit);
        for (int64_t mln : {(int64_t)-1, (int64_t)40}) {  // depth-first and best-first growth
            p.max_leaf_nodes = mln;
            int64_t prev = INT64_MAX;
            for (double a : {0.0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e3}) {
                mfs_model *m = fit_ccp(p, D, a);
                auto L = get<int32_t>(m, "children_left"), R = get<int32_t>(m, "children_right");
                const int64_t N = (int64_t)L.size();
                EXPECT_LE(N, prev) << a;
                prev = N;
                int64_t leaves = 0;
                for (int64_t q = 0; q < N; q++) {
                    if (L[q] == -1) {
                        EXPECT_EQ(R[q], -1);
                        leaves++;
                        continue;
                    }
                    // pruned (alpha > 0) trees are laid out in preorder, best-first ones too
                    if (a > 0) EXPECT_EQ(L[q], q + 1) << "preorder: the left child right after its parent";
                    EXPECT_GT(R[q], L[q]);
                    EXPECT_LT(R[q], N);
                }
                auto info = get<int64_t>(m, "info");
                EXPECT_EQ(info[1], leaves);
                EXPECT_EQ(2 * leaves - 1, N);
                if (a >= 1e3) EXPECT_EQ(N, 1);
                // predict runs on the pruned arrays
                if (crit == MFS_TREE_CRITERION_GINI) labels(m, D);
                else targets(m, D);
                mfs_model_free(m);
            }
        }
    }
}

TEST(DecisionTreePruning, BadAlphaIsAClearError) {
    Data D = make(50, 2, 2, 78);
    mfs_decision_tree_params p = params();
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_decision_tree_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array X = xview(D), y = yview(D, false);
    double neg = -0.5, nan_ = NAN;
    mfs_array a = {&neg, MFS_DTYPE_FLOAT64, 0, {0}};
    ASSERT_EQ(mfs_model_set_array(m, "ccp_alpha", &a), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("ccp_alpha is -0.5"), std::string::npos) << mfs_last_error();
    a.data = &nan_;
    ASSERT_EQ(mfs_model_set_array(m, "ccp_alpha", &a), MFS_OK);  // float64 NaN reaches the fit
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_VALUE);
    double two[2] = {0.1, 0.2};
    mfs_array b = {two, MFS_DTYPE_FLOAT64, 1, {2}};
    ASSERT_EQ(mfs_model_set_array(m, "ccp_alpha", &b), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_SHAPE);
    int32_t i = 1;
    mfs_array c = {&i, MFS_DTYPE_INT32, 0, {0}};
    ASSERT_EQ(mfs_model_set_array(m, "ccp_alpha", &c), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_SHAPE);
    float f = 0.0f;  // float32 is accepted; 0 prunes nothing
    mfs_array e = {&f, MFS_DTYPE_FLOAT32, 1, {1}};
    ASSERT_EQ(mfs_model_set_array(m, "ccp_alpha", &e), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    mfs_model_free(m);
}
