// Logistic Regression: the loss and gradient against a naive double
// implementation (both CPU paths: row kernels and GEMM), convergence of the
// L-BFGS solver to a stationary point, the methods' outputs, bad parameters and
// labels, determinism across thread counts, the model file, and sample_weight
// (weighted loss and gradient, ones = unweighted bits, integer weights =
// repeated rows, zero weights = dropped rows, bad weights).
#include <gtest/gtest.h>
#include "testing.h"
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>
extern "C" {
#include "mfs/mfs.h"
mfs_status mfs__logreg_loss_grad(const float *X, const int32_t *y, int64_t n, int64_t d, int64_t kk,
                                 const float *coef, const float *intercept, double *loss,
                                 double *dcoef, double *dintercept);
mfs_status mfs__logreg_loss_grad_weighted(const float *X, const int32_t *y, const float *sw, int64_t n, int64_t d,
                                          int64_t kk, const float *coef, const float *intercept, double *loss,
                                          double *dcoef, double *dintercept);
extern int mfs__logreg_gemm_min_rows;
}

namespace {
struct Data {
    int64_t n, d, K;
    std::vector<float> X;
    std::vector<int32_t> y;
};

// Labels from a random linear model plus Gumbel noise (the multinomial model
// itself), scaled by `sep`: larger sep -> closer to separable.
Data make(int64_t n, int64_t d, int64_t K, double sep, unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<float> N(0, 1);
    std::uniform_real_distribution<double> U(1e-12, 1.0);
    Data D{n, d, K, std::vector<float>(n * d), std::vector<int32_t>(n)};
    std::vector<double> W(K * d);
    for (auto &w : W) w = N(g);
    for (auto &v : D.X) v = N(g) + 0.5f;
    for (int64_t i = 0; i < n; i++) {
        double best = -1e300;
        for (int64_t k = 0; k < K; k++) {
            double z = 0;
            for (int64_t j = 0; j < d; j++) z += W[k * d + j] * D.X[i * d + j];
            z = sep * z / std::sqrt((double)d) - std::log(-std::log(U(g)));
            if (z > best) { best = z; D.y[i] = (int32_t)k; }
        }
    }
    for (int64_t k = 0; k < K; k++) D.y[k] = (int32_t)k;  // every class present
    return D;
}

// The data term against the double reference: loss, then the largest
// coefficient and intercept gradient errors, all within tol.
void expect_loss_grad_near(double loss, double want_loss, const std::vector<double> &dW,
                           const std::vector<double> &want_dW, const std::vector<double> &db,
                           const std::vector<double> &want_db, double tol, int64_t K, int path) {
    EXPECT_NEAR(loss, want_loss, tol) << K << " path " << path;
    double gerr = 0, berr = 0;
    for (size_t j = 0; j < dW.size(); j++) gerr = std::max(gerr, std::fabs(dW[j] - want_dW[j]));
    for (size_t k = 0; k < db.size(); k++) berr = std::max(berr, std::fabs(db[k] - want_db[k]));
    EXPECT_LT(gerr, tol) << K << " path " << path;
    EXPECT_LT(berr, tol) << K << " path " << path;
}

// The data term in double, written as plainly as possible: loss = sum_i
// s_i loss_i, dW = sum_i s_i (p_i - y_i) x_i^T, db = sum_i s_i (p_i - y_i)
// (s_i = sw[i], or 1 when sw is null).
void naive(const Data &D, int64_t kk, const std::vector<float> &W, const std::vector<float> &b,
           double *loss, std::vector<double> &dW, std::vector<double> &db,
           const std::vector<float> *sw = nullptr) {
    *loss = 0;
    dW.assign(kk * D.d, 0.0);
    db.assign(kk, 0.0);
    std::vector<double> z(kk), r(kk);
    for (int64_t i = 0; i < D.n; i++) {
        for (int64_t k = 0; k < kk; k++) {
            z[k] = b[k];
            for (int64_t j = 0; j < D.d; j++) z[k] += (double)W[k * D.d + j] * D.X[i * D.d + j];
        }
        const double si = sw ? (double)(*sw)[i] : 1.0;
        if (kk == 1) {
            double t = D.y[i] == 1, p = 1.0 / (1.0 + std::exp(-z[0]));
            *loss += si * (std::log1p(std::exp(-std::fabs(z[0]))) + std::max(z[0], 0.0) - t * z[0]);
            r[0] = si * (p - t);
        } else {
            double zmax = *std::max_element(z.begin(), z.end()), s = 0;
            for (int64_t k = 0; k < kk; k++) s += std::exp(z[k] - zmax);
            *loss += si * (std::log(s) + zmax - z[D.y[i]]);
            for (int64_t k = 0; k < kk; k++) r[k] = si * (std::exp(z[k] - zmax) / s - (k == D.y[i]));
        }
        for (int64_t k = 0; k < kk; k++) {
            db[k] += r[k];
            for (int64_t j = 0; j < D.d; j++) dW[k * D.d + j] += r[k] * D.X[i * D.d + j];
        }
    }
}

mfs_model *fit(const Data &D, double C, double tol = 1e-4, int32_t max_iter = 100, int32_t fit_intercept = 1,
               const std::vector<float> *sw = nullptr) {
    mfs_logistic_regression_params p;
    mfs_logistic_regression_params_default(&p);
    p.C = C;
    p.tol = tol;
    p.max_iter = max_iter;
    p.fit_intercept = fit_intercept;
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_logistic_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_OK) << mfs_last_error();
    if (sw) {
        mfs_array wa = {(void *)sw->data(), MFS_DTYPE_FLOAT32, 1, {(int64_t)sw->size()}};
        EXPECT_EQ(mfs_model_set_array(m, "sample_weight", &wa), MFS_OK) << mfs_last_error();
    }
    mfs_array X = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    mfs_array y = {(void *)D.y.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    return m;
}

// D with row i repeated w[i] times (w integer-valued; 0 drops the row).
Data repeat(const Data &D, const std::vector<float> &w) {
    Data R{0, D.d, D.K, {}, {}};
    for (int64_t i = 0; i < D.n; i++)
        for (int c = 0; c < (int)w[i]; c++) {
            R.X.insert(R.X.end(), D.X.begin() + i * D.d, D.X.begin() + (i + 1) * D.d);
            R.y.push_back(D.y[i]);
            R.n++;
        }
    return R;
}

double max_abs_diff(const std::vector<float> &a, const std::vector<float> &b) {
    EXPECT_EQ(a.size(), b.size());
    double m = 0;
    for (size_t j = 0; j < a.size() && j < b.size(); j++) m = std::max(m, std::fabs((double)a[j] - b[j]));
    return m;
}

// Output of `method` for D.X, as floats or int32 (predict).
template <typename T>
std::vector<T> apply(const mfs_model *m, const Data &D, mfs_method method,
                     mfs_status (*f)(const mfs_model *, const mfs_array *, mfs_array *), int32_t *ndim = nullptr) {
    mfs_array X = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[4] = {0};
    EXPECT_EQ(mfs_output_shape(m, method, &X, &dt, &nd, shape), MFS_OK) << mfs_last_error();
    if (ndim) *ndim = nd;
    std::vector<T> o(D.n * (nd == 2 ? shape[1] : 1));
    mfs_array out = {o.data(), dt, nd, {shape[0], shape[1]}};
    EXPECT_EQ(f(m, &X, &out), MFS_OK) << mfs_last_error();
    return o;
}

struct GemmPath {  // force the GEMM path (min rows 1) or the row path, restore after
    int saved;
    explicit GemmPath(int min_rows) : saved(mfs__logreg_gemm_min_rows) { mfs__logreg_gemm_min_rows = min_rows; }
    ~GemmPath() { mfs__logreg_gemm_min_rows = saved; }
};
}  // namespace

TEST(LogisticRegression, LossAndGradientMatchNaiveDouble) {
    for (int64_t K : {2, 3, 7, 20}) {
        for (int path : {1, 1 << 20}) {  // every kk through the GEMM, then through the row kernels
            GemmPath force(path);
            Data D = make(2500, 37, K, 2.0, 10 + (unsigned)K);  // 2500 rows: several blocks and chunks
            int64_t kk = K == 2 ? 1 : K;
            std::mt19937 g(3);
            std::normal_distribution<float> N(0, 0.3f);
            std::vector<float> W(kk * D.d), b(kk);
            for (auto &w : W) w = N(g);
            for (auto &v : b) v = N(g);
            double loss, want_loss;
            std::vector<double> dW(kk * D.d), db(kk), want_dW, want_db;
            ASSERT_EQ(mfs__logreg_loss_grad(D.X.data(), D.y.data(), D.n, D.d, kk, W.data(), b.data(), &loss,
                                            dW.data(), db.data()), MFS_OK) << mfs_last_error();
            naive(D, kk, W, b, &want_loss, want_dW, want_db);
            // float32 decision values (|z| ~ 3, error ~ d * 6e-8 * |x||w|) and float32
            // residuals summed in float per block of rows: 1e-5 of the natural scale
            // (n for the loss; sum |x| = n * E|x| ~ n for the gradient) is float32 noise.
            expect_loss_grad_near(loss, want_loss, dW, want_dW, db, want_db, 1e-5 * D.n, K, path);
        }
    }
}

TEST(LogisticRegression, ConvergesToStationaryPoint) {
    for (int64_t K : {2, 4}) {
        Data D = make(3000, 10, K, 6.0, 20 + (unsigned)K);  // separable-ish: large sep
        const double C = 10.0;
        mfs_model *m = fit(D, C, 1e-6, 1000);
        int64_t kk = K == 2 ? 1 : K;
        auto W = get<float>(m, "coef");
        auto b = get<float>(m, "intercept");
        auto n_iter = get<int32_t>(m, "n_iter");
        ASSERT_EQ((int64_t)W.size(), kk * D.d);
        EXPECT_GT(n_iter[0], 0);
        EXPECT_LT(n_iter[0], 1000);
        // The gradient of (1/n)[sum loss + ||W||^2 / 2C] in double at the fitted
        // (float32-rounded) point: 1e-4 bounds tol plus the float32 rounding of the
        // coefficients (|w| ~ 10 -> 1e-6 each, times the Hessian's scale ~ 10).
        double loss;
        std::vector<double> dW, db;
        naive(D, kk, W, b, &loss, dW, db);
        double gmax = 0;
        for (size_t j = 0; j < dW.size(); j++) gmax = std::max(gmax, std::fabs((dW[j] + W[j] / C) / D.n));
        for (int64_t k = 0; k < kk; k++) gmax = std::max(gmax, std::fabs(db[k] / D.n));
        EXPECT_LT(gmax, 1e-4) << K;
        // labels carry Gumbel noise (Bayes accuracy ~0.9 at this sep): the fit
        // classifies most of them
        auto pred = apply<int32_t>(m, D, MFS_METHOD_PREDICT, mfs_predict);
        int64_t right = 0;
        for (int64_t i = 0; i < D.n; i++) right += pred[i] == D.y[i];
        EXPECT_GT((double)right / D.n, 0.85) << K;
        // multinomial intercepts are reported with zero mean
        if (kk > 1) {
            double s = 0;
            for (float v : b) s += v;
            EXPECT_NEAR(s, 0.0, 1e-5);
        }
        mfs_model_free(m);
    }
}

TEST(LogisticRegression, MethodsAgree) {
    for (int64_t K : {2, 5}) {
        Data D = make(400, 6, K, 2.0, 30 + (unsigned)K);
        mfs_model *m = fit(D, 1.0);
        int32_t nd;
        auto proba = apply<float>(m, D, MFS_METHOD_PREDICT_PROBA, mfs_predict_proba);
        auto logp = apply<float>(m, D, MFS_METHOD_PREDICT_LOG_PROBA, mfs_predict_log_proba);
        auto dec = apply<float>(m, D, MFS_METHOD_DECISION_FUNCTION, mfs_decision_function, &nd);
        auto pred = apply<int32_t>(m, D, MFS_METHOD_PREDICT, mfs_predict);
        EXPECT_EQ(nd, K == 2 ? 1 : 2);
        for (int64_t i = 0; i < D.n; i++) {
            const float *p = &proba[i * K];
            double s = 0;
            int32_t am = 0;
            for (int64_t k = 0; k < K; k++) {
                s += p[k];
                if (p[k] > p[am]) am = (int32_t)k;
                EXPECT_NEAR(logp[i * K + k], std::log(std::max(p[k], 1e-30f)), 1e-5 + 1e-5 * std::fabs(logp[i * K + k]));
            }
            EXPECT_NEAR(s, 1.0, 1e-6);
            ASSERT_EQ(pred[i], am) << "predict must be the argmax of predict_proba";
            if (K == 2) EXPECT_NEAR(p[1], 1.0 / (1.0 + std::exp(-(double)dec[i])), 1e-6);
        }
        mfs_model_free(m);
    }
    // Extreme decision values: probabilities saturate, log-probabilities stay finite.
    Data D = make(50, 2, 3, 1.0, 40);
    mfs_model *m = fit(D, 1.0);
    for (auto &v : D.X) v *= 1e6f;
    auto logp = apply<float>(m, D, MFS_METHOD_PREDICT_LOG_PROBA, mfs_predict_log_proba);
    for (float v : logp) EXPECT_TRUE(std::isfinite(v) && v <= 0);
    mfs_model_free(m);
}

// The CPU methods read X in blocks of rows, each checked just before it is
// used: over several blocks a row's outputs are the bits of that row
// predicted alone (both paths: row kernels and GEMM), and a NaN or infinity
// anywhere is the usual message naming the first one, for every method.
TEST(LogisticRegression, MethodsInCheckedBlocks) {
    const int32_t before = mfs_get_num_threads();
    for (int64_t K : {2, 5})
        for (int gemm : {0, 1}) {
            GemmPath path(gemm ? 1 : 1 << 30);
            Data D = make(5000, 50, K, 2.0, 70 + (unsigned)K);  // 1968-row blocks: 3 of them
            mfs_model *m = fit(D, 1.0);
            for (int threads : {1, 2}) {
                ASSERT_EQ(mfs_set_num_threads(threads), MFS_OK);
                auto proba = apply<float>(m, D, MFS_METHOD_PREDICT_PROBA, mfs_predict_proba);
                for (int64_t i : {(int64_t)0, (int64_t)1967, (int64_t)1968, (int64_t)4999}) {
                    Data one{1, D.d, K, std::vector<float>(D.X.begin() + i * D.d, D.X.begin() + (i + 1) * D.d), {0}};
                    auto p1 = apply<float>(m, one, MFS_METHOD_PREDICT_PROBA, mfs_predict_proba);
                    for (int64_t k = 0; k < K; k++) ASSERT_EQ(p1[(size_t)k], proba[(size_t)(i * K + k)]) << i;
                }
                Data bad = D;
                bad.X[(size_t)(4000 * D.d + 2)] = NAN;
                bad.X[(size_t)(4100 * D.d)] = INFINITY;
                const mfs_method methods[] = {MFS_METHOD_PREDICT, MFS_METHOD_PREDICT_PROBA, MFS_METHOD_PREDICT_LOG_PROBA,
                                              MFS_METHOD_DECISION_FUNCTION};
                mfs_status (*fns[])(const mfs_model *, const mfs_array *, mfs_array *) = {
                    mfs_predict, mfs_predict_proba, mfs_predict_log_proba, mfs_decision_function};
                const char *names[] = {"mfs_predict", "mfs_predict_proba", "mfs_predict_log_proba", "mfs_decision_function"};
                for (int f = 0; f < 4; f++) {
                    mfs_array X = {bad.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
                    mfs_dtype dt;
                    int32_t nd;
                    int64_t shape[4] = {0};
                    ASSERT_EQ(mfs_output_shape(m, methods[f], &X, &dt, &nd, shape), MFS_OK);
                    std::vector<double> o((size_t)(D.n * K));  // room for any of the outputs
                    mfs_array out = {o.data(), dt, nd, {shape[0], shape[1]}};
                    EXPECT_EQ(fns[f](m, &X, &out), MFS_E_VALUE) << names[f];
                    EXPECT_EQ(std::string(mfs_last_error()), std::string(names[f]) + ": X contains NaN at row 4000, column 2");
                }
            }
            mfs_model_free(m);
        }
    ASSERT_EQ(mfs_set_num_threads(before), MFS_OK);
}

TEST(LogisticRegression, SameBitsForEveryThreadCount) {
    Data D = make(20000, 20, 3, 2.0, 50);
    int32_t saved = mfs_get_num_threads();
    mfs_set_num_threads(1);
    mfs_model *a = fit(D, 1.0);
    mfs_set_num_threads(2);
    mfs_model *b = fit(D, 1.0);
    mfs_set_num_threads(saved);
    EXPECT_EQ(get<float>(a, "coef"), get<float>(b, "coef"));
    EXPECT_EQ(get<float>(a, "intercept"), get<float>(b, "intercept"));
    mfs_model_free(a);
    mfs_model_free(b);
}

TEST(LogisticRegression, NoInterceptAndNoPenalty) {
    Data D = make(300, 4, 2, 1.0, 60);
    mfs_model *m = fit(D, 1.0, 1e-4, 100, 0);
    auto b = get<float>(m, "intercept");
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0], 0.0f);
    mfs_model_free(m);
    mfs_model *u = fit(D, INFINITY, 1e-4, 200);  // C = inf: unpenalized, still finite on overlapping data
    for (float v : get<float>(u, "coef")) EXPECT_TRUE(std::isfinite(v));
    mfs_model_free(u);
}

TEST(LogisticRegression, BadParamsAndLabels) {
    mfs_logistic_regression_params p;
    mfs_logistic_regression_params_default(&p);
    EXPECT_EQ(p.C, 1.0);
    EXPECT_EQ(p.tol, 1e-4);
    EXPECT_EQ(p.max_iter, 100);
    EXPECT_EQ(p.fit_intercept, 1);
    mfs_model *m = nullptr;
    for (double C : {0.0, -1.0, (double)NAN}) {
        p.C = C;
        EXPECT_EQ(mfs_logistic_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
        EXPECT_NE(std::string(mfs_last_error()).find("C is"), std::string::npos) << mfs_last_error();
        EXPECT_EQ(m, nullptr);
    }
    mfs_logistic_regression_params_default(&p);
    p.tol = -1;
    EXPECT_EQ(mfs_logistic_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
    mfs_logistic_regression_params_default(&p);
    p.max_iter = -1;
    EXPECT_EQ(mfs_logistic_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
    EXPECT_STREQ(mfs_last_error(), "mfs_model_create: max_iter is -1, it must be >= 0");
    mfs_logistic_regression_params_default(&p);
    p.fit_intercept = 2;
    EXPECT_EQ(mfs_logistic_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);

    mfs_logistic_regression_params_default(&p);
    ASSERT_EQ(mfs_logistic_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    Data D = make(10, 3, 3, 1.0, 70);
    mfs_array X = {D.X.data(), MFS_DTYPE_FLOAT32, 2, {10, 3}};
    mfs_array y = {D.y.data(), MFS_DTYPE_INT32, 1, {10}};
    std::vector<int32_t> one(10, 0);
    mfs_array y1 = {one.data(), MFS_DTYPE_INT32, 1, {10}};
    EXPECT_EQ(mfs_fit(m, &X, &y1), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("at least 2 classes"), std::string::npos) << mfs_last_error();
    std::vector<int32_t> gap = {0, 2, 0, 2, 0, 2, 0, 2, 0, 2};  // class 1 missing
    mfs_array yg = {gap.data(), MFS_DTYPE_INT32, 1, {10}};
    EXPECT_EQ(mfs_fit(m, &X, &yg), MFS_E_VALUE);
    EXPECT_STREQ(mfs_last_error(), "mfs_fit: class 1 has no samples; labels must be 0..2 with every class present");
    std::vector<int32_t> neg = D.y;
    neg[3] = -1;
    mfs_array yn = {neg.data(), MFS_DTYPE_INT32, 1, {10}};
    EXPECT_EQ(mfs_fit(m, &X, &yn), MFS_E_VALUE);
    std::vector<int32_t> big = D.y;
    big[3] = 50;
    mfs_array yb = {big.data(), MFS_DTYPE_INT32, 1, {10}};
    EXPECT_EQ(mfs_fit(m, &X, &yb), MFS_E_VALUE);
    std::vector<float> yf(10, 1.0f);
    mfs_array yfa = {yf.data(), MFS_DTYPE_FLOAT32, 1, {10}};
    EXPECT_EQ(mfs_fit(m, &X, &yfa), MFS_E_UNSUPPORTED);
    mfs_array ys = {D.y.data(), MFS_DTYPE_INT32, 1, {9}};
    EXPECT_EQ(mfs_fit(m, &X, &ys), MFS_E_SHAPE);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_E_INVALID_ARG);
    float o[30];
    mfs_array out = {o, MFS_DTYPE_FLOAT32, 2, {10, 3}};
    EXPECT_EQ(mfs_predict_proba(m, &X, &out), MFS_E_NOT_FITTED);
    ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    EXPECT_EQ(mfs_predict_proba(m, &X, &out), MFS_OK);
    mfs_array Xw = {D.X.data(), MFS_DTYPE_FLOAT32, 2, {5, 2}}, out5 = {o, MFS_DTYPE_FLOAT32, 2, {5, 3}};
    EXPECT_EQ(mfs_predict_proba(m, &Xw, &out5), MFS_E_SHAPE);
    EXPECT_STREQ(mfs_last_error(), "mfs_predict_proba: X has 2 columns, the model was fitted on 3");
    mfs_array wrong = {o, MFS_DTYPE_FLOAT32, 2, {10, 2}};
    EXPECT_EQ(mfs_predict_proba(m, &X, &wrong), MFS_E_SHAPE);
    EXPECT_EQ(mfs_transform(m, &X, &out), MFS_E_UNSUPPORTED);
    mfs_model_free(m);
}

// ---- model files -----------------------------------------------------------------

TEST(LogisticRegressionFile, RoundTrip) {
    for (int64_t K : {2, 4}) {
        Data D = make(200, 5, K, 2.0, 80 + (unsigned)K);
        mfs_model *m = fit(D, 0.5);
        auto buf = save(m);
        mfs_model *m2 = nullptr;
        ASSERT_EQ(mfs_model_load_buffer(buf.data(), buf.size(), MFS_DEVICE_CPU, &m2), MFS_OK) << mfs_last_error();
        EXPECT_EQ((apply<float>(m, D, MFS_METHOD_PREDICT_PROBA, mfs_predict_proba)),
                  (apply<float>(m2, D, MFS_METHOD_PREDICT_PROBA, mfs_predict_proba)));  // bitwise
        EXPECT_EQ((apply<int32_t>(m, D, MFS_METHOD_PREDICT, mfs_predict)),
                  (apply<int32_t>(m2, D, MFS_METHOD_PREDICT, mfs_predict)));
        mfs_logistic_regression_params p;
        ASSERT_EQ(mfs_model_get_params(m2, &p, sizeof p), MFS_OK);
        EXPECT_EQ(p.C, 0.5);
        std::string path = ::testing::TempDir() + "logreg.mfs";
        ASSERT_EQ(mfs_model_save(m, path.c_str()), MFS_OK);
        mfs_model *m3 = nullptr;
        ASSERT_EQ(mfs_model_load(path.c_str(), MFS_DEVICE_CPU, &m3), MFS_OK);
        EXPECT_EQ((apply<float>(m, D, MFS_METHOD_DECISION_FUNCTION, mfs_decision_function)),
                  (apply<float>(m3, D, MFS_METHOD_DECISION_FUNCTION, mfs_decision_function)));
        mfs_model_free(m);
        mfs_model_free(m2);
        mfs_model_free(m3);
    }
}

TEST(LogisticRegressionFile, TruncatedAtEveryOffset) {
    Data D = make(30, 3, 3, 1.0, 90);
    mfs_model *m = fit(D, 1.0);
    auto buf = save(m);
    for (size_t len = 0; len < buf.size(); len++) {
        std::vector<unsigned char> cut(buf.begin(), buf.begin() + len);
        mfs_model *out = nullptr;
        ASSERT_EQ(mfs_model_load_buffer(cut.data(), cut.size(), MFS_DEVICE_CPU, &out), MFS_E_FORMAT) << "length " << len;
        ASSERT_EQ(out, nullptr);
    }
    mfs_model_free(m);
}

// ---- sample_weight -----------------------------------------------------------------

TEST(LogisticRegressionWeights, LossAndGradientMatchNaiveDouble) {
    for (int64_t K : {2, 3, 20}) {
        for (int path : {1, 1 << 20}) {  // GEMM path, then row kernels
            GemmPath force(path);
            Data D = make(2500, 37, K, 2.0, 110 + (unsigned)K);
            int64_t kk = K == 2 ? 1 : K;
            std::mt19937 g(5);
            std::normal_distribution<float> N(0, 0.3f);
            std::uniform_real_distribution<float> U(0.0f, 3.0f);
            std::vector<float> W(kk * D.d), b(kk), sw(D.n);
            for (auto &w : W) w = N(g);
            for (auto &v : b) v = N(g);
            for (int64_t i = 0; i < D.n; i++) sw[i] = i % 7 == 0 ? 0.0f : U(g);  // some exact zeros
            double loss, want_loss;
            std::vector<double> dW(kk * D.d), db(kk), want_dW, want_db;
            ASSERT_EQ(mfs__logreg_loss_grad_weighted(D.X.data(), D.y.data(), sw.data(), D.n, D.d, kk, W.data(),
                                                     b.data(), &loss, dW.data(), db.data()), MFS_OK) << mfs_last_error();
            naive(D, kk, W, b, &want_loss, want_dW, want_db, &sw);
            // as the unweighted test: float32 decision values and residuals, now
            // times weights <= 3, so 3e-5 of n is float32 noise
            expect_loss_grad_near(loss, want_loss, dW, want_dW, db, want_db, 3e-5 * D.n, K, path);
            // the weighted sums differ from the unweighted ones (weights are used)
            double uloss;
            std::vector<double> udW(kk * D.d), udb(kk);
            ASSERT_EQ(mfs__logreg_loss_grad(D.X.data(), D.y.data(), D.n, D.d, kk, W.data(), b.data(), &uloss,
                                            udW.data(), udb.data()), MFS_OK);
            EXPECT_GT(std::fabs(uloss - loss), 1e-2 * D.n) << K;
        }
    }
}

TEST(LogisticRegressionWeights, OnesGiveTheUnweightedBits) {
    for (int64_t K : {2, 4, 20}) {  // 20: the GEMM path at the default threshold
        Data D = make(3000, 12, K, 2.0, 120 + (unsigned)K);
        std::vector<float> ones(D.n, 1.0f);
        mfs_model *a = fit(D, 0.5);
        mfs_model *b = fit(D, 0.5, 1e-4, 100, 1, &ones);
        // s_i = 1 multiplies by exactly 1 and S = n exactly: the same arithmetic
        EXPECT_EQ(get<float>(a, "coef"), get<float>(b, "coef")) << K;
        EXPECT_EQ(get<float>(a, "intercept"), get<float>(b, "intercept")) << K;
        EXPECT_EQ(get<int32_t>(a, "n_iter"), get<int32_t>(b, "n_iter")) << K;
        mfs_model_free(a);
        mfs_model_free(b);
    }
}

TEST(LogisticRegressionWeights, IntegerWeightsAreRepeatedRowsAndZerosDropRows) {
    for (int64_t K : {2, 3}) {
        Data D = make(600, 6, K, 2.0, 130 + (unsigned)K);
        std::mt19937 g(7);
        std::uniform_int_distribution<int> U(0, 3);
        std::vector<float> w(D.n);
        for (auto &v : w) v = (float)U(g);
        for (int64_t k = 0; k < K; k++) w[k] = 1.0f;  // every class keeps a row
        Data R = repeat(D, w);
        const double C = 0.7;
        // tight tolerance: both fits stop at max |grad| <= 1e-7 of the same
        // objective (same S, same sums up to float32 summation order)
        mfs_model *mw = fit(D, C, 1e-7, 1000, 1, &w);
        mfs_model *mr = fit(R, C, 1e-7, 1000);
        auto cw = get<float>(mw, "coef"), cr = get<float>(mr, "coef");
        double scale = 0;
        for (float v : cr) scale = std::max(scale, (double)std::fabs(v));
        // float32 gradients (~1e-6 relative, see ConvergesToStationaryPoint)
        // times the well-conditioned Hessian: 1e-4 relative is the bar
        EXPECT_LT(max_abs_diff(cw, cr), 1e-4 * scale) << K;
        EXPECT_LT(max_abs_diff(get<float>(mw, "intercept"), get<float>(mr, "intercept")), 1e-4 * std::max(1.0, scale)) << K;
        // the fit really used the weights: the unweighted coefficients differ by more
        mfs_model *mu = fit(D, C, 1e-7, 1000);
        EXPECT_GT(max_abs_diff(get<float>(mu, "coef"), cr), 1e-2 * scale) << K;
        // zero-weight rows carry no information: arbitrary X values there change nothing
        Data Z = D;
        for (int64_t i = 0; i < D.n; i++)
            if (w[i] == 0)
                for (int64_t j = 0; j < D.d; j++) Z.X[i * D.d + j] = 1e3f * (float)(j + 1);
        mfs_model *mz = fit(Z, C, 1e-7, 1000, 1, &w);
        EXPECT_LT(max_abs_diff(get<float>(mz, "coef"), cw), 1e-4 * scale) << K;
        mfs_model_free(mw);
        mfs_model_free(mr);
        mfs_model_free(mu);
        mfs_model_free(mz);
    }
}

TEST(LogisticRegressionWeights, ConvergesToWeightedStationaryPoint) {
    for (int64_t K : {2, 4}) {
        Data D = make(2000, 8, K, 4.0, 140 + (unsigned)K);
        int64_t kk = K == 2 ? 1 : K;
        std::mt19937 g(9);
        std::uniform_real_distribution<float> U(0.0f, 5.0f);
        std::vector<float> w(D.n);
        for (auto &v : w) v = U(g);
        double S = 0;
        for (float v : w) S += v;
        const double C = 3.0;
        mfs_model *m = fit(D, C, 1e-6, 1000, 1, &w);
        auto W = get<float>(m, "coef");
        auto b = get<float>(m, "intercept");
        // gradient of (1/S)[sum s_i loss_i + ||W||^2 / 2C] in double at the fit:
        // tol plus float32 rounding of the coefficients, as the unweighted test
        double loss;
        std::vector<double> dW, db;
        naive(D, kk, W, b, &loss, dW, db, &w);
        double gmax = 0;
        for (size_t j = 0; j < dW.size(); j++) gmax = std::max(gmax, std::fabs((dW[j] + W[j] / C) / S));
        for (int64_t k = 0; k < kk; k++) gmax = std::max(gmax, std::fabs(db[k] / S));
        EXPECT_LT(gmax, 1e-4) << K;
        // C multiplies the data term against the penalty, so weights 10 s_i with C
        // have the optimum of weights s_i with 10 C:
        // sum 10 s_i loss_i + ||W||^2 / 2C = 10 [sum s_i loss_i + ||W||^2 / (2 * 10 C)]
        std::vector<float> w10(w);
        for (auto &v : w10) v *= 10.0f;
        mfs_model *m10 = fit(D, C, 1e-7, 1000, 1, &w10);
        mfs_model *m1 = fit(D, 10 * C, 1e-7, 1000, 1, &w);
        double scale = 0;
        for (float v : get<float>(m1, "coef")) scale = std::max(scale, (double)std::fabs(v));
        EXPECT_LT(max_abs_diff(get<float>(m10, "coef"), get<float>(m1, "coef")), 1e-4 * scale) << K;
        mfs_model_free(m);
        mfs_model_free(m10);
        mfs_model_free(m1);
    }
}

TEST(LogisticRegressionWeights, BadWeightsAreClearErrors) {
    mfs_logistic_regression_params p;
    mfs_logistic_regression_params_default(&p);
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_logistic_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    Data D = make(10, 3, 3, 1.0, 150);
    mfs_array X = {D.X.data(), MFS_DTYPE_FLOAT32, 2, {10, 3}};
    mfs_array y = {D.y.data(), MFS_DTYPE_INT32, 1, {10}};
    std::vector<float> w(10, 1.0f);
    mfs_array wa = {w.data(), MFS_DTYPE_FLOAT32, 1, {10}};
    w[3] = -1.0f;
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wa), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("sample_weight[3]"), std::string::npos) << mfs_last_error();
    // NaN: float32 inputs are refused by mfs_model_set_array itself, float64 by the fit
    std::vector<double> wnan(10, 1.0);
    wnan[4] = NAN;
    mfs_array wna = {wnan.data(), MFS_DTYPE_FLOAT64, 1, {10}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wna), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("sample_weight[4] = nan, weights must be finite"), std::string::npos)
        << mfs_last_error();
    w[3] = NAN;
    EXPECT_EQ(mfs_model_set_array(m, "sample_weight", &wa), MFS_E_VALUE);
    std::fill(w.begin(), w.end(), 0.0f);  // mfs_model_set_array copies: set again after each change
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wa), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_VALUE);
    EXPECT_STREQ(mfs_last_error(), "mfs_fit: sample_weight sums to 0; at least one weight must be > 0");
    mfs_array wshort = {w.data(), MFS_DTYPE_FLOAT32, 1, {9}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wshort), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_SHAPE);
    EXPECT_NE(std::string(mfs_last_error()).find("rows of X"), std::string::npos) << mfs_last_error();
    std::vector<double> big(10, 1.0);
    big[2] = 1e300;  // finite in float64, not in float32
    mfs_array wbig = {big.data(), MFS_DTYPE_FLOAT64, 1, {10}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wbig), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("float32"), std::string::npos) << mfs_last_error();
    std::vector<int32_t> wi(10, 1);
    mfs_array wint = {wi.data(), MFS_DTYPE_INT32, 1, {10}};
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wint), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_SHAPE);
    // float64 weights are accepted (used as float32); removing the input fits unweighted
    std::fill(big.begin(), big.end(), 2.0);
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", &wbig), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    ASSERT_EQ(mfs_model_set_array(m, "sample_weight", nullptr), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    mfs_model_free(m);
}

// ---- warm start: the optional inputs "coef_init" and "intercept_init" -------------

TEST(LogisticRegressionWarmStart, StartsWhereItIsToldAndReachesTheSameOptimum) {
    for (int64_t K : {2, 4}) {
        for (int scaled : {0, 1}) {
            Data D = make(600, 7, K, 2.0, 170 + (unsigned)K);
            // scaled: columns 2^-12 .. 2^12 apart, so the power-of-two preconditioner
            // is on and the start must be mapped into its variables W' = W 2^e
            if (scaled)
                for (int64_t i = 0; i < D.n; i++)
                    for (int64_t j = 0; j < D.d; j++) D.X[i * D.d + j] *= std::ldexp(1.0f, (int)(4 * j) - 12);
            const int64_t kk = K == 2 ? 1 : K;
            mfs_model *cold = fit(D, 1.0, 1e-6, 1000);
            auto W = get<float>(cold, "coef");
            auto b = get<float>(cold, "intercept");
            const int32_t cold_iter = get<int32_t>(cold, "n_iter")[0];
            EXPECT_GT(cold_iter, 2) << K << " " << scaled;
            mfs_logistic_regression_params p;
            mfs_logistic_regression_params_default(&p);
            p.tol = 1e-6;
            p.max_iter = 1000;
            mfs_model *m = nullptr;
            ASSERT_EQ(mfs_logistic_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
            mfs_array ca = {W.data(), MFS_DTYPE_FLOAT32, 2, {kk, D.d}};
            mfs_array ia = {b.data(), MFS_DTYPE_FLOAT32, 1, {kk}};
            ASSERT_EQ(mfs_model_set_array(m, "coef_init", &ca), MFS_OK) << mfs_last_error();
            ASSERT_EQ(mfs_model_set_array(m, "intercept_init", &ia), MFS_OK) << mfs_last_error();
            mfs_array X = {D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
            mfs_array y = {D.y.data(), MFS_DTYPE_INT32, 1, {D.n}};
            ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
            // started at the optimum (up to float32 rounding of the coefficients):
            // a step or two at most, and the same point within the rounding
            EXPECT_LE(get<int32_t>(m, "n_iter")[0], 2) << K << " " << scaled;
            auto W2 = get<float>(m, "coef");
            double wmax = 0, err = 0;
            for (size_t j = 0; j < W.size(); j++) {
                wmax = std::max(wmax, (double)std::fabs(W[j]));
                err = std::max(err, (double)std::fabs(W2[j] - W[j]));
            }
            EXPECT_LT(err, 1e-4 * wmax) << K << " " << scaled;
            // from another point (the optimum at C = 0.05: a regularization path,
            // what warm starts are for) it converges to this optimum too
            mfs_model *other = fit(D, 0.05, 1e-6, 1000);
            auto far = get<float>(other, "coef");
            auto farb = get<float>(other, "intercept");
            mfs_model_free(other);
            mfs_array fa = {far.data(), MFS_DTYPE_FLOAT32, 2, {kk, D.d}};
            mfs_array fb = {farb.data(), MFS_DTYPE_FLOAT32, 1, {kk}};
            ASSERT_EQ(mfs_model_set_array(m, "coef_init", &fa), MFS_OK);
            ASSERT_EQ(mfs_model_set_array(m, "intercept_init", &fb), MFS_OK);
            ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
            EXPECT_GT(get<int32_t>(m, "n_iter")[0], 0);
            EXPECT_LT(get<int32_t>(m, "n_iter")[0], cold_iter + 5) << K << " " << scaled;
            auto W3 = get<float>(m, "coef");
            err = 0;
            for (size_t j = 0; j < W.size(); j++) err = std::max(err, (double)std::fabs(W3[j] - W[j]));
            // both stopped at tol 1e-6 on the (preconditioned) gradient
            EXPECT_LT(err, 1e-3 * wmax) << K << " " << scaled;
            // max_iter = 0: the coefficients are the start itself
            p.max_iter = 0;
            mfs_model *z = nullptr;
            ASSERT_EQ(mfs_logistic_regression_create(&p, MFS_DEVICE_CPU, &z), MFS_OK);
            ASSERT_EQ(mfs_model_set_array(z, "coef_init", &fa), MFS_OK);
            ASSERT_EQ(mfs_fit(z, &X, &y), MFS_OK) << mfs_last_error();
            auto W4 = get<float>(z, "coef");
            for (size_t j = 0; j < W.size(); j++) EXPECT_EQ(W4[j], far[j]);
            mfs_model_free(z);
            mfs_model_free(m);
            mfs_model_free(cold);
        }
    }
}

TEST(LogisticRegressionWarmStart, BadStartsAreClearErrors) {
    Data D = make(50, 3, 3, 1.0, 190);
    mfs_array X = {D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    mfs_array y = {D.y.data(), MFS_DTYPE_INT32, 1, {D.n}};
    mfs_logistic_regression_params p;
    mfs_logistic_regression_params_default(&p);
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_logistic_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    std::vector<float> c(3 * 3, 0.5f), b(3, 0.0f);
    mfs_array wrong = {c.data(), MFS_DTYPE_FLOAT32, 2, {1, 3}};  // binary's shape for 3 classes
    ASSERT_EQ(mfs_model_set_array(m, "coef_init", &wrong), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_SHAPE);
    EXPECT_NE(std::string(mfs_last_error()).find("coef_init must be float32 of shape (3, 3)"), std::string::npos)
        << mfs_last_error();
    mfs_array ok = {c.data(), MFS_DTYPE_FLOAT32, 2, {3, 3}};
    mfs_array bi = {b.data(), MFS_DTYPE_FLOAT32, 1, {2}};
    ASSERT_EQ(mfs_model_set_array(m, "coef_init", &ok), MFS_OK);
    ASSERT_EQ(mfs_model_set_array(m, "intercept_init", &bi), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_SHAPE);
    EXPECT_NE(std::string(mfs_last_error()).find("intercept_init must be float32 of shape (3,)"), std::string::npos)
        << mfs_last_error();
    ASSERT_EQ(mfs_model_set_array(m, "coef_init", nullptr), MFS_OK);
    mfs_array bok = {b.data(), MFS_DTYPE_FLOAT32, 1, {3}};
    ASSERT_EQ(mfs_model_set_array(m, "intercept_init", &bok), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_INVALID_ARG);
    EXPECT_NE(std::string(mfs_last_error()).find("without coef_init"), std::string::npos) << mfs_last_error();
    // NaN in a float64 start (float32 NaN is refused by mfs_model_set_array itself)
    std::vector<double> cd(9, 0.0);
    cd[4] = NAN;
    mfs_array cda = {cd.data(), MFS_DTYPE_FLOAT64, 2, {3, 3}};
    ASSERT_EQ(mfs_model_set_array(m, "intercept_init", nullptr), MFS_OK);
    ASSERT_EQ(mfs_model_set_array(m, "coef_init", &cda), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_SHAPE);  // float32 only
    c[4] = NAN;
    EXPECT_EQ(mfs_model_set_array(m, "coef_init", &ok), MFS_E_VALUE);
    mfs_model_free(m);
    // intercept_init without an intercept to fit
    p.fit_intercept = 0;
    ASSERT_EQ(mfs_logistic_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    c[4] = 0.5f;
    ASSERT_EQ(mfs_model_set_array(m, "coef_init", &ok), MFS_OK);
    ASSERT_EQ(mfs_model_set_array(m, "intercept_init", &bok), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_INVALID_ARG);
    EXPECT_NE(std::string(mfs_last_error()).find("fit_intercept is 0"), std::string::npos) << mfs_last_error();
    ASSERT_EQ(mfs_model_set_array(m, "intercept_init", nullptr), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    mfs_model_free(m);
}
