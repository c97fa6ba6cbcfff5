// The dense layers of src_c/neural/layers.h: every forward against a double
// precision reference written out here, every backward against central finite
// differences of that double reference, on random shapes (odd sizes, batch 1);
// weight gradients accumulate, dropout masks are Philox's; the optimizers'
// formulas against a hand-computed step.
#include <gtest/gtest.h>
#include <cmath>
#include <functional>
#include <random>
#include <vector>
extern "C" {
#include "mfs/mfs.h"
}
#include "core/rng.h"
#include "neural/layers.h"
#include "neural/network.h"

namespace {
using vecd = std::vector<double>;
using vecf = std::vector<float>;

vecf randf(size_t n, unsigned seed, double lo = -1.0, double hi = 1.0) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<double> U(lo, hi);
    vecf v(n);
    for (auto &x : v) x = (float)U(g);
    return v;
}
vecd tod(const vecf &v) { return vecd(v.begin(), v.end()); }

// Central differences of a scalar function of x (double), step h.
vecd fd(const std::function<double(const vecd &)> &f, vecd x, double h = 1e-6) {
    vecd g(x.size());
    for (size_t i = 0; i < x.size(); i++) {
        double s = x[i];
        x[i] = s + h;
        double a = f(x);
        x[i] = s - h;
        double b = f(x);
        x[i] = s;
        g[i] = (a - b) / (2 * h);
    }
    return g;
}

// max |a - b| / (atol + rtol * max |b|) must be <= 1
void expect_close(const vecf &a, const vecd &b, double rtol, double atol, const char *what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    double mb = 0;
    for (double v : b) mb = std::fmax(mb, std::fabs(v));
    for (size_t i = 0; i < a.size(); i++)
        ASSERT_LE(std::fabs((double)a[i] - b[i]), atol + rtol * mb) << what << " at " << i << ": " << a[i] << " vs " << b[i];
}

struct Shape { int64_t B, Ci, Co; };
const Shape SHAPES[] = {{1, 1, 1}, {1, 7, 3}, {5, 13, 17}, {33, 65, 9}, {2, 130, 40}};

// Tolerances: float32 forward against double, sums of up to ~130 products of
// O(1) values: 1e-5 relative to the largest output plus 1e-6 absolute covers
// the accumulated rounding (~sqrt(K) 6e-8 per term). Backward against central
// differences of the double reference with h = 1e-6: the truncation error is
// O(h^2) and the rounding O(1e-16 / h) ~ 1e-10, so the float32 rounding of the
// analytic gradient (1e-5 relative) is what the tolerance covers.
const double RT = 2e-5, AT = 1e-6;

TEST(Layers, LinearForwardBackwardAgainstDoubleAndFiniteDifferences) {
    unsigned seed = 1;
    for (const Shape &s : SHAPES) {
        const int64_t B = s.B, Ci = s.Ci, Co = s.Co;
        vecf x = randf(B * Ci, seed++), W = randf(Ci * Co, seed++), b = randf(Co, seed++), R = randf(B * Co, seed++);
        auto fwd = [&](const vecd &xd, const vecd &Wd, const vecd &bd) {
            vecd out(B * Co);
            for (int64_t i = 0; i < B; i++)
                for (int64_t o = 0; o < Co; o++) {
                    double a = bd[o];
                    for (int64_t k = 0; k < Ci; k++) a += xd[i * Ci + k] * Wd[k * Co + o];
                    out[i * Co + o] = a;
                }
            return out;
        };
        auto obj = [&](const vecd &out) {
            double a = 0;
            for (size_t i = 0; i < out.size(); i++) a += out[i] * R[i];
            return a;
        };
        vecf out(B * Co);
        ASSERT_EQ(mfs__linear_forward(out.data(), x.data(), W.data(), b.data(), B, Ci, Co), MFS_OK);
        expect_close(out, fwd(tod(x), tod(W), tod(b)), RT, AT, "linear out");
        // no bias
        vecf out0(B * Co);
        ASSERT_EQ(mfs__linear_forward(out0.data(), x.data(), W.data(), nullptr, B, Ci, Co), MFS_OK);
        expect_close(out0, fwd(tod(x), tod(W), vecd(Co, 0.0)), RT, AT, "linear out without bias");
        // backward: weight gradients accumulate onto 0.5, the input gradient is written over garbage
        vecf dx(B * Ci, 123.0f), dW(Ci * Co, 0.5f), db(Co, 0.5f);
        ASSERT_EQ(mfs__linear_backward(dx.data(), dW.data(), db.data(), R.data(), x.data(), W.data(), B, Ci, Co), MFS_OK);
        for (auto &v : dW) v -= 0.5f;
        for (auto &v : db) v -= 0.5f;
        vecd gx = fd([&](const vecd &xd) { return obj(fwd(xd, tod(W), tod(b))); }, tod(x));
        vecd gW = fd([&](const vecd &Wd) { return obj(fwd(tod(x), Wd, tod(b))); }, tod(W));
        vecd gb = fd([&](const vecd &bd) { return obj(fwd(tod(x), tod(W), bd)); }, tod(b));
        expect_close(dx, gx, 1e-4, 1e-5, "linear dinp");
        // dW and db lost ~1e-7 absolute to the 0.5 they were added to
        expect_close(dW, gW, 1e-4, 2e-6, "linear dweight");
        expect_close(db, gb, 1e-4, 2e-6, "linear dbias");
        // dinp NULL (first layer) and dbias NULL are skipped
        ASSERT_EQ(mfs__linear_backward(nullptr, dW.data(), nullptr, R.data(), x.data(), W.data(), B, Ci, Co), MFS_OK);
    }
}

double act_d(int act, double x) {
    switch (act) {
    case MFS__ACT_RELU: return x > 0 ? x : 0;
    case MFS__ACT_TANH: return std::tanh(x);
    case MFS__ACT_SIGMOID: return 1.0 / (1.0 + std::exp(-x));
    case MFS__ACT_GELU: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    default: return x;
    }
}

TEST(Layers, ActivationsAgainstDoubleAndFiniteDifferences) {
    const int acts[] = {MFS__ACT_IDENTITY, MFS__ACT_RELU, MFS__ACT_TANH, MFS__ACT_SIGMOID, MFS__ACT_GELU};
    for (int act : acts) {
        for (int64_t N : {1, 7, 301, 70001}) {  // 70001: the OpenMP path
            vecf x = randf(N, (unsigned)(N + act), -4.0, 4.0), R = randf(N, (unsigned)(N * 3 + act));
            for (auto &v : x)
                if (std::fabs(v) < 1e-3f) v = 0.5f;  // relu's kink is not differentiable
            vecf out(N);
            mfs__activation_forward(out.data(), x.data(), N, act);
            vecd ref(N);
            for (int64_t i = 0; i < N; i++) ref[i] = act_d(act, x[i]);
            // tanh/sigmoid/gelu/erf of libm in float: a few ulp
            expect_close(out, ref, 1e-6, 1e-6, "activation out");
            vecf dx(N, 77.0f);
            mfs__activation_backward(dx.data(), R.data(), out.data(), x.data(), N, act);
            if (N > 400) continue;  // finite differences on the small sizes only
            vecd g(N);
            for (int64_t i = 0; i < N; i++) {  // elementwise: d/dx_i of R_i act(x_i)
                const double h = 1e-6;
                g[i] = R[i] * (act_d(act, x[i] + h) - act_d(act, x[i] - h)) / (2 * h);
            }
            expect_close(dx, g, 1e-5, 1e-6, "activation dinp");
            if (act != MFS__ACT_GELU) {  // in place: out == inp
                vecf y = x;
                mfs__activation_forward(y.data(), y.data(), N, act);
                for (int64_t i = 0; i < N; i++) ASSERT_EQ(y[i], out[i]);
            }
        }
    }
}

// The fused passes around a linear layer's GEMMs give what the unfused
// pairs give: the forward bitwise (same float operations per element), the
// backward bitwise for dpre and the bias sums (same row order per column).
TEST(Layers, FusedBiasActivationAndColsumEqualTheUnfusedPairs) {
    const int acts[] = {MFS__ACT_IDENTITY, MFS__ACT_RELU, MFS__ACT_TANH, MFS__ACT_SIGMOID};
    for (int act : acts) {
        for (auto shape : {std::pair<int64_t, int64_t>{1, 1}, {3, 7}, {128, 256}, {129, 70}}) {
            const int64_t B = shape.first, C = shape.second, N = B * C;
            vecf pre = randf(N, (unsigned)(N + act), -3.0, 3.0), bias = randf(C, (unsigned)(C + 5 * act));
            // unfused: rows of bias + pre (the GEMM result), then the activation
            vecf sum(N), want(N);
            for (int64_t b = 0; b < B; b++)
                for (int64_t j = 0; j < C; j++) sum[b * C + j] = pre[b * C + j] + bias[j];
            mfs__activation_forward(want.data(), sum.data(), N, act);
            vecf got = pre;
            mfs__bias_activation_forward(got.data(), bias.data(), B, C, act);
            for (int64_t i = 0; i < N; i++) ASSERT_EQ(got[i], want[i]) << "act " << act << " at " << i;
            vecf nob = pre, nob_want(N);
            mfs__bias_activation_forward(nob.data(), nullptr, B, C, act);
            mfs__activation_forward(nob_want.data(), pre.data(), N, act);
            for (int64_t i = 0; i < N; i++) ASSERT_EQ(nob[i], nob_want[i]) << "no bias, act " << act;
            // backward: dpre = dout * act'(out), dbias += column sums
            vecf dout = randf(N, (unsigned)(7 * N + act)), dpre_want(N), dpre(N, 99.0f);
            mfs__activation_backward(dpre_want.data(), dout.data(), want.data(), sum.data(), N, act);
            vecf db(C, 0.25f), db_want(C, 0.25f);
            for (int64_t j = 0; j < C; j++) {
                float s = 0.0f;
                for (int64_t b = 0; b < B; b++) s += dpre_want[b * C + j];
                db_want[j] += s;
            }
            mfs__activation_backward_colsum(dpre.data(), db.data(), dout.data(), want.data(), B, C, act);
            for (int64_t i = 0; i < N; i++) ASSERT_EQ(dpre[i], dpre_want[i]) << "dpre, act " << act;
            for (int64_t j = 0; j < C; j++) ASSERT_EQ(db[j], db_want[j]) << "dbias, act " << act << " col " << j;
            mfs__activation_backward_colsum(dpre.data(), nullptr, dout.data(), want.data(), B, C, act);
            for (int64_t i = 0; i < N; i++) ASSERT_EQ(dpre[i], dpre_want[i]) << "dpre without dbias";
        }
    }
}

TEST(Layers, SoftmaxCrossEntropyAgainstDoubleAndFiniteDifferences) {
    unsigned seed = 10;
    for (auto [B, K] : std::vector<std::pair<int64_t, int64_t>>{{1, 2}, {1, 10}, {7, 3}, {33, 11}}) {
        vecf z = randf(B * K, seed++, -5, 5);
        std::vector<int32_t> t(B);
        for (int64_t b = 0; b < B; b++) t[b] = (int32_t)((b * 7 + 3) % K);
        auto losses_d = [&](const vecd &zd) {
            vecd l(B);
            for (int64_t b = 0; b < B; b++) {
                double m = zd[b * K], s = 0;
                for (int64_t k = 0; k < K; k++) m = std::fmax(m, zd[b * K + k]);
                for (int64_t k = 0; k < K; k++) s += std::exp(zd[b * K + k] - m);
                l[b] = std::log(s) + m - zd[b * K + t[b]];
            }
            return l;
        };
        vecf probs(B * K), losses(B);
        mfs__softmax_crossentropy_forward(probs.data(), losses.data(), z.data(), t.data(), B, K);
        expect_close(losses, losses_d(tod(z)), 1e-6, 1e-6, "softmax-ce losses");
        for (int64_t b = 0; b < B; b++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++) s += probs[b * K + k];
            ASSERT_NEAR(s, 1.0, 1e-6);  // K float32 probabilities summed
        }
        const float scale = 1.0f / (float)B;
        vecf dz(B * K, 9.0f);
        mfs__softmax_crossentropy_backward(dz.data(), probs.data(), t.data(), B, K, scale);
        vecd g = fd([&](const vecd &zd) {
            double a = 0;
            for (double v : losses_d(zd)) a += v;
            return a * scale;
        }, tod(z));
        expect_close(dz, g, 1e-5, 1e-6, "softmax-ce dlogits");
    }
    // extreme logits: no overflow, no log(0)
    float z[3] = {1000.f, -1000.f, 0.f}, p[3], l[1];
    int32_t t[1] = {1};
    mfs__softmax_crossentropy_forward(p, l, z, t, 1, 3);
    EXPECT_FLOAT_EQ(l[0], 2000.0f);
    EXPECT_FLOAT_EQ(p[0], 1.0f);
}

TEST(Layers, SigmoidCrossEntropyAndMseAgainstFiniteDifferences) {
    unsigned seed = 40;
    for (auto [B, K] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {9, 1}, {5, 7}}) {
        vecf z = randf(B * K, seed++, -6, 6), y = randf(B * K, seed++, 0, 1), tt(B * K);
        for (int64_t i = 0; i < B * K; i++) tt[i] = y[i] > 0.5f ? 1.0f : 0.0f;
        auto bce = [&](const vecd &zd) {
            vecd l(B, 0.0);
            for (int64_t i = 0; i < B * K; i++) {
                double p = 1.0 / (1.0 + std::exp(-zd[i]));
                l[i / K] += -(tt[i] * std::log(p) + (1 - tt[i]) * std::log(1 - p));
            }
            return l;
        };
        vecf probs(B * K), losses(B), dz(B * K);
        mfs__sigmoid_crossentropy_forward(probs.data(), losses.data(), z.data(), tt.data(), B, K);
        expect_close(losses, bce(tod(z)), 1e-6, 1e-6, "bce losses");
        mfs__sigmoid_crossentropy_backward(dz.data(), probs.data(), tt.data(), B, K, 0.25f);
        vecd g = fd([&](const vecd &zd) {
            double a = 0;
            for (double v : bce(zd)) a += v;
            return 0.25 * a;
        }, tod(z));
        expect_close(dz, g, 1e-5, 1e-6, "bce dlogits");

        auto mse = [&](const vecd &pd) {
            vecd l(B, 0.0);
            for (int64_t i = 0; i < B * K; i++) l[i / K] += (pd[i] - y[i]) * (pd[i] - y[i]);
            return l;
        };
        vecf ml(B), dp(B * K);
        mfs__mse_forward(ml.data(), z.data(), y.data(), B, K);
        expect_close(ml, mse(tod(z)), 1e-6, 1e-6, "mse losses");
        mfs__mse_backward(dp.data(), z.data(), y.data(), B, K, 0.5f);
        vecd gm = fd([&](const vecd &pd) {
            double a = 0;
            for (double v : mse(pd)) a += v;
            return 0.5 * a;
        }, tod(z));
        expect_close(dp, gm, 1e-5, 1e-6, "mse dpred");
    }
}

TEST(Layers, DropoutMaskIsPhiloxAndBackwardUsesTheSameMask) {
    const int64_t N = 10007;
    const float p = 0.3f;
    vecf x = randf(N, 5), out(N), dx(N), ones(N, 1.0f);
    mfs__dropout_forward(out.data(), x.data(), N, p, 42, 7);
    int64_t kept = 0;
    for (int64_t i = 0; i < N; i++) {
        mfs_u32x4 r = mfs_philox(42, 7, (uint64_t)(i / 4));
        bool keep = mfs_u32_to_unit_float(r.v[i % 4]) >= p;
        ASSERT_EQ(out[i], keep ? x[i] * (1.0f / (1.0f - p)) : 0.0f) << i;
        kept += keep;
    }
    // binomial(N, 0.7): sd = sqrt(N * 0.21) ~ 46; 5 sd
    EXPECT_NEAR((double)kept, 0.7 * N, 230.0);
    mfs__dropout_backward(dx.data(), ones.data(), N, p, 42, 7);
    for (int64_t i = 0; i < N; i++) ASSERT_EQ(dx[i] != 0.0f, out[i] != 0.0f || x[i] == 0.0f) << i;
    // another stream, another mask; p = 0 copies
    vecf out2(N);
    mfs__dropout_forward(out2.data(), x.data(), N, p, 42, 8);
    int64_t same = 0;
    for (int64_t i = 0; i < N; i++) same += (out2[i] != 0.0f) == (out[i] != 0.0f);
    EXPECT_LT(same, (int64_t)(0.7 * N));  // two independent masks agree on ~58%
    mfs__dropout_forward(out2.data(), x.data(), N, 0.0f, 42, 8);
    for (int64_t i = 0; i < N; i++) ASSERT_EQ(out2[i], x[i]);
}

TEST(Layers, LayerNormAgainstDoubleAndFiniteDifferences) {
    unsigned seed = 60;
    for (auto [B, C] : std::vector<std::pair<int64_t, int64_t>>{{1, 2}, {1, 17}, {6, 5}, {13, 129}}) {
        vecf x = randf(B * C, seed++, -2, 3), w = randf(C, seed++, 0.5, 1.5), b = randf(C, seed++), R = randf(B * C, seed++);
        const double eps = 1e-5;
        auto fwd = [&](const vecd &xd, const vecd &wd, const vecd &bd) {
            vecd o(B * C);
            for (int64_t i = 0; i < B; i++) {
                double m = 0, v = 0;
                for (int64_t c = 0; c < C; c++) m += xd[i * C + c];
                m /= C;
                for (int64_t c = 0; c < C; c++) v += (xd[i * C + c] - m) * (xd[i * C + c] - m);
                v /= C;
                for (int64_t c = 0; c < C; c++) o[i * C + c] = (xd[i * C + c] - m) / std::sqrt(v + eps) * wd[c] + bd[c];
            }
            return o;
        };
        auto obj = [&](const vecd &o) {
            double a = 0;
            for (size_t i = 0; i < o.size(); i++) a += o[i] * R[i];
            return a;
        };
        vecf out(B * C), mean(B), rstd(B);
        mfs__layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), B, C, (float)eps);
        // normalized values of O(3): 1e-5 relative covers the float32 steps
        expect_close(out, fwd(tod(x), tod(w), tod(b)), 1e-5, 1e-5, "layernorm out");
        vecf dx(B * C, 5.0f), dw(C, 0.0f), db(C, 0.0f);
        mfs__layernorm_backward(dx.data(), dw.data(), db.data(), R.data(), mean.data(), rstd.data(), x.data(), w.data(), B, C);
        vecd gx = fd([&](const vecd &xd) { return obj(fwd(xd, tod(w), tod(b))); }, tod(x));
        vecd gw = fd([&](const vecd &wd) { return obj(fwd(tod(x), wd, tod(b))); }, tod(w));
        vecd gb = fd([&](const vecd &bd) { return obj(fwd(tod(x), tod(w), bd)); }, tod(b));
        // dinp subtracts two means of O(1) terms: 1e-4 relative to its largest value
        expect_close(dx, gx, 1e-4, 1e-5, "layernorm dinp");
        expect_close(dw, gw, 1e-4, 1e-5, "layernorm dweight");
        expect_close(db, gb, 1e-4, 1e-5, "layernorm dbias");
    }
}

// One step of each solver on a 1-layer "network" against the formulas.
TEST(Optim, StepsMatchTheFormulas) {
    mfs__net net;
    const int64_t in_shape[3] = {3, 1, 1};
    mfs__net_init(&net, in_shape, MFS__LOSS_MSE);
    mfs__layer L = mfs__layer_linear(2, MFS__ACT_IDENTITY);
    ASSERT_EQ(mfs__net_add(&net, "test", &L), MFS_OK);
    ASSERT_EQ(net.n_params, 8);  // W (3, 2) then b (2)
    ASSERT_EQ(net.layers[0].w_n, 6);
    vecf p0 = randf(8, 1), g = randf(8, 2);
    for (int solver : {MFS__SOLVER_SGD, MFS__SOLVER_ADAM, MFS__SOLVER_ADAMW}) {
        for (int nesterov : {0, 1}) {
            mfs__optim o{};
            o.solver = solver;
            o.nesterov = nesterov;
            o.lr = 0.1;
            o.momentum = 0.9;
            o.beta_1 = 0.9;
            o.beta_2 = 0.999;
            o.epsilon = 1e-8;
            o.l2 = solver == MFS__SOLVER_ADAMW ? 0.0 : 0.01;
            o.weight_decay = solver == MFS__SOLVER_ADAMW ? 0.05 : 0.0;
            o.t = 1;
            vecf p = p0, s(16, 0.0f);
            for (int i = 0; i < 8; i++) s[i] = 0.2f;  // a velocity / first moment from before
            double sumsq = -1;
            vecf gc = g;
            mfs__optim_step(&o, &net, p.data(), gc.data(), s.data(), &sumsq);
            for (int i = 0; i < 8; i++) EXPECT_EQ(gc[i], 0.0f) << "the step leaves the gradient zero, at " << i;
            double want_ss = 0;
            for (int i = 0; i < 6; i++) want_ss += (double)p0[i] * p0[i];
            EXPECT_NEAR(sumsq, want_ss, 1e-12 + 1e-7 * want_ss);  // the 6 weights only, in double
            for (int i = 0; i < 8; i++) {
                const bool dec = i < 6;
                double gi = g[i] + (dec ? o.l2 * p0[i] : 0.0), w;
                if (solver == MFS__SOLVER_SGD) {
                    double v = 0.9 * 0.2 - 0.1 * gi;
                    w = p0[i] + (nesterov ? 0.9 * v - 0.1 * gi : v);
                } else if (solver == MFS__SOLVER_ADAM) {
                    double m = 0.9 * 0.2 + 0.1 * gi, v = 0.001 * gi * gi;
                    w = p0[i] - 0.1 * std::sqrt(1 - 0.999) / (1 - 0.9) * m / (std::sqrt(v) + 1e-8);
                } else {
                    double m = 0.9 * 0.2 + 0.1 * g[i], v = 0.001 * (double)g[i] * g[i];
                    double wd = p0[i] * (dec ? 1 - 0.1 * 0.05 : 1.0);
                    w = wd - 0.1 / (1 - 0.9) * m / (std::sqrt(v) / std::sqrt(1 - 0.999) + 1e-8);
                }
                // float32 arithmetic of a handful of operations; Adam divides the
                // first moment (0.18 here) by sqrt(v) ~ 0.03 |g|, which amplifies
                // the relative rounding of m and v by up to ~10: 2e-5 relative
                EXPECT_NEAR(p[i], w, 2e-5 * (1 + std::fabs(w))) << "solver " << solver << " param " << i;
            }
        }
    }
}

TEST(Optim, Schedules) {
    EXPECT_DOUBLE_EQ(mfs__schedule_lr(MFS__SCHEDULE_CONSTANT, 0.3, 0.5, 0.5, 99, 3, 10), 0.3);
    EXPECT_DOUBLE_EQ(mfs__schedule_lr(MFS__SCHEDULE_INVSCALING, 0.3, 0.5, 0.5, 99, 3, 10), 0.5 / 10.0);
    EXPECT_DOUBLE_EQ(mfs__schedule_lr(MFS__SCHEDULE_COSINE, 0.3, 0.5, 0.5, 99, 5, 10), 0.25);
    EXPECT_NEAR(mfs__schedule_lr(MFS__SCHEDULE_COSINE, 0.3, 0.5, 0.5, 99, 10, 10), 0.0, 1e-15);
    EXPECT_DOUBLE_EQ(mfs__schedule_lr(MFS__SCHEDULE_ADAPTIVE, 0.3, 0.5, 0.5, 99, 3, 10), 0.3);
}

TEST(Network, ShapesChainAndOffsetsTile) {
    mfs__net net;
    const int64_t in_shape[3] = {5, 1, 1};
    mfs__net_init(&net, in_shape, MFS__LOSS_SOFTMAX_CE);
    mfs__layer a = mfs__layer_linear(7, MFS__ACT_GELU), d = mfs__layer_dropout(0.5f), n = mfs__layer_layernorm(1e-5f),
               o = mfs__layer_linear(3, MFS__ACT_IDENTITY);
    for (auto *L : {&a, &d, &n, &o}) ASSERT_EQ(mfs__net_add(&net, "test", L), MFS_OK);
    EXPECT_EQ(net.n_layers, 4);
    EXPECT_EQ(net.layers[0].w_n, 35);
    EXPECT_EQ(net.layers[0].saved_per_row, 7);  // GELU keeps its pre-activation
    EXPECT_EQ(net.layers[2].b_n, 14);           // layer norm: gamma and beta, not decayed
    EXPECT_EQ(net.layers[3].w_off, 35 + 7 + 14);
    EXPECT_EQ(net.n_params, 35 + 7 + 14 + 21 + 3);
    EXPECT_EQ(net.n_decay, 35 + 21);
    EXPECT_EQ(net.out_size, 3);
}
}  // namespace
