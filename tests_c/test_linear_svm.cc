// LinearSVC (dual coordinate descent): optimality of the primal it returns
// (gradient of the smooth squared-hinge objective; objective against a much
// tighter solve for the hinge loss), one-vs-rest decisions against a naive
// evaluation, seeding, bad input, and the model file.
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
    std::vector<int32_t> y;
};

Data blobs(int64_t n, int64_t d, int64_t K, float spread, unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<float> N(0, 1);
    std::vector<float> c(K * d);
    for (auto &v : c) v = spread * N(g);
    Data D{n, d, K, std::vector<float>(n * d), std::vector<int32_t>(n)};
    for (int64_t i = 0; i < n; i++) {
        D.y[i] = (int32_t)(i % K);
        for (int64_t j = 0; j < d; j++) D.X[i * d + j] = c[D.y[i] * d + j] + N(g);
    }
    return D;
}

mfs_linear_svm_params params(int loss = 1, double tol = 1e-4) {
    mfs_linear_svm_params p;
    mfs_linear_svm_params_default(&p);
    p.loss = loss;
    p.tol = tol;
    p.max_iter = 100000;
    return p;
}

mfs_model *fit(const Data &D, const mfs_linear_svm_params &p) {
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_linear_svm_create(&p, MFS_DEVICE_CPU, &m), MFS_OK) << mfs_last_error();
    mfs_array X = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    mfs_array y = {(void *)D.y.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    return m;
}

// Primal objective 1/2 (|w|^2 + b^2) + C sum loss(1 - y (w.x + b)) of one
// binary problem, b the intercept (intercept_scaling 1: the constant
// feature's weight is b and is regularized), and its gradient (squared hinge).
double primal(const Data &D, const std::vector<double> &w, double b, double C, int loss, std::vector<double> *grad) {
    double obj = 0.5 * b * b;
    for (double v : w) obj += 0.5 * v * v;
    if (grad) {
        grad->assign(D.d + 1, 0.0);
        for (int64_t j = 0; j < D.d; j++) (*grad)[j] = w[j];
        (*grad)[D.d] = b;
    }
    for (int64_t i = 0; i < D.n; i++) {
        const double y = D.y[i] == 1 ? 1.0 : -1.0;
        double f = b;
        for (int64_t j = 0; j < D.d; j++) f += w[j] * D.X[i * D.d + j];
        const double xi = std::max(0.0, 1 - y * f);
        obj += C * (loss == 1 ? xi * xi : xi);
        if (grad && xi > 0) {
            for (int64_t j = 0; j < D.d; j++) (*grad)[j] -= 2 * C * xi * y * D.X[i * D.d + j];
            (*grad)[D.d] -= 2 * C * xi * y;
        }
    }
    return obj;
}
}  // namespace

TEST(LinearSvm, SquaredHingeGradientVanishes) {
    Data D = blobs(400, 6, 2, 0.8f, 1);
    mfs_model *m = fit(D, params(1, 1e-6));
    auto coef = get<double>(m, "coef");
    auto b = get<double>(m, "intercept");
    ASSERT_EQ(coef.size(), (size_t)D.d);
    std::vector<double> g;
    primal(D, coef, b[0], 1.0, 1, &g);
    double gn = 0, wn = 0;
    for (double v : g) gn += v * v;
    for (double v : coef) wn += v * v;
    // the dual's projected gradient below 1e-6 bounds the primal gradient by
    // ~ sqrt(n) * 1e-6 * max |x| scale: 1e-4 of |w| leaves room
    EXPECT_LT(std::sqrt(gn), 1e-4 * std::sqrt(wn + b[0] * b[0])) << std::sqrt(gn);
    mfs_model_free(m);
}

// The primal solver stops at liblinear's rule |g| <= eps |g(0)|, eps = tol *
// max(min(n+, n-), 1) / n: check it with the objective's own gradient, and
// that it reaches the dual's optimum (the same strictly convex problem).
TEST(LinearSvm, PrimalNewtonMeetsItsStoppingRule) {
    Data D = blobs(400, 6, 2, 0.8f, 1);
    mfs_linear_svm_params pp = params(1, 1e-6);
    pp.solver = MFS_LINEAR_SVM_SOLVER_PRIMAL;
    pp.max_iter = 1000;
    mfs_model *m = fit(D, pp), *dual = fit(D, params(1, 1e-8));
    auto coef = get<double>(m, "coef");
    auto b = get<double>(m, "intercept");
    std::vector<double> g, g0;
    primal(D, coef, b[0], 1.0, 1, &g);
    primal(D, std::vector<double>(D.d, 0.0), 0.0, 1.0, 1, &g0);
    double gn = 0, gn0 = 0;
    for (double v : g) gn += v * v;
    for (double v : g0) gn0 += v * v;
    const double eps = 1e-6 * 200.0 / 400.0; // 200 rows a side
    EXPECT_LE(std::sqrt(gn), eps * std::sqrt(gn0)) << std::sqrt(gn) << " vs " << std::sqrt(gn0);
    const int32_t it = get<int32_t>(m, "n_iter")[0];
    EXPECT_GE(it, 1);
    EXPECT_LT(it, 50); // Newton: a handful of iterations (measured 8 here)
    auto cd = get<double>(dual, "coef");
    double scale = 0;
    for (double v : cd) scale = std::max(scale, std::fabs(v));
    for (int64_t j = 0; j < D.d; j++) EXPECT_NEAR(coef[j], cd[j], 1e-4 * scale) << j; // both near the optimum
    EXPECT_NEAR(b[0], get<double>(dual, "intercept")[0], 1e-4 * scale);
    mfs_model_free(m);
    mfs_model_free(dual);
}

TEST(LinearSvm, HingeObjectiveMatchesATighterSolve) {
    Data D = blobs(300, 5, 2, 0.7f, 2);
    mfs_model *a = fit(D, params(0, 1e-3)), *b = fit(D, params(0, 1e-9));
    const double fa = primal(D, get<double>(a, "coef"), get<double>(a, "intercept")[0], 1.0, 0, nullptr);
    const double fb = primal(D, get<double>(b, "coef"), get<double>(b, "intercept")[0], 1.0, 0, nullptr);
    EXPECT_GE(fa, fb * (1 - 1e-9));  // the tighter solve is at least as good
    // duality gap of a tol-1e-3 solve: a few 1e-4 relative on this problem
    EXPECT_LT((fa - fb) / fb, 1e-3);
    mfs_model_free(a);
    mfs_model_free(b);
}

TEST(LinearSvm, OneVsRestDecisionsAndSeed) {
    Data D = blobs(300, 4, 3, 2.0f, 3);
    mfs_linear_svm_params p = params();
    p.random_state = 5;
    mfs_model *m = fit(D, p), *same = fit(D, p);
    auto coef = get<double>(m, "coef");
    auto b = get<double>(m, "intercept");
    ASSERT_EQ(coef.size(), (size_t)(3 * D.d));
    EXPECT_EQ(coef, get<double>(same, "coef"));  // same seed, same coordinate order
    std::vector<float> dec(D.n * 3);
    std::vector<int32_t> lab(D.n);
    mfs_array X = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    mfs_array Dc = {dec.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 3}}, L = {lab.data(), MFS_DTYPE_INT32, 1, {D.n}};
    ASSERT_EQ(mfs_decision_function(m, &X, &Dc), MFS_OK) << mfs_last_error();
    ASSERT_EQ(mfs_predict(m, &X, &L), MFS_OK);
    int64_t correct = 0;
    for (int64_t i = 0; i < D.n; i++) {
        int best = 0;
        double bv = -1e300;
        for (int k = 0; k < 3; k++) {
            double v = b[k];
            for (int64_t j = 0; j < D.d; j++) v += coef[k * D.d + j] * D.X[i * D.d + j];
            EXPECT_NEAR(dec[i * 3 + k], v, 1e-6 * (1 + std::fabs(v)));  // float32 output of a double sum
            if (v > bv) {
                bv = v;
                best = k;
            }
        }
        EXPECT_EQ(lab[i], best);
        correct += lab[i] == D.y[i];
    }
    EXPECT_GE(correct, D.n * 9 / 10);  // well-separated blobs
    mfs_model_free(m);
    mfs_model_free(same);
}

TEST(LinearSvm, BadInputAndFile) {
    Data D = blobs(60, 3, 2, 1.0f, 4);
    mfs_model *m = nullptr;
    struct Case {
        void (*set)(mfs_linear_svm_params &);
        const char *what;
    } cases[] = {
        {[](mfs_linear_svm_params &p) { p.C = 0; }, "C is 0"},
        {[](mfs_linear_svm_params &p) { p.tol = -1; }, "tol is -1"},
        {[](mfs_linear_svm_params &p) { p.loss = 4; }, "loss is 4"},
        {[](mfs_linear_svm_params &p) { p.max_iter = 0; }, "max_iter is 0"},
        {[](mfs_linear_svm_params &p) { p.intercept_scaling = 0; }, "intercept_scaling is 0"},
        {[](mfs_linear_svm_params &p) { p.fit_intercept = 2; }, "fit_intercept is 2"},
        {[](mfs_linear_svm_params &p) { p.solver = 2; }, "solver is 2"},
        {[](mfs_linear_svm_params &p) { p.solver = 1; p.loss = 0; }, "primal solver needs loss 1"},
    };
    for (const Case &c : cases) {
        mfs_linear_svm_params p = params();
        c.set(p);
        EXPECT_EQ(mfs_linear_svm_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG) << c.what;
        EXPECT_NE(std::string(mfs_last_error()).find(c.what), std::string::npos) << mfs_last_error();
    }
    mfs_linear_svm_params p = params();
    ASSERT_EQ(mfs_linear_svm_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array X = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    std::vector<int32_t> one(D.n, 1);
    mfs_array y1 = {one.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_fit(m, &X, &y1), MFS_E_VALUE);  // labels 1 only: class 0 has no samples
    std::vector<int32_t> zero(D.n, 0);
    mfs_array y0 = {zero.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_fit(m, &X, &y0), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("single class"), std::string::npos) << mfs_last_error();
    std::vector<float> nan = D.X;
    nan[4] = NAN;
    mfs_array Xn = {nan.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    mfs_array y = {(void *)D.y.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_fit(m, &Xn, &y), MFS_E_VALUE);
    ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    auto buf = save(m);
    mfs_model *l = nullptr;
    ASSERT_EQ(mfs_model_load_buffer(buf.data(), buf.size(), MFS_DEVICE_CPU, &l), MFS_OK) << mfs_last_error();
    EXPECT_EQ(get<double>(l, "coef"), get<double>(m, "coef"));
    mfs_model_free(l);
    for (size_t len = 0; len < buf.size(); len += 3) {
        mfs_model *out = nullptr;
        ASSERT_EQ(mfs_model_load_buffer(buf.data(), len, MFS_DEVICE_CPU, &out), MFS_E_FORMAT) << len;
    }
    mfs_model_free(m);
}
