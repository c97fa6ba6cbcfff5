// The CUDA conv2d / pool / batch norm / flatten layers against the CPU layers
// (which tests_c/test_conv_layers.cc checks against the definitions) on the
// same inputs, with a normalized error and a stated threshold per tensor.
// Skips without a GPU; without one, the entry points answer MFS_E_DEVICE.
#include <gtest/gtest.h>
#include <cmath>
#include <random>
#include <utility>
#include <vector>
extern "C" {
#include "mfs/mfs.h"
#include "core/internal.h"
#include "neural/layers.h"
}
#include "src_cuda/cuda_api.h"

namespace {
using Vec = std::vector<float>;

Vec randn(size_t n, std::mt19937 &g) {
    std::normal_distribution<float> N(0.0f, 1.0f);
    Vec v(n);
    for (auto &x : v) x = N(g);
    return v;
}

// max |a - b| / max |b|
double rel_err(const Vec &a, const Vec &b) {
    double num = 0, den = 1e-30;
    for (size_t i = 0; i < a.size(); i++) {
        num = std::max(num, (double)std::fabs(a[i] - b[i]));
        den = std::max(den, (double)std::fabs(b[i]));
    }
    return num / den;
}

// A device copy of a host vector, freed with the object.
struct Dev {
    void *p = nullptr;
    size_t bytes = 0;
    explicit Dev(size_t n_bytes, const void *host = nullptr) : bytes(n_bytes) {
        EXPECT_EQ(mfs__cuda_alloc(&p, bytes ? bytes : 4, nullptr), MFS_OK) << mfs_last_error();
        if (host) EXPECT_EQ(mfs__cuda_upload(p, host, bytes), MFS_OK);
    }
    ~Dev() { mfs__cuda_release(p, bytes ? bytes : 4, nullptr); }
    float *f() { return (float *)p; }
    int32_t *i() { return (int32_t *)p; }
    template <typename T> std::vector<T> get(size_t n) {
        std::vector<T> h(n);
        EXPECT_EQ(mfs__cuda_download(h.data(), p, n * sizeof(T)), MFS_OK) << mfs_last_error();
        return h;
    }
};
Dev up(const Vec &v) { return Dev(v.size() * sizeof(float), v.data()); }
}  // namespace

TEST(CudaConvLayers, Conv2dMatchesCpu) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937 g(1);
    const int64_t cases[][13] = {{1, 1, 7, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1},  {3, 2, 9, 11, 5, 3, 2, 2, 1, 1, 0, 1, 1},
                                 {2, 3, 10, 10, 4, 1, 1, 1, 1, 0, 0, 1, 1}, {4, 4, 13, 12, 7, 3, 3, 2, 3, 1, 1, 2, 1},
                                 {64, 16, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1}, {3, 24, 20, 19, 10, 3, 3, 1, 1, 1, 1, 1, 1},
                                 {2, 40, 16, 16, 9, 5, 5, 2, 2, 2, 2, 1, 1}};
    int paths[2][2] = {{0, 0}, {0, 0}};  // [forward, backward][im2col + GEMM, direct]: each must be covered
    for (const auto &k : cases) {
        mfs__conv2d_dims d;
        ASSERT_EQ(mfs__conv2d_dims_init(&d, "test", k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8], k[9], k[10],
                                        k[11], k[12]),
                  MFS_OK);
        Vec x = randn(d.B * d.C * d.H * d.W, g), w = randn(d.OC * d.C * d.KH * d.KW, g), b = randn(d.OC, g);
        Vec gout = randn(d.B * d.OC * d.OH * d.OW, g);
        Vec work(mfs__conv2d_workspace_size(&d) / 4 + 1), out(gout.size()), dx(x.size()), dw(w.size(), 0.5f),
            db(d.OC, 0.5f);
        ASSERT_EQ(mfs__conv2d_forward(out.data(), x.data(), w.data(), b.data(), &d, work.data()), MFS_OK);
        ASSERT_EQ(mfs__conv2d_backward(dx.data(), dw.data(), db.data(), gout.data(), x.data(), w.data(), &d,
                                       work.data()),
                  MFS_OK);
        Dev X = up(x), Wt = up(w), Bs = up(b), G = up(gout), O(out.size() * 4), DX(x.size() * 4);
        Vec half_w(w.size(), 0.5f), half_b(d.OC, 0.5f);
        Dev DW = up(half_w), DB = up(half_b), WK(mfs__conv2d_workspace_size_cuda(&d));
        ASSERT_EQ(mfs__conv2d_forward_cuda(O.f(), X.f(), Wt.f(), Bs.f(), &d, WK.f()), MFS_OK) << mfs_last_error();
        ASSERT_EQ(mfs__conv2d_backward_cuda(DX.f(), DW.f(), DB.f(), G.f(), X.f(), Wt.f(), &d, WK.f()), MFS_OK)
            << mfs_last_error();
        // different float32 summation orders (GEMM tiles, split K) over at most
        // B OHW = 12544 terms: 1e-5 of the largest entry
        EXPECT_LT(rel_err(O.get<float>(out.size()), out), 1e-5);
        EXPECT_LT(rel_err(DX.get<float>(x.size()), dx), 1e-5);
        EXPECT_LT(rel_err(DW.get<float>(w.size()), dw), 1e-5);
        EXPECT_LT(rel_err(DB.get<float>(d.OC), db), 1e-5);
        // the forward without a bias and with the fused ReLU (NaN -> 0, as act_fwd_kernel)
        Vec relu(out.size());
        ASSERT_EQ(mfs__conv2d_forward(out.data(), x.data(), w.data(), nullptr, &d, work.data()), MFS_OK);
        for (size_t i = 0; i < out.size(); i++) relu[i] = out[i] > 0.f ? out[i] : 0.f;
        d.fused_relu = 1;
        ASSERT_EQ(mfs__conv2d_forward_cuda(O.f(), X.f(), Wt.f(), nullptr, &d, WK.f()), MFS_OK) << mfs_last_error();
        EXPECT_LT(rel_err(O.get<float>(out.size()), relu), 1e-5);
        // the backward without dinp (a first layer) and without a bias: dW alone, accumulated
        Vec dw2(w.size(), -0.25f);
        ASSERT_EQ(mfs__conv2d_backward(nullptr, dw2.data(), nullptr, gout.data(), x.data(), w.data(), &d,
                                       work.data()),
                  MFS_OK);
        Vec quarter(w.size(), -0.25f);
        Dev DW2 = up(quarter);
        ASSERT_EQ(mfs__conv2d_backward_cuda(nullptr, DW2.f(), nullptr, G.f(), X.f(), Wt.f(), &d, WK.f()), MFS_OK)
            << mfs_last_error();
        EXPECT_LT(rel_err(DW2.get<float>(w.size()), dw2), 1e-5);
        const int f = mfs__conv2d_direct_cuda(&d);
        paths[0][(f & MFS_CONV_DIRECT_FWD) ? 1 : 0]++;
        paths[1][(f & MFS_CONV_DIRECT_BWD) ? 1 : 0]++;
    }
    for (auto &pass : paths) {
        EXPECT_GT(pass[0], 0);
        EXPECT_GT(pass[1], 0);
    }
}

TEST(CudaConvLayers, PoolingMatchesCpu) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937 g(2);
    const int64_t cases[][10] = {{1, 1, 7, 7, 2, 2, 2, 2, 0, 0}, {3, 4, 28, 28, 2, 2, 2, 2, 0, 0},
                                 {2, 3, 9, 8, 3, 3, 2, 2, 1, 1}, {2, 2, 6, 11, 3, 2, 1, 3, 1, 1}};
    for (const auto &k : cases) {
        mfs__pool2d_dims d;
        ASSERT_EQ(mfs__pool2d_dims_init(&d, "test", k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8], k[9]),
                  MFS_OK);
        const size_t ni = d.B * d.C * d.H * d.W, no = d.B * d.C * d.OH * d.OW;
        Vec x = randn(ni, g), gout = randn(no, g), mx(no), av(no), dmx(ni), dav(ni);
        std::vector<int32_t> arg(no);
        mfs__maxpool2d_forward(mx.data(), arg.data(), x.data(), &d);
        mfs__maxpool2d_backward(dmx.data(), gout.data(), arg.data(), &d);
        mfs__avgpool2d_forward(av.data(), x.data(), &d);
        mfs__avgpool2d_backward(dav.data(), gout.data(), &d);
        Dev X = up(x), G = up(gout), MX(no * 4), AR(no * 4), AV(no * 4), DMX(ni * 4), DAV(ni * 4);
        ASSERT_EQ(mfs__maxpool2d_forward_cuda(MX.f(), AR.i(), X.f(), &d), MFS_OK);
        ASSERT_EQ(mfs__maxpool2d_backward_cuda(DMX.f(), G.f(), AR.i(), &d), MFS_OK);
        ASSERT_EQ(mfs__avgpool2d_forward_cuda(AV.f(), X.f(), &d), MFS_OK);
        ASSERT_EQ(mfs__avgpool2d_backward_cuda(DAV.f(), G.f(), &d), MFS_OK);
        // the max and its index are exact; sums of <= 9 terms in another order: 1e-6
        EXPECT_EQ(MX.get<float>(no), mx);
        EXPECT_EQ(AR.get<int32_t>(no), arg);
        EXPECT_LT(rel_err(DMX.get<float>(ni), dmx), 1e-6);
        EXPECT_LT(rel_err(AV.get<float>(no), av), 1e-6);
        EXPECT_LT(rel_err(DAV.get<float>(ni), dav), 1e-6);
    }
}

TEST(CudaConvLayers, BatchNormAndFlattenMatchCpu) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937 g(3);
    const int64_t shapes[][3] = {{1, 3, 5}, {7, 16, 1}, {64, 16, 196}};
    for (const auto &s : shapes) {
        const int64_t B = s[0], C = s[1], HW = s[2];
        Vec x = randn(B * C * HW, g), w = randn(C, g), b = randn(C, g), gout = randn(x.size(), g);
        for (int training : {1, 0}) {
            Vec out(x.size()), mean(C), rstd(C), rm(C, 0.25f), rv(C, 2.0f), dx(x.size()), dw(C, 0.f), db(C, 0.f);
            Vec rm0 = rm, rv0 = rv, zeros(C, 0.f);
            mfs__batchnorm_forward(out.data(), mean.data(), rstd.data(), rm.data(), rv.data(), x.data(), w.data(),
                                   b.data(), B, C, HW, 1e-5f, 0.1f, training);
            mfs__batchnorm_backward(dx.data(), dw.data(), db.data(), gout.data(), mean.data(), rstd.data(), x.data(),
                                    w.data(), B, C, HW, training);
            Dev X = up(x), W = up(w), Bb = up(b), G = up(gout), O(x.size() * 4), M(C * 4), R(C * 4), RM = up(rm0),
                RV = up(rv0), DX(x.size() * 4), DW = up(zeros), DB = up(zeros);
            ASSERT_EQ(mfs__batchnorm_forward_cuda(O.f(), M.f(), R.f(), RM.f(), RV.f(), X.f(), W.f(), Bb.f(), B, C, HW,
                                                  1e-5f, 0.1f, training),
                      MFS_OK);
            ASSERT_EQ(mfs__batchnorm_backward_cuda(DX.f(), DW.f(), DB.f(), G.f(), M.f(), R.f(), X.f(), W.f(), B, C, HW,
                                                   training),
                      MFS_OK);
            // per-channel sums in another order (a block tree in double against
            // rows in float): 1e-5 relative per tensor
            EXPECT_LT(rel_err(O.get<float>(x.size()), out), 1e-5);
            EXPECT_LT(rel_err(M.get<float>(C), mean), 1e-5);
            EXPECT_LT(rel_err(R.get<float>(C), rstd), 1e-5);
            EXPECT_LT(rel_err(RM.get<float>(C), rm), 1e-5);
            EXPECT_LT(rel_err(RV.get<float>(C), rv), 1e-5);
            if (B * HW > 1) EXPECT_LT(rel_err(DX.get<float>(x.size()), dx), 1e-4);
            EXPECT_LT(rel_err(DW.get<float>(C), dw), 1e-4);
            EXPECT_LT(rel_err(DB.get<float>(C), db), 1e-4);
        }
    }
    Vec a = randn(100, g);
    Dev A = up(a), Bf(400);
    ASSERT_EQ(mfs__flatten_forward_cuda(Bf.f(), A.f(), 100), MFS_OK);
    EXPECT_EQ(Bf.get<float>(100), a);
}

TEST(CudaConvLayers, NoGpuIsADeviceError) {
    if (mfs_cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present";
    mfs__conv2d_dims d;
    ASSERT_EQ(mfs__conv2d_dims_init(&d, "test", 1, 1, 4, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1), MFS_OK);
    float x[16] = {0}, w[9] = {0}, out[16];
    mfs_status s = mfs__conv2d_forward_cuda(out, x, w, nullptr, &d, nullptr);
    // a CPU-only build answers from the stubs; a CUDA build without a GPU fails
    // in the launch: both MFS_E_DEVICE with a message, never a crash
    EXPECT_EQ(s, MFS_E_DEVICE);
    EXPECT_STRNE(mfs_last_error(), "");
}

// The whole CNN fitted on the GPU against the same fit on the CPU: the same
// initial weights and batches, so the parameters agree up to float32 summation
// order; and the GPU-trained model file predicts on the CPU.
// The "params" array of a fitted model.
Vec params_of(mfs_model *m) {
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[4] = {0};
    EXPECT_EQ(mfs_model_array_info(m, "params", &dt, &nd, shape), MFS_OK) << mfs_last_error();
    Vec v((size_t)shape[0]);
    mfs_array a = {v.data(), MFS_DTYPE_FLOAT32, 1, {shape[0]}};
    EXPECT_EQ(mfs_model_get_array(m, "params", &a), MFS_OK) << mfs_last_error();
    return v;
}

// The benchmark CNN (conv 16 and 32, ReLU, 2x2 max-pool; batch 64): each
// ReLU's backward is done by the max-pool after it (the conv output lives in a
// gradient buffer). On 1x28x28 images both convs run the direct kernels
// (mfs__conv2d_direct_cuda). On 8x40x40 images the first conv's padded image
// does not fit in shared memory: im2col + GEMM, and a training step's conv
// goes in chunks of the batch (7 images of im2col fit its 4 MiB cap); the
// second conv's forward takes im2col + GEMM too, its backward the direct
// kernels. Each must leave the fit where the CPU's (whole-batch) fit ends.
class CudaCnnFit : public ::testing::TestWithParam<std::pair<int64_t, int64_t>> {};

TEST_P(CudaCnnFit, ReluByPoolDirectAndChunkedConvMatchCpu) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937 g(7);
    const int64_t ch = GetParam().first, side = GetParam().second, n = 192, d = ch * side * side;
    {  // the paths this case is meant to take
        mfs__conv2d_dims c1, c2;
        ASSERT_EQ(mfs__conv2d_dims_init(&c1, "test", 64, ch, side, side, 16, 3, 3, 1, 1, 1, 1, 1, 1), MFS_OK);
        ASSERT_EQ(mfs__conv2d_dims_init(&c2, "test", 64, 16, side / 2, side / 2, 32, 3, 3, 1, 1, 1, 1, 1, 1), MFS_OK);
        const int both = MFS_CONV_DIRECT_FWD | MFS_CONV_DIRECT_BWD;
        EXPECT_EQ(mfs__conv2d_direct_cuda(&c1), ch == 1 ? both : 0);
        EXPECT_EQ(mfs__conv2d_direct_cuda(&c2), ch == 1 ? both : (int)MFS_CONV_DIRECT_BWD);
    }
    Vec X = randn(n * d, g);
    std::vector<int32_t> y(n);
    for (int64_t i = 0; i < n; i++) y[i] = (int32_t)(g() % 10);
    mfs_cnn_params p;
    mfs_cnn_params_default(&p);
    p.input_shape[0] = ch;
    p.input_shape[1] = p.input_shape[2] = side;
    p.n_classes = 10;
    p.train.max_iter = 2;
    p.train.batch_size = 64;
    p.train.solver = MFS_SOLVER_SGD;
    p.train.learning_rate_init = 0.02;
    mfs_array Xa = {X.data(), MFS_DTYPE_FLOAT32, 2, {n, d}};
    mfs_array ya = {y.data(), MFS_DTYPE_INT32, 1, {n}};
    mfs_model *c = nullptr, *dv = nullptr;
    ASSERT_EQ(mfs_cnn_create(&p, MFS_DEVICE_CPU, &c), MFS_OK) << mfs_last_error();
    ASSERT_EQ(mfs_cnn_create(&p, MFS_DEVICE_CUDA, &dv), MFS_OK) << mfs_last_error();
    ASSERT_EQ(mfs_fit(c, &Xa, &ya), MFS_OK) << mfs_last_error();
    ASSERT_EQ(mfs_fit(dv, &Xa, &ya), MFS_OK) << mfs_last_error();
    const Vec pc = params_of(c), pd = params_of(dv);
    // 6 SGD steps, different summation orders on the two devices: 1e-4 of the
    // largest parameter, as CnnFitMatchesCpu; a ReLU mask applied at the wrong
    // place or a chunk computed twice moves the weights by far more
    EXPECT_LT(rel_err(pd, pc), 1e-4);
    mfs_model_free(c);
    mfs_model_free(dv);
}

INSTANTIATE_TEST_SUITE_P(CudaConvLayers, CudaCnnFit,
                         ::testing::Values(std::make_pair<int64_t, int64_t>(1, 28),
                                           std::make_pair<int64_t, int64_t>(8, 40)));

TEST(CudaConvLayers, CnnFitMatchesCpu) {
    if (mfs_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
    std::mt19937 g(4);
    const int64_t n = 256;
    Vec X = randn(n * 64, g);
    std::vector<int32_t> y(n);
    for (int64_t i = 0; i < n; i++) y[i] = (int32_t)(g() % 3);
    mfs_cnn_params p;
    mfs_cnn_params_default(&p);
    p.input_shape[1] = p.input_shape[2] = 8;
    p.conv_filters[0] = 6;
    p.conv_batch_norm[0] = 1;
    p.conv_filters[1] = 5;
    p.conv_pool_type[1] = MFS_CNN_POOL_AVG;
    p.hidden_layer_sizes[0] = 16;
    p.train.max_iter = 3;
    p.train.batch_size = 50;
    p.train.solver = MFS_SOLVER_SGD;
    p.train.learning_rate_init = 0.05;
    mfs_array Xa = {X.data(), MFS_DTYPE_FLOAT32, 2, {n, 64}};
    mfs_array ya = {y.data(), MFS_DTYPE_INT32, 1, {n}};
    mfs_model *c = nullptr, *d = nullptr;
    ASSERT_EQ(mfs_cnn_create(&p, MFS_DEVICE_CPU, &c), MFS_OK);
    ASSERT_EQ(mfs_cnn_create(&p, MFS_DEVICE_CUDA, &d), MFS_OK) << mfs_last_error();
    ASSERT_EQ(mfs_fit(c, &Xa, &ya), MFS_OK) << mfs_last_error();
    ASSERT_EQ(mfs_fit(d, &Xa, &ya), MFS_OK) << mfs_last_error();
    const Vec pc = params_of(c), pd = params_of(d);
    // 18 SGD steps with different summation orders: 1e-4 of the largest parameter
    EXPECT_LT(rel_err(pd, pc), 1e-4);
    size_t needed = 0;
    ASSERT_EQ(mfs_model_save_buffer(d, nullptr, 0, &needed), MFS_E_BUFFER_TOO_SMALL);
    std::vector<unsigned char> bytes(needed);
    ASSERT_EQ(mfs_model_save_buffer(d, bytes.data(), needed, &needed), MFS_OK);
    mfs_model *e = nullptr;
    ASSERT_EQ(mfs_model_load_buffer(bytes.data(), needed, MFS_DEVICE_CPU, &e), MFS_OK) << mfs_last_error();
    Vec pr_d(n * 3), pr_e(n * 3);
    mfs_array Rd = {pr_d.data(), MFS_DTYPE_FLOAT32, 2, {n, 3}}, Re = {pr_e.data(), MFS_DTYPE_FLOAT32, 2, {n, 3}};
    ASSERT_EQ(mfs_predict_proba(d, &Xa, &Rd), MFS_OK) << mfs_last_error();
    ASSERT_EQ(mfs_predict_proba(e, &Xa, &Re), MFS_OK);
    EXPECT_LT(rel_err(pr_e, pr_d), 1e-5);  // the same weights, two devices' float32 sums
    mfs_model_free(c);
    mfs_model_free(d);
    mfs_model_free(e);
}
