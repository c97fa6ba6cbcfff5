// conv2d, max/avg-pool 2d, flatten and batch norm of src_c/neural against
// straightforward double-precision loops written here from the definitions (an
// independent reference), on random shapes: odd sizes, batch 1, stride,
// padding, dilation, 1x1 kernels. Also the adjoint identity of conv2d, the
// accumulation contract (weight gradients +=), thread-count (in)dependence and
// the geometry checks. The float64 finite-difference checks and the PyTorch
// comparison of the same layers are in tests_py/test_conv_layers.py.
#include <gtest/gtest.h>
#include <cmath>
#include <random>
#include <string>
#include <vector>
extern "C" {
#include "mfs/mfs.h"
#include "core/internal.h"
#include "neural/layers.h"
}

namespace {
using Vec = std::vector<float>;
using DVec = std::vector<double>;

Vec randn(size_t n, std::mt19937 &g, float scale = 1.0f) {
    std::normal_distribution<float> N(0.0f, scale);
    Vec v(n);
    for (auto &x : v) x = N(g);
    return v;
}

// Relative error of a float result against a double reference: max |a - b|
// over max |b| (a normalized error, as ggml's test-backend-ops).
double rel_err(const Vec &a, const DVec &b) {
    double num = 0, den = 1e-30;
    for (size_t i = 0; i < a.size(); i++) {
        num = std::max(num, std::fabs((double)a[i] - b[i]));
        den = std::max(den, std::fabs(b[i]));
    }
    return num / den;
}

struct ConvCase {
    int64_t B, C, H, W, OC, KH, KW, sh, sw, ph, pw, dh, dw;
};

// out[b,o,oh,ow] from the definition, in double.
DVec conv_ref(const Vec &x, const Vec &w, const Vec &bias, const mfs__conv2d_dims &d) {
    DVec out(d.B * d.OC * d.OH * d.OW);
    for (int64_t b = 0; b < d.B; b++)
        for (int64_t o = 0; o < d.OC; o++)
            for (int64_t oh = 0; oh < d.OH; oh++)
                for (int64_t ow = 0; ow < d.OW; ow++) {
                    double s = bias.empty() ? 0.0 : bias[o];
                    for (int64_t c = 0; c < d.C; c++)
                        for (int64_t i = 0; i < d.KH; i++)
                            for (int64_t j = 0; j < d.KW; j++) {
                                int64_t ih = oh * d.stride_h - d.pad_h + i * d.dil_h;
                                int64_t iw = ow * d.stride_w - d.pad_w + j * d.dil_w;
                                if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) continue;
                                s += (double)w[((o * d.C + c) * d.KH + i) * d.KW + j] *
                                     x[((b * d.C + c) * d.H + ih) * d.W + iw];
                            }
                    out[((b * d.OC + o) * d.OH + oh) * d.OW + ow] = s;
                }
    return out;
}

// The three gradients from the definition (the transpose of conv_ref's sums).
void conv_grad_ref(const Vec &g, const Vec &x, const Vec &w, const mfs__conv2d_dims &d, DVec &dx, DVec &dw,
                   DVec &db) {
    dx.assign(x.size(), 0.0);
    dw.assign(w.size(), 0.0);
    db.assign(d.OC, 0.0);
    for (int64_t b = 0; b < d.B; b++)
        for (int64_t o = 0; o < d.OC; o++)
            for (int64_t oh = 0; oh < d.OH; oh++)
                for (int64_t ow = 0; ow < d.OW; ow++) {
                    double go = g[((b * d.OC + o) * d.OH + oh) * d.OW + ow];
                    db[o] += go;
                    for (int64_t c = 0; c < d.C; c++)
                        for (int64_t i = 0; i < d.KH; i++)
                            for (int64_t j = 0; j < d.KW; j++) {
                                int64_t ih = oh * d.stride_h - d.pad_h + i * d.dil_h;
                                int64_t iw = ow * d.stride_w - d.pad_w + j * d.dil_w;
                                if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) continue;
                                int64_t xi = ((b * d.C + c) * d.H + ih) * d.W + iw;
                                int64_t wi = ((o * d.C + c) * d.KH + i) * d.KW + j;
                                dw[wi] += go * x[xi];
                                dx[xi] += go * w[wi];
                            }
                }
}

const ConvCase kConvCases[] = {
    {1, 1, 7, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1},    // batch 1, odd image, same padding
    {3, 2, 9, 11, 5, 3, 2, 2, 1, 1, 0, 1, 1},   // rectangular kernel, stride 2 x 1
    {2, 3, 10, 10, 4, 1, 1, 1, 1, 0, 0, 1, 1},  // pointwise: no im2col
    {2, 3, 8, 7, 6, 1, 1, 2, 2, 0, 0, 1, 1},    // 1x1 with stride: im2col
    {4, 4, 13, 12, 7, 3, 3, 2, 3, 1, 1, 2, 1},  // dilation 2 rows, stride 2 x 3
    {5, 1, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1}, // the first layer of the digits CNN
    {3, 16, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1},// its second layer
    {2, 5, 6, 6, 3, 5, 5, 1, 1, 2, 2, 1, 1},    // kernel close to the image
    {7, 2, 5, 5, 3, 5, 5, 1, 1, 0, 0, 1, 1},    // 1 x 1 output
};
}  // namespace

TEST(Conv2d, ForwardAndBackwardMatchTheDefinition) {
    std::mt19937 g(1);
    for (const ConvCase &k : kConvCases) {
        mfs__conv2d_dims d;
        ASSERT_EQ(mfs__conv2d_dims_init(&d, "test", k.B, k.C, k.H, k.W, k.OC, k.KH, k.KW, k.sh, k.sw, k.ph, k.pw,
                                        k.dh, k.dw),
                  MFS_OK)
            << mfs_last_error();
        Vec x = randn(k.B * k.C * k.H * k.W, g), w = randn(k.OC * k.C * k.KH * k.KW, g, 0.5f), b = randn(k.OC, g);
        Vec work(mfs__conv2d_workspace_size(&d) / sizeof(float) + 1);
        Vec out(d.B * d.OC * d.OH * d.OW, NAN);
        ASSERT_EQ(mfs__conv2d_forward(out.data(), x.data(), w.data(), b.data(), &d, work.data()), MFS_OK);
        DVec ref = conv_ref(x, w, b, d);
        // float32 sums of CKK <= 144 products of N(0,1) x N(0,0.25): 1e-5 of the
        // largest output is ~100 ulps of headroom
        EXPECT_LT(rel_err(out, ref), 1e-5) << k.B << " " << k.C << " " << k.H << " " << k.KH;

        Vec gout = randn(out.size(), g);
        DVec rdx, rdw, rdb;
        conv_grad_ref(gout, x, w, d, rdx, rdw, rdb);
        // the weight gradients accumulate: start from 1 and subtract it after
        Vec dx(x.size(), NAN), dw(w.size(), 1.0f), db(k.OC, 1.0f);
        ASSERT_EQ(mfs__conv2d_backward(dx.data(), dw.data(), db.data(), gout.data(), x.data(), w.data(), &d,
                                       work.data()),
                  MFS_OK);
        for (auto &v : dw) v -= 1.0f;
        for (auto &v : db) v -= 1.0f;
        // sums of up to B*OHW = 3136 products: 1e-5 relative to the largest
        // entry; the -1 adds one rounding of the accumulator (|dw| >> 1 here)
        EXPECT_LT(rel_err(dx, rdx), 1e-5);
        EXPECT_LT(rel_err(dw, rdw), 2e-5);
        EXPECT_LT(rel_err(db, rdb), 2e-5);

        // no bias, no input gradient
        Vec out2(out.size());
        ASSERT_EQ(mfs__conv2d_forward(out2.data(), x.data(), w.data(), nullptr, &d, work.data()), MFS_OK);
        // the small-K path adds the bias before the products, the GEMM path
        // after them: the two differ by a rounding of the sum (|out| ~ 10)
        for (size_t q = 0; q < out.size(); q++)
            ASSERT_NEAR(out2[q] + b[(q / (d.OH * d.OW)) % d.OC], out[q], 1e-5 * (1 + std::fabs(out[q])));
        Vec dw2(w.size(), 0.0f);
        ASSERT_EQ(mfs__conv2d_backward(nullptr, dw2.data(), nullptr, gout.data(), x.data(), w.data(), &d,
                                       work.data()),
                  MFS_OK);
        EXPECT_LT(rel_err(dw2, rdw), 1e-5);
    }
}

TEST(Conv2d, AdjointIdentity) {
    // <conv(x) - bias, g> == <x, dinp(g)>: checks col2im is im2col's transpose
    // on a case with every edge effect (padding, stride, dilation).
    std::mt19937 g(2);
    mfs__conv2d_dims d;
    ASSERT_EQ(mfs__conv2d_dims_init(&d, "test", 2, 3, 11, 9, 4, 3, 3, 2, 2, 1, 1, 2, 1), MFS_OK);
    Vec x = randn(2 * 3 * 11 * 9, g), w = randn(4 * 3 * 9, g), gout = randn(2 * 4 * d.OH * d.OW, g);
    Vec work(mfs__conv2d_workspace_size(&d) / sizeof(float) + 1), out(gout.size()), dx(x.size()), dw(w.size());
    ASSERT_EQ(mfs__conv2d_forward(out.data(), x.data(), w.data(), nullptr, &d, work.data()), MFS_OK);
    ASSERT_EQ(mfs__conv2d_backward(dx.data(), dw.data(), nullptr, gout.data(), x.data(), w.data(), &d, work.data()),
              MFS_OK);
    double lhs = 0, rhs = 0, mag = 0;
    for (size_t q = 0; q < out.size(); q++) lhs += (double)out[q] * gout[q], mag += std::fabs(out[q] * gout[q]);
    for (size_t q = 0; q < x.size(); q++) rhs += (double)x[q] * dx[q];
    // float32 rounding of both sides: 1e-6 of the sum of magnitudes
    EXPECT_NEAR(lhs, rhs, 1e-6 * mag);
}

TEST(Conv2d, ThreadCounts) {
    // Forward and input gradient per image: the same bits on 1 and 2 threads.
    // The weight gradient sums per-thread partials: equal within rounding.
    std::mt19937 g(3);
    mfs__conv2d_dims d1, d2;
    const int saved = mfs_get_num_threads();
    ASSERT_EQ(mfs_set_num_threads(1), MFS_OK);
    ASSERT_EQ(mfs__conv2d_dims_init(&d1, "test", 9, 4, 12, 12, 8, 3, 3, 1, 1, 1, 1, 1, 1), MFS_OK);
    ASSERT_EQ(mfs_set_num_threads(2), MFS_OK);
    ASSERT_EQ(mfs__conv2d_dims_init(&d2, "test", 9, 4, 12, 12, 8, 3, 3, 1, 1, 1, 1, 1, 1), MFS_OK);
    EXPECT_EQ(d1.slots, 1);
    EXPECT_EQ(d2.slots, 2);
    EXPECT_GT(mfs__conv2d_workspace_size(&d2), mfs__conv2d_workspace_size(&d1));
    Vec x = randn(9 * 4 * 144, g), w = randn(8 * 36, g), b = randn(8, g), gout = randn(9 * 8 * 144, g);
    Vec o1(gout.size()), o2(gout.size()), x1(x.size()), x2(x.size()), w1(w.size()), w2(w.size());
    Vec work1(mfs__conv2d_workspace_size(&d1) / 4), work2(mfs__conv2d_workspace_size(&d2) / 4);
    ASSERT_EQ(mfs_set_num_threads(1), MFS_OK);
    ASSERT_EQ(mfs__conv2d_forward(o1.data(), x.data(), w.data(), b.data(), &d1, work1.data()), MFS_OK);
    ASSERT_EQ(mfs__conv2d_backward(x1.data(), w1.data(), nullptr, gout.data(), x.data(), w.data(), &d1, work1.data()),
              MFS_OK);
    ASSERT_EQ(mfs_set_num_threads(2), MFS_OK);
    ASSERT_EQ(mfs__conv2d_forward(o2.data(), x.data(), w.data(), b.data(), &d2, work2.data()), MFS_OK);
    ASSERT_EQ(mfs__conv2d_backward(x2.data(), w2.data(), nullptr, gout.data(), x.data(), w.data(), &d2, work2.data()),
              MFS_OK);
    // a workspace planned for 1 thread is enough when 2 are set: the layer runs 1
    Vec o3(gout.size());
    ASSERT_EQ(mfs__conv2d_forward(o3.data(), x.data(), w.data(), b.data(), &d1, work1.data()), MFS_OK);
    ASSERT_EQ(mfs_set_num_threads(saved), MFS_OK);
    EXPECT_EQ(o1, o2);
    EXPECT_EQ(o1, o3);
    EXPECT_EQ(x1, x2);
    for (size_t q = 0; q < w.size(); q++) EXPECT_NEAR(w1[q], w2[q], 1e-4 * (1 + std::fabs(w1[q])));
}

TEST(Conv2d, GeometryErrors) {
    mfs__conv2d_dims d;
    EXPECT_EQ(mfs__conv2d_dims_init(&d, "fn", 0, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0, 1, 1), MFS_E_INVALID_ARG);
    EXPECT_NE(std::string(mfs_last_error()).find("fn: conv2d batch is 0"), std::string::npos) << mfs_last_error();
    EXPECT_EQ(mfs__conv2d_dims_init(&d, "fn", 1, 1, 5, 5, 1, 3, 3, 0, 1, 0, 0, 1, 1), MFS_E_INVALID_ARG);
    EXPECT_NE(std::string(mfs_last_error()).find("stride (height) is 0"), std::string::npos);
    EXPECT_EQ(mfs__conv2d_dims_init(&d, "fn", 1, 1, 5, 5, 1, 3, 3, 1, 1, 2, 0, 1, 1), MFS_E_INVALID_ARG);
    EXPECT_NE(std::string(mfs_last_error()).find("padding is (2, 0)"), std::string::npos);
    EXPECT_EQ(mfs__conv2d_dims_init(&d, "fn", 1, 1, 2, 5, 1, 3, 3, 1, 1, 0, 0, 1, 1), MFS_E_INVALID_ARG);
    EXPECT_NE(std::string(mfs_last_error()).find("input is 2 x 5"), std::string::npos);
    ASSERT_EQ(mfs__conv2d_dims_init(&d, "fn", 1, 1, 5, 5, 1, 3, 3, 2, 2, 1, 1, 1, 1), MFS_OK);
    EXPECT_EQ(d.OH, 3);
    EXPECT_EQ(d.OW, 3);
}

namespace {
struct PoolCase {
    int64_t B, C, H, W, KH, KW, sh, sw, ph, pw;
};
const PoolCase kPoolCases[] = {
    {1, 1, 7, 7, 2, 2, 2, 2, 0, 0},   // odd image, the 2x2 fast path (last row/col dropped)
    {3, 4, 28, 28, 2, 2, 2, 2, 0, 0}, // the digits CNN
    {2, 3, 9, 8, 3, 3, 2, 2, 1, 1},   // overlapping windows with padding
    {2, 2, 6, 11, 3, 2, 1, 3, 1, 1},  // rectangular, stride 1 x 3
    {1, 5, 5, 5, 5, 5, 1, 1, 0, 0},   // global pooling
};

// Plane value at (h, w), or the padding value outside.
double at(const Vec &x, int64_t p, int64_t H, int64_t W, int64_t h, int64_t w, double pad) {
    if (h < 0 || h >= H || w < 0 || w >= W) return pad;
    return x[(p * H + h) * W + w];
}
}  // namespace

TEST(Pool2d, MaxAndAverageMatchTheDefinition) {
    std::mt19937 g(4);
    for (const PoolCase &k : kPoolCases) {
        mfs__pool2d_dims d;
        ASSERT_EQ(mfs__pool2d_dims_init(&d, "test", k.B, k.C, k.H, k.W, k.KH, k.KW, k.sh, k.sw, k.ph, k.pw), MFS_OK)
            << mfs_last_error();
        const int64_t P = k.B * k.C, OHW = d.OH * d.OW;
        Vec x = randn(P * k.H * k.W, g), gout = randn(P * OHW, g);
        Vec mx(P * OHW), av(P * OHW), dmx(x.size(), NAN), dav(x.size(), NAN);
        std::vector<int32_t> arg(P * OHW, -1);
        mfs__maxpool2d_forward(mx.data(), arg.data(), x.data(), &d);
        mfs__avgpool2d_forward(av.data(), x.data(), &d);
        mfs__maxpool2d_backward(dmx.data(), gout.data(), arg.data(), &d);
        mfs__avgpool2d_backward(dav.data(), gout.data(), &d);
        DVec rdmx(x.size(), 0.0), rdav(x.size(), 0.0);
        for (int64_t p = 0; p < P; p++)
            for (int64_t oh = 0; oh < d.OH; oh++)
                for (int64_t ow = 0; ow < d.OW; ow++) {
                    const int64_t q = p * OHW + oh * d.OW + ow;
                    double m = -INFINITY, s = 0;
                    int64_t am = -1;
                    for (int64_t i = 0; i < k.KH; i++)
                        for (int64_t j = 0; j < k.KW; j++) {
                            int64_t h = oh * k.sh - k.ph + i, w = ow * k.sw - k.pw + j;
                            double v = at(x, p, k.H, k.W, h, w, -INFINITY);
                            if (v > m) m = v, am = h * k.W + w;
                            s += at(x, p, k.H, k.W, h, w, 0.0);
                        }
                    // a max is one of the inputs: exact; the mean of <= 25
                    // floats summed in float: 1e-6 absolute for N(0,1) data
                    ASSERT_EQ((double)mx[q], m);
                    ASSERT_EQ(arg[q], am);
                    ASSERT_NEAR(av[q], s / (k.KH * k.KW), 1e-6);
                    rdmx[p * k.H * k.W + am] += gout[q];
                    for (int64_t i = 0; i < k.KH; i++)
                        for (int64_t j = 0; j < k.KW; j++) {
                            int64_t h = oh * k.sh - k.ph + i, w = ow * k.sw - k.pw + j;
                            if (h >= 0 && h < k.H && w >= 0 && w < k.W)
                                rdav[(p * k.H + h) * k.W + w] += gout[q] / (k.KH * k.KW);
                        }
                }
        // sums of at most 9 float terms: 1e-6 relative
        EXPECT_LT(rel_err(dmx, rdmx), 1e-6);
        EXPECT_LT(rel_err(dav, rdav), 1e-6);
    }
}

// The 2x2 / stride 2 fast path at every row width from 1 to 20 outputs (the
// masked short-row kernel up to 16, the vector loop above), on data full of
// ties and with NaNs: the first maximum in row-major window order, a NaN
// always taken (then kept), as PyTorch.
TEST(Pool2d, MaxTwoByTwoTiesAndNaNAtEveryWidth) {
    std::mt19937 g(11);
    for (int64_t W = 2; W <= 41; W++) {
        const int64_t H = 6, P = 3;
        mfs__pool2d_dims d;
        ASSERT_EQ(mfs__pool2d_dims_init(&d, "test", 1, P, H, W, 2, 2, 2, 2, 0, 0), MFS_OK);
        Vec x(P * H * W);
        for (auto &v : x) v = (float)(g() % 3);  // ties everywhere
        for (int i = 0; i < 4; i++) x[g() % x.size()] = NAN;
        const int64_t OHW = d.OH * d.OW;
        Vec mx(P * OHW);
        std::vector<int32_t> arg(P * OHW, -1);
        mfs__maxpool2d_forward(mx.data(), arg.data(), x.data(), &d);
        for (int64_t p = 0; p < P; p++)
            for (int64_t oh = 0; oh < d.OH; oh++)
                for (int64_t ow = 0; ow < d.OW; ow++) {
                    const float *pl = x.data() + p * H * W;
                    int64_t am = 2 * oh * W + 2 * ow;
                    float m = pl[am];
                    const int64_t cand[3] = {am + 1, am + W, am + W + 1};
                    for (int64_t c : cand)
                        if (pl[c] > m || std::isnan(pl[c])) m = pl[c], am = c;
                    const int64_t q = p * OHW + oh * d.OW + ow;
                    ASSERT_EQ(arg[q], am) << "W " << W << " plane " << p << " (" << oh << ", " << ow << ")";
                    if (std::isnan(m)) ASSERT_TRUE(std::isnan(mx[q]));
                    else ASSERT_EQ(mx[q], m);
                }
    }
}

TEST(Pool2d, GeometryErrors) {
    mfs__pool2d_dims d;
    EXPECT_EQ(mfs__pool2d_dims_init(&d, "fn", 1, 1, 4, 4, 2, 2, 2, 2, 2, 0), MFS_E_INVALID_ARG);
    EXPECT_NE(std::string(mfs_last_error()).find("fn: pool2d padding is (2, 0)"), std::string::npos);
    EXPECT_EQ(mfs__pool2d_dims_init(&d, "fn", 1, 1, 1, 4, 2, 2, 2, 2, 0, 0), MFS_E_INVALID_ARG);
    EXPECT_NE(std::string(mfs_last_error()).find("input is 1 x 4"), std::string::npos);
    EXPECT_EQ(mfs__pool2d_dims_init(&d, "fn", 1, 1, 4, 4, 0, 2, 2, 2, 0, 0), MFS_E_INVALID_ARG);
}

TEST(Flatten, CopiesOrAliases) {
    Vec a = {1, 2, 3, 4, 5, 6}, b(6, 0.0f);
    mfs__flatten_forward(b.data(), a.data(), 6);
    EXPECT_EQ(a, b);
    mfs__flatten_forward(a.data(), a.data(), 6);  // in place: a no-op
    EXPECT_EQ(a, b);
    Vec c(6, 0.0f);
    mfs__flatten_backward(c.data(), b.data(), 6);
    EXPECT_EQ(c, b);
}

TEST(BatchNorm, TrainAndEvalMatchTheDefinition) {
    std::mt19937 g(5);
    const int64_t shapes[][3] = {{1, 3, 5}, {4, 5, 49}, {7, 16, 1}, {2, 1, 200}, {64, 16, 196}};
    for (const auto &s : shapes) {
        const int64_t B = s[0], C = s[1], HW = s[2], n = B * HW;
        Vec x = randn(B * C * HW, g, 3.0f), w = randn(C, g), bias = randn(C, g), gout = randn(x.size(), g);
        for (auto &v : x) v += 2.0f;  // a mean away from 0
        Vec rm0 = randn(C, g), rv0(C);
        for (auto &v : rv0) v = 0.5f + std::fabs(randn(1, g)[0]);
        for (int training : {1, 0}) {
            Vec out(x.size()), mean(C), rstd(C), rm = rm0, rv = rv0;
            const float eps = 1e-5f, mom = 0.1f;
            mfs__batchnorm_forward(out.data(), mean.data(), rstd.data(), rm.data(), rv.data(), x.data(), w.data(),
                                   bias.data(), B, C, HW, eps, mom, training);
            Vec dx(x.size(), NAN), dw(C, 0.5f), db(C, 0.5f);
            mfs__batchnorm_backward(dx.data(), dw.data(), db.data(), gout.data(), mean.data(), rstd.data(), x.data(),
                                    w.data(), B, C, HW, training);
            for (auto &v : dw) v -= 0.5f;
            for (auto &v : db) v -= 0.5f;
            DVec rout(x.size()), rdx(x.size()), rdw(C, 0.0), rdb(C, 0.0);
            for (int64_t c = 0; c < C; c++) {
                double m = 0, v = 0;
                for (int64_t b = 0; b < B; b++)
                    for (int64_t q = 0; q < HW; q++) m += x[(b * C + c) * HW + q];
                m /= n;
                for (int64_t b = 0; b < B; b++)
                    for (int64_t q = 0; q < HW; q++) v += std::pow(x[(b * C + c) * HW + q] - m, 2);
                double var = v / n, unb = n > 1 ? v / (n - 1) : var;
                double mu = training ? m : rm0[c], sd = training ? var : rv0[c];
                double r = 1.0 / std::sqrt(sd + eps);
                if (training) {
                    // running statistics as PyTorch: momentum 0.1, unbiased var
                    EXPECT_NEAR(rm[c], 0.9 * rm0[c] + 0.1 * m, 1e-5 * (1 + std::fabs(m)));
                    EXPECT_NEAR(rv[c], 0.9 * rv0[c] + 0.1 * unb, 1e-5 * (1 + unb));
                } else {
                    EXPECT_EQ(rm[c], rm0[c]);
                    EXPECT_EQ(rv[c], rv0[c]);
                }
                EXPECT_NEAR(mean[c], mu, 1e-5 * (1 + std::fabs(mu)));
                EXPECT_NEAR(rstd[c], r, 1e-5 * r);
                double sg = 0, sgx = 0;
                for (int64_t b = 0; b < B; b++)
                    for (int64_t q = 0; q < HW; q++) {
                        int64_t i = (b * C + c) * HW + q;
                        double xh = (x[i] - mu) * r;
                        rout[i] = xh * w[c] + bias[c];
                        sg += gout[i];
                        sgx += gout[i] * xh;
                    }
                rdw[c] = sgx;
                rdb[c] = sg;
                for (int64_t b = 0; b < B; b++)
                    for (int64_t q = 0; q < HW; q++) {
                        int64_t i = (b * C + c) * HW + q;
                        double xh = (x[i] - mu) * r;
                        rdx[i] = training ? w[c] * r * (gout[i] - sg / n - xh * sgx / n) : gout[i] * w[c] * r;
                    }
            }
            // normalized values of O(3): float32 rounding of (x - mean) * scale,
            // 1e-5 relative to the largest output
            EXPECT_LT(rel_err(out, rout), 1e-5) << B << " " << C << " " << HW << " " << training;
            // dinp subtracts two means from dout: a few ulps of the largest term
            // (B HW = 1 makes dinp exactly 0 up to rounding: absolute there)
            if (n > 1) EXPECT_LT(rel_err(dx, rdx), 1e-4) << B << " " << C << " " << HW << " " << training;
            EXPECT_LT(rel_err(dw, rdw), 1e-4);
            EXPECT_LT(rel_err(db, rdb), 1e-4);
        }
    }
}

TEST(BatchNorm, SameBitsOnOneAndTwoThreads) {
    std::mt19937 g(6);
    const int64_t B = 32, C = 8, HW = 100;
    Vec x = randn(B * C * HW, g), w = randn(C, g), bias = randn(C, g), gout = randn(x.size(), g);
    Vec out[2], dx[2], dw[2];
    const int saved = mfs_get_num_threads();
    for (int t = 0; t < 2; t++) {
        ASSERT_EQ(mfs_set_num_threads(t + 1), MFS_OK);
        Vec mean(C), rstd(C), rm(C, 0.0f), rv(C, 1.0f);
        out[t].resize(x.size());
        dx[t].resize(x.size());
        dw[t].assign(C, 0.0f);
        Vec db(C, 0.0f);
        mfs__batchnorm_forward(out[t].data(), mean.data(), rstd.data(), rm.data(), rv.data(), x.data(), w.data(),
                               bias.data(), B, C, HW, 1e-5f, 0.1f, 1);
        mfs__batchnorm_backward(dx[t].data(), dw[t].data(), db.data(), gout.data(), mean.data(), rstd.data(),
                                x.data(), w.data(), B, C, HW, 1);
    }
    ASSERT_EQ(mfs_set_num_threads(saved), MFS_OK);
    EXPECT_EQ(out[0], out[1]);
    EXPECT_EQ(dx[0], dx[1]);
    EXPECT_EQ(dw[0], dw[1]);
}
