// The dense layers and the trainer on CUDA against the CPU on the same inputs
// (ggml's test-backend-ops idea: one normalized error, one threshold per op),
// and a whole MLP fit on the GPU against the CPU fit. Skips without a GPU;
// without CUDA at all, the entry points answer MFS_E_DEVICE.
#include <gtest/gtest.h>
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <vector>
extern "C" {
#include "mfs/mfs.h"
}
#include "neural/layers.h"
#include "neural/network.h"
#include "src_cuda/cuda_api.h"

namespace {
bool have_gpu() { return mfs_cuda_device_count() > 0; }

std::vector<float> randf(size_t n, unsigned seed, double lo = -1, double hi = 1) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<double> U(lo, hi);
    std::vector<float> v(n);
    for (auto &x : v) x = (float)U(g);
    return v;
}

// A device copy of a host vector, freed at scope exit.
template <typename T> struct Dev {
    T *p = nullptr;
    size_t n = 0;
    explicit Dev(const std::vector<T> &h) : n(h.size()) {
        EXPECT_EQ(mfs__cuda_alloc((void **)&p, n * sizeof(T) + 64, nullptr), MFS_OK) << mfs_last_error();
        EXPECT_EQ(mfs__cuda_upload(p, h.data(), n * sizeof(T)), MFS_OK) << mfs_last_error();
    }
    std::vector<T> get() const {
        std::vector<T> h(n);
        EXPECT_EQ(mfs__cuda_download(h.data(), p, n * sizeof(T)), MFS_OK) << mfs_last_error();
        return h;
    }
    ~Dev() { mfs__cuda_release(p, n * sizeof(T) + 64, nullptr); }
};

// max |gpu - cpu| / (1e-6 + max |cpu|): the normalized error of ggml's test-backend-ops
double nerr(const std::vector<float> &gpu, const std::vector<float> &cpu) {
    double e = 0, m = 0;
    for (size_t i = 0; i < cpu.size(); i++) {
        e = std::fmax(e, std::fabs((double)gpu[i] - cpu[i]));
        m = std::fmax(m, std::fabs((double)cpu[i]));
    }
    return e / (1e-6 + m);
}

TEST(CudaLayers, WithoutAGpuEveryEntryPointIsADeviceError) {
    if (have_gpu()) GTEST_SKIP() << "a GPU is present: the kernels run in the other tests";
    float x = 0;
    EXPECT_EQ(mfs__activation_forward_cuda(&x, &x, 1, MFS__ACT_RELU), MFS_E_DEVICE);
    EXPECT_EQ(mfs__linear_forward_cuda(&x, &x, &x, &x, 1, 1, 1, nullptr), MFS_E_DEVICE);
    EXPECT_FALSE(std::string(mfs_last_error()).empty());
    int64_t first = -1;
    EXPECT_EQ(mfs__nn_first_nonfinite_cuda(&x, 1, &first), MFS_E_DEVICE);
}

// GEMM layers: the device SGEMM sums in another order (tiles, split K):
// 1e-5 of the largest value for K up to ~300 float32 products.
const double TOL_GEMM = 1e-5, TOL_ELEM = 1e-6;

TEST(CudaLayers, LinearMatchesCpu) {
    if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
    for (auto [B, Ci, Co] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{1, 1, 1}, {5, 13, 17}, {128, 300, 65}}) {
        auto x = randf(B * Ci, 1), W = randf(Ci * Co, 2), b = randf(Co, 3), g = randf(B * Co, 4);
        std::vector<float> out(B * Co), dx(B * Ci), dW(Ci * Co, 0.25f), db(Co, 0.25f);
        ASSERT_EQ(mfs__linear_forward(out.data(), x.data(), W.data(), b.data(), B, Ci, Co), MFS_OK);
        ASSERT_EQ(mfs__linear_backward(dx.data(), dW.data(), db.data(), g.data(), x.data(), W.data(), B, Ci, Co), MFS_OK);
        Dev<float> dX(x), dWt(W), dB(b), dG(g), dOut(out), dDx(dx), dDW(std::vector<float>(Ci * Co, 0.25f)),
            dDb(std::vector<float>(Co, 0.25f));
        ASSERT_EQ(mfs__linear_forward_cuda(dOut.p, dX.p, dWt.p, dB.p, B, Ci, Co, nullptr), MFS_OK) << mfs_last_error();
        ASSERT_EQ(mfs__linear_backward_cuda(dDx.p, dDW.p, dDb.p, dG.p, dX.p, dWt.p, B, Ci, Co, nullptr), MFS_OK);
        EXPECT_LE(nerr(dOut.get(), out), TOL_GEMM);
        EXPECT_LE(nerr(dDx.get(), dx), TOL_GEMM);
        EXPECT_LE(nerr(dDW.get(), dW), TOL_GEMM);
        EXPECT_LE(nerr(dDb.get(), db), TOL_GEMM);
    }
}

TEST(CudaLayers, ElementwiseRowwiseAndDropoutMatchCpu) {
    if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
    const int64_t B = 37, K = 11, N = B * K;
    auto x = randf(N, 5, -4, 4), g = randf(N, 6);
    for (int act = 0; act <= 4; act++) {
        std::vector<float> out(N), dx(N);
        mfs__activation_forward(out.data(), x.data(), N, act);
        mfs__activation_backward(dx.data(), g.data(), out.data(), x.data(), N, act);
        Dev<float> dX(x), dG(g), dOut(out), dDx(dx);
        ASSERT_EQ(mfs__activation_forward_cuda(dOut.p, dX.p, N, act), MFS_OK);
        ASSERT_EQ(mfs__activation_backward_cuda(dDx.p, dG.p, dOut.p, dX.p, N, act), MFS_OK);
        // libm and CUDA's erff / expf differ by a couple of ulp; tanhf more:
        // the library is built with --use_fast_math, and on an H100 (2026-11-27)
        // tanh differed from libm's by 7.3e-6 of the largest |output| (its
        // derivative 1 - y^2 by 1.1e-5), so tanh gets 3e-5
        const double tol = act == MFS__ACT_TANH ? 3e-5 : 4 * TOL_ELEM;
        EXPECT_LE(nerr(dOut.get(), out), tol) << "act " << act;
        EXPECT_LE(nerr(dDx.get(), dx), tol) << "act " << act;
    }
    std::vector<int32_t> t(B);
    for (int64_t b = 0; b < B; b++) t[b] = (int32_t)(b % K);
    std::vector<float> probs(N), losses(B), dz(N);
    mfs__softmax_crossentropy_forward(probs.data(), losses.data(), x.data(), t.data(), B, K);
    mfs__softmax_crossentropy_backward(dz.data(), probs.data(), t.data(), B, K, 0.5f);
    Dev<float> dX(x), dP(probs), dL(losses), dDz(dz);
    Dev<int32_t> dT(t);
    ASSERT_EQ(mfs__softmax_crossentropy_forward_cuda(dP.p, dL.p, dX.p, dT.p, B, K), MFS_OK);
    ASSERT_EQ(mfs__softmax_crossentropy_backward_cuda(dDz.p, dP.p, dT.p, B, K, 0.5f), MFS_OK);
    EXPECT_LE(nerr(dP.get(), probs), 4 * TOL_ELEM);
    EXPECT_LE(nerr(dL.get(), losses), 4 * TOL_ELEM);
    EXPECT_LE(nerr(dDz.get(), dz), 4 * TOL_ELEM);
    // dropout: the very same mask (bitwise)
    std::vector<float> dout(N);
    mfs__dropout_forward(dout.data(), x.data(), N, 0.4f, 99, 12345);
    Dev<float> dD(dout);
    ASSERT_EQ(mfs__dropout_forward_cuda(dD.p, dX.p, N, 0.4f, 99, 12345), MFS_OK);
    EXPECT_EQ(dD.get(), dout);
    // layer norm
    auto w = randf(K, 7, 0.5, 1.5), bb = randf(K, 8);
    std::vector<float> ln(N), mean(B), rstd(B), dln(N), dw(K, 0.f), db(K, 0.f);
    mfs__layernorm_forward(ln.data(), mean.data(), rstd.data(), x.data(), w.data(), bb.data(), B, K, 1e-5f);
    mfs__layernorm_backward(dln.data(), dw.data(), db.data(), g.data(), mean.data(), rstd.data(), x.data(), w.data(), B, K);
    Dev<float> dW(w), dBb(bb), dLn(ln), dM(mean), dR(rstd), dDln(dln), dDw(std::vector<float>(K, 0.f)),
        dDb(std::vector<float>(K, 0.f)), dG(g);
    ASSERT_EQ(mfs__layernorm_forward_cuda(dLn.p, dM.p, dR.p, dX.p, dW.p, dBb.p, B, K, 1e-5f), MFS_OK);
    ASSERT_EQ(mfs__layernorm_backward_cuda(dDln.p, dDw.p, dDb.p, dG.p, dM.p, dR.p, dX.p, dW.p, B, K), MFS_OK);
    EXPECT_LE(nerr(dLn.get(), ln), 1e-5);
    EXPECT_LE(nerr(dDln.get(), dln), 1e-5);
    EXPECT_LE(nerr(dDw.get(), dw), 1e-5);
    EXPECT_LE(nerr(dDb.get(), db), 1e-5);
}

// The whole fit on the GPU (data uploaded once, batches gathered on the
// device) follows the CPU's trajectory: the same init, order and masks; only
// the summation order of the GEMMs differs, so the loss curves agree to 1e-3
// relative over 20 epochs and the accuracies to a couple of rows.
TEST(CudaLayers, MlpFitOnTheGpuFollowsTheCpu) {
    if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
    const int64_t n = 500, d = 12, K = 4;
    std::mt19937 gen(3);
    std::normal_distribution<double> N01(0, 1);
    std::vector<float> X(n * d);
    std::vector<int32_t> y(n);
    for (int64_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % K);
        for (int64_t j = 0; j < d; j++) X[i * d + j] = (float)(N01(gen) + (j % K == y[i] ? 2.0 : 0.0));
    }
    mfs_mlp_params p;
    mfs_mlp_params_default(&p);
    p.hidden_layer_sizes[0] = 32;
    p.train.max_iter = 20;
    p.train.batch_size = 64;
    p.train.dropout = 0.1;
    p.train.early_stopping = 1;
    p.train.n_iter_no_change = 100;
    mfs_array Xa{X.data(), MFS_DTYPE_FLOAT32, 2, {n, d, 0, 0}}, ya{y.data(), MFS_DTYPE_INT32, 1, {n, 0, 0, 0}};
    mfs_model *cpu = nullptr, *gpu = nullptr;
    ASSERT_EQ(mfs_mlp_create(&p, MFS_DEVICE_CPU, &cpu), MFS_OK);
    ASSERT_EQ(mfs_mlp_create(&p, MFS_DEVICE_CUDA, &gpu), MFS_OK) << mfs_last_error();
    ASSERT_EQ(mfs_fit(cpu, &Xa, &ya), MFS_OK) << mfs_last_error();
    ASSERT_EQ(mfs_fit(gpu, &Xa, &ya), MFS_OK) << mfs_last_error();
    std::vector<double> lc(20), lg(20);
    mfs_array a1{lc.data(), MFS_DTYPE_FLOAT64, 1, {20, 0, 0, 0}}, a2{lg.data(), MFS_DTYPE_FLOAT64, 1, {20, 0, 0, 0}};
    ASSERT_EQ(mfs_model_get_array(cpu, "loss_curve", &a1), MFS_OK);
    ASSERT_EQ(mfs_model_get_array(gpu, "loss_curve", &a2), MFS_OK);
    for (int e = 0; e < 20; e++) EXPECT_NEAR(lg[e], lc[e], 1e-3 * lc[e]) << "epoch " << e;
    std::vector<int32_t> pc(n), pg(n);
    mfs_array oc{pc.data(), MFS_DTYPE_INT32, 1, {n, 0, 0, 0}}, og{pg.data(), MFS_DTYPE_INT32, 1, {n, 0, 0, 0}};
    ASSERT_EQ(mfs_predict(cpu, &Xa, &oc), MFS_OK);
    ASSERT_EQ(mfs_predict(gpu, &Xa, &og), MFS_OK) << mfs_last_error();
    int64_t diff = 0;
    for (int64_t i = 0; i < n; i++) diff += pc[i] != pg[i];
    EXPECT_LE(diff, 3);
    // a network trained on the GPU predicts on the CPU from its file
    size_t need = 0;
    ASSERT_EQ(mfs_model_save_buffer(gpu, nullptr, 0, &need), MFS_E_BUFFER_TOO_SMALL);
    std::vector<unsigned char> buf(need);
    ASSERT_EQ(mfs_model_save_buffer(gpu, buf.data(), need, &need), MFS_OK);
    mfs_model *back = nullptr;
    ASSERT_EQ(mfs_model_load_buffer(buf.data(), need, MFS_DEVICE_CPU, &back), MFS_OK) << mfs_last_error();
    std::vector<int32_t> pb(n);
    mfs_array ob{pb.data(), MFS_DTYPE_INT32, 1, {n, 0, 0, 0}};
    ASSERT_EQ(mfs_predict(back, &Xa, &ob), MFS_OK);
    diff = 0;
    for (int64_t i = 0; i < n; i++) diff += pb[i] != pg[i];
    EXPECT_LE(diff, 2);  // the same weights, summed in another order
    mfs_model_free(back);
    // NaN / infinity in X: the GPU model checks X on the device (the generic
    // layer skips its host pass for it) and answers with the CPU's message
    for (float bad : {std::nanf(""), -INFINITY}) {
        std::vector<float> Xb = X;
        Xb[(size_t)(321 * d + 5)] = bad;
        Xb[(size_t)(400 * d + 1)] = bad; // a later one: the first is reported
        mfs_array Xba{Xb.data(), MFS_DTYPE_FLOAT32, 2, {n, d, 0, 0}};
        ASSERT_EQ(mfs_predict(cpu, &Xba, &oc), MFS_E_VALUE);
        const std::string want = mfs_last_error();
        EXPECT_NE(want.find("row 321, column 5"), std::string::npos) << want;
        ASSERT_EQ(mfs_predict(gpu, &Xba, &og), MFS_E_VALUE);
        EXPECT_EQ(std::string(mfs_last_error()), want);
        std::vector<float> pr(n * K);
        mfs_array opr{pr.data(), MFS_DTYPE_FLOAT32, 2, {n, K, 0, 0}};
        ASSERT_EQ(mfs_predict_proba(gpu, &Xba, &opr), MFS_E_VALUE);
        EXPECT_NE(std::string(mfs_last_error()).find("mfs_predict_proba: X contains"), std::string::npos);
    }
    mfs_model_free(cpu);
    mfs_model_free(gpu);
}

// A predict whose X is larger than the 4 MiB below which the upload is a
// plain copy goes through the pinned staging buffers in 8 MiB pieces: here
// 3001 rows of 784 floats (9.4 MB, a full piece and a ragged one). The GPU's
// probabilities follow the CPU's, and a NaN in the second piece is reported
// at its row. Two threads predict at once: one of them finds the staging
// buffers busy and uploads with the plain copy; both must be right.
TEST(CudaLayers, LargePredictUploadsThroughPinnedStaging) {
    if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
    const int64_t d = 784, K = 3, n_fit = 64, n = 3001;
    std::vector<float> Xf = randf((size_t)(n_fit * d), 21);
    std::vector<int32_t> yf(n_fit);
    for (int64_t i = 0; i < n_fit; i++) yf[i] = (int32_t)(i % K);
    mfs_mlp_params p;
    mfs_mlp_params_default(&p);
    p.hidden_layer_sizes[0] = 16;
    p.train.max_iter = 2;
    mfs_array Xfa{Xf.data(), MFS_DTYPE_FLOAT32, 2, {n_fit, d, 0, 0}}, yfa{yf.data(), MFS_DTYPE_INT32, 1, {n_fit, 0, 0, 0}};
    mfs_model *cpu = nullptr, *gpu = nullptr;
    ASSERT_EQ(mfs_mlp_create(&p, MFS_DEVICE_CPU, &cpu), MFS_OK);
    ASSERT_EQ(mfs_fit(cpu, &Xfa, &yfa), MFS_OK) << mfs_last_error();
    size_t need = 0;
    ASSERT_EQ(mfs_model_save_buffer(cpu, nullptr, 0, &need), MFS_E_BUFFER_TOO_SMALL);
    std::vector<unsigned char> file(need);
    ASSERT_EQ(mfs_model_save_buffer(cpu, file.data(), need, &need), MFS_OK);
    ASSERT_EQ(mfs_model_load_buffer(file.data(), need, MFS_DEVICE_CUDA, &gpu), MFS_OK) << mfs_last_error();
    std::vector<float> X = randf((size_t)(n * d), 22, -3, 3);
    mfs_array Xa{X.data(), MFS_DTYPE_FLOAT32, 2, {n, d, 0, 0}};
    std::vector<float> pc((size_t)(n * K)), pg((size_t)(n * K)), pg2((size_t)(n * K));
    mfs_array oc{pc.data(), MFS_DTYPE_FLOAT32, 2, {n, K, 0, 0}}, og{pg.data(), MFS_DTYPE_FLOAT32, 2, {n, K, 0, 0}};
    mfs_array og2{pg2.data(), MFS_DTYPE_FLOAT32, 2, {n, K, 0, 0}};
    ASSERT_EQ(mfs_predict_proba(cpu, &Xa, &oc), MFS_OK) << mfs_last_error();
    mfs_status s1 = MFS_E_DEVICE, s2 = MFS_E_DEVICE;
    std::thread other([&] { s2 = mfs_predict_proba(gpu, &Xa, &og2); });
    s1 = mfs_predict_proba(gpu, &Xa, &og);
    other.join();
    ASSERT_EQ(s1, MFS_OK) << mfs_last_error();
    ASSERT_EQ(s2, MFS_OK);
    // float32 sums of 784 products in another order on each device
    EXPECT_LT(nerr(pg, pc), 1e-5);
    EXPECT_LT(nerr(pg2, pc), 1e-5);
    std::vector<float> Xb = X;
    Xb[(size_t)(2900 * d + 7)] = std::nanf("");
    mfs_array Xba{Xb.data(), MFS_DTYPE_FLOAT32, 2, {n, d, 0, 0}};
    ASSERT_EQ(mfs_predict_proba(cpu, &Xba, &oc), MFS_E_VALUE);
    const std::string want = mfs_last_error();
    EXPECT_NE(want.find("row 2900, column 7"), std::string::npos) << want;
    ASSERT_EQ(mfs_predict_proba(gpu, &Xba, &og), MFS_E_VALUE);
    EXPECT_EQ(std::string(mfs_last_error()), want);
    mfs_model_free(cpu);
    mfs_model_free(gpu);
}

// The device's finite check: the lowest bad index, n when none; NaN, both
// infinities, and the largest finite float (not a hit); lengths around the
// grid's stride.
TEST(CudaLayers, FirstNonFiniteIndex) {
    if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
    for (int64_t n : {1, 7, 256, 1000, 300001}) {
        std::vector<float> x = randf((size_t)n, 9);
        x[0] = 3.4028235e38f;
        {
            Dev<float> dx(x);
            int64_t first = -1;
            ASSERT_EQ(mfs__nn_first_nonfinite_cuda(dx.p, n, &first), MFS_OK) << mfs_last_error();
            EXPECT_EQ(first, n);
        }
        const float bads[] = {std::nanf(""), INFINITY, -INFINITY};
        for (float bad : bads) {
            std::vector<float> xb = x;
            const int64_t at = n / 2;
            xb[(size_t)at] = bad;
            xb[(size_t)(n - 1)] = bad;
            Dev<float> dx(xb);
            int64_t first = -1;
            ASSERT_EQ(mfs__nn_first_nonfinite_cuda(dx.p, n, &first), MFS_OK) << mfs_last_error();
            EXPECT_EQ(first, at) << "n " << n;
        }
    }
    int64_t first = -1;
    ASSERT_EQ(mfs__nn_first_nonfinite_cuda(nullptr, 0, &first), MFS_OK);
    EXPECT_EQ(first, 0);
}
}  // namespace
