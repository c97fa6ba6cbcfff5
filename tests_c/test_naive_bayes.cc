// Naive Bayes (Gaussian, multinomial, Bernoulli) against naive double loops,
// partial_fit in batches == one fit, log space on 1000 features, bad input,
// and the model file (round trip, truncation).
#include <gtest/gtest.h>
#include <cmath>
#include <random>
#include <string>
#include <vector>
extern "C" {
#include "mfs/mfs.h"
}

namespace {
struct Data {
    int64_t n, d, K;
    std::vector<float> X;
    std::vector<int32_t> y;
};

// Gaussian blobs (variant 0) or Poisson counts with class-dependent rates.
Data make(int64_t n, int64_t d, int64_t K, bool count_data, unsigned seed) {
    std::mt19937 g(seed);
    Data D{n, d, K, std::vector<float>(n * d), std::vector<int32_t>(n)};
    std::vector<double> rate(K * d);
    std::uniform_real_distribution<double> U(0.2, 3.0);
    for (auto &r : rate) r = U(g);
    std::normal_distribution<float> N(0, 1);
    for (int64_t i = 0; i < n; i++) {
        int32_t k = (int32_t)(g() % K);
        D.y[i] = k;
        for (int64_t j = 0; j < d; j++) {
            if (count_data) {
                std::poisson_distribution<int> P(rate[k * d + j]);
                D.X[i * d + j] = (float)P(g);
            } else {
                D.X[i * d + j] = (float)(rate[k * d + j] * 2 + N(g) * rate[(k * d + j + 1) % (K * d)] + 10);
            }
        }
    }
    return D;
}

mfs_model *create(int variant, int64_t K, double binarize = 0.0, double var_smoothing = 1e-9) {
    mfs_naive_bayes_params p;
    mfs_naive_bayes_params_default(&p);
    p.variant = variant;
    p.n_classes = (int32_t)K;
    p.binarize = binarize;
    p.var_smoothing = var_smoothing;
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_naive_bayes_create(&p, MFS_DEVICE_CPU, &m), MFS_OK) << mfs_last_error();
    return m;
}

mfs_array xview(const Data &D, int64_t r0, int64_t rows) {
    return mfs_array{(void *)(D.X.data() + r0 * D.d), MFS_DTYPE_FLOAT32, 2, {rows, D.d}};
}
mfs_array yview(const Data &D, int64_t r0, int64_t rows) {
    return mfs_array{(void *)(D.y.data() + r0), MFS_DTYPE_INT32, 1, {rows}};
}

std::vector<double> get(const mfs_model *m, const char *name) {
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[4];
    EXPECT_EQ(mfs_model_array_info(m, name, &dt, &nd, shape), MFS_OK) << name;
    int64_t numel = 1;
    for (int i = 0; i < nd; i++) numel *= shape[i];
    std::vector<double> v(numel);
    mfs_array out = {v.data(), dt, nd, {shape[0], shape[1], shape[2], shape[3]}};
    EXPECT_EQ(mfs_model_get_array(m, name, &out), MFS_OK) << mfs_last_error();
    return v;
}

std::vector<float> log_proba(const mfs_model *m, const Data &D) {
    std::vector<float> o(D.n * D.K);
    mfs_array X = xview(D, 0, D.n), out = {o.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.K}};
    EXPECT_EQ(mfs_predict_log_proba(m, &X, &out), MFS_OK) << mfs_last_error();
    return o;
}

// The textbook joint log-likelihood in double, normalized (or not): the witness.
std::vector<double> naive_log_proba(int variant, const Data &D, double alpha, double binarize, bool normalize = true) {
    const int64_t n = D.n, d = D.d, K = D.K;
    std::vector<double> cnt(K), sum(K * d), out(n * K);
    for (int64_t i = 0; i < n; i++) {
        cnt[D.y[i]]++;
        for (int64_t j = 0; j < d; j++) {
            double x = D.X[i * d + j];
            if (variant == 2) x = x > binarize ? 1 : 0;
            sum[D.y[i] * d + j] += x;
        }
    }
    std::vector<double> w(K * d), b(K);
    if (variant == 0) {
        std::vector<double> mu(K * d), var(K * d, 0.0);
        for (int64_t q = 0; q < K * d; q++) mu[q] = sum[q] / cnt[q / d];
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < d; j++) {
                double e = D.X[i * d + j] - mu[D.y[i] * d + j];
                var[D.y[i] * d + j] += e * e;
            }
        double vmax = 0;
        for (int64_t j = 0; j < d; j++) {
            double m = 0, s = 0;
            for (int64_t i = 0; i < n; i++) m += D.X[i * d + j];
            m /= n;
            for (int64_t i = 0; i < n; i++) s += (D.X[i * d + j] - m) * (D.X[i * d + j] - m);
            vmax = std::max(vmax, s / n);
        }
        for (int64_t q = 0; q < K * d; q++) var[q] = var[q] / cnt[q / d] + 1e-9 * vmax;
        for (int64_t i = 0; i < n; i++)
            for (int64_t k = 0; k < K; k++) {
                double s = std::log(cnt[k] / n);
                for (int64_t j = 0; j < d; j++) {
                    double e = D.X[i * d + j] - mu[k * d + j];
                    s -= 0.5 * std::log(2 * M_PI * var[k * d + j]) + 0.5 * e * e / var[k * d + j];
                }
                out[i * K + k] = s;
            }
    } else {
        for (int64_t k = 0; k < K; k++) {
            double tot = 0;
            for (int64_t j = 0; j < d; j++) tot += sum[k * d + j] + alpha;
            for (int64_t j = 0; j < d; j++)
                w[k * d + j] = variant == 1 ? std::log((sum[k * d + j] + alpha) / tot)
                                            : std::log((sum[k * d + j] + alpha) / (cnt[k] + 2 * alpha));
            b[k] = std::log(cnt[k] / n);
        }
        for (int64_t i = 0; i < n; i++)
            for (int64_t k = 0; k < K; k++) {
                double s = b[k];
                for (int64_t j = 0; j < d; j++) {
                    double x = D.X[i * d + j], l = w[k * d + j];
                    if (variant == 1) s += x * l;
                    else s += (x > binarize) ? l : std::log(1 - std::exp(l));
                }
                out[i * K + k] = s;
            }
    }
    if (!normalize) return out;
    for (int64_t i = 0; i < n; i++) {
        double mx = -INFINITY, s = 0;
        for (int64_t k = 0; k < K; k++) mx = std::max(mx, out[i * K + k]);
        for (int64_t k = 0; k < K; k++) s += std::exp(out[i * K + k] - mx);
        for (int64_t k = 0; k < K; k++) out[i * K + k] -= mx + std::log(s);
    }
    return out;
}
}  // namespace

TEST(NaiveBayes, MatchesNaiveDoubleLoops) {
    for (int variant : {0, 1, 2}) {
        Data D = make(600, 40, 4, variant != 0, 10 + variant);
        mfs_model *m = create(variant, D.K, 1.0);
        mfs_array X = xview(D, 0, D.n), y = yview(D, 0, D.n);
        ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
        auto lp = log_proba(m, D);
        auto ref = naive_log_proba(variant, D, 1.0, 1.0);
        std::vector<float> pr(D.n * D.K);
        std::vector<int32_t> lab(D.n);
        mfs_array P = {pr.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.K}}, L = {lab.data(), MFS_DTYPE_INT32, 1, {D.n}};
        ASSERT_EQ(mfs_predict_proba(m, &X, &P), MFS_OK);
        ASSERT_EQ(mfs_predict(m, &X, &L), MFS_OK);
        for (int64_t i = 0; i < D.n; i++) {
            int64_t best = 0;
            for (int64_t k = 0; k < D.K; k++) {
                // probabilities to 1e-5 absolute: float32 GEMM of well-conditioned
                // terms, double statistics; log-probabilities where > -30
                EXPECT_NEAR(pr[i * D.K + k], std::exp(ref[i * D.K + k]), 1e-5) << variant << " " << i;
                if (ref[i * D.K + k] > -30) EXPECT_NEAR(lp[i * D.K + k], ref[i * D.K + k], 1e-3);
                if (ref[i * D.K + k] > ref[i * D.K + best]) best = k;
            }
            if (std::exp(ref[i * D.K + best]) > 0.51) EXPECT_EQ(lab[i], best);
        }
        mfs_model_free(m);
    }
}

TEST(NaiveBayes, PartialFitInBatchesEqualsFit) {
    for (int variant : {0, 1, 2}) {
        Data D = make(1000, 30, 5, variant != 0, 20 + variant);
        // sort rows by class so that early batches lack classes
        std::vector<int64_t> idx(D.n);
        for (int64_t i = 0; i < D.n; i++) idx[i] = i;
        std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return D.y[a] < D.y[b]; });
        Data S = D;
        for (int64_t i = 0; i < D.n; i++) {
            S.y[i] = D.y[idx[i]];
            for (int64_t j = 0; j < D.d; j++) S.X[i * D.d + j] = D.X[idx[i] * D.d + j];
        }
        mfs_model *whole = create(variant, D.K), *stream = create(variant, D.K);
        mfs_array X = xview(S, 0, S.n), y = yview(S, 0, S.n);
        ASSERT_EQ(mfs_fit(whole, &X, &y), MFS_OK);
        for (int64_t r0 = 0; r0 < S.n; r0 += 137) {
            int64_t rows = std::min<int64_t>(137, S.n - r0);
            mfs_array Xb = xview(S, r0, rows), yb = yview(S, r0, rows);
            ASSERT_EQ(mfs_partial_fit(stream, &Xb, &yb), MFS_OK) << mfs_last_error();
        }
        if (variant == 0) {
            auto t1 = get(whole, "theta"), t2 = get(stream, "theta");
            auto v1 = get(whole, "var"), v2 = get(stream, "var");
            for (size_t q = 0; q < t1.size(); q++) {
                EXPECT_NEAR(t1[q], t2[q], 1e-10 * std::fabs(t1[q]) + 1e-12);
                // scikit-learn's rule takes the NEW batch's epsilon out of var before
                // a merge, so earlier epsilons stay mixed in: equal to a few epsilons
                double e1 = get(whole, "epsilon")[0], e2 = get(stream, "epsilon")[0];
                EXPECT_NEAR(v1[q] - e1, v2[q] - e2, 4 * std::max(e1, e2) + 1e-9 * std::fabs(v1[q]));
            }
        } else {
            EXPECT_EQ(get(whole, "feature_count"), get(stream, "feature_count"));
        }
        EXPECT_EQ(get(whole, "class_count"), get(stream, "class_count"));
        mfs_model_free(whole);
        mfs_model_free(stream);
    }
}

TEST(NaiveBayes, LogSpaceOn1000Features) {
    Data D = make(200, 1000, 3, true, 5);
    for (int variant : {0, 1, 2}) {
        mfs_model *m = create(variant, D.K);
        mfs_array X = xview(D, 0, D.n), y = yview(D, 0, D.n);
        ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK);
        auto lp = log_proba(m, D);
        for (int64_t i = 0; i < D.n; i++) {
            double s = 0;
            for (int64_t k = 0; k < D.K; k++) {
                float v = lp[i * D.K + k];
                ASSERT_TRUE(std::isfinite(v) || v == -INFINITY) << variant;
                ASSERT_LE(v, 1e-6);
                s += std::exp((double)v);
            }
            ASSERT_NEAR(s, 1.0, 1e-5) << variant << " row " << i;  // no underflow to 0/0
        }
        mfs_model_free(m);
    }
}

// The methods read X in blocks of 512 rows, each checked just before it is
// used: over several blocks a row's log-probabilities are the bits of that
// row predicted alone, and a NaN or infinity anywhere is the usual message
// naming the first one, for every method and variant, on 1 and 2 threads.
TEST(NaiveBayes, MethodsInCheckedBlocks) {
    const int32_t before = mfs_get_num_threads();
    for (int variant : {MFS_NAIVE_BAYES_VARIANT_GAUSSIAN, MFS_NAIVE_BAYES_VARIANT_MULTINOMIAL,
                        MFS_NAIVE_BAYES_VARIANT_BERNOULLI}) {
        Data D = make(1500, 20, 4, variant != MFS_NAIVE_BAYES_VARIANT_GAUSSIAN, 80 + (unsigned)variant);
        mfs_model *m = create(variant, D.K, variant == MFS_NAIVE_BAYES_VARIANT_BERNOULLI ? 1.0 : 0.0);
        mfs_array X = xview(D, 0, D.n), y = yview(D, 0, D.n);
        ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
        for (int threads : {1, 2}) {
            ASSERT_EQ(mfs_set_num_threads(threads), MFS_OK);
            auto lp = log_proba(m, D);
            for (int64_t i : {(int64_t)0, (int64_t)511, (int64_t)512, (int64_t)1499}) {
                std::vector<float> one((size_t)D.K);
                mfs_array Xi = xview(D, i, 1), o = {one.data(), MFS_DTYPE_FLOAT32, 2, {1, D.K}};
                ASSERT_EQ(mfs_predict_log_proba(m, &Xi, &o), MFS_OK) << mfs_last_error();
                for (int64_t k = 0; k < D.K; k++) ASSERT_EQ(one[(size_t)k], lp[(size_t)(i * D.K + k)]) << i;
            }
            Data bad = D;
            bad.X[(size_t)(1100 * D.d + 5)] = NAN;
            bad.X[(size_t)(1300 * D.d)] = -INFINITY;
            mfs_array Xb = xview(bad, 0, D.n);
            std::vector<double> buf((size_t)(D.n * D.K));  // room for any of the outputs
            mfs_array labels = {buf.data(), MFS_DTYPE_INT32, 1, {D.n}};
            mfs_array mat = {buf.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.K}};
            struct { mfs_status (*f)(const mfs_model *, const mfs_array *, mfs_array *); mfs_array *out; const char *name; } calls[] = {
                {mfs_predict, &labels, "mfs_predict"}, {mfs_predict_proba, &mat, "mfs_predict_proba"},
                {mfs_predict_log_proba, &mat, "mfs_predict_log_proba"}, {mfs_decision_function, &mat, "mfs_decision_function"}};
            for (auto &c : calls) {
                EXPECT_EQ(c.f(m, &Xb, c.out), MFS_E_VALUE) << c.name;
                EXPECT_EQ(std::string(mfs_last_error()), std::string(c.name) + ": X contains NaN at row 1100, column 5");
            }
        }
        mfs_model_free(m);
    }
    ASSERT_EQ(mfs_set_num_threads(before), MFS_OK);
}

TEST(NaiveBayes, BadInput) {
    Data D = make(50, 4, 3, true, 3);
    mfs_model *m = create(1, 3);
    mfs_array X = xview(D, 0, D.n), y = yview(D, 0, D.n);
    // labels out of range
    std::vector<int32_t> bad = D.y;
    bad[7] = 3;
    mfs_array yb = {bad.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_fit(m, &X, &yb), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("y[7] = 3"), std::string::npos) << mfs_last_error();
    // negative counts for multinomial
    std::vector<float> neg = D.X;
    neg[2 * 4 + 1] = -1;
    mfs_array Xn = {neg.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 4}};
    EXPECT_EQ(mfs_fit(m, &Xn, &y), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("X[2, 1] = -1"), std::string::npos) << mfs_last_error();
    // NaN
    std::vector<float> nan = D.X;
    nan[5] = NAN;
    mfs_array Xnan = {nan.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 4}};
    EXPECT_EQ(mfs_fit(m, &Xnan, &y), MFS_E_VALUE);
    // predict before fit
    std::vector<int32_t> lab(D.n);
    mfs_array L = {lab.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_predict(m, &X, &L), MFS_E_NOT_FITTED);
    // priors: wrong length, wrong sum
    ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK);
    double pr[3] = {0.5, 0.5, 0.5};
    mfs_array P = {pr, MFS_DTYPE_FLOAT64, 1, {3}};
    ASSERT_EQ(mfs_model_set_array(m, "class_prior", &P), MFS_OK);
    EXPECT_EQ(mfs_partial_fit(m, &X, &y), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("sums to 1.5"), std::string::npos) << mfs_last_error();
    P.shape[0] = 2;
    ASSERT_EQ(mfs_model_set_array(m, "class_prior", &P), MFS_OK);
    EXPECT_EQ(mfs_partial_fit(m, &X, &y), MFS_E_SHAPE);
    ASSERT_EQ(mfs_model_set_array(m, "class_prior", nullptr), MFS_OK);
    // the failed batches changed nothing
    EXPECT_DOUBLE_EQ(get(m, "class_count")[0] + get(m, "class_count")[1] + get(m, "class_count")[2], 50.0);
    // wrong feature count
    mfs_array X3 = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 3}};
    EXPECT_EQ(mfs_partial_fit(m, &X3, &y), MFS_E_SHAPE);
    std::vector<int32_t> lab3(D.n);
    EXPECT_EQ(mfs_predict(m, &X3, &L), MFS_E_SHAPE);
    mfs_model_free(m);
    // bad params
    mfs_naive_bayes_params p;
    mfs_naive_bayes_params_default(&p);
    mfs_model *o = nullptr;
    p.variant = 3;
    EXPECT_EQ(mfs_naive_bayes_create(&p, MFS_DEVICE_CPU, &o), MFS_E_INVALID_ARG);
    mfs_naive_bayes_params_default(&p);
    p.alpha = -1;
    EXPECT_EQ(mfs_naive_bayes_create(&p, MFS_DEVICE_CPU, &o), MFS_E_INVALID_ARG);
    mfs_naive_bayes_params_default(&p);
    p.binarize = -2;
    EXPECT_EQ(mfs_naive_bayes_create(&p, MFS_DEVICE_CPU, &o), MFS_E_INVALID_ARG);
    EXPECT_EQ(o, nullptr);
}

TEST(NaiveBayes, SaveLoadAndTruncatedFile) {
    for (int variant : {0, 1, 2}) {
        Data D = make(80, 6, 3, variant != 0, 40 + variant);
        mfs_model *m = create(variant, D.K);
        mfs_array X = xview(D, 0, D.n), y = yview(D, 0, D.n);
        ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK);
        size_t need = 0;
        ASSERT_EQ(mfs_model_save_buffer(m, nullptr, 0, &need), MFS_E_BUFFER_TOO_SMALL);
        std::vector<unsigned char> buf(need);
        ASSERT_EQ(mfs_model_save_buffer(m, buf.data(), buf.size(), &need), MFS_OK);
        mfs_model *l = nullptr;
        ASSERT_EQ(mfs_model_load_buffer(buf.data(), buf.size(), MFS_DEVICE_CPU, &l), MFS_OK) << mfs_last_error();
        EXPECT_EQ(log_proba(m, D), log_proba(l, D));
        // streaming continues on the loaded model
        ASSERT_EQ(mfs_partial_fit(l, &X, &y), MFS_OK);
        EXPECT_DOUBLE_EQ(get(l, "class_count")[0], 2 * get(m, "class_count")[0]);
        mfs_model_free(l);
        for (size_t len = 0; len < buf.size(); len += 7) {
            mfs_model *out = nullptr;
            ASSERT_EQ(mfs_model_load_buffer(buf.data(), len, MFS_DEVICE_CPU, &out), MFS_E_FORMAT) << len;
            ASSERT_EQ(out, nullptr);
        }
        mfs_model_free(m);
    }
}

TEST(NaiveBayes, SingleClassAndInferredClassCount) {
    Data D = make(30, 3, 1, true, 8);
    mfs_model *m = create(1, 0);  // n_classes 0: from the labels
    mfs_array X = xview(D, 0, D.n), y = yview(D, 0, D.n);
    ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    auto lp = log_proba(m, D);
    for (float v : lp) EXPECT_EQ(v, 0.0f);  // one class: probability 1
    mfs_model_free(m);
}

// ---- sample_weight: scikit-learn's semantics ------------------------------------

namespace {
mfs_status fit_weighted(mfs_model *m, const Data &D, std::vector<double> *w, bool partial = false) {
    mfs_array X = xview(D, 0, D.n), y = yview(D, 0, D.n);
    if (w) {
        mfs_array W = {w->data(), MFS_DTYPE_FLOAT64, 1, {(int64_t)w->size()}};
        EXPECT_EQ(mfs_model_set_array(m, "sample_weight", &W), MFS_OK);
    } else {
        EXPECT_EQ(mfs_model_set_array(m, "sample_weight", nullptr), MFS_OK);
    }
    return partial ? mfs_partial_fit(m, &X, &y) : mfs_fit(m, &X, &y);
}

std::vector<double> weights(int64_t n, unsigned seed) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<double> U(0.0, 3.0);
    std::vector<double> w(n);
    for (auto &v : w) v = (g() % 10 == 0) ? 0.0 : U(g);  // ~10% exact zeros
    return w;
}
}  // namespace

TEST(NaiveBayes, SampleWeightMatchesWeightedDoubleLoops) {
    for (int variant : {0, 1, 2}) {
        Data D = make(500, 12, 3, variant != 0, 60 + variant);
        auto w = weights(D.n, 61 + variant);
        mfs_model *m = create(variant, D.K);
        ASSERT_EQ(fit_weighted(m, D, &w), MFS_OK) << mfs_last_error();
        const int64_t n = D.n, d = D.d, K = D.K;
        std::vector<double> cnt(K), sum(K * d);
        for (int64_t i = 0; i < n; i++) {
            cnt[D.y[i]] += w[i];
            for (int64_t j = 0; j < d; j++) {
                double x = D.X[i * d + j];
                if (variant == 2) x = x > 0 ? 1 : 0;
                sum[D.y[i] * d + j] += w[i] * x;
            }
        }
        auto cc = get(m, "class_count");
        for (int64_t k = 0; k < K; k++) EXPECT_NEAR(cc[k], cnt[k], 1e-12 * cnt[k]);  // double sums, same order
        if (variant == 0) {
            // weighted mean and population variance (np.average), + epsilon from the
            // UNWEIGHTED variance of X (scikit-learn's rule)
            std::vector<double> var(K * d, 0.0);
            for (int64_t i = 0; i < n; i++)
                for (int64_t j = 0; j < d; j++) {
                    double e = D.X[i * d + j] - sum[D.y[i] * d + j] / cnt[D.y[i]];
                    var[D.y[i] * d + j] += w[i] * e * e;
                }
            double vmax = 0;
            for (int64_t j = 0; j < d; j++) {
                double mu = 0, s = 0;
                for (int64_t i = 0; i < n; i++) mu += D.X[i * d + j];
                mu /= n;
                for (int64_t i = 0; i < n; i++) s += (D.X[i * d + j] - mu) * (D.X[i * d + j] - mu);
                vmax = std::max(vmax, s / n);
            }
            const double eps = get(m, "epsilon")[0];
            EXPECT_NEAR(eps, 1e-9 * vmax, 1e-12 * 1e-9 * vmax);
            auto th = get(m, "theta"), v = get(m, "var");
            for (int64_t q = 0; q < K * d; q++) {
                EXPECT_NEAR(th[q], sum[q] / cnt[q / d], 1e-12 * std::fabs(th[q]) + 1e-12);
                EXPECT_NEAR(v[q], var[q] / cnt[q / d] + eps, 1e-10 * v[q]);  // two-pass double sums
            }
        } else {
            auto fc = get(m, "feature_count");
            for (int64_t q = 0; q < K * d; q++) EXPECT_NEAR(fc[q], sum[q], 1e-12 * sum[q]);
            auto clp = get(m, "class_log_prior");
            double tot = cnt[0] + cnt[1] + cnt[2];
            for (int64_t k = 0; k < K; k++) EXPECT_NEAR(clp[k], std::log(cnt[k] / tot), 1e-12);
        }
        mfs_model_free(m);
    }
}

TEST(NaiveBayes, IntegerWeightsEqualRepeatedRows) {
    for (int variant : {0, 1, 2}) {
        Data D = make(300, 10, 3, variant != 0, 70 + variant);
        std::mt19937 g(71);
        std::vector<double> w(D.n);
        Data R{0, D.d, D.K, {}, {}};
        for (int64_t i = 0; i < D.n; i++) {
            int c = (int)(g() % 4);  // 0..3 copies
            w[i] = c;
            for (int r = 0; r < c; r++) {
                R.y.push_back(D.y[i]);
                R.X.insert(R.X.end(), D.X.begin() + i * D.d, D.X.begin() + (i + 1) * D.d);
                R.n++;
            }
        }
        // var_smoothing 0: epsilon (unweighted variance of X) is the one thing
        // repeating rows changes, in scikit-learn too
        mfs_model *a = create(variant, D.K, 0.0, 0.0), *b = create(variant, D.K, 0.0, 0.0);
        ASSERT_EQ(fit_weighted(a, D, &w), MFS_OK) << mfs_last_error();
        ASSERT_EQ(fit_weighted(b, R, nullptr), MFS_OK) << mfs_last_error();
        EXPECT_EQ(get(a, "class_count"), get(b, "class_count"));  // integer sums: exact
        if (variant == 0) {
            auto t1 = get(a, "theta"), t2 = get(b, "theta"), v1 = get(a, "var"), v2 = get(b, "var");
            for (size_t q = 0; q < t1.size(); q++) {
                EXPECT_NEAR(t1[q], t2[q], 1e-12 * std::fabs(t2[q]) + 1e-12);  // double sums, other order
                EXPECT_NEAR(v1[q], v2[q], 1e-10 * v2[q]);
            }
        } else {
            EXPECT_EQ(get(a, "feature_count"), get(b, "feature_count"));  // integer * integer: exact
            EXPECT_EQ(get(a, "feature_log_prob"), get(b, "feature_log_prob"));
        }
        mfs_model_free(a);
        mfs_model_free(b);
    }
}

TEST(NaiveBayes, WeightedPartialFitMergesByWeight) {
    // Chan's merge with weighted counts == one weighted fit (var_smoothing 0 so
    // that the per-batch epsilons do not enter)
    Data D = make(700, 8, 4, false, 80);
    auto w = weights(D.n, 81);
    mfs_model *whole = create(0, D.K, 0.0, 0.0), *stream = create(0, D.K, 0.0, 0.0);
    ASSERT_EQ(fit_weighted(whole, D, &w), MFS_OK);
    for (int64_t r0 = 0; r0 < D.n; r0 += 101) {
        int64_t rows = std::min<int64_t>(101, D.n - r0);
        Data B{rows, D.d, D.K, std::vector<float>(D.X.begin() + r0 * D.d, D.X.begin() + (r0 + rows) * D.d),
               std::vector<int32_t>(D.y.begin() + r0, D.y.begin() + r0 + rows)};
        std::vector<double> wb(w.begin() + r0, w.begin() + r0 + rows);
        ASSERT_EQ(fit_weighted(stream, B, &wb, true), MFS_OK) << mfs_last_error();
    }
    auto t1 = get(whole, "theta"), t2 = get(stream, "theta"), v1 = get(whole, "var"), v2 = get(stream, "var");
    for (size_t q = 0; q < t1.size(); q++) {
        EXPECT_NEAR(t1[q], t2[q], 1e-11 * std::fabs(t1[q]) + 1e-12);  // merge vs two-pass: double rounding
        EXPECT_NEAR(v1[q], v2[q], 1e-9 * v1[q]);
    }
    auto c1 = get(whole, "class_count"), c2 = get(stream, "class_count");
    for (size_t k = 0; k < c1.size(); k++) EXPECT_NEAR(c1[k], c2[k], 1e-12 * c1[k]);
    mfs_model_free(whole);
    mfs_model_free(stream);
}

TEST(NaiveBayes, ZeroWeightClassAsScikitLearn) {
    // every row of class 1 weighs 0: count 0, prior 0 (log prior -inf), Gaussian
    // mean 0 and variance epsilon (scikit-learn leaves the zeros it started from);
    // class 1 gets probability 0 everywhere
    for (int variant : {0, 1, 2}) {
        Data D = make(200, 6, 3, variant != 0, 90 + variant);
        std::vector<double> w(D.n, 1.0);
        for (int64_t i = 0; i < D.n; i++)
            if (D.y[i] == 1) w[i] = 0.0;
        mfs_model *m = create(variant, D.K);
        ASSERT_EQ(fit_weighted(m, D, &w), MFS_OK) << mfs_last_error();
        EXPECT_EQ(get(m, "class_count")[1], 0.0);
        if (variant == 0) {
            EXPECT_EQ(get(m, "class_prior")[1], 0.0);
            auto th = get(m, "theta"), v = get(m, "var");
            const double eps = get(m, "epsilon")[0];
            for (int64_t j = 0; j < D.d; j++) {
                EXPECT_EQ(th[1 * D.d + j], 0.0);
                EXPECT_EQ(v[1 * D.d + j], eps);
            }
        } else {
            EXPECT_EQ(get(m, "class_log_prior")[1], -INFINITY);
        }
        std::vector<float> pr(D.n * D.K);
        mfs_array X = xview(D, 0, D.n), P = {pr.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.K}};
        ASSERT_EQ(mfs_predict_proba(m, &X, &P), MFS_OK) << mfs_last_error();
        for (int64_t i = 0; i < D.n; i++) {
            EXPECT_EQ(pr[i * D.K + 1], 0.0f);
            EXPECT_NEAR(pr[i * D.K] + pr[i * D.K + 2], 1.0f, 1e-5);  // float32 softmax
        }
        mfs_model_free(m);
    }
}

TEST(NaiveBayes, BadSampleWeight) {
    for (int variant : {0, 1, 2}) {
        Data D = make(40, 3, 2, true, 95);
        mfs_model *m = create(variant, D.K);
        std::vector<double> w(D.n, 1.0);
        w[5] = -1.0;
        EXPECT_EQ(fit_weighted(m, D, &w), MFS_E_VALUE);
        EXPECT_NE(std::string(mfs_last_error()).find("sample_weight[5] = -1"), std::string::npos) << mfs_last_error();
        w[5] = NAN;
        EXPECT_EQ(fit_weighted(m, D, &w), MFS_E_VALUE);
        std::vector<double> shortw(D.n - 1, 1.0);
        EXPECT_EQ(fit_weighted(m, D, &shortw), MFS_E_SHAPE);
        EXPECT_NE(std::string(mfs_last_error()).find("39 values, expected 40"), std::string::npos) << mfs_last_error();
        std::vector<double> zero(D.n, 0.0);
        EXPECT_EQ(fit_weighted(m, D, &zero), MFS_E_VALUE);
        EXPECT_NE(std::string(mfs_last_error()).find("sum to zero"), std::string::npos) << mfs_last_error();
        std::vector<int32_t> iw(D.n, 1);
        mfs_array W = {iw.data(), MFS_DTYPE_INT32, 1, {D.n}};
        ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &W), MFS_OK);
        mfs_array X = xview(D, 0, D.n), y = yview(D, 0, D.n);
        EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_SHAPE);  // int32 weights: float32 or float64 only
        // fitted unweighted; a bad weighted batch changes nothing, an all-zero one
        // is fine once the counts are > 0 (adds nothing)
        ASSERT_EQ(fit_weighted(m, D, nullptr), MFS_OK) << mfs_last_error();
        auto before = get(m, "class_count");
        w[5] = -1.0;
        EXPECT_EQ(fit_weighted(m, D, &w, true), MFS_E_VALUE);
        EXPECT_EQ(get(m, "class_count"), before);
        EXPECT_EQ(fit_weighted(m, D, &zero, true), MFS_OK) << mfs_last_error();
        EXPECT_EQ(get(m, "class_count"), before);
        mfs_model_free(m);
    }
}

TEST(NaiveBayes, DecisionFunctionIsTheJointLogLikelihood) {
    // scikit-learn's predict_joint_log_proba: log P(c) + log P(x | c) itself. The
    // discrete GEMM works with weights centered over the classes, so the dropped
    // class-independent term is added back; the values go out as float32.
    for (int variant : {0, 1, 2}) {
        Data D = make(300, 30, 4, variant != 0, 40 + variant);
        mfs_model *m = create(variant, D.K, 1.0);
        mfs_array X = xview(D, 0, D.n), y = yview(D, 0, D.n);
        ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
        auto ref = naive_log_proba(variant, D, 1.0, 1.0, false);
        double mx = 0;
        for (double v : ref) mx = std::max(mx, std::fabs(v));
        std::vector<float> j(D.n * D.K);
        mfs_array J = {j.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.K}};
        ASSERT_EQ(mfs_decision_function(m, &X, &J), MFS_OK) << mfs_last_error();
        auto lp = log_proba(m, D);
        for (int64_t i = 0; i < D.n; i++) {
            double jm = -INFINITY, s = 0;
            for (int64_t k = 0; k < D.K; k++) jm = std::max(jm, (double)j[i * D.K + k]);
            for (int64_t k = 0; k < D.K; k++) s += std::exp(j[i * D.K + k] - jm);
            for (int64_t k = 0; k < D.K; k++) {
                // float32 output of a double sum over float32 GEMM chunks: 1e-6 of the largest |value|
                EXPECT_NEAR(j[i * D.K + k], ref[i * D.K + k], 1e-6 * mx) << variant << " " << i;
                EXPECT_NEAR(lp[i * D.K + k], j[i * D.K + k] - jm - std::log(s), 1e-6 * mx + 1e-5);
            }
        }
        int32_t nd;
        int64_t shape[MFS_MAX_DIMS];  // mfs_output_shape fills MFS_MAX_DIMS entries
        mfs_dtype dt;
        ASSERT_EQ(mfs_output_shape(m, MFS_METHOD_DECISION_FUNCTION, &X, &dt, &nd, shape), MFS_OK);
        EXPECT_EQ(shape[0], D.n);
        EXPECT_EQ(nd, 2);
        EXPECT_EQ(shape[1], D.K);
        mfs_model_free(m);
    }
}
