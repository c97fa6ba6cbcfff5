// Linear Regression / Ridge: exact recovery, against a naive double solve,
// rank deficiency, multi-target, and the model file (round trip and hostile input).
#include <gtest/gtest.h>
#include "testing.h"
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>
extern "C" {
#include "mfs/mfs.h"
}

namespace {
struct Data {
    int64_t n, d, t;
    std::vector<float> X, Y;
};

// y = X w + b + noise with w_j = j - d/2, b = 3.
Data make(int64_t n, int64_t d, int64_t t, double noise, unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<float> N(0, 1);
    Data D{n, d, t, std::vector<float>(n * d), std::vector<float>(n * t)};
    for (auto &v : D.X) v = N(g) * 2 + 5;  // non-zero mean: exercises centering
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < t; k++) {
            double acc = 3.0 + k;
            for (int64_t j = 0; j < d; j++) acc += D.X[i * d + j] * ((double)j - d / 2.0 + k);
            D.Y[i * t + k] = (float)(acc + noise * N(g));
        }
    return D;
}

mfs_model *fit(const Data &D, double alpha, int solver, bool y2d, int fit_intercept = 1) {
    mfs_linear_regression_params p;
    mfs_linear_regression_params_default(&p);
    p.alpha = alpha;
    p.solver = solver;
    p.fit_intercept = fit_intercept;
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_linear_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_OK) << mfs_last_error();
    mfs_array X = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    mfs_array y = {(void *)D.Y.data(), MFS_DTYPE_FLOAT32, y2d ? 2 : 1, {D.n, D.t}};
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    return m;
}

std::vector<float> get(const mfs_model *m, const char *name) {
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[4];
    EXPECT_EQ(mfs_model_array_info(m, name, &dt, &nd, shape), MFS_OK);
    int64_t numel = 1;
    for (int i = 0; i < nd; i++) numel *= shape[i];
    std::vector<float> v(numel);
    mfs_array out = {v.data(), dt, nd, {shape[0], shape[1], shape[2], shape[3]}};
    EXPECT_EQ(mfs_model_get_array(m, name, &out), MFS_OK) << mfs_last_error();
    return v;
}

std::vector<float> predict(const mfs_model *m, const Data &D) {
    mfs_array X = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[4];
    EXPECT_EQ(mfs_output_shape(m, MFS_METHOD_PREDICT, &X, &dt, &nd, shape), MFS_OK);
    std::vector<float> o(D.n * (nd == 2 ? shape[1] : 1));
    mfs_array out = {o.data(), dt, nd, {shape[0], shape[1]}};
    EXPECT_EQ(mfs_predict(m, &X, &out), MFS_OK) << mfs_last_error();
    return o;
}
}  // namespace

TEST(LinearRegression, RecoversExactCoefficients) {
    for (int64_t d : {1, 3, 17, 64}) {
        Data D = make(500, d, 1, 0.0, 1);
        for (int solver : {0, 1, 2}) {
            mfs_model *m = fit(D, 0.0, solver, false);
            auto coef = get(m, "coef");
            auto b = get(m, "intercept");
            ASSERT_EQ((int64_t)coef.size(), d);
            // Exact data; float32 inputs with |X| ~ 5..10 and d up to 64: 1e-3 absolute
            // leaves room for the float32 rounding of y (relative 6e-8 of |y| ~ 1e3).
            for (int64_t j = 0; j < d; j++) EXPECT_NEAR(coef[j], j - d / 2.0, 1e-3) << d << " " << solver;
            EXPECT_NEAR(b[0], 3.0, 2e-2 * std::max<int64_t>(1, d / 8)) << d << " " << solver;
            mfs_model_free(m);
        }
    }
}

// Values near float32's limit: y ~ 1e38 (|N(0,1)| X, coefficients 1e37..3e37)
// overflowed the Gram's float32 blocks (X^T y = inf, which "cholesky" shows), and the fit returned inf/NaN coefficients with MFS_OK. "auto"
// now takes the double QR path; "cholesky" says why it cannot; a solution
// beyond float32 (X ~ 1e-39, coefficients ~ 1e39) is an error, not inf.
TEST(LinearRegression, FloatRangeLimitsAreAnsweredOrClearErrors) {
    const int64_t n = 40, d = 3;
    std::mt19937 g(5);
    std::normal_distribution<float> N(0.0f, 1.0f);
    std::vector<float> X(n * d), Y(n), Xs(n * d), Ys(n);
    for (int64_t i = 0; i < n; i++) {
        double acc = 0, accs = 0;
        for (int64_t j = 0; j < d; j++) {
            X[i * d + j] = std::fabs(N(g)) + 0.1f;
            Xs[i * d + j] = X[i * d + j] * 1e-39f;
            acc += X[i * d + j] * 1e37 * (j + 1);
            accs += X[i * d + j] * (j + 1.0);
        }
        Y[i] = (float)acc;
        Ys[i] = (float)accs;
    }
    mfs_array Xa = {X.data(), MFS_DTYPE_FLOAT32, 2, {n, d}}, ya = {Y.data(), MFS_DTYPE_FLOAT32, 1, {n}};
    for (int solver : {0, 1, 2}) {
        mfs_linear_regression_params p;
        mfs_linear_regression_params_default(&p);
        p.solver = solver;
        mfs_model *m = nullptr;
        ASSERT_EQ(mfs_linear_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
        if (solver == 1) {
            EXPECT_EQ(mfs_fit(m, &Xa, &ya), MFS_E_VALUE);
            EXPECT_NE(std::string(mfs_last_error()).find("overflows float32"), std::string::npos) << mfs_last_error();
        } else {
            ASSERT_EQ(mfs_fit(m, &Xa, &ya), MFS_OK) << mfs_last_error();
            auto coef = get(m, "coef");
            // 3 well-conditioned features, y rounded to float32: 1e-4 relative
            for (int64_t j = 0; j < d; j++) EXPECT_NEAR(coef[j] / 1e37, j + 1.0, 1e-4) << "solver " << solver;
        }
        mfs_model_free(m);
    }
    mfs_array Xsa = {Xs.data(), MFS_DTYPE_FLOAT32, 2, {n, d}}, ysa = {Ys.data(), MFS_DTYPE_FLOAT32, 1, {n}};
    mfs_linear_regression_params p;
    mfs_linear_regression_params_default(&p);
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_linear_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    EXPECT_EQ(mfs_fit(m, &Xsa, &ysa), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("beyond float32's range"), std::string::npos) << mfs_last_error();
    mfs_model_free(m);
}

TEST(LinearRegression, MultiTargetAndPredictShapes) {
    Data D = make(300, 5, 3, 0.1, 2);
    mfs_model *m = fit(D, 0.0, 0, true);
    auto coef = get(m, "coef");
    ASSERT_EQ(coef.size(), 15u);
    for (int64_t k = 0; k < 3; k++)
        for (int64_t j = 0; j < 5; j++) EXPECT_NEAR(coef[k * 5 + j], j - 2.5 + k, 0.02);
    auto yhat = predict(m, D);
    ASSERT_EQ(yhat.size(), 900u);
    double sse = 0;
    for (size_t i = 0; i < yhat.size(); i++) sse += (yhat[i] - D.Y[i]) * (yhat[i] - D.Y[i]);
    EXPECT_LT(sse / yhat.size(), 0.02);  // noise variance 0.01
    mfs_model_free(m);
}

TEST(LinearRegression, RidgeMatchesClosedForm) {
    Data D = make(200, 4, 1, 1.0, 3);
    const double alpha = 10.0;
    mfs_model *m = fit(D, alpha, 0, false);
    auto coef = get(m, "coef");
    // Closed form in double: (Xc^T Xc + alpha I) w = Xc^T yc, by Gaussian elimination.
    int64_t n = D.n, d = D.d;
    std::vector<double> xm(d, 0), A(d * (d + 1), 0);
    double ym = 0;
    for (int64_t i = 0; i < n; i++) {
        ym += D.Y[i];
        for (int64_t j = 0; j < d; j++) xm[j] += D.X[i * d + j];
    }
    ym /= n;
    for (auto &v : xm) v /= n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t p = 0; p < d; p++) {
            double a = D.X[i * d + p] - xm[p];
            for (int64_t q = 0; q < d; q++) A[p * (d + 1) + q] += a * (D.X[i * d + q] - xm[q]);
            A[p * (d + 1) + d] += a * (D.Y[i] - ym);
        }
    for (int64_t p = 0; p < d; p++) A[p * (d + 1) + p] += alpha;
    for (int64_t p = 0; p < d; p++)
        for (int64_t r = p + 1; r < d; r++) {
            double f = A[r * (d + 1) + p] / A[p * (d + 1) + p];
            for (int64_t q = p; q <= d; q++) A[r * (d + 1) + q] -= f * A[p * (d + 1) + q];
        }
    std::vector<double> w(d);
    for (int64_t p = d - 1; p >= 0; p--) {
        double s = A[p * (d + 1) + d];
        for (int64_t q = p + 1; q < d; q++) s -= A[p * (d + 1) + q] * w[q];
        w[p] = s / A[p * (d + 1) + p];
    }
    // float32 Gram blocks summed in double: 1e-4 relative is float32-level agreement.
    for (int64_t j = 0; j < d; j++) EXPECT_NEAR(coef[j], w[j], 1e-4 * std::fabs(w[j]) + 1e-5);
    mfs_model_free(m);
}

TEST(LinearRegression, RankDeficientGivesMinimumNorm) {
    // Column 1 duplicates column 0: the minimum-norm solution splits the weight.
    Data D = make(100, 2, 1, 0.0, 4);
    for (int64_t i = 0; i < D.n; i++) {
        D.X[i * 2 + 1] = D.X[i * 2];
        D.Y[i] = 2.0f * D.X[i * 2] + 1.0f;
    }
    mfs_model *m = fit(D, 0.0, 0, false);
    auto coef = get(m, "coef");
    EXPECT_NEAR(coef[0], 1.0, 1e-3);
    EXPECT_NEAR(coef[1], 1.0, 1e-3);
    auto rank = get(m, "rank");  // int32 read through a float vector of the same size
    int32_t r;
    memcpy(&r, rank.data(), 4);
    EXPECT_EQ(r, 1);
    mfs_model_free(m);
    // Cholesky alone refuses a singular system with a message.
    mfs_linear_regression_params p;
    mfs_linear_regression_params_default(&p);
    p.solver = MFS_LINEAR_REGRESSION_SOLVER_CHOLESKY;
    ASSERT_EQ(mfs_linear_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array X = {D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 2}}, y = {D.Y.data(), MFS_DTYPE_FLOAT32, 1, {D.n}};
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("singular"), std::string::npos);
    mfs_model_free(m);
}

// predict reads X in blocks of rows, each checked just before it is used:
// on a multi-block X every row's prediction is b + x w (against double), for
// 1, 3 (dot products) and 6 (packed GEMM) targets on 1 and 2 threads, and a
// NaN or infinity anywhere is the usual message naming the first one.
TEST(LinearRegression, PredictInCheckedBlocks) {
    const int32_t before = mfs_get_num_threads();
    for (int64_t t : {1, 3, 6}) {
        Data D = make(3001, 300, t, 0.1, 90 + (unsigned)t);  // about 14 blocks of 218 rows
        mfs_model *m = fit(D, 1.0, MFS_LINEAR_REGRESSION_SOLVER_AUTO, t > 1);
        auto W = get(m, "coef"), b = get(m, "intercept");
        for (int threads : {1, 2}) {
            ASSERT_EQ(mfs_set_num_threads(threads), MFS_OK);
            auto P = predict(m, D);
            for (int64_t i = 0; i < D.n; i++)
                for (int64_t k = 0; k < t; k++) {
                    double want = b[(size_t)k], mag = std::fabs(want);
                    for (int64_t j = 0; j < D.d; j++) {
                        want += (double)D.X[(size_t)(i * D.d + j)] * W[(size_t)(k * D.d + j)];
                        mag += std::fabs((double)D.X[(size_t)(i * D.d + j)] * W[(size_t)(k * D.d + j)]);
                    }
                    // float32 sums of 300 products: 300 * eps32 * sum |terms|, a worst-case bound
                    ASSERT_NEAR(P[(size_t)(i * t + k)], want, 300 * 1.2e-7 * mag) << i << "," << k;
                }
            Data bad = D;
            bad.X[(size_t)(2500 * D.d + 17)] = NAN;
            bad.X[(size_t)(1200 * D.d + 299)] = -INFINITY;
            std::vector<float> out((size_t)(D.n * t));
            mfs_array Xa = {bad.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
            mfs_array o = {out.data(), MFS_DTYPE_FLOAT32, t > 1 ? 2 : 1, {D.n, t}};
            EXPECT_EQ(mfs_predict(m, &Xa, &o), MFS_E_VALUE);
            EXPECT_NE(std::string(mfs_last_error()).find("mfs_predict: X contains infinity at row 1200, column 299"),
                      std::string::npos) << mfs_last_error();
        }
        mfs_model_free(m);
    }
    ASSERT_EQ(mfs_set_num_threads(before), MFS_OK);
}

TEST(LinearRegression, BadInput) {
    Data D = make(10, 3, 1, 0.0, 5);
    mfs_linear_regression_params p;
    mfs_linear_regression_params_default(&p);
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_linear_regression_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array X = {D.X.data(), MFS_DTYPE_FLOAT32, 2, {10, 3}};
    mfs_array y = {D.Y.data(), MFS_DTYPE_FLOAT32, 1, {9}};
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_SHAPE);
    EXPECT_STREQ(mfs_last_error(), "mfs_fit: y has 9 samples, X has 10");
    y.shape[0] = 10;
    D.Y[4] = NAN;
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_VALUE);
    D.Y[4] = 1;
    ASSERT_EQ(mfs_fit(m, &X, &y), MFS_OK);
    float o[10];
    mfs_array Xw = {D.X.data(), MFS_DTYPE_FLOAT32, 2, {5, 2}}, out = {o, MFS_DTYPE_FLOAT32, 1, {5}};
    EXPECT_EQ(mfs_predict(m, &Xw, &out), MFS_E_SHAPE);
    EXPECT_STREQ(mfs_last_error(), "mfs_predict: X has 2 columns, the model was fitted on 3");
    mfs_array Xr = {D.X.data(), MFS_DTYPE_FLOAT32, 2, {2, 3}};
    EXPECT_EQ(mfs_predict(m, &Xr, &out), MFS_E_SHAPE);  // out has 5 rows, X 2
    // A failed refit leaves no half-fitted model behind.
    D.X[0] = INFINITY;
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_E_VALUE);
    int32_t fitted = 1;
    mfs_model_info(m, nullptr, nullptr, &fitted, nullptr);
    EXPECT_EQ(fitted, 1) << "input validation fails before the old state is dropped";
    mfs_model_free(m);
}

// ---- model files --------------------------------------------------------------

TEST(ModelFile, RoundTripBufferAndPath) {
    Data D = make(50, 4, 2, 0.5, 6);
    mfs_model *m = fit(D, 0.5, 0, true);
    auto buf = save(m);
    mfs_model *m2 = nullptr;
    ASSERT_EQ(mfs_model_load_buffer(buf.data(), buf.size(), MFS_DEVICE_CPU, &m2), MFS_OK) << mfs_last_error();
    EXPECT_EQ(predict(m, D), predict(m2, D));  // bitwise: same arrays, same code
    mfs_linear_regression_params p;
    ASSERT_EQ(mfs_model_get_params(m2, &p, sizeof p), MFS_OK);
    EXPECT_EQ(p.alpha, 0.5);
    std::string path = ::testing::TempDir() + "lr.mfs";
    ASSERT_EQ(mfs_model_save(m, path.c_str()), MFS_OK);
    mfs_model *m3 = nullptr;
    ASSERT_EQ(mfs_model_load(path.c_str(), MFS_DEVICE_CPU, &m3), MFS_OK);
    EXPECT_EQ(predict(m, D), predict(m3, D));
    mfs_model_free(m3);
    EXPECT_EQ(mfs_model_load("/nonexistent/x.mfs", MFS_DEVICE_CPU, &m3), MFS_E_IO);
    EXPECT_EQ(m3, nullptr);
    EXPECT_EQ(mfs_model_save(m, "/nonexistent/dir/x.mfs"), MFS_E_IO);
    mfs_model_free(m);
    mfs_model_free(m2);
}

TEST(ModelFile, TruncatedAtEveryOffset) {
    Data D = make(20, 3, 1, 0.5, 7);
    mfs_model *m = fit(D, 0.0, 0, false);
    auto buf = save(m);
    for (size_t len = 0; len < buf.size(); len++) {
        std::vector<unsigned char> cut(buf.begin(), buf.begin() + len);
        mfs_model *out = nullptr;
        mfs_status s = mfs_model_load_buffer(cut.data(), cut.size(), MFS_DEVICE_CPU, &out);
        ASSERT_EQ(s, MFS_E_FORMAT) << "length " << len;
        ASSERT_EQ(out, nullptr);
    }
    mfs_model_free(m);
}

TEST(ModelFile, FlippedBitsWrongMagicFutureVersionOtherKind) {
    Data D = make(20, 3, 1, 0.5, 8);
    mfs_model *m = fit(D, 0.0, 0, false);
    auto buf = save(m);
    for (size_t i = 0; i < buf.size(); i++)
        for (int bit : {0, 7}) {
            auto bad = buf;
            bad[i] ^= (unsigned char)(1 << bit);
            mfs_model *out = nullptr;
            ASSERT_EQ(mfs_model_load_buffer(bad.data(), bad.size(), MFS_DEVICE_CPU, &out), MFS_E_FORMAT) << i;
        }
    auto bad = buf;
    bad[0] = 'X';
    mfs_model *out = nullptr;
    EXPECT_EQ(mfs_model_load_buffer(bad.data(), bad.size(), MFS_DEVICE_CPU, &out), MFS_E_FORMAT);
    EXPECT_NE(std::string(mfs_last_error()).find("magic"), std::string::npos);
    bad = buf;
    bad[8] = 2;  // format version 2
    EXPECT_EQ(mfs_model_load_buffer(bad.data(), bad.size(), MFS_DEVICE_CPU, &out), MFS_E_FORMAT);
    EXPECT_NE(std::string(mfs_last_error()).find("version 2"), std::string::npos);
    mfs_model_free(m);
}

// A file with a valid checksum but hostile contents: the checksum is recomputed
// after the edit, so only field validation stands between it and predict.
TEST(ModelFile, HostileFieldsWithValidChecksum) {
    Data D = make(20, 3, 1, 0.5, 9);
    mfs_model *m = fit(D, 0.0, 0, false);
    auto buf = save(m);
    mfs_model *out = nullptr;
    for (size_t i = 8; i + 8 < buf.size(); i++)
        for (unsigned char v : {0x00, 0x01, 0x7f, 0xff}) {
            auto bad = buf;
            if (bad[i] == v) continue;
            bad[i] = v;
            refresh_checksum(bad);
            mfs_status s = mfs_model_load_buffer(bad.data(), bad.size(), MFS_DEVICE_CPU, &out);
            if (s == MFS_OK) {  // data bytes may change legally; the model must still work
                std::vector<float> o(D.n);
                mfs_array X = {D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}}, y = {o.data(), MFS_DTYPE_FLOAT32, 1, {D.n}};
                mfs_status ps = mfs_predict(out, &X, &y);
                EXPECT_TRUE(ps == MFS_OK || ps == MFS_E_SHAPE || ps == MFS_E_NOT_FITTED) << i;
                mfs_model_free(out);
            } else {
                ASSERT_EQ(s, MFS_E_FORMAT) << "offset " << i << ": " << mfs_last_error();
            }
        }
    // another kind: relabel as K-Means -> its check_state refuses the arrays
    auto other = buf;
    uint32_t kind = MFS_MODEL_KMEANS;
    memcpy(other.data() + 12, &kind, 4);
    refresh_checksum(other);
    EXPECT_EQ(mfs_model_load_buffer(other.data(), other.size(), MFS_DEVICE_CPU, &out), MFS_E_FORMAT);
    mfs_model_free(m);
}

// A model fitted on the GPU is stored with device = CUDA in its header; the
// arrays are host arrays, so it must load and predict on a CPU-only machine.
TEST(ModelFile, CudaFittedFileLoadsOnCpu) {
    Data D = make(40, 3, 1, 0.5, 10);
    mfs_model *m = fit(D, 0.0, 0, false);
    auto buf = save(m);
    uint32_t dev = MFS_DEVICE_CUDA;
    memcpy(buf.data() + 16, &dev, 4);
    refresh_checksum(buf);
    mfs_model *cpu = nullptr;
    ASSERT_EQ(mfs_model_load_buffer(buf.data(), buf.size(), MFS_DEVICE_CPU, &cpu), MFS_OK) << mfs_last_error();
    mfs_device where;
    mfs_model_info(cpu, nullptr, &where, nullptr, nullptr);
    EXPECT_EQ(where, MFS_DEVICE_CPU);
    EXPECT_EQ(predict(m, D), predict(cpu, D));
    mfs_model_free(cpu);
    mfs_model_free(m);
}
