// Kernel SVM (SVC, SVR): the dual's optimality conditions checked from the
// fitted arrays, decision values against a naive double evaluation of those
// arrays, invariance to the cache size and the thread count, shrinking,
// probabilities, bad input, and the model file (round trip, truncation,
// hostile fields with a valid checksum).
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
    std::vector<int32_t> y;  // SVC labels
    std::vector<float> t;    // SVR targets
};

// K overlapping Gaussian blobs in d dimensions (so some multipliers sit at C),
// and a smooth regression target of the same X.
Data blobs(int64_t n, int64_t d, int64_t K, float spread, unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<float> N(0, 1);
    std::vector<float> centers(K * d);
    for (auto &c : centers) c = spread * N(g);
    Data D{n, d, K, std::vector<float>(n * d), std::vector<int32_t>(n), std::vector<float>(n)};
    for (int64_t i = 0; i < n; i++) {
        int32_t k = (int32_t)(i % K);  // every class present
        D.y[i] = k;
        double s = 0;
        for (int64_t j = 0; j < d; j++) {
            D.X[i * d + j] = centers[k * d + j] + N(g);
            s += std::sin(D.X[i * d + j]) * (j + 1);
        }
        D.t[i] = (float)(s + 0.1 * N(g));
    }
    return D;
}

mfs_svm_params params(int variant = 0, int kernel = MFS_SVM_KERNEL_RBF) {
    mfs_svm_params p;
    mfs_svm_params_default(&p);
    p.variant = variant;
    p.kernel = kernel;
    return p;
}

mfs_array xview(const Data &D) { return mfs_array{(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}}; }
mfs_array yview(const Data &D, bool svr) {
    return svr ? mfs_array{(void *)D.t.data(), MFS_DTYPE_FLOAT32, 1, {D.n}}
               : mfs_array{(void *)D.y.data(), MFS_DTYPE_INT32, 1, {D.n}};
}

mfs_model *fit(const Data &D, const mfs_svm_params &p) {
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_svm_create(&p, MFS_DEVICE_CPU, &m), MFS_OK) << mfs_last_error();
    mfs_array X = xview(D), y = yview(D, p.variant == 1);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    return m;
}

// Output of a method with the shape the library reports.
template <typename T> std::vector<T> run(const mfs_model *m, mfs_method method, const Data &D, int64_t *cols = nullptr) {
    mfs_array X = xview(D);
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[4];
    EXPECT_EQ(mfs_output_shape(m, method, &X, &dt, &nd, shape), MFS_OK) << mfs_last_error();
    int64_t numel = nd == 2 ? shape[0] * shape[1] : shape[0];
    if (cols) *cols = nd == 2 ? shape[1] : 1;
    std::vector<T> v(numel);
    mfs_array out = {v.data(), dt, nd, {shape[0], nd == 2 ? shape[1] : 0}};
    mfs_status s = MFS_OK;
    if (method == MFS_METHOD_PREDICT) s = mfs_predict(m, &X, &out);
    if (method == MFS_METHOD_DECISION_FUNCTION) s = mfs_decision_function(m, &X, &out);
    if (method == MFS_METHOD_PREDICT_PROBA) s = mfs_predict_proba(m, &X, &out);
    EXPECT_EQ(s, MFS_OK) << mfs_last_error();
    return v;
}

double kernel(const mfs_svm_params &p, double gamma, const float *a, const float *b, int64_t d) {
    double dot = 0, sq = 0;
    for (int64_t j = 0; j < d; j++) {
        dot += (double)a[j] * b[j];
        sq += ((double)a[j] - b[j]) * ((double)a[j] - b[j]);
    }
    switch (p.kernel) {
    case MFS_SVM_KERNEL_LINEAR: return dot;
    case MFS_SVM_KERNEL_POLY: return std::pow(gamma * dot + p.coef0, p.degree);
    case MFS_SVM_KERNEL_RBF: return std::exp(-gamma * sq);
    default: return std::tanh(gamma * dot + p.coef0);
    }
}

// libsvm's pairwise decision values (n, P) of the rows of D, from the fitted
// arrays, by the textbook formula in double: the independent witness.
std::vector<double> naive_pairs(const mfs_model *m, const mfs_svm_params &p, const Data &D) {
    auto sv = get<float>(m, "support_vectors");
    auto coef = get<double>(m, "dual_coef");
    auto b = get<double>(m, "intercept");
    auto ns = get<int32_t>(m, "n_support");
    double gamma = get<double>(m, "gamma")[0];
    const int64_t nsv = (int64_t)sv.size() / D.d, P = (int64_t)b.size();
    std::vector<double> out(D.n * P);
    for (int64_t r = 0; r < D.n; r++) {
        std::vector<double> kv(nsv);
        for (int64_t s = 0; s < nsv; s++) kv[s] = kernel(p, gamma, &D.X[r * D.d], &sv[s * D.d], D.d);
        if (p.variant == 1) {
            double v = b[0];
            for (int64_t s = 0; s < nsv; s++) v += coef[s] * kv[s];
            out[r] = v;
            continue;
        }
        const int64_t K = (int64_t)ns.size();
        std::vector<int64_t> start(K, 0);
        for (int64_t k = 1; k < K; k++) start[k] = start[k - 1] + ns[k - 1];
        int64_t q = 0;
        for (int64_t i = 0; i < K; i++)
            for (int64_t j = i + 1; j < K; j++, q++) {
                double v = b[q];
                for (int64_t s = start[i]; s < start[i] + ns[i]; s++) v += coef[(j - 1) * nsv + s] * kv[s];
                for (int64_t s = start[j]; s < start[j] + ns[j]; s++) v += coef[i * nsv + s] * kv[s];
                out[r * P + q] = v;
            }
    }
    return out;
}
}  // namespace

TEST(Svm, BinaryDualIsOptimal) {
    Data D = blobs(300, 5, 2, 1.0f, 1);
    mfs_svm_params p = params();
    p.C = 2.0;
    mfs_model *m = fit(D, p);
    auto coef = get<double>(m, "dual_coef");
    auto sup = get<int32_t>(m, "support");
    auto f = naive_pairs(m, p, D);
    // equality constraint sum_i alpha_i y_i = 0, box 0 < |alpha_i| <= C
    double sum = 0;
    for (double c : coef) {
        sum += c;
        EXPECT_GT(std::fabs(c), 0.0);
        EXPECT_LE(std::fabs(c), p.C * (1 + 1e-12));
    }
    // the pair's updates keep the sum at 0 up to double rounding of ~100 terms
    EXPECT_NEAR(sum, 0.0, 1e-9);
    // KKT with libsvm's stopping rule: the gradient spread is below tol (1e-3),
    // so margins y f(x) sit at 1 for free SVs, >= 1 off the support and <= 1 at
    // the bound, each within tol plus the float32 rounding of the cached Q
    // (relative 6e-8 of |alpha| sums ~ 1e-4 here): 2e-3 in all.
    std::vector<double> alpha(D.n, 0.0);
    for (size_t s = 0; s < sup.size(); s++) alpha[sup[s]] = coef[s];
    int64_t free_sv = 0;
    for (int64_t i = 0; i < D.n; i++) {
        const double y = D.y[i] == 0 ? 1.0 : -1.0, margin = y * f[i], a = std::fabs(alpha[i]);
        if (a == 0) EXPECT_GE(margin, 1 - 2e-3) << i;
        else if (a >= p.C) EXPECT_LE(margin, 1 + 2e-3) << i;
        else {
            EXPECT_NEAR(margin, 1.0, 2e-3) << i;
            free_sv++;
        }
    }
    EXPECT_GT(free_sv, 0);
    mfs_model_free(m);
}

TEST(Svm, DecisionValuesMatchNaiveEvaluationForEveryKernel) {
    Data D = blobs(240, 4, 3, 2.0f, 2);
    for (int kernel : {0, 1, 2, 3}) {
        for (int shape : {MFS_SVM_SHAPE_OVO, MFS_SVM_SHAPE_OVR}) {
            mfs_svm_params p = params(0, kernel);
            p.decision_function_shape = shape;
            p.coef0 = kernel == 3 ? -1.0 : 1.0;
            p.gamma = kernel == 3 ? 0.05 : MFS_SVM_GAMMA_SCALE;
            mfs_model *m = fit(D, p);
            int64_t cols = 0;
            auto dec = run<float>(m, MFS_METHOD_DECISION_FUNCTION, D, &cols);
            auto pred = run<int32_t>(m, MFS_METHOD_PREDICT, D);
            auto ref = naive_pairs(m, p, D);
            ASSERT_EQ(cols, 3);
            for (int64_t r = 0; r < D.n; r++) {
                double ovr[3] = {0, 0, 0}, conf[3] = {0, 0, 0};
                int votes[3] = {0, 0, 0};
                const int pi[3] = {0, 0, 1}, pj[3] = {1, 2, 2};
                for (int q = 0; q < 3; q++) {
                    const double v = ref[r * 3 + q];
                    conf[pi[q]] += v;
                    conf[pj[q]] -= v;
                    (v < 0 ? ovr[pj[q]] : ovr[pi[q]]) += 1;
                    votes[v > 0 ? pi[q] : pj[q]]++;
                }
                for (int k = 0; k < 3; k++) ovr[k] += conf[k] / (3 * (std::fabs(conf[k]) + 1));
                for (int q = 0; q < 3; q++) {
                    const double want = shape == MFS_SVM_SHAPE_OVO ? ref[r * 3 + q] : ovr[q];
                    // float32 output (6e-8 relative) of double sums; the naive
                    // kernel's rounding differs by ~1e-15
                    EXPECT_NEAR(dec[r * 3 + q], want, 1e-6 * (1 + std::fabs(want))) << kernel << " " << r;
                }
                int best = 0;
                for (int k = 1; k < 3; k++)
                    if (votes[k] > votes[best]) best = k;
                EXPECT_EQ(pred[r], best) << kernel << " " << r;
            }
            mfs_model_free(m);
        }
    }
}

TEST(Svm, CacheSizeAndThreadsDoNotChangeTheResult) {
    // 1e-3 MB holds two rows at most: every other row is recomputed, and the
    // shrinking swaps run on a cache that keeps evicting; the solution must
    // be the same bits as with a cache that holds the whole matrix
    Data D = blobs(500, 6, 3, 1.0f, 3);
    mfs_svm_params big = params(), tiny = params();
    tiny.cache_size = 1e-3;
    ASSERT_EQ(mfs_set_num_threads(1), MFS_OK);
    mfs_model *a = fit(D, big), *b = fit(D, tiny);
    ASSERT_EQ(mfs_set_num_threads(2), MFS_OK);
    mfs_model *c = fit(D, big);
    for (const char *name : {"dual_coef", "intercept"}) {
        EXPECT_EQ(get<double>(a, name), get<double>(b, name)) << name;
        EXPECT_EQ(get<double>(a, name), get<double>(c, name)) << name;
    }
    EXPECT_EQ(get<int32_t>(a, "support"), get<int32_t>(b, "support"));
    EXPECT_EQ(get<int32_t>(a, "n_iter"), get<int32_t>(c, "n_iter"));
    mfs_model_free(a);
    mfs_model_free(b);
    mfs_model_free(c);
}

TEST(Svm, ParallelKernelRowsEqualSerialOnes) {
    // rows of 2700 x 400 = 1.08M products cross the 2^20 threshold where a
    // kernel row is split over threads: the fit must be the same bits
    Data D = blobs(2700, 400, 2, 0.15f, 10);
    mfs_svm_params p = params();
    p.max_iter = 300;  // enough iterations to compute many rows, few enough to stay quick
    ASSERT_EQ(mfs_set_num_threads(1), MFS_OK);
    mfs_model *a = fit(D, p);
    ASSERT_EQ(mfs_set_num_threads(3), MFS_OK);
    mfs_model *b = fit(D, p);
    ASSERT_EQ(mfs_set_num_threads(1), MFS_OK);
    EXPECT_EQ(get<double>(a, "dual_coef"), get<double>(b, "dual_coef"));
    EXPECT_EQ(get<double>(a, "intercept"), get<double>(b, "intercept"));
    EXPECT_EQ(get<int32_t>(a, "support"), get<int32_t>(b, "support"));
    mfs_model_free(a);
    mfs_model_free(b);
}

TEST(Svm, ShrinkingKeepsTheSolution) {
    Data D = blobs(400, 5, 2, 1.0f, 4);
    mfs_svm_params on = params(), off = params();
    off.shrinking = 0;
    mfs_model *a = fit(D, on), *b = fit(D, off);
    auto fa = run<float>(a, MFS_METHOD_DECISION_FUNCTION, D), fb = run<float>(b, MFS_METHOD_DECISION_FUNCTION, D);
    // both stop within tol = 1e-3 of the same optimum: decision values agree
    // to a few tol (the dual objective is flat along near-degenerate directions)
    for (int64_t r = 0; r < D.n; r++) EXPECT_NEAR(fa[r], fb[r], 1e-2) << r;
    auto pa = run<int32_t>(a, MFS_METHOD_PREDICT, D), pb = run<int32_t>(b, MFS_METHOD_PREDICT, D);
    int64_t same = 0;
    for (int64_t r = 0; r < D.n; r++) same += pa[r] == pb[r];
    EXPECT_GE(same, D.n - 2);
    mfs_model_free(a);
    mfs_model_free(b);
}

TEST(Svm, RegressionStaysInTheTube) {
    Data D = blobs(300, 3, 1, 0.0f, 5);
    mfs_svm_params p = params(1);
    p.C = 10.0;
    p.epsilon = 0.5;
    mfs_model *m = fit(D, p);
    auto coef = get<double>(m, "dual_coef");
    auto sup = get<int32_t>(m, "support");
    auto pred = run<float>(m, MFS_METHOD_PREDICT, D);
    auto ref = naive_pairs(m, p, D);
    double sum = 0;
    for (double c : coef) sum += c;
    EXPECT_NEAR(sum, 0.0, 1e-8);  // sum alpha - alpha* = 0
    std::vector<double> a(D.n, 0.0);
    for (size_t s = 0; s < sup.size(); s++) a[sup[s]] = coef[s];
    for (int64_t i = 0; i < D.n; i++) {
        EXPECT_NEAR(pred[i], ref[i], 1e-5 * (1 + std::fabs(ref[i])));  // float32 output
        const double r = D.t[i] - ref[i];
        // off the support the residual is inside the tube, at the bound
        // outside it; free SVs on its edge; all within tol (1e-3) + rounding
        if (a[i] == 0) EXPECT_LE(std::fabs(r), p.epsilon + 2e-3) << i;
        else if (std::fabs(a[i]) >= p.C) EXPECT_GE(std::fabs(r), p.epsilon - 2e-3) << i;
        else EXPECT_NEAR(std::fabs(r), p.epsilon, 2e-3) << i;
    }
    mfs_model_free(m);
}

TEST(Svm, ClassWeightScalesTheBox) {
    Data D = blobs(200, 3, 2, 0.5f, 6);
    mfs_svm_params p = params();
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_svm_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    double w[2] = {0.25, 3.0};
    mfs_array W = {w, MFS_DTYPE_FLOAT64, 1, {2}};
    ASSERT_EQ(mfs_model_set_array(m, "class_weight", &W), MFS_OK);
    mfs_array X = xview(D), y = yview(D, false);
    ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    auto coef = get<double>(m, "dual_coef");
    auto ns = get<int32_t>(m, "n_support");
    double max0 = 0, max1 = 0;
    for (int64_t s = 0; s < ns[0]; s++) max0 = std::max(max0, std::fabs(coef[s]));
    for (int64_t s = ns[0]; s < ns[0] + ns[1]; s++) max1 = std::max(max1, std::fabs(coef[s]));
    // overlapping blobs: class 0's multipliers reach their bound C w_0 exactly;
    // class 1's stay within C w_1 and go beyond class 0's bound, which only
    // its larger box allows
    EXPECT_DOUBLE_EQ(max0, 0.25);
    EXPECT_LE(max1, 3.0);
    EXPECT_GT(max1, 0.25);
    mfs_model_free(m);
}

namespace {
// A fit with the "sample_weight" input (float64, as the Python package sends it).
mfs_model *fit_weighted(const Data &D, const mfs_svm_params &p, const std::vector<double> &w) {
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_svm_create(&p, MFS_DEVICE_CPU, &m), MFS_OK) << mfs_last_error();
    mfs_array W = {(void *)w.data(), MFS_DTYPE_FLOAT64, 1, {(int64_t)w.size()}};
    EXPECT_EQ(mfs_model_set_array(m, "sample_weight", &W), MFS_OK) << mfs_last_error();
    mfs_array X = xview(D), y = yview(D, p.variant == 1);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    return m;
}

// The rows of D with the given multiplicities (0 drops a row).
Data repeat(const Data &D, const std::vector<int> &k) {
    Data R{0, D.d, D.K, {}, {}, {}};
    for (int64_t i = 0; i < D.n; i++)
        for (int c = 0; c < k[i]; c++) {
            R.X.insert(R.X.end(), D.X.begin() + i * D.d, D.X.begin() + (i + 1) * D.d);
            R.y.push_back(D.y[i]);
            R.t.push_back(D.t[i]);
            R.n++;
        }
    return R;
}
}  // namespace

TEST(Svm, SampleWeightTwoEqualsDuplicatedRows) {
    // a row of weight 2 is two copies sharing a box of 2C: the same optimum,
    // so the same decision function once both solves are tight (tol 1e-7);
    // they agree to 1e-4 then (float32 Q, stopping within tol)
    Data D = blobs(160, 3, 2, 0.8f, 12);
    std::vector<int> k(D.n);
    std::vector<double> w(D.n);
    for (int64_t i = 0; i < D.n; i++) k[i] = 1 + (int)(i % 3 == 0), w[i] = k[i];
    Data R = repeat(D, k);
    for (int variant : {0, 1}) {
        mfs_svm_params p = params(variant);
        p.gamma = 0.5;  // "scale" would see another X.var() in the repeated rows
        p.tol = 1e-7;
        mfs_model *a = fit_weighted(D, p, w), *b = fit(R, p);
        auto fa = run<float>(a, variant ? MFS_METHOD_PREDICT : MFS_METHOD_DECISION_FUNCTION, D);
        auto fb = run<float>(b, variant ? MFS_METHOD_PREDICT : MFS_METHOD_DECISION_FUNCTION, D);
        for (int64_t r = 0; r < D.n; r++) EXPECT_NEAR(fa[r], fb[r], 1e-4) << variant << " " << r;
        // the box of row i is C w_i: overlapping blobs put multipliers of
        // both weights at their bounds, exactly C w_i (libsvm's clipping)
        auto coef = get<double>(a, "dual_coef");
        auto sup = get<int32_t>(a, "support");
        int at_c = 0, at_2c = 0;
        for (size_t s = 0; s < sup.size(); s++) {
            EXPECT_LE(std::fabs(coef[s]), p.C * w[sup[s]]) << s;
            at_c += w[sup[s]] == 1 && std::fabs(coef[s]) == p.C;
            at_2c += w[sup[s]] == 2 && std::fabs(coef[s]) == 2 * p.C;
        }
        EXPECT_GT(at_c, 0) << variant;
        EXPECT_GT(at_2c, 0) << variant;
        mfs_model_free(a);
        mfs_model_free(b);
    }
}

TEST(Svm, ZeroSampleWeightLeavesRowsOut) {
    // rows of weight 0 are removed before the solve (libsvm's
    // remove_zero_weight): the fit is the subset's, bit for bit, and support
    // indexes the caller's rows
    Data D = blobs(150, 4, 3, 1.0f, 13);
    std::vector<int> k(D.n, 1);
    std::vector<double> w(D.n), wk;
    for (int64_t i = 0; i < D.n; i++) {
        w[i] = i % 7 == 3 ? 0.0 : 0.5 + (double)(i % 5);
        if (w[i] == 0) {
            k[i] = 0;
            D.y[i] = (D.y[i] + 1) % 3;  // mislabelled: a support vector if it counted
        } else {
            wk.push_back(w[i]);
        }
    }
    Data S = repeat(D, k);
    for (int variant : {0, 1}) {
        mfs_svm_params p = params(variant);
        p.gamma = 0.3;  // "scale" is X.var() of every row, as scikit-learn
        p.probability = variant == 0;
        mfs_model *a = fit_weighted(D, p, w), *b = fit_weighted(S, p, wk);
        auto sa = get<int32_t>(a, "support"), sb = get<int32_t>(b, "support");
        std::vector<int32_t> kept;
        for (int64_t i = 0; i < D.n; i++)
            if (w[i] > 0) kept.push_back((int32_t)i);
        ASSERT_EQ(sa.size(), sb.size());
        for (size_t s = 0; s < sa.size(); s++) {
            EXPECT_EQ(sa[s], kept[sb[s]]) << s;
            EXPECT_GT(w[sa[s]], 0.0) << s;
        }
        for (const char *name : {"dual_coef", "intercept"}) EXPECT_EQ(get<double>(a, name), get<double>(b, name)) << name;
        EXPECT_EQ(get<float>(a, "support_vectors"), get<float>(b, "support_vectors"));
        if (variant == 0) EXPECT_EQ(get<double>(a, "prob_a"), get<double>(b, "prob_a"));
        mfs_model_free(a);
        mfs_model_free(b);
    }
}

TEST(Svm, UnitSampleWeightsAreTheUnweightedFit) {
    Data D = blobs(200, 3, 3, 1.0f, 14);
    for (int variant : {0, 1}) {
        mfs_svm_params p = params(variant);
        mfs_model *a = fit(D, p), *b = fit_weighted(D, p, std::vector<double>(D.n, 1.0));
        for (const char *name : {"dual_coef", "intercept"}) EXPECT_EQ(get<double>(a, name), get<double>(b, name));
        EXPECT_EQ(get<int32_t>(a, "support"), get<int32_t>(b, "support"));
        EXPECT_EQ(get<int32_t>(a, "n_iter"), get<int32_t>(b, "n_iter"));
        mfs_model_free(a);
        mfs_model_free(b);
    }
}

TEST(Svm, BadSampleWeight) {
    Data D = blobs(40, 3, 2, 1.0f, 15);
    mfs_svm_params p = params();
    p.C = 10.0;
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_svm_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array X = xview(D), y = yview(D, false);
    struct Case {
        std::vector<double> w;
        mfs_status want;
        const char *what;
    };
    std::vector<double> neg(D.n, 1.0), nan(D.n, 1.0), big(D.n, 1.0), cls(D.n, 1.0);
    neg[5] = -0.5;
    nan[6] = NAN;
    big[7] = 1e308;  // times C = 10: infinite
    for (int64_t i = 0; i < D.n; i++)
        if (D.y[i] == 1) cls[i] = 0;
    const Case cases[] = {
        {neg, MFS_E_VALUE, "sample_weight[5] = -0.5"},
        {nan, MFS_E_VALUE, "sample_weight[6] = nan"},
        {big, MFS_E_VALUE, "sample_weight[7] = 1e+308 times C = 10 overflows"},
        {std::vector<double>(D.n - 1, 1.0), MFS_E_SHAPE, "sample_weight has 39 values, expected 40"},
        {std::vector<double>(D.n, 0.0), MFS_E_VALUE, "every sample_weight is 0"},
        {cls, MFS_E_VALUE, "class 1 has 20 samples, all of sample_weight 0"},
    };
    for (const Case &c : cases) {
        mfs_array W = {(void *)c.w.data(), MFS_DTYPE_FLOAT64, 1, {(int64_t)c.w.size()}};
        ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &W), MFS_OK);
        EXPECT_EQ(mfs_fit(m, &X, &y), c.want) << c.what;
        EXPECT_NE(std::string(mfs_last_error()).find(c.what), std::string::npos) << mfs_last_error();
    }
    // a 2-D array; a class weight whose product with a sample weight overflows
    std::vector<double> two(2 * D.n, 1.0);
    mfs_array W2 = {two.data(), MFS_DTYPE_FLOAT64, 2, {D.n, 2}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &W2), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_SHAPE) << mfs_last_error();
    std::vector<double> w1(D.n, 1.0);
    w1[0] = 1e300;
    double cw[2] = {1e10, 1e10};
    mfs_array W1 = {w1.data(), MFS_DTYPE_FLOAT64, 1, {D.n}}, CW = {cw, MFS_DTYPE_FLOAT64, 1, {2}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &W1), MFS_OK);
    ASSERT_EQ(mfs_model_set_array(m, "class_weight", &CW), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("overflows"), std::string::npos) << mfs_last_error();
    // SVR: the same checks (no classes)
    mfs_svm_params pr = params(1);
    mfs_model *r = nullptr;
    ASSERT_EQ(mfs_svm_create(&pr, MFS_DEVICE_CPU, &r), MFS_OK);
    mfs_array t = yview(D, true);
    std::vector<double> zero(D.n, 0.0);
    mfs_array Z = {zero.data(), MFS_DTYPE_FLOAT64, 1, {D.n}};
    ASSERT_EQ(mfs_model_set_array(r, "sample_weight", &Z), MFS_OK);
    EXPECT_EQ(mfs_fit(r, &X, &t), MFS_E_VALUE);
    EXPECT_EQ(mfs_model_set_array(r, "sample_weight", nullptr), MFS_OK);
    EXPECT_EQ(mfs_fit(r, &X, &t), MFS_OK) << mfs_last_error();  // removed: unweighted again
    mfs_model_free(r);
    mfs_model_free(m);
}

// LinearSVC's sample_weight (linear_svm.c; here beside the kernel SVM's
// weights, tests_c/test_linear_svm.cc has the rest of LinearSVC)
namespace {
mfs_model *fit_linear(const Data &D, const std::vector<double> *w, double tol = 1e-4) {
    mfs_linear_svm_params p;
    mfs_linear_svm_params_default(&p);
    p.tol = tol;
    p.max_iter = 100000;
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_linear_svm_create(&p, MFS_DEVICE_CPU, &m), MFS_OK) << mfs_last_error();
    if (w) {
        mfs_array W = {(void *)w->data(), MFS_DTYPE_FLOAT64, 1, {(int64_t)w->size()}};
        EXPECT_EQ(mfs_model_set_array(m, "sample_weight", &W), MFS_OK) << mfs_last_error();
    }
    mfs_array X = xview(D), y = yview(D, false);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    return m;
}
}  // namespace

TEST(LinearSvmWeights, UnitZeroAndDuplicatedRows) {
    Data D = blobs(180, 4, 3, 1.0f, 16);
    // unit weights: the unweighted bits
    std::vector<double> ones(D.n, 1.0);
    mfs_model *a = fit_linear(D, nullptr), *b = fit_linear(D, &ones);
    EXPECT_EQ(get<double>(a, "coef"), get<double>(b, "coef"));
    EXPECT_EQ(get<double>(a, "intercept"), get<double>(b, "intercept"));
    mfs_model_free(a);
    mfs_model_free(b);
    // zero weights: removed before the solve, the subset's fit bit for bit
    std::vector<int> keep(D.n), twice(D.n);
    std::vector<double> w(D.n), wk, w2(D.n);
    for (int64_t i = 0; i < D.n; i++) {
        w[i] = i % 6 == 1 ? 0.0 : 0.5 + (double)(i % 4);
        keep[i] = w[i] > 0;
        if (keep[i]) wk.push_back(w[i]);
        twice[i] = 1 + (int)(i % 4 == 0);
        w2[i] = twice[i];
    }
    Data S = repeat(D, keep);
    a = fit_linear(D, &w);
    b = fit_linear(S, &wk);
    EXPECT_EQ(get<double>(a, "coef"), get<double>(b, "coef"));
    EXPECT_EQ(get<double>(a, "intercept"), get<double>(b, "intercept"));
    mfs_model_free(a);
    mfs_model_free(b);
    // weight 2 = a duplicated row: the same strictly convex primal, so the same
    // w; both solved to tol 1e-8 on the projected gradient, coefficients ~1
    // agree to 1e-5
    Data R = repeat(D, twice);
    a = fit_linear(D, &w2, 1e-8);
    b = fit_linear(R, nullptr, 1e-8);
    auto ca = get<double>(a, "coef"), cb = get<double>(b, "coef");
    auto ia = get<double>(a, "intercept"), ib = get<double>(b, "intercept");
    for (size_t q = 0; q < ca.size(); q++) EXPECT_NEAR(ca[q], cb[q], 1e-5) << q;
    for (size_t q = 0; q < ia.size(); q++) EXPECT_NEAR(ia[q], ib[q], 1e-5) << q;
    mfs_model_free(a);
    mfs_model_free(b);
}

TEST(LinearSvmWeights, BadSampleWeight) {
    Data D = blobs(40, 3, 2, 1.0f, 17);
    mfs_linear_svm_params p;
    mfs_linear_svm_params_default(&p);
    p.C = 10.0;
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_linear_svm_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array X = xview(D), y = yview(D, false);
    std::vector<double> neg(D.n, 1.0), big(D.n, 1.0), cls(D.n, 1.0);
    neg[2] = -1;
    big[3] = 1e308;
    for (int64_t i = 0; i < D.n; i++)
        if (D.y[i] == 0) cls[i] = 0;
    struct Case {
        std::vector<double> w;
        mfs_status want;
        const char *what;
    } cases[] = {
        {neg, MFS_E_VALUE, "sample_weight[2] = -1"},
        {big, MFS_E_VALUE, "overflows"},
        {std::vector<double>(D.n + 1, 1.0), MFS_E_SHAPE, "sample_weight has 41 values, expected 40"},
        {std::vector<double>(D.n, 0.0), MFS_E_VALUE, "every sample_weight is 0"},
        {cls, MFS_E_VALUE, "class 0 has 20 samples, all of sample_weight 0"},
    };
    for (const Case &c : cases) {
        mfs_array W = {(void *)c.w.data(), MFS_DTYPE_FLOAT64, 1, {(int64_t)c.w.size()}};
        ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &W), MFS_OK);
        EXPECT_EQ(mfs_fit(m, &X, &y), c.want) << c.what;
        EXPECT_NE(std::string(mfs_last_error()).find(c.what), std::string::npos) << mfs_last_error();
    }
    mfs_model_free(m);
}

TEST(Svm, ProbabilitiesAreDistributionsAndSeeded) {
    Data D = blobs(300, 4, 3, 2.0f, 7);
    mfs_svm_params p = params();
    p.probability = 1;
    p.random_state = 11;
    mfs_model *a = fit(D, p), *b = fit(D, p);
    p.random_state = 12;
    mfs_model *c = fit(D, p);
    auto pr = run<float>(a, MFS_METHOD_PREDICT_PROBA, D);
    auto lab = run<int32_t>(a, MFS_METHOD_PREDICT, D);
    int64_t agree = 0;
    for (int64_t r = 0; r < D.n; r++) {
        double s = 0;
        int best = 0;
        for (int k = 0; k < 3; k++) {
            EXPECT_GE(pr[r * 3 + k], 0.0f);
            EXPECT_LE(pr[r * 3 + k], 1.0f);
            s += pr[r * 3 + k];
            if (pr[r * 3 + k] > pr[r * 3 + best]) best = k;
        }
        // coupling stops at 0.005 / K; the sum is renormalized: float32 rounding
        EXPECT_NEAR(s, 1.0, 1e-5) << r;
        agree += best == lab[r];
    }
    EXPECT_GE(agree, D.n * 95 / 100);  // Platt probabilities and votes mostly agree
    EXPECT_EQ(get<double>(a, "prob_a"), get<double>(b, "prob_a"));  // the seed fixes the folds
    EXPECT_NE(get<double>(a, "prob_a"), get<double>(c, "prob_a"));
    for (double A : get<double>(a, "prob_a")) EXPECT_LT(A, 0.0);  // larger values, more likely class i
    mfs_model_free(a);
    mfs_model_free(b);
    mfs_model_free(c);
}

TEST(Svm, BadInput) {
    Data D = blobs(40, 3, 2, 1.0f, 8);
    mfs_model *m = nullptr;
    struct Case {
        void (*set)(mfs_svm_params &);
        const char *what;
    } cases[] = {
        {[](mfs_svm_params &p) { p.gamma = 0; }, "gamma is 0"},
        {[](mfs_svm_params &p) { p.gamma = -3; }, "gamma is -3"},
        {[](mfs_svm_params &p) { p.C = 0; }, "C is 0"},
        {[](mfs_svm_params &p) { p.C = -1; }, "C is -1"},
        {[](mfs_svm_params &p) { p.kernel = 7; }, "kernel is 7"},
        {[](mfs_svm_params &p) { p.epsilon = -0.5; }, "epsilon is -0.5"},
        {[](mfs_svm_params &p) { p.degree = -1; }, "degree is -1"},
        {[](mfs_svm_params &p) { p.tol = 0; }, "tol is 0"},
        {[](mfs_svm_params &p) { p.cache_size = 0; }, "cache_size is 0"},
        {[](mfs_svm_params &p) { p.max_iter = -2; }, "max_iter is -2"},
        {[](mfs_svm_params &p) { p.gamma = NAN; }, "gamma is nan"},
        {[](mfs_svm_params &p) { p.variant = 5; }, "variant is 5"},
        {[](mfs_svm_params &p) { p.break_ties = 1; p.decision_function_shape = 0; }, "break_ties"},
        {[](mfs_svm_params &p) { p.variant = 1; p.probability = 1; }, "probability"},
    };
    for (const Case &c : cases) {
        mfs_svm_params p = params();
        c.set(p);
        EXPECT_EQ(mfs_svm_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG) << c.what;
        EXPECT_NE(std::string(mfs_last_error()).find(c.what), std::string::npos) << mfs_last_error();
        EXPECT_EQ(m, nullptr);
    }
    mfs_svm_params p = params();
    ASSERT_EQ(mfs_svm_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array X = xview(D), y = yview(D, false);
    // a single class
    std::vector<int32_t> one(D.n, 0);
    mfs_array y1 = {one.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_fit(m, &X, &y1), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("single class"), std::string::npos) << mfs_last_error();
    // a class index without samples
    std::vector<int32_t> gap = D.y;
    for (auto &v : gap) v *= 2;
    mfs_array y2 = {gap.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_fit(m, &X, &y2), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("class 1 has no samples"), std::string::npos) << mfs_last_error();
    // NaN in X
    std::vector<float> nan = D.X;
    nan[7] = NAN;
    mfs_array Xn = {nan.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    EXPECT_EQ(mfs_fit(m, &Xn, &y), MFS_E_VALUE);
    // float targets for a classifier, labels out of range
    mfs_array yf = {D.t.data(), MFS_DTYPE_FLOAT32, 1, {D.n}};
    EXPECT_EQ(mfs_fit(m, &X, &yf), MFS_E_UNSUPPORTED);
    std::vector<int32_t> neg = D.y;
    neg[3] = -1;
    mfs_array y3 = {neg.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_fit(m, &X, &y3), MFS_E_VALUE);
    // class weights: wrong length, not positive
    double w3[3] = {1, 1, 1}, wneg[2] = {1, -2};
    mfs_array W3 = {w3, MFS_DTYPE_FLOAT64, 1, {3}}, Wn = {wneg, MFS_DTYPE_FLOAT64, 1, {2}};
    ASSERT_EQ(mfs_model_set_array(m, "class_weight", &W3), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_SHAPE);
    EXPECT_NE(std::string(mfs_last_error()).find("class_weight has 3 values"), std::string::npos) << mfs_last_error();
    ASSERT_EQ(mfs_model_set_array(m, "class_weight", &Wn), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_VALUE);
    ASSERT_EQ(mfs_model_set_array(m, "class_weight", nullptr), MFS_OK);
    // predict before fit, then probabilities without probability = 1
    std::vector<int32_t> lab(D.n);
    mfs_array L = {lab.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_predict(m, &X, &L), MFS_E_NOT_FITTED);
    ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    std::vector<float> pr(D.n * 2);
    mfs_array Pr = {pr.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 2}};
    EXPECT_EQ(mfs_predict_proba(m, &X, &Pr), MFS_E_UNSUPPORTED);
    EXPECT_NE(std::string(mfs_last_error()).find("probability = 1"), std::string::npos) << mfs_last_error();
    // wrong column count
    mfs_array X2 = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 2}};
    EXPECT_EQ(mfs_predict(m, &X2, &L), MFS_E_SHAPE);
    mfs_model_free(m);
}

namespace {
size_t find(const std::vector<unsigned char> &b, const char *s) {
    std::string hay(b.begin(), b.end());
    return hay.find(s);
}
}  // namespace

TEST(SvmFile, RoundTripTruncationAndHostileFields) {
    Data D = blobs(120, 3, 3, 1.5f, 9);
    mfs_svm_params p = params();
    p.probability = 1;
    mfs_model *m = fit(D, p);
    auto good = save(m);
    mfs_model *l = nullptr;
    ASSERT_EQ(mfs_model_load_buffer(good.data(), good.size(), MFS_DEVICE_CPU, &l), MFS_OK) << mfs_last_error();
    EXPECT_EQ(run<float>(m, MFS_METHOD_DECISION_FUNCTION, D), run<float>(l, MFS_METHOD_DECISION_FUNCTION, D));
    EXPECT_EQ(run<float>(m, MFS_METHOD_PREDICT_PROBA, D), run<float>(l, MFS_METHOD_PREDICT_PROBA, D));
    mfs_model_free(l);
    for (size_t len = 0; len < good.size(); len += 5) {
        mfs_model *out = nullptr;
        ASSERT_EQ(mfs_model_load_buffer(good.data(), len, MFS_DEVICE_CPU, &out), MFS_E_FORMAT) << len;
        ASSERT_EQ(out, nullptr);
    }
    // n_support no longer sums to the number of support vectors: name, dtype,
    // ndim, shape[0], nbytes, then the data
    auto b = good;
    size_t at = find(b, "n_support");
    ASSERT_NE(at, std::string::npos);
    int32_t big = 1 << 30;
    std::memcpy(b.data() + at + 9 + 4 + 4 + 8 + 8, &big, 4);
    refresh_checksum(b);
    EXPECT_EQ(mfs_model_load_buffer(b.data(), b.size(), MFS_DEVICE_CPU, &l), MFS_E_FORMAT);
    EXPECT_NE(std::string(mfs_last_error()).find("n_support"), std::string::npos) << mfs_last_error();
    // a negative gamma (a 0-D array: name, dtype, ndim, nbytes, data)
    b = good;
    at = find(b, "gamma");
    ASSERT_NE(at, std::string::npos);
    double ng = -1;
    std::memcpy(b.data() + at + 5 + 4 + 4 + 8, &ng, 8);
    refresh_checksum(b);
    EXPECT_EQ(mfs_model_load_buffer(b.data(), b.size(), MFS_DEVICE_CPU, &l), MFS_E_FORMAT);
    // the sealed original loads (the forging itself is right)
    b = good;
    refresh_checksum(b);
    ASSERT_EQ(mfs_model_load_buffer(b.data(), b.size(), MFS_DEVICE_CPU, &l), MFS_OK) << mfs_last_error();
    mfs_model_free(l);
    mfs_model_free(m);
}
