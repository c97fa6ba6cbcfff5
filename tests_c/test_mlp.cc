// MLP through the C API: parameters and their errors, learning on seeded
// synthetic data (classification, binary, multilabel, regression), bitwise
// reproducibility, warm start / partial_fit continuing exactly where a longer
// fit would be, the training callback (and stopping from it), early stopping,
// model files (round trip, hostile bytes), and bad input.
#include <gtest/gtest.h>
#include <cmath>
#include <cstring>
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

// K Gaussian blobs in d dimensions, 1.0 apart per coordinate, unit noise.
Data blobs(int64_t n, int64_t d, int64_t K, unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<double> N(0, 1);
    std::vector<double> centers(K * d);
    for (auto &c : centers) c = 2.0 * N(g);
    Data D{n, d, K, std::vector<float>(n * d), std::vector<int32_t>(n)};
    for (int64_t i = 0; i < n; i++) {
        D.y[i] = (int32_t)(i % K);
        for (int64_t j = 0; j < d; j++) D.X[i * d + j] = (float)(centers[D.y[i] * d + j] + N(g));
    }
    return D;
}

mfs_array arr(void *data, mfs_dtype dt, int64_t a, int64_t b = -1) {
    mfs_array v{};
    v.data = data;
    v.dtype = dt;
    v.ndim = b < 0 ? 1 : 2;
    v.shape[0] = a;
    v.shape[1] = b < 0 ? 0 : b;
    return v;
}

mfs_mlp_params small_params() {
    mfs_mlp_params p;
    mfs_mlp_params_default(&p);
    p.n_hidden = 2;
    p.hidden_layer_sizes[0] = 16;
    p.hidden_layer_sizes[1] = 9;
    p.train.max_iter = 30;
    p.train.random_state = 3;
    p.train.batch_size = 32;
    p.train.learning_rate_init = 0.01;
    return p;
}

struct Model {
    mfs_model *m = nullptr;
    ~Model() { mfs_model_free(m); }
};

std::vector<float> get_f32(const mfs_model *m, const char *name) {
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[4];
    EXPECT_EQ(mfs_model_array_info(m, name, &dt, &nd, shape), MFS_OK) << name;
    std::vector<float> v(shape[0]);
    mfs_array a = arr(v.data(), MFS_DTYPE_FLOAT32, shape[0]);
    EXPECT_EQ(mfs_model_get_array(m, name, &a), MFS_OK) << mfs_last_error();
    return v;
}

std::vector<double> get_f64(const mfs_model *m, const char *name) {
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[4];
    EXPECT_EQ(mfs_model_array_info(m, name, &dt, &nd, shape), MFS_OK) << name;
    std::vector<double> v(shape[0]);
    mfs_array a = arr(v.data(), MFS_DTYPE_FLOAT64, shape[0]);
    EXPECT_EQ(mfs_model_get_array(m, name, &a), MFS_OK) << mfs_last_error();
    return v;
}

double accuracy(const mfs_model *m, Data &D) {
    std::vector<int32_t> pred(D.n);
    mfs_array X = arr(D.X.data(), MFS_DTYPE_FLOAT32, D.n, D.d), out = arr(pred.data(), MFS_DTYPE_INT32, D.n);
    EXPECT_EQ(mfs_predict(m, &X, &out), MFS_OK) << mfs_last_error();
    int64_t ok = 0;
    for (int64_t i = 0; i < D.n; i++) ok += pred[i] == D.y[i];
    return (double)ok / (double)D.n;
}

mfs_status fit(Data &D, const mfs_mlp_params &p, Model &M) {
    mfs_status s = mfs_mlp_create(&p, MFS_DEVICE_CPU, &M.m);
    if (s != MFS_OK) return s;
    mfs_array X = arr(D.X.data(), MFS_DTYPE_FLOAT32, D.n, D.d), y = arr(D.y.data(), MFS_DTYPE_INT32, D.n);
    return mfs_fit(M.m, &X, &y);
}

// The training defaults every network starts from, one by one (scikit-learn's
// MLP defaults, plus dropout 0), set over garbage so that none is left unset.
TEST(TrainParams, DefaultsAreScikitLearns) {
    mfs_train_params t;
    std::memset(&t, 0xAB, sizeof t);
    mfs_train_params_default(&t);
    EXPECT_EQ(t.solver, MFS_SOLVER_ADAM);
    EXPECT_EQ(t.learning_rate, MFS_LEARNING_RATE_CONSTANT);
    EXPECT_EQ(t.alpha, 1e-4);
    EXPECT_EQ(t.batch_size, -1);
    EXPECT_EQ(t.max_iter, 200);
    EXPECT_EQ(t.learning_rate_init, 1e-3);
    EXPECT_EQ(t.power_t, 0.5);
    EXPECT_EQ(t.shuffle, 1);
    EXPECT_EQ(t.nesterovs_momentum, 1);
    EXPECT_EQ(t.random_state, 0);
    EXPECT_EQ(t.tol, 1e-4);
    EXPECT_EQ(t.momentum, 0.9);
    EXPECT_EQ(t.early_stopping, 0);
    EXPECT_EQ(t.n_iter_no_change, 10);
    EXPECT_EQ(t.validation_fraction, 0.1);
    EXPECT_EQ(t.beta_1, 0.9);
    EXPECT_EQ(t.beta_2, 0.999);
    EXPECT_EQ(t.epsilon, 1e-8);
    EXPECT_EQ(t.verbose, 0);
    EXPECT_EQ(t.warm_start, 0);
    EXPECT_EQ(t.dropout, 0.0);
    // 21 fields at their natural alignment: no implicit padding in the ABI
    EXPECT_EQ(sizeof(mfs_train_params), 128u);
    mfs_train_params_default(nullptr);  // a no-op, not a crash
}

// Every field of the MLP's defaults, as mlp.h documented them before the
// training fields moved into `train`: nothing changed but the place.
TEST(Mlp, DefaultsAreScikitLearns) {
    mfs_mlp_params p;
    std::memset(&p, 0xAB, sizeof p);
    mfs_mlp_params_default(&p);
    EXPECT_EQ(p.task, MFS_MLP_TASK_CLASSIFICATION);
    EXPECT_EQ(p.n_classes, 0);
    EXPECT_EQ(p.n_hidden, 1);
    EXPECT_EQ(p.hidden_layer_sizes[0], 100);
    for (int i = 1; i < MFS_MLP_MAX_HIDDEN; i++) EXPECT_EQ(p.hidden_layer_sizes[i], 0) << i;
    EXPECT_EQ(p.activation, MFS_ACTIVATION_RELU);
    mfs_train_params t;
    mfs_train_params_default(&t);
    EXPECT_EQ(std::memcmp(&p.train, &t, sizeof t), 0);  // the shared defaults, bit for bit
    EXPECT_EQ(p.train.solver, MFS_SOLVER_ADAM);
    EXPECT_DOUBLE_EQ(p.train.alpha, 1e-4);
    EXPECT_EQ(p.train.batch_size, -1);
    EXPECT_DOUBLE_EQ(p.train.learning_rate_init, 1e-3);
    EXPECT_EQ(p.train.max_iter, 200);
    EXPECT_EQ(p.train.n_iter_no_change, 10);
    EXPECT_DOUBLE_EQ(p.train.beta_2, 0.999);
    EXPECT_EQ(p.train.dropout, 0.0);
    EXPECT_EQ(mfs_params_size(MFS_MODEL_MLP), sizeof(mfs_mlp_params));
    EXPECT_EQ(sizeof(mfs_mlp_params), 20 * sizeof(int32_t) + sizeof(mfs_train_params));
}

// One check validates the shared training fields of every network: an MLP and
// a CNN given the same bad field fail with the same message.
TEST(TrainParams, MlpAndCnnRejectTheSameFieldWithTheSameMessage) {
    struct Case {
        void (*set)(mfs_train_params &);
        const char *message;
    } cases[] = {
        {[](mfs_train_params &t) { t.solver = 7; }, "mfs_model_create: solver is 7, expected 0 (sgd), 1 (adam) or 2 (adamw)"},
        {[](mfs_train_params &t) { t.learning_rate = -1; }, "mfs_model_create: learning_rate is -1, expected 0 (constant), 1 (invscaling), 2 (adaptive) or 3 (cosine)"},
        {[](mfs_train_params &t) { t.alpha = -1; }, "mfs_model_create: alpha is -1, it must be a finite number >= 0"},
        {[](mfs_train_params &t) { t.batch_size = -2; }, "mfs_model_create: batch_size is -2, it must be >= 1 (or -1: auto)"},
        {[](mfs_train_params &t) { t.max_iter = 0; }, "mfs_model_create: max_iter is 0, it must be >= 1"},
        {[](mfs_train_params &t) { t.learning_rate_init = INFINITY; }, "mfs_model_create: learning_rate_init is inf, it must be a finite number > 0"},
        {[](mfs_train_params &t) { t.power_t = NAN; }, "mfs_model_create: power_t is nan, it must be a finite number >= 0"},
        {[](mfs_train_params &t) { t.shuffle = 2; }, "mfs_model_create: shuffle is 2, expected 0 or 1"},
        {[](mfs_train_params &t) { t.nesterovs_momentum = -1; }, "mfs_model_create: nesterovs_momentum is -1, expected 0 or 1"},
        {[](mfs_train_params &t) { t.random_state = -5; }, "mfs_model_create: random_state is -5, it must be >= 0"},
        {[](mfs_train_params &t) { t.tol = -1e-3; }, "mfs_model_create: tol is -0.001, it must be a finite number >= 0"},
        {[](mfs_train_params &t) { t.momentum = NAN; }, "mfs_model_create: momentum is nan, it must be in [0, 1]"},
        {[](mfs_train_params &t) { t.early_stopping = 3; }, "mfs_model_create: early_stopping is 3, expected 0 or 1"},
        {[](mfs_train_params &t) { t.n_iter_no_change = 0; }, "mfs_model_create: n_iter_no_change is 0, it must be >= 1"},
        {[](mfs_train_params &t) { t.validation_fraction = 1.0; }, "mfs_model_create: validation_fraction is 1, it must be in [0, 1)"},
        {[](mfs_train_params &t) { t.early_stopping = 1; t.validation_fraction = 0; }, "mfs_model_create: validation_fraction is 0, early_stopping needs it in (0, 1)"},
        {[](mfs_train_params &t) { t.beta_1 = -0.5; }, "mfs_model_create: beta_1 is -0.5, it must be in [0, 1)"},
        {[](mfs_train_params &t) { t.beta_2 = 1.0; }, "mfs_model_create: beta_2 is 1, it must be in [0, 1)"},
        {[](mfs_train_params &t) { t.epsilon = 0; }, "mfs_model_create: epsilon is 0, it must be a finite number > 0"},
        {[](mfs_train_params &t) { t.epsilon = 1e-300; }, "mfs_model_create: epsilon is 1e-300, which is 0 in float32 (the training precision); it must be >= 1.4e-45"},
        {[](mfs_train_params &t) { t.verbose = -1; }, "mfs_model_create: verbose is -1, it must be >= 0"},
        {[](mfs_train_params &t) { t.warm_start = 2; }, "mfs_model_create: warm_start is 2, expected 0 or 1"},
        {[](mfs_train_params &t) { t.dropout = 1.0; }, "mfs_model_create: dropout is 1, it must be in [0, 1)"},
    };
    for (auto &c : cases) {
        mfs_mlp_params mp;
        mfs_mlp_params_default(&mp);
        c.set(mp.train);
        mfs_cnn_params cp;
        mfs_cnn_params_default(&cp);
        c.set(cp.train);
        mfs_model *m = nullptr;
        EXPECT_EQ(mfs_mlp_create(&mp, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG) << c.message;
        EXPECT_EQ(m, nullptr);
        const std::string from_mlp = mfs_last_error();
        EXPECT_EQ(mfs_cnn_create(&cp, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG) << c.message;
        EXPECT_EQ(m, nullptr);
        const std::string from_cnn = mfs_last_error();
        EXPECT_EQ(from_mlp, c.message);
        EXPECT_EQ(from_cnn, c.message);
    }
    // and the defaults themselves pass the check in both models
    mfs_mlp_params mp;
    mfs_mlp_params_default(&mp);
    mfs_cnn_params cp;
    mfs_cnn_params_default(&cp);
    mfs_model *a = nullptr, *b = nullptr;
    EXPECT_EQ(mfs_mlp_create(&mp, MFS_DEVICE_CPU, &a), MFS_OK) << mfs_last_error();
    EXPECT_EQ(mfs_cnn_create(&cp, MFS_DEVICE_CPU, &b), MFS_OK) << mfs_last_error();
    mfs_model_free(a);
    mfs_model_free(b);
}

TEST(Mlp, BadParametersAreClearErrors) {
    struct Case {
        void (*set)(mfs_mlp_params &);
        const char *needle;
    } cases[] = {
        {[](mfs_mlp_params &p) { p.train.batch_size = 0; }, "batch_size is 0"},
        {[](mfs_mlp_params &p) { p.activation = 9; }, "activation is 9"},
        {[](mfs_mlp_params &p) { p.hidden_layer_sizes[0] = 0; }, "hidden_layer_sizes[0] is 0"},
        {[](mfs_mlp_params &p) { p.n_hidden = 17; }, "n_hidden is 17"},
        {[](mfs_mlp_params &p) { p.train.learning_rate_init = 0; }, "learning_rate_init is 0"},
        {[](mfs_mlp_params &p) { p.train.momentum = 1.5; }, "momentum is 1.5"},
        {[](mfs_mlp_params &p) { p.train.beta_1 = 1.0; }, "beta_1 is 1"},
        {[](mfs_mlp_params &p) { p.train.dropout = 1.0; }, "dropout is 1"},
        {[](mfs_mlp_params &p) { p.train.alpha = NAN; }, "alpha is nan"},
        {[](mfs_mlp_params &p) { p.train.solver = 5; }, "solver is 5"},
        {[](mfs_mlp_params &p) { p.train.early_stopping = 1; p.train.validation_fraction = 0; }, "validation_fraction is 0"},
    };
    for (auto &c : cases) {
        mfs_mlp_params p = small_params();
        c.set(p);
        mfs_model *m = nullptr;
        EXPECT_EQ(mfs_mlp_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG) << c.needle;
        EXPECT_NE(std::string(mfs_last_error()).find(c.needle), std::string::npos) << mfs_last_error();
        EXPECT_EQ(m, nullptr);
    }
}

TEST(Mlp, LearnsBlobsAndIsBitwiseReproducible) {
    Data D = blobs(600, 7, 5, 1);
    mfs_mlp_params p = small_params();
    Model a, b, c;
    ASSERT_EQ(fit(D, p, a), MFS_OK) << mfs_last_error();
    // well separated blobs: a 2-hidden-layer net gets nearly all of them
    EXPECT_GE(accuracy(a.m, D), 0.95);
    ASSERT_EQ(fit(D, p, b), MFS_OK);
    EXPECT_EQ(get_f32(a.m, "params"), get_f32(b.m, "params"));  // same seed, same threads: same bits
    EXPECT_EQ(get_f64(a.m, "loss_curve"), get_f64(b.m, "loss_curve"));
    p.train.random_state = 4;
    ASSERT_EQ(fit(D, p, c), MFS_OK);
    EXPECT_NE(get_f32(a.m, "params"), get_f32(c.m, "params"));
    // the loss curve decreases overall
    auto curve = get_f64(a.m, "loss_curve");
    ASSERT_EQ((int)curve.size(), 30);
    EXPECT_LT(curve.back(), 0.5 * curve.front());
    // probabilities: rows sum to 1
    std::vector<float> P(D.n * 5);
    mfs_array X = arr(D.X.data(), MFS_DTYPE_FLOAT32, D.n, D.d), out = arr(P.data(), MFS_DTYPE_FLOAT32, D.n, 5);
    ASSERT_EQ(mfs_predict_proba(a.m, &X, &out), MFS_OK);
    for (int64_t i = 0; i < D.n; i++) {
        double s = 0;
        for (int k = 0; k < 5; k++) s += P[i * 5 + k];
        ASSERT_NEAR(s, 1.0, 1e-5);  // 5 float32 probabilities
    }
}

TEST(Mlp, EveryActivationAndSolverLearns) {
    Data D = blobs(400, 5, 3, 2);
    for (int act = 0; act <= 4; act++)
        for (int solver = 0; solver <= 2; solver++) {
            mfs_mlp_params p = small_params();
            p.activation = act;
            p.train.solver = solver;
            p.train.learning_rate_init = solver == MFS_SOLVER_SGD ? 0.05 : 0.01;
            p.train.learning_rate = (act + solver) % 4; /* every schedule somewhere */
            Model M;
            ASSERT_EQ(fit(D, p, M), MFS_OK) << mfs_last_error();
            // separable blobs; the cosine / invscaling schedules slow down late: 0.9
            EXPECT_GE(accuracy(M.m, D), 0.9) << "activation " << act << " solver " << solver;
        }
}

// Betas that float32 rounds to 1 (scikit-learn accepts any beta < 1): the
// optimizer takes 1 - beta in double, so Adam and AdamW still learn. With
// 1.0f - (float)beta they were 0: Adam never moved its first moment, and
// AdamW, its second moment frozen at 0, diverged to a loss of 1e32.
TEST(Mlp, AdamWithBetasNearOneLearns) {
    Data D = blobs(400, 5, 3, 2);
    for (int solver : {MFS_SOLVER_ADAM, MFS_SOLVER_ADAMW}) {
        mfs_mlp_params p = small_params();
        p.train.solver = solver;
        p.train.learning_rate_init = 0.01;
        p.train.beta_1 = 0.99999999;
        p.train.beta_2 = 0.99999999;
        Model M;
        ASSERT_EQ(fit(D, p, M), MFS_OK) << mfs_last_error();
        auto curve = get_f64(M.m, "loss_curve");
        for (double l : curve) ASSERT_TRUE(std::isfinite(l));
        // bias-corrected, these betas make every step about lr * sign(g):
        // the loss still falls on separable blobs
        EXPECT_LT(curve.back(), 0.5 * curve.front()) << "solver " << solver;
    }
}

TEST(Mlp, BinaryIsOneLogisticUnit) {
    // a linear boundary through uniform data: separable, a net finds it
    Data D{300, 4, 2, std::vector<float>(300 * 4), std::vector<int32_t>(300)};
    std::mt19937 g(3);
    std::uniform_real_distribution<double> U(-1, 1);
    for (int64_t i = 0; i < D.n; i++) {
        for (int j = 0; j < 4; j++) D.X[i * 4 + j] = (float)U(g);
        D.y[i] = D.X[i * 4] + 0.5f * D.X[i * 4 + 1] - D.X[i * 4 + 2] > 0;
    }
    Model M;
    mfs_mlp_params p = small_params();
    p.train.max_iter = 100;
    ASSERT_EQ(fit(D, p, M), MFS_OK) << mfs_last_error();
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[4];
    ASSERT_EQ(mfs_model_array_info(M.m, "layer_units", &dt, &nd, shape), MFS_OK);
    std::vector<int64_t> units(shape[0]);
    mfs_array u = arr(units.data(), MFS_DTYPE_INT64, shape[0]);
    ASSERT_EQ(mfs_model_get_array(M.m, "layer_units", &u), MFS_OK);
    EXPECT_EQ(units, (std::vector<int64_t>{4, 16, 9, 1}));
    EXPECT_GE(accuracy(M.m, D), 0.95);  // only rows next to the boundary may miss
    std::vector<float> P(D.n * 2);
    mfs_array X = arr(D.X.data(), MFS_DTYPE_FLOAT32, D.n, D.d), out = arr(P.data(), MFS_DTYPE_FLOAT32, D.n, 2);
    ASSERT_EQ(mfs_predict_proba(M.m, &X, &out), MFS_OK);
    for (int64_t i = 0; i < D.n; i++) ASSERT_NEAR(P[2 * i] + P[2 * i + 1], 1.0, 1e-6);
}

TEST(Mlp, RegressionAndMultilabel) {
    const int64_t n = 500, d = 3;
    std::mt19937 g(5);
    std::uniform_real_distribution<double> U(-1, 1);
    std::vector<float> X(n * d), Y(n * 2), L(n * 3);
    for (int64_t i = 0; i < n; i++) {
        double a = U(g), b = U(g), c = U(g);
        X[i * 3] = (float)a;
        X[i * 3 + 1] = (float)b;
        X[i * 3 + 2] = (float)c;
        Y[i * 2] = (float)(a * b + c);
        Y[i * 2 + 1] = (float)(std::sin(2 * a) - b);
        L[i * 3] = a > 0;
        L[i * 3 + 1] = b + c > 0;
        L[i * 3 + 2] = a * c > 0;
    }
    mfs_mlp_params p = small_params();
    p.task = MFS_MLP_TASK_REGRESSION;
    p.train.max_iter = 150;
    p.hidden_layer_sizes[0] = 32;
    Model R;
    ASSERT_EQ(mfs_mlp_create(&p, MFS_DEVICE_CPU, &R.m), MFS_OK);
    mfs_array Xa = arr(X.data(), MFS_DTYPE_FLOAT32, n, d), Ya = arr(Y.data(), MFS_DTYPE_FLOAT32, n, 2);
    ASSERT_EQ(mfs_fit(R.m, &Xa, &Ya), MFS_OK) << mfs_last_error();
    std::vector<float> pred(n * 2);
    mfs_array out = arr(pred.data(), MFS_DTYPE_FLOAT32, n, 2);
    ASSERT_EQ(mfs_predict(R.m, &Xa, &out), MFS_OK) << mfs_last_error();
    for (int t = 0; t < 2; t++) {
        double ss = 0, st = 0, mean = 0;
        for (int64_t i = 0; i < n; i++) mean += Y[i * 2 + t] / n;
        for (int64_t i = 0; i < n; i++) {
            ss += std::pow(pred[i * 2 + t] - Y[i * 2 + t], 2);
            st += std::pow(Y[i * 2 + t] - mean, 2);
        }
        EXPECT_GE(1 - ss / st, 0.9) << "target " << t;  // smooth targets of 3 inputs
    }
    p.task = MFS_MLP_TASK_MULTILABEL;
    Model M;
    ASSERT_EQ(mfs_mlp_create(&p, MFS_DEVICE_CPU, &M.m), MFS_OK);
    mfs_array La = arr(L.data(), MFS_DTYPE_FLOAT32, n, 3);
    ASSERT_EQ(mfs_fit(M.m, &Xa, &La), MFS_OK) << mfs_last_error();
    std::vector<int32_t> ind(n * 3);
    mfs_array io = arr(ind.data(), MFS_DTYPE_INT32, n, 3);
    ASSERT_EQ(mfs_predict(M.m, &Xa, &io), MFS_OK) << mfs_last_error();
    int64_t ok = 0;
    for (int64_t i = 0; i < n * 3; i++) ok += ind[i] == (int32_t)L[i];
    EXPECT_GE((double)ok / (n * 3), 0.93);  // three threshold functions of the inputs
    L[4] = 0.5f;  // not an indicator
    EXPECT_EQ(mfs_fit(M.m, &Xa, &La), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("0 or 1"), std::string::npos) << mfs_last_error();
}

// Warm start (init_* inputs) and partial_fit continue the very same trajectory:
// the shuffling stream, the Adam step count and the dropout stream are counters
// of the model, so 4 + 6 epochs equal 10 epochs bit for bit.
TEST(Mlp, WarmStartAndPartialFitContinueExactly) {
    Data D = blobs(200, 6, 3, 7);
    mfs_mlp_params p = small_params();
    p.train.dropout = 0.2;
    p.train.tol = 0;  // nothing stops early
    p.train.n_iter_no_change = 1000;
    p.train.max_iter = 10;
    Model full;
    ASSERT_EQ(fit(D, p, full), MFS_OK) << mfs_last_error();
    p.train.max_iter = 4;
    Model first;
    ASSERT_EQ(fit(D, p, first), MFS_OK);
    p.train.max_iter = 6;
    p.train.warm_start = 1;
    Model second;
    ASSERT_EQ(mfs_mlp_create(&p, MFS_DEVICE_CPU, &second.m), MFS_OK);
    auto w = get_f32(first.m, "params"), o = get_f32(first.m, "optimizer_state");
    auto c = get_f64(first.m, "counters");
    mfs_array wa = arr(w.data(), MFS_DTYPE_FLOAT32, (int64_t)w.size()), oa = arr(o.data(), MFS_DTYPE_FLOAT32, (int64_t)o.size()),
              ca = arr(c.data(), MFS_DTYPE_FLOAT64, (int64_t)c.size());
    ASSERT_EQ(mfs_model_set_array(second.m, "init_params", &wa), MFS_OK);
    ASSERT_EQ(mfs_model_set_array(second.m, "init_optimizer", &oa), MFS_OK);
    ASSERT_EQ(mfs_model_set_array(second.m, "init_counters", &ca), MFS_OK);
    mfs_array X = arr(D.X.data(), MFS_DTYPE_FLOAT32, D.n, D.d), y = arr(D.y.data(), MFS_DTYPE_INT32, D.n);
    ASSERT_EQ(mfs_fit(second.m, &X, &y), MFS_OK) << mfs_last_error();
    EXPECT_EQ(get_f32(second.m, "params"), get_f32(full.m, "params"));
    auto cf = get_f64(full.m, "counters"), cs = get_f64(second.m, "counters");
    EXPECT_EQ(cs[0], cf[0]);  // samples seen
    EXPECT_EQ(cs[1], cf[1]);  // optimizer steps
    // partial_fit: 10 calls of one epoch each
    p.train.warm_start = 0;
    p.train.max_iter = 10;
    Model part;
    ASSERT_EQ(mfs_mlp_create(&p, MFS_DEVICE_CPU, &part.m), MFS_OK);
    for (int e = 0; e < 10; e++) ASSERT_EQ(mfs_partial_fit(part.m, &X, &y), MFS_OK) << mfs_last_error();
    EXPECT_EQ(get_f32(part.m, "params"), get_f32(full.m, "params"));
    EXPECT_EQ(get_f64(part.m, "loss_curve"), get_f64(full.m, "loss_curve"));
    // an init_params of the wrong architecture is a clear error
    p.train.warm_start = 1;
    p.hidden_layer_sizes[0] = 17;
    Model bad;
    ASSERT_EQ(mfs_mlp_create(&p, MFS_DEVICE_CPU, &bad.m), MFS_OK);
    ASSERT_EQ(mfs_model_set_array(bad.m, "init_params", &wa), MFS_OK);
    EXPECT_EQ(mfs_fit(bad.m, &X, &y), MFS_E_SHAPE);
    EXPECT_NE(std::string(mfs_last_error()).find("init_params"), std::string::npos) << mfs_last_error();
}

struct Events {
    int batches = 0, epochs = 0, stop_after = -1;
    double last_loss = NAN;
};

int32_t on_event(void *user, const mfs_train_event *ev) {
    Events *e = (Events *)user;
    if (ev->kind == MFS_TRAIN_EVENT_BATCH) e->batches++;
    else {
        e->epochs++;
        e->last_loss = ev->loss;
    }
    return e->stop_after >= 0 && e->batches >= e->stop_after;
}

TEST(Mlp, CallbackSeesEveryBatchAndEpochAndCanStop) {
    Data D = blobs(100, 3, 2, 9);
    mfs_mlp_params p = small_params();
    p.train.max_iter = 5;
    p.train.batch_size = 30;  // 4 batches per epoch (30, 30, 30, 10)
    Model M;
    ASSERT_EQ(mfs_mlp_create(&p, MFS_DEVICE_CPU, &M.m), MFS_OK);
    mfs_array X = arr(D.X.data(), MFS_DTYPE_FLOAT32, D.n, D.d), y = arr(D.y.data(), MFS_DTYPE_INT32, D.n);
    Events ev;
    ASSERT_EQ(mfs_fit_with_callback(M.m, &X, &y, 0, on_event, &ev), MFS_OK) << mfs_last_error();
    EXPECT_EQ(ev.batches, 20);
    EXPECT_EQ(ev.epochs, 5);
    EXPECT_EQ(ev.last_loss, get_f64(M.m, "loss_curve").back());
    // stop after the 6th batch: fitted, with the weights of 6 steps
    Events stop;
    stop.stop_after = 6;
    ASSERT_EQ(mfs_fit_with_callback(M.m, &X, &y, 0, on_event, &stop), MFS_OK) << mfs_last_error();
    EXPECT_EQ(stop.batches, 6);
    EXPECT_EQ(stop.epochs, 1);
    auto c = get_f64(M.m, "counters");
    EXPECT_EQ(c[1], 6.0);  // optimizer steps
    EXPECT_EQ(c[9], 1.0);  // stopped by the callback
    EXPECT_EQ(get_f64(M.m, "loss_curve").size(), 1u);
    int32_t fitted = 0;
    ASSERT_EQ(mfs_model_info(M.m, nullptr, nullptr, &fitted, nullptr), MFS_OK);
    EXPECT_EQ(fitted, 1);
    EXPECT_EQ(mfs_fit_with_callback(M.m, &X, &y, 3, on_event, &stop), MFS_E_INVALID_ARG);
}

TEST(Mlp, EarlyStoppingKeepsTheBestValidationScore) {
    Data D = blobs(400, 5, 4, 11);
    mfs_mlp_params p = small_params();
    p.train.early_stopping = 1;
    p.train.max_iter = 200;
    p.train.n_iter_no_change = 3;
    Model M;
    ASSERT_EQ(fit(D, p, M), MFS_OK) << mfs_last_error();
    auto vs = get_f64(M.m, "validation_scores"), lc = get_f64(M.m, "loss_curve"), c = get_f64(M.m, "counters");
    ASSERT_EQ(vs.size(), lc.size());
    EXPECT_LT(vs.size(), 200u);  // it stopped
    double best = *std::max_element(vs.begin(), vs.end());
    EXPECT_EQ(c[5], best);
    EXPECT_TRUE(std::isnan(c[4]));  // best_loss_ is None with early stopping
    // 10% of 400 rows, stratified: 40 validation rows, a multiple of 1/40
    EXPECT_NEAR(best * 40, std::round(best * 40), 1e-9);
    p.train.validation_fraction = 0.001;  // 1 row
    Model T;
    EXPECT_EQ(fit(D, p, T), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("too small"), std::string::npos) << mfs_last_error();
}

// sample_weight, scikit-learn's semantics. In one full batch (batch_size >= n,
// no dropout) a weighted fit is a fit on the rows repeated by their weights:
// zero weights drop rows, integer weights duplicate them. The loss curves then
// agree to float32 summation order (1e-5 relative: the same sums over
// different row sets), and weights of 1 change nothing beyond rounding.
namespace {
std::vector<double> weighted_curve(const Data &D, mfs_mlp_params p, const std::vector<float> *w,
                                   mfs_status *status = nullptr) {
    Model M;
    EXPECT_EQ(mfs_mlp_create(&p, MFS_DEVICE_CPU, &M.m), MFS_OK);
    Data C = D;
    mfs_array X = arr(C.X.data(), MFS_DTYPE_FLOAT32, C.n, C.d), y = arr(C.y.data(), MFS_DTYPE_INT32, C.n);
    if (w) {
        mfs_array wa = arr((void *)w->data(), MFS_DTYPE_FLOAT32, (int64_t)w->size());
        EXPECT_EQ(mfs_model_set_array(M.m, "sample_weight", &wa), MFS_OK) << mfs_last_error();
    }
    mfs_status s = mfs_fit(M.m, &X, &y);
    if (status) *status = s;
    if (s != MFS_OK) return {};
    return get_f64(M.m, "loss_curve");
}

Data rows_of(const Data &D, const std::vector<int64_t> &rows) {
    Data R{(int64_t)rows.size(), D.d, D.K, std::vector<float>(rows.size() * D.d), std::vector<int32_t>(rows.size())};
    for (size_t i = 0; i < rows.size(); i++) {
        for (int64_t j = 0; j < D.d; j++) R.X[i * D.d + j] = D.X[rows[i] * D.d + j];
        R.y[i] = D.y[rows[i]];
    }
    return R;
}

void expect_close(const std::vector<double> &a, const std::vector<double> &b, double rtol) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); i++) EXPECT_NEAR(a[i], b[i], rtol * std::fabs(b[i])) << "epoch " << i;
}
}  // namespace

TEST(Mlp, SampleWeightIsScikitLearnsWeightedLoss) {
    Data D = blobs(60, 4, 3, 21);
    mfs_mlp_params p = small_params();
    p.train.max_iter = 15;
    p.train.batch_size = 1000;  // one batch: weights are exact repetitions
    p.train.shuffle = 0;
    p.train.alpha = 0.01;       // the L2 term is divided by the weight sum too
    std::vector<float> ones(D.n, 1.f), w(D.n, 1.f);
    expect_close(weighted_curve(D, p, &ones), weighted_curve(D, p, nullptr), 1e-6);
    // zero weights drop rows; weight 2 duplicates a row
    std::vector<int64_t> kept;
    for (int64_t i = 0; i < D.n; i++) {
        w[i] = i % 5 == 0 ? 0.f : i % 7 == 0 ? 2.f : 1.f;
        for (int r = 0; r < (int)w[i]; r++) kept.push_back(i);
    }
    expect_close(weighted_curve(D, p, &w), weighted_curve(rows_of(D, kept), p, nullptr), 1e-5);
    // in minibatches too the weights change the fit (and a zero-weight batch is skipped, not NaN)
    p.train.batch_size = 8;
    p.train.shuffle = 1;
    auto wc = weighted_curve(D, p, &w), uc = weighted_curve(D, p, nullptr);
    ASSERT_EQ(wc.size(), uc.size());
    EXPECT_NE(wc, uc);
    std::vector<float> sparse(D.n, 0.f);
    sparse[7] = 3.f;  // most batches weigh 0
    auto sc = weighted_curve(D, p, &sparse);
    ASSERT_EQ((int)sc.size(), p.train.max_iter);
    for (double v : sc) EXPECT_TRUE(std::isfinite(v));
    // bad weights: clear errors
    mfs_status st;
    std::vector<float> neg = ones, zeros(D.n, 0.f), shortw(D.n - 1, 1.f);
    neg[3] = -1.f;
    weighted_curve(D, p, &neg, &st);
    EXPECT_EQ(st, MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("sample_weight[3]"), std::string::npos) << mfs_last_error();
    weighted_curve(D, p, &zeros, &st);
    EXPECT_EQ(st, MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("every sample_weight is zero"), std::string::npos) << mfs_last_error();
    weighted_curve(D, p, &shortw, &st);
    EXPECT_EQ(st, MFS_E_SHAPE);
}

TEST(Mlp, BadInputIsAClearError) {
    Data D = blobs(50, 3, 3, 13);
    mfs_mlp_params p = small_params();
    Model M;
    ASSERT_EQ(mfs_mlp_create(&p, MFS_DEVICE_CPU, &M.m), MFS_OK);
    mfs_array X = arr(D.X.data(), MFS_DTYPE_FLOAT32, D.n, D.d), y = arr(D.y.data(), MFS_DTYPE_INT32, D.n);
    D.X[4] = NAN;
    EXPECT_EQ(mfs_fit(M.m, &X, &y), MFS_E_VALUE);
    D.X[4] = 0;
    mfs_array empty = arr(D.X.data(), MFS_DTYPE_FLOAT32, 0, D.d);
    EXPECT_NE(mfs_fit(M.m, &empty, &y), MFS_OK);
    D.y[3] = -1;
    EXPECT_EQ(mfs_fit(M.m, &X, &y), MFS_E_VALUE);
    D.y[3] = 0;
    std::vector<int32_t> one(D.n, 0);
    mfs_array y1 = arr(one.data(), MFS_DTYPE_INT32, D.n);
    EXPECT_EQ(mfs_fit(M.m, &X, &y1), MFS_E_VALUE);  // a single class
    EXPECT_NE(std::string(mfs_last_error()).find("at least 2 classes"), std::string::npos) << mfs_last_error();
    mfs_array yshort = arr(D.y.data(), MFS_DTYPE_INT32, D.n - 1);
    EXPECT_EQ(mfs_fit(M.m, &X, &yshort), MFS_E_SHAPE);
    ASSERT_EQ(mfs_fit(M.m, &X, &y), MFS_OK) << mfs_last_error();
    std::vector<float> X2(D.n * 4, 0.f);
    std::vector<int32_t> pred(D.n);
    mfs_array Xw = arr(X2.data(), MFS_DTYPE_FLOAT32, D.n, 4), out = arr(pred.data(), MFS_DTYPE_INT32, D.n);
    EXPECT_EQ(mfs_predict(M.m, &Xw, &out), MFS_E_SHAPE);
    // CUDA in a build / machine without a GPU: MFS_E_DEVICE, never a crash
    if (mfs_cuda_device_count() == 0) {
        mfs_model *g = nullptr;
        EXPECT_EQ(mfs_mlp_create(&p, MFS_DEVICE_CUDA, &g), MFS_E_DEVICE);
        mfs_model_free(g);
    }
}

// predict checks X's values block by block (1024 or 2048 rows) as the forward
// reads them: a NaN or an infinity anywhere, past the first block or in the
// last row, is an MFS_E_VALUE naming its row and column, as check_matrix's
// message. Each row's probabilities do not depend on the block it fell in:
// the same bits as predicting that row alone.
TEST(Mlp, PredictFindsNonFiniteInAnyBlock) {
    Data D = blobs(90, 5, 3, 23);
    Model M;
    ASSERT_EQ(fit(D, small_params(), M), MFS_OK);
    const int64_t n = 4500, d = D.d;
    std::vector<float> X(n * d);
    for (int64_t i = 0; i < n * d; i++) X[i] = D.X[i % (D.n * d)];
    std::vector<int32_t> lab(n);
    std::vector<float> P(n * 3);
    mfs_array Xa = arr(X.data(), MFS_DTYPE_FLOAT32, n, d), lo = arr(lab.data(), MFS_DTYPE_INT32, n),
              po = arr(P.data(), MFS_DTYPE_FLOAT32, n, 3);
    ASSERT_EQ(mfs_predict(M.m, &Xa, &lo), MFS_OK) << mfs_last_error();
    ASSERT_EQ(mfs_predict_proba(M.m, &Xa, &po), MFS_OK) << mfs_last_error();
    for (int64_t r : {0, 1023, 1024, 2047, 2048, 4095, 4096, 4499}) {
        std::vector<float> one(3);
        mfs_array x1 = arr(X.data() + r * d, MFS_DTYPE_FLOAT32, 1, d), o1 = arr(one.data(), MFS_DTYPE_FLOAT32, 1, 3);
        ASSERT_EQ(mfs_predict_proba(M.m, &x1, &o1), MFS_OK) << mfs_last_error();
        for (int k = 0; k < 3; k++) EXPECT_EQ(one[k], P[r * 3 + k]) << "row " << r;
    }
    struct Case { int64_t row, col; float v; const char *what; };
    const Case cases[] = {{0, 0, NAN, "NaN at row 0, column 0"},
                          {1500, 3, INFINITY, "infinity at row 1500, column 3"},
                          {4499, 4, -INFINITY, "infinity at row 4499, column 4"},
                          {1023, 2, NAN, "NaN at row 1023, column 2"},
                          {2048, 1, NAN, "NaN at row 2048, column 1"},
                          {4096, 0, NAN, "NaN at row 4096, column 0"}};
    for (const Case &c : cases) {
        float keep = X[c.row * d + c.col];
        X[c.row * d + c.col] = c.v;
        EXPECT_EQ(mfs_predict(M.m, &Xa, &lo), MFS_E_VALUE) << c.what;
        EXPECT_NE(std::string(mfs_last_error()).find(std::string("mfs_predict: X contains ") + c.what),
                  std::string::npos) << mfs_last_error();
        EXPECT_EQ(mfs_predict_proba(M.m, &Xa, &po), MFS_E_VALUE) << c.what;
        EXPECT_NE(std::string(mfs_last_error()).find(std::string("mfs_predict_proba: X contains ") + c.what),
                  std::string::npos) << mfs_last_error();
        X[c.row * d + c.col] = keep;
    }
    // two bad values: the first in row order is the one named
    X[3000 * d + 1] = NAN;
    X[2100 * d + 4] = INFINITY;
    EXPECT_EQ(mfs_predict(M.m, &Xa, &lo), MFS_E_VALUE);
    EXPECT_NE(std::string(mfs_last_error()).find("infinity at row 2100, column 4"), std::string::npos)
        << mfs_last_error();
}

TEST(Mlp, ModelFileRoundTripAndHostileBytes) {
    Data D = blobs(120, 4, 3, 17);
    Model M;
    ASSERT_EQ(fit(D, small_params(), M), MFS_OK);
    auto bytes = save(M.m);
    mfs_model *L = nullptr;
    ASSERT_EQ(mfs_model_load_buffer(bytes.data(), bytes.size(), MFS_DEVICE_CPU, &L), MFS_OK) << mfs_last_error();
    std::vector<float> P1(D.n * 3), P2(D.n * 3);
    mfs_array X = arr(D.X.data(), MFS_DTYPE_FLOAT32, D.n, D.d), o1 = arr(P1.data(), MFS_DTYPE_FLOAT32, D.n, 3),
              o2 = arr(P2.data(), MFS_DTYPE_FLOAT32, D.n, 3);
    ASSERT_EQ(mfs_predict_proba(M.m, &X, &o1), MFS_OK);
    ASSERT_EQ(mfs_predict_proba(L, &X, &o2), MFS_OK);
    EXPECT_EQ(P1, P2);
    // a loaded model warm-starts from its own state (partial_fit)
    std::vector<int32_t> y = D.y;
    mfs_array ya = arr(y.data(), MFS_DTYPE_INT32, D.n);
    EXPECT_EQ(mfs_partial_fit(L, &X, &ya), MFS_OK) << mfs_last_error();
    mfs_model_free(L);
    // every byte changed in turn (checksum resealed): a clean error or a valid
    // model that predicts, never a crash
    std::mt19937 g(1);
    for (size_t i = 0; i + 8 < bytes.size(); i += 1 + bytes.size() / 700) {
        auto b = bytes;
        b[i] ^= (unsigned char)(1 + g() % 255);
        refresh_checksum(b);
        mfs_model *h = nullptr;
        mfs_status s = mfs_model_load_buffer(b.data(), b.size(), MFS_DEVICE_CPU, &h);
        if (s == MFS_OK) {
            int64_t d = 0;
            mfs_model_info(h, nullptr, nullptr, nullptr, &d);
            if (d == D.d) {
                std::vector<int32_t> pred(D.n);
                mfs_array out = arr(pred.data(), MFS_DTYPE_INT32, D.n);
                mfs_status ps = mfs_predict(h, &X, &out);
                EXPECT_TRUE(ps == MFS_OK || ps == MFS_E_SHAPE || ps == MFS_E_UNSUPPORTED) << mfs_last_error();
            }
        } else {
            EXPECT_TRUE(s == MFS_E_FORMAT || s == MFS_E_INVALID_ARG) << "byte " << i << ": " << mfs_last_error();
        }
        mfs_model_free(h);
    }
}
}  // namespace
