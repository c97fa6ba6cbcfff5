// The CNN model through the C API: parameter and architecture checks with
// their messages, a fit that learns a separable image task, the same seed giving
// the same bits, save/load round trips, hostile model files, warm start, the
// callback stopping a fit, bad input. (Layer math: test_conv_layers.cc; the
// whole network against PyTorch and the numpy reference: tests_py/test_cnn.py.)
#include <gtest/gtest.h>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>
#include "testing.h"

namespace {
// Images (n, 1, 6, 6): class 1 when the left half is brighter than the right.
struct Data {
    int64_t n = 0;
    std::vector<float> X;
    std::vector<int32_t> y;
};

Data halves(int64_t n, unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<float> N(0.f, 1.f);
    Data D;
    D.n = n;
    D.X.resize(n * 36);
    D.y.resize(n);
    for (int64_t i = 0; i < n; i++) {
        double l = 0, r = 0;
        for (int h = 0; h < 6; h++)
            for (int w = 0; w < 6; w++) {
                float v = N(g);
                D.X[i * 36 + h * 6 + w] = v;
                (w < 3 ? l : r) += v;
            }
        D.y[i] = l > r;
    }
    return D;
}

mfs_cnn_params small_params() {
    mfs_cnn_params p;
    mfs_cnn_params_default(&p);
    p.input_shape[0] = 1;
    p.input_shape[1] = 6;
    p.input_shape[2] = 6;
    p.n_conv = 1;
    p.conv_filters[0] = 4;
    p.conv_pool[0] = 2;
    p.conv_batch_norm[0] = 1;
    p.n_hidden = 1;
    p.hidden_layer_sizes[0] = 8;
    p.train.max_iter = 40;
    p.train.learning_rate_init = 0.01;
    p.train.batch_size = 32;
    p.train.random_state = 1;
    return p;
}

mfs_status fit(const Data &D, const mfs_cnn_params &p, mfs_model **m) {
    mfs_status s = mfs_cnn_create(&p, MFS_DEVICE_CPU, m);
    if (s != MFS_OK) return s;
    mfs_array X = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 36}};
    mfs_array y = {(void *)D.y.data(), MFS_DTYPE_INT32, 1, {D.n}};
    return mfs_fit(*m, &X, &y);
}

std::vector<float> get(const mfs_model *m, const char *name) {
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[4] = {0};
    EXPECT_EQ(mfs_model_array_info(m, name, &dt, &nd, shape), MFS_OK) << name;
    std::vector<float> v(nd ? shape[0] : 1);
    mfs_array a = {v.data(), MFS_DTYPE_FLOAT32, 1, {shape[0]}};
    EXPECT_EQ(mfs_model_get_array(m, name, &a), MFS_OK) << mfs_last_error();
    return v;
}

double accuracy(const mfs_model *m, const Data &D) {
    std::vector<int32_t> pred(D.n);
    mfs_array X = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 36}};
    mfs_array out = {pred.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_predict(m, &X, &out), MFS_OK) << mfs_last_error();
    int64_t ok = 0;
    for (int64_t i = 0; i < D.n; i++) ok += pred[i] == D.y[i];
    return (double)ok / D.n;
}

void expect_error(const mfs_cnn_params &p, const char *what) {
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_cnn_create(&p, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG) << what;
    EXPECT_NE(std::string(mfs_last_error()).find(what), std::string::npos) << mfs_last_error();
    EXPECT_EQ(m, nullptr);
}
}  // namespace

// Every field of the CNN's defaults, as cnn.h documented them before the
// training fields moved into `train`: nothing changed but the place.
TEST(Cnn, DefaultsAreUnchanged) {
    mfs_cnn_params p;
    std::memset(&p, 0xAB, sizeof p);
    mfs_cnn_params_default(&p);
    EXPECT_EQ(p.task, MFS_MLP_TASK_CLASSIFICATION);
    EXPECT_EQ(p.n_classes, 0);
    EXPECT_EQ(p.input_shape[0], 1);
    EXPECT_EQ(p.input_shape[1], 28);
    EXPECT_EQ(p.input_shape[2], 28);
    EXPECT_EQ(p.n_conv, 2);
    for (int i = 0; i < MFS_CNN_MAX_CONV; i++) {
        EXPECT_EQ(p.conv_filters[i], i == 0 ? 16 : 32) << i;
        EXPECT_EQ(p.conv_kernel_size[i], 3) << i;
        EXPECT_EQ(p.conv_stride[i], 1) << i;
        EXPECT_EQ(p.conv_padding[i], 1) << i;
        EXPECT_EQ(p.conv_pool[i], 2) << i;
        EXPECT_EQ(p.conv_pool_type[i], MFS_CNN_POOL_MAX) << i;
        EXPECT_EQ(p.conv_batch_norm[i], 0) << i;
    }
    EXPECT_EQ(p.n_hidden, 1);
    for (int i = 0; i < MFS_CNN_MAX_HIDDEN; i++) EXPECT_EQ(p.hidden_layer_sizes[i], 128) << i;
    EXPECT_EQ(p.activation, MFS_ACTIVATION_RELU);
    EXPECT_EQ(p.batch_norm_momentum, 0.1);
    EXPECT_EQ(p.batch_norm_eps, 1e-5);
    // the training defaults the header listed: adam, alpha 1e-4, batch_size
    // auto, constant 1e-3, power_t 0.5, max_iter 200, shuffle, random_state 0,
    // tol 1e-4, momentum 0.9, Nesterov, no early stopping, validation_fraction
    // 0.1, beta_1 0.9, beta_2 0.999, epsilon 1e-8, n_iter_no_change 10, dropout 0
    const mfs_train_params &t = p.train;
    EXPECT_EQ(t.solver, MFS_SOLVER_ADAM);
    EXPECT_EQ(t.learning_rate, MFS_LEARNING_RATE_CONSTANT);
    EXPECT_EQ(t.alpha, 1e-4);
    EXPECT_EQ(t.batch_size, -1);
    EXPECT_EQ(t.learning_rate_init, 1e-3);
    EXPECT_EQ(t.power_t, 0.5);
    EXPECT_EQ(t.max_iter, 200);
    EXPECT_EQ(t.shuffle, 1);
    EXPECT_EQ(t.random_state, 0);
    EXPECT_EQ(t.tol, 1e-4);
    EXPECT_EQ(t.momentum, 0.9);
    EXPECT_EQ(t.nesterovs_momentum, 1);
    EXPECT_EQ(t.early_stopping, 0);
    EXPECT_EQ(t.validation_fraction, 0.1);
    EXPECT_EQ(t.beta_1, 0.9);
    EXPECT_EQ(t.beta_2, 0.999);
    EXPECT_EQ(t.epsilon, 1e-8);
    EXPECT_EQ(t.n_iter_no_change, 10);
    EXPECT_EQ(t.verbose, 0);
    EXPECT_EQ(t.warm_start, 0);
    EXPECT_EQ(t.dropout, 0.0);
    EXPECT_EQ(mfs_params_size(MFS_MODEL_CNN), sizeof(mfs_cnn_params));
    EXPECT_EQ(sizeof(mfs_cnn_params), 72 * sizeof(int32_t) + 2 * sizeof(double) + sizeof(mfs_train_params));
}

TEST(Cnn, ParamsAreChecked) {
    mfs_cnn_params p = small_params();
    p.conv_padding[0] = 2;  // 3x3 kernel
    expect_error(p, "conv block 0 has padding 2");
    p = small_params();
    p.conv_kernel_size[0] = 7;
    p.conv_padding[0] = 0;  // 7x7 on 6x6
    expect_error(p, "conv block 0: conv2d input is 6 x 6");
    p = small_params();
    p.conv_pool[0] = 7;  // after the conv (6x6), a 7x7 pool
    expect_error(p, "conv block 0: pool2d input is 6 x 6");
    p = small_params();
    p.activation = 9;
    expect_error(p, "activation is 9");
    p = small_params();
    p.train.batch_size = 0;
    expect_error(p, "batch_size is 0");
    p = small_params();
    p.input_shape[1] = 0;
    expect_error(p, "input_shape is (1, 0, 6)");
    p = small_params();
    p.n_conv = 9;
    expect_error(p, "n_conv is 9");
    p = small_params();
    p.batch_norm_momentum = 0;
    expect_error(p, "batch_norm_momentum is 0");
}

TEST(Cnn, LearnsAndPredicts) {
    Data tr = halves(400, 1), te = halves(200, 2);
    mfs_model *m = nullptr;
    mfs_cnn_params p = small_params();
    ASSERT_EQ(fit(tr, p, &m), MFS_OK) << mfs_last_error();
    // a linear rule a small CNN learns: 90% on held-out images (chance is 50%)
    EXPECT_GE(accuracy(m, te), 0.9);
    std::vector<float> proba(te.n * 2);
    mfs_array X = {(void *)te.X.data(), MFS_DTYPE_FLOAT32, 2, {te.n, 36}};
    mfs_array P = {proba.data(), MFS_DTYPE_FLOAT32, 2, {te.n, 2}};
    ASSERT_EQ(mfs_predict_proba(m, &X, &P), MFS_OK);
    for (int64_t i = 0; i < te.n; i++) EXPECT_NEAR(proba[2 * i] + proba[2 * i + 1], 1.0, 1e-6);  // a softmax
    // params: conv weight 4*9 (no bias: batch norm follows), bn 2*4, dense
    // (4*3*3)*8 + 8, output 8*2 + 2; then the running mean and var (2*4)
    EXPECT_EQ(get(m, "params").size(), (size_t)(36 + 8 + 36 * 8 + 8 + 16 + 2 + 8));
    mfs_model_free(m);
}

TEST(Cnn, SameSeedSameBitsAndFileRoundTrip) {
    Data tr = halves(150, 3), te = halves(50, 4);
    mfs_cnn_params p = small_params();
    p.train.max_iter = 3;
    p.train.dropout = 0.2;
    mfs_model *a = nullptr, *b = nullptr;
    ASSERT_EQ(fit(tr, p, &a), MFS_OK) << mfs_last_error();
    ASSERT_EQ(fit(tr, p, &b), MFS_OK);
    EXPECT_EQ(get(a, "params"), get(b, "params"));
    std::vector<unsigned char> bytes = save(a);
    mfs_model *c = nullptr;
    ASSERT_EQ(mfs_model_load_buffer(bytes.data(), bytes.size(), MFS_DEVICE_CPU, &c), MFS_OK) << mfs_last_error();
    EXPECT_EQ(get(c, "params"), get(a, "params"));
    std::vector<float> pa(te.n * 2), pc(te.n * 2);
    mfs_array X = {(void *)te.X.data(), MFS_DTYPE_FLOAT32, 2, {te.n, 36}};
    mfs_array Pa = {pa.data(), MFS_DTYPE_FLOAT32, 2, {te.n, 2}}, Pc = {pc.data(), MFS_DTYPE_FLOAT32, 2, {te.n, 2}};
    ASSERT_EQ(mfs_predict_proba(a, &X, &Pa), MFS_OK);
    ASSERT_EQ(mfs_predict_proba(c, &X, &Pc), MFS_OK);
    EXPECT_EQ(pa, pc);
    mfs_model_free(a);
    mfs_model_free(b);
    mfs_model_free(c);
}

TEST(Cnn, HostileFilesAreFormatErrors) {
    Data tr = halves(64, 5);
    mfs_cnn_params p = small_params();
    p.train.max_iter = 1;
    mfs_model *m = nullptr;
    ASSERT_EQ(fit(tr, p, &m), MFS_OK);
    std::vector<unsigned char> good = save(m);
    mfs_model_free(m);
    // every truncation fails cleanly
    for (size_t cut = 0; cut < good.size(); cut += 97) {
        mfs_model *x = nullptr;
        EXPECT_NE(mfs_model_load_buffer(good.data(), cut, MFS_DEVICE_CPU, &x), MFS_OK) << cut;
        EXPECT_EQ(x, nullptr);
    }
    // a valid checksum around a changed architecture: the arrays no longer fit
    // the network the params describe (the first conv's filters live in the
    // params struct, found by its value 4 after input_shape (1, 6, 6))
    std::vector<unsigned char> bad = good;
    const int32_t want[5] = {1, 6, 6, 1, 4};  // input_shape, n_conv, conv_filters[0]
    size_t at = std::string::npos;
    for (size_t i = 0; i + sizeof want <= bad.size(); i++)
        if (std::memcmp(bad.data() + i, want, sizeof want) == 0) {
            at = i;
            break;
        }
    ASSERT_NE(at, std::string::npos);
    const int32_t five = 5;
    std::memcpy(bad.data() + at + 16, &five, 4);
    refresh_checksum(bad);
    mfs_model *x = nullptr;
    EXPECT_EQ(mfs_model_load_buffer(bad.data(), bad.size(), MFS_DEVICE_CPU, &x), MFS_E_FORMAT);
    EXPECT_NE(std::string(mfs_last_error()).find("cnn: 'params'"), std::string::npos) << mfs_last_error();
    EXPECT_EQ(x, nullptr);
}

TEST(Cnn, WarmStartContinues) {
    Data tr = halves(128, 6);
    mfs_cnn_params p = small_params();
    p.train.shuffle = 0;
    p.train.max_iter = 4;
    mfs_model *once = nullptr;
    ASSERT_EQ(fit(tr, p, &once), MFS_OK);
    p.train.max_iter = 2;
    mfs_model *first = nullptr;
    ASSERT_EQ(fit(tr, p, &first), MFS_OK);
    p.train.warm_start = 1;
    mfs_model *second = nullptr;
    ASSERT_EQ(mfs_cnn_create(&p, MFS_DEVICE_CPU, &second), MFS_OK);
    std::vector<float> params = get(first, "params"), opt = get(first, "optimizer_state");
    std::vector<double> counters(10);
    mfs_array C = {counters.data(), MFS_DTYPE_FLOAT64, 1, {10}};
    ASSERT_EQ(mfs_model_get_array(first, "counters", &C), MFS_OK);
    mfs_array Pa = {params.data(), MFS_DTYPE_FLOAT32, 1, {(int64_t)params.size()}};
    mfs_array Oa = {opt.data(), MFS_DTYPE_FLOAT32, 1, {(int64_t)opt.size()}};
    ASSERT_EQ(mfs_model_set_array(second, "init_params", &Pa), MFS_OK);
    ASSERT_EQ(mfs_model_set_array(second, "init_optimizer", &Oa), MFS_OK);
    ASSERT_EQ(mfs_model_set_array(second, "init_counters", &C), MFS_OK);
    mfs_array X = {(void *)tr.X.data(), MFS_DTYPE_FLOAT32, 2, {tr.n, 36}};
    mfs_array y = {(void *)tr.y.data(), MFS_DTYPE_INT32, 1, {tr.n}};
    ASSERT_EQ(mfs_fit(second, &X, &y), MFS_OK) << mfs_last_error();
    // 2 + 2 epochs with the state carried over (weights, running statistics,
    // Adam's moments and step count) are the 4 epochs: the same operations
    EXPECT_EQ(get(second, "params"), get(once, "params"));
    // a wrongly sized init array is a shape error naming it
    std::vector<float> shorter(params.size() - 1);
    mfs_array S = {shorter.data(), MFS_DTYPE_FLOAT32, 1, {(int64_t)shorter.size()}};
    ASSERT_EQ(mfs_model_set_array(second, "init_params", &S), MFS_OK);
    EXPECT_EQ(mfs_fit(second, &X, &y), MFS_E_SHAPE);
    EXPECT_NE(std::string(mfs_last_error()).find("'init_params'"), std::string::npos) << mfs_last_error();
    mfs_model_free(once);
    mfs_model_free(first);
    mfs_model_free(second);
}

namespace {
int32_t stop_after_3(void *user, const mfs_train_event *ev) {
    int *batches = (int *)user;
    if (ev->kind == MFS_TRAIN_EVENT_BATCH) ++*batches;
    return *batches >= 3;
}
}  // namespace

TEST(Cnn, CallbackStopsAfterTheCurrentBatch) {
    Data tr = halves(200, 7);
    mfs_cnn_params p = small_params();
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_cnn_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array X = {(void *)tr.X.data(), MFS_DTYPE_FLOAT32, 2, {tr.n, 36}};
    mfs_array y = {(void *)tr.y.data(), MFS_DTYPE_INT32, 1, {tr.n}};
    int batches = 0;
    ASSERT_EQ(mfs_fit_with_callback(m, &X, &y, 0, stop_after_3, &batches), MFS_OK) << mfs_last_error();
    EXPECT_EQ(batches, 3);
    std::vector<double> counters(10);
    mfs_array C = {counters.data(), MFS_DTYPE_FLOAT64, 1, {10}};
    ASSERT_EQ(mfs_model_get_array(m, "counters", &C), MFS_OK);
    EXPECT_EQ(counters[1], 3.0);  // optimizer steps
    EXPECT_EQ(counters[9], 1.0);  // stopped by the callback
    EXPECT_GT(accuracy(m, tr), 0.0);  // fitted: predicts
    mfs_model_free(m);
}

TEST(Cnn, BadInput) {
    Data tr = halves(40, 8);
    mfs_cnn_params p = small_params();
    mfs_model *m = nullptr;
    ASSERT_EQ(mfs_cnn_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array X35 = {(void *)tr.X.data(), MFS_DTYPE_FLOAT32, 2, {tr.n, 35}};
    mfs_array y = {(void *)tr.y.data(), MFS_DTYPE_INT32, 1, {tr.n}};
    EXPECT_EQ(mfs_fit(m, &X35, &y), MFS_E_SHAPE);
    EXPECT_NE(std::string(mfs_last_error()).find("X has 35 columns, input_shape (1, 6, 6) needs 36"),
              std::string::npos)
        << mfs_last_error();
    std::vector<float> nan = tr.X;
    nan[7] = NAN;
    mfs_array Xn = {nan.data(), MFS_DTYPE_FLOAT32, 2, {tr.n, 36}};
    EXPECT_EQ(mfs_fit(m, &Xn, &y), MFS_E_VALUE);
    mfs_array X0 = {(void *)tr.X.data(), MFS_DTYPE_FLOAT32, 2, {0, 36}};
    mfs_array y0 = {(void *)tr.y.data(), MFS_DTYPE_INT32, 1, {0}};
    EXPECT_NE(mfs_fit(m, &X0, &y0), MFS_OK);
    std::vector<int32_t> bad = tr.y;
    bad[0] = 5;
    mfs_array yb = {bad.data(), MFS_DTYPE_INT32, 1, {tr.n}};
    p.n_classes = 2;
    mfs_model *m2 = nullptr;
    ASSERT_EQ(mfs_cnn_create(&p, MFS_DEVICE_CPU, &m2), MFS_OK);
    mfs_array X = {(void *)tr.X.data(), MFS_DTYPE_FLOAT32, 2, {tr.n, 36}};
    EXPECT_NE(mfs_fit(m2, &X, &yb), MFS_OK);  // label 5 with 2 classes
    std::vector<int32_t> pred(tr.n);
    mfs_array out = {pred.data(), MFS_DTYPE_INT32, 1, {tr.n}};
    EXPECT_EQ(mfs_predict(m, &X, &out), MFS_E_NOT_FITTED);
    mfs_model_free(m);
    mfs_model_free(m2);
}
