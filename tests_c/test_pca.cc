// PCA: every solver against a naive double reference (covariance + cyclic
// Jacobi) on tall, wide, square and tiny data; transform / inverse_transform,
// whitening, the variance fraction, bad parameters and input, and the model
// file (round trip, corrupted and hostile bytes).
#include <gtest/gtest.h>
#include "testing.h"
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>
extern "C" {
#include "mfs/mfs.h"
}

namespace {
struct Data {
    int64_t n, d;
    std::vector<float> X;
};

// X = Z diag(scale) R + mean: Z standard normal, scale_j = 2 * 0.8^j (distinct
// variances, so the axes are well defined), R a random rotation (Gram-Schmidt
// of a Gaussian matrix), a mean of 5..: exercises centering.
Data make(int64_t n, int64_t d, unsigned seed, int64_t rank = -1) {
    std::mt19937 g(seed);
    std::normal_distribution<double> N(0, 1);
    std::vector<double> R(d * d);
    for (auto &v : R) v = N(g);
    for (int64_t i = 0; i < d; i++) {
        for (int64_t p = 0; p < i; p++) {
            double dot = 0;
            for (int64_t j = 0; j < d; j++) dot += R[i * d + j] * R[p * d + j];
            for (int64_t j = 0; j < d; j++) R[i * d + j] -= dot * R[p * d + j];
        }
        double nr = 0;
        for (int64_t j = 0; j < d; j++) nr += R[i * d + j] * R[i * d + j];
        for (int64_t j = 0; j < d; j++) R[i * d + j] /= std::sqrt(nr);
    }
    Data D{n, d, std::vector<float>(n * d)};
    std::vector<double> z(d);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t p = 0; p < d; p++) z[p] = (rank < 0 || p < rank) ? N(g) * 2.0 * std::pow(0.8, (double)p) : 0.0;
        for (int64_t j = 0; j < d; j++) {
            double acc = 5.0 + 0.5 * j;
            for (int64_t p = 0; p < d; p++) acc += z[p] * R[p * d + j];
            D.X[i * d + j] = (float)acc;
        }
    }
    return D;
}

// The naive reference: mean, covariance in double, cyclic Jacobi eigen,
// descending, sign flipped as scikit-learn (largest |.| entry positive).
struct Ref {
    std::vector<double> mean, ev, comp;  // ev (d), comp (d, d) rows
};

Ref reference(const Data &D) {
    const int64_t n = D.n, d = D.d;
    Ref r;
    r.mean.assign(d, 0.0);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) r.mean[j] += D.X[i * d + j];
    for (auto &v : r.mean) v /= (double)n;
    std::vector<double> A(d * d, 0.0), V(d * d, 0.0);
    for (int64_t i = 0; i < n; i++)
        for (int64_t p = 0; p < d; p++)
            for (int64_t q = 0; q < d; q++)
                A[p * d + q] += (D.X[i * d + p] - r.mean[p]) * (D.X[i * d + q] - r.mean[q]);
    for (auto &v : A) v /= (double)(n - 1);
    for (int64_t i = 0; i < d; i++) V[i * d + i] = 1.0;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (int64_t p = 0; p < d; p++)
            for (int64_t q = p + 1; q < d; q++) off += A[p * d + q] * A[p * d + q];
        if (off < 1e-30) break;
        for (int64_t p = 0; p < d; p++)
            for (int64_t q = p + 1; q < d; q++) {
                double apq = A[p * d + q];
                if (std::fabs(apq) < 1e-300) continue;
                double theta = (A[q * d + q] - A[p * d + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
                double c = 1 / std::sqrt(t * t + 1), s = t * c;
                for (int64_t k = 0; k < d; k++) {  // A = J^T A J
                    double akp = A[k * d + p], akq = A[k * d + q];
                    A[k * d + p] = c * akp - s * akq;
                    A[k * d + q] = s * akp + c * akq;
                }
                for (int64_t k = 0; k < d; k++) {
                    double apk = A[p * d + k], aqk = A[q * d + k];
                    A[p * d + k] = c * apk - s * aqk;
                    A[q * d + k] = s * apk + c * aqk;
                }
                for (int64_t k = 0; k < d; k++) {
                    double vkp = V[k * d + p], vkq = V[k * d + q];
                    V[k * d + p] = c * vkp - s * vkq;
                    V[k * d + q] = s * vkp + c * vkq;
                }
            }
    }
    std::vector<int64_t> order(d);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return A[a * d + a] > A[b * d + b]; });
    r.ev.resize(d);
    r.comp.resize(d * d);
    for (int64_t c = 0; c < d; c++) {
        int64_t e = order[c];
        r.ev[c] = std::max(A[e * d + e], 0.0);
        int64_t arg = 0;
        for (int64_t j = 0; j < d; j++) {
            r.comp[c * d + j] = V[j * d + e];
            if (std::fabs(V[j * d + e]) > std::fabs(V[arg * d + e])) arg = j;
        }
        if (V[arg * d + e] < 0)
            for (int64_t j = 0; j < d; j++) r.comp[c * d + j] = -r.comp[c * d + j];
    }
    return r;
}

mfs_pca_params params(int32_t k, int solver = MFS_PCA_SVD_SOLVER_FULL, int whiten = 0, double frac = 0.0) {
    mfs_pca_params p;
    mfs_pca_params_default(&p);
    p.n_components = k;
    p.svd_solver = solver;
    p.whiten = whiten;
    p.variance_fraction = frac;
    return p;
}

mfs_array view(const Data &D) { return {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}}; }

mfs_model *fit(const Data &D, const mfs_pca_params &p) {
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_pca_create(&p, MFS_DEVICE_CPU, &m), MFS_OK) << mfs_last_error();
    mfs_array X = view(D);
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_OK) << mfs_last_error();
    return m;
}

std::vector<float> apply(const mfs_model *m, mfs_method method, const float *x, int64_t rows, int64_t cols,
                         int64_t out_cols) {
    mfs_array X = {(void *)x, MFS_DTYPE_FLOAT32, 2, {rows, cols}};
    std::vector<float> o(rows * out_cols);
    mfs_array out = {o.data(), MFS_DTYPE_FLOAT32, 2, {rows, out_cols}};
    mfs_status s = method == MFS_METHOD_TRANSFORM ? mfs_transform(m, &X, &out) : mfs_inverse_transform(m, &X, &out);
    EXPECT_EQ(s, MFS_OK) << mfs_last_error();
    return o;
}

// Compare a fitted model with the reference on its first k components. The
// data are float32 (rounding 6e-8 relative per entry), so variances agree to
// ~1e-6 of the largest; components are compared where the eigen gap is
// clear (the decaying scales of make() give gaps of 20% and more).
// comp_tol is the error allowed on the largest component; with relative
// = true it grows as ev[0] / ev[c] (eigenvectors of a Gram matrix with an
// error e * ev[0] move by ~e * ev[0] / gap, and make()'s gaps are 0.36 ev[c]).
void expect_matches(const mfs_model *m, const Data &D, const Ref &r, int64_t k, double ev_tol, double comp_tol,
                    const std::string &what, bool relative = false) {
    const int64_t d = D.d, rk = std::min(D.n, D.d);
    auto comp = get(m, "components"), ev = get(m, "explained_variance"), ratio = get(m, "explained_variance_ratio");
    auto sv = get(m, "singular_values"), mean = get(m, "mean");
    auto noise = get<double>(m, "noise_variance");
    auto ns = get<int64_t>(m, "n_samples");
    ASSERT_EQ((int64_t)ev.size(), k) << what;
    EXPECT_EQ(ns[0], D.n) << what;
    double total = 0;
    for (int64_t c = 0; c < d; c++) total += r.ev[c];
    for (int64_t j = 0; j < d; j++) EXPECT_NEAR(mean[j], r.mean[j], 1e-5 * (1 + std::fabs(r.mean[j]))) << what;
    // the rank of centered X is <= n - 1: components past it are arbitrary
    const int64_t defined = std::min<int64_t>(k, std::min<int64_t>(rk, D.n - 1));
    for (int64_t c = 0; c < k; c++) {
        EXPECT_NEAR(ev[c], r.ev[c], ev_tol * r.ev[0]) << what << " component " << c;
        EXPECT_NEAR(ratio[c], r.ev[c] / total, ev_tol) << what << " component " << c;
        EXPECT_NEAR(sv[c] * sv[c], r.ev[c] * (D.n - 1), ev_tol * r.ev[0] * (D.n - 1) * 1.01) << what;
    }
    for (int64_t c = 0; c < defined; c++)
        for (int64_t j = 0; j < d; j++)
            EXPECT_NEAR(comp[c * d + j], r.comp[c * d + j], relative ? comp_tol * r.ev[0] / r.ev[c] : comp_tol) << what << " component " << c << " entry " << j;
    double want_noise = 0;
    if (k < rk) {
        for (int64_t c = k; c < rk; c++) want_noise += r.ev[c];
        want_noise /= (double)(rk - k);
    }
    EXPECT_NEAR(noise[0], want_noise, ev_tol * r.ev[0]) << what;
}
}  // namespace

TEST(PCA, Defaults) {
    mfs_pca_params p;
    memset(&p, 0x5a, sizeof p);
    mfs_pca_params_default(&p);
    EXPECT_EQ(p.n_components, -1);
    EXPECT_EQ(p.whiten, 0);
    EXPECT_EQ(p.variance_fraction, 0.0);
    EXPECT_EQ(p.svd_solver, MFS_PCA_SVD_SOLVER_AUTO);
    EXPECT_EQ(p.iterated_power, -1);
    EXPECT_EQ(p.n_oversamples, 10);
    EXPECT_EQ(p.pad_, 0);
    EXPECT_EQ(p.random_state, 0);
    EXPECT_EQ(mfs_params_size(MFS_MODEL_PCA), sizeof(mfs_pca_params));
}

// tall (eigen route of full), n < 10 d (SVD route), wide, square, tiny
TEST(PCA, MatchesNaiveReference) {
    struct Case { int64_t n, d; };
    for (Case cs : {Case{2000, 12}, Case{150, 30}, Case{20, 45}, Case{40, 40}, Case{2, 3}, Case{3, 1}, Case{5, 2}}) {
        Data D = make(cs.n, cs.d, (unsigned)(cs.n * 7 + cs.d));
        Ref r = reference(D);
        const int64_t rk = std::min(cs.n, cs.d);
        for (int solver : {MFS_PCA_SVD_SOLVER_AUTO, MFS_PCA_SVD_SOLVER_FULL, MFS_PCA_SVD_SOLVER_COVARIANCE_EIGH}) {
            if (solver == MFS_PCA_SVD_SOLVER_COVARIANCE_EIGH && cs.n < cs.d) continue;  // ne = d differs; see below
            for (int32_t k : {-1, (int32_t)std::max<int64_t>(1, rk / 2)}) {
                mfs_model *m = fit(D, params(k, solver));
                std::string what = std::to_string(cs.n) + "x" + std::to_string(cs.d) + " solver " +
                                   std::to_string(solver) + " k " + std::to_string(k);
                // full: exact double Gram or Jacobi SVD, float32 rounding of the
                // output only. covariance_eigh: float32 GEMM blocks carry ~1e-6
                // relative error per Gram entry, so its small axes move (see above).
                const bool cov = solver == MFS_PCA_SVD_SOLVER_COVARIANCE_EIGH ||
                                 (solver == MFS_PCA_SVD_SOLVER_AUTO && cs.n >= 10 * cs.d);
                expect_matches(m, D, r, k < 0 ? rk : k, 2e-6, cov ? 5e-6 : 5e-5, what, cov);
                mfs_model_free(m);
            }
        }
    }
}

// Wide data with covariance_eigh: d variances (as scikit-learn), zero past n - 1.
TEST(PCA, CovarianceEighOnWideData) {
    Data D = make(10, 25, 3);
    Ref r = reference(D);
    mfs_model *m = fit(D, params(4, MFS_PCA_SVD_SOLVER_COVARIANCE_EIGH));
    auto ev = get(m, "explained_variance");
    for (int c = 0; c < 4; c++) EXPECT_NEAR(ev[c], r.ev[c], 2e-6 * r.ev[0]);
    // scikit-learn's covariance_eigh averages the d - k left-out variances
    double want = 0;
    for (int64_t c = 4; c < 25; c++) want += r.ev[c];
    EXPECT_NEAR(get<double>(m, "noise_variance")[0], want / 21, 1e-5 * r.ev[0]);
    mfs_model_free(m);
}

TEST(PCA, TransformAndInverse) {
    Data D = make(300, 8, 11);
    Ref r = reference(D);
    for (int solver : {MFS_PCA_SVD_SOLVER_FULL, MFS_PCA_SVD_SOLVER_COVARIANCE_EIGH, MFS_PCA_SVD_SOLVER_RANDOMIZED}) {
        mfs_model *m = fit(D, params(3, solver));
        auto comp = get(m, "components");
        auto mean = get(m, "mean");
        auto Z = apply(m, MFS_METHOD_TRANSFORM, D.X.data(), D.n, D.d, 3);
        for (int64_t i = 0; i < D.n; i++)
            for (int64_t c = 0; c < 3; c++) {
                double z = 0;
                for (int64_t j = 0; j < D.d; j++) z += ((double)D.X[i * D.d + j] - mean[j]) * comp[c * D.d + j];
                EXPECT_NEAR(Z[i * 3 + c], z, 1e-4 * (1 + std::fabs(z))) << solver;
            }
        auto Xb = apply(m, MFS_METHOD_INVERSE_TRANSFORM, Z.data(), D.n, 3, D.d);
        for (int64_t i = 0; i < D.n; i++)
            for (int64_t j = 0; j < D.d; j++) {
                double x = mean[j];
                for (int64_t c = 0; c < 3; c++) x += (double)Z[i * 3 + c] * comp[c * D.d + j];
                EXPECT_NEAR(Xb[i * D.d + j], x, 1e-4 * (1 + std::fabs(x)));
            }
        mfs_model_free(m);
    }
    // all components: inverse(transform(X)) == X up to float32 rounding
    mfs_model *m = fit(D, params(-1));
    auto Z = apply(m, MFS_METHOD_TRANSFORM, D.X.data(), D.n, D.d, D.d);
    auto Xb = apply(m, MFS_METHOD_INVERSE_TRANSFORM, Z.data(), D.n, D.d, D.d);
    for (size_t i = 0; i < Xb.size(); i++) EXPECT_NEAR(Xb[i], D.X[i], 2e-5 * (1 + std::fabs(D.X[i])));
    // zero rows are fine
    mfs_array X0 = {D.X.data(), MFS_DTYPE_FLOAT32, 2, {0, D.d}}, o0 = {Z.data(), MFS_DTYPE_FLOAT32, 2, {0, D.d}};
    EXPECT_EQ(mfs_transform(m, &X0, &o0), MFS_OK) << mfs_last_error();
    mfs_model_free(m);
}

TEST(PCA, WhitenRoundTrip) {
    Data D = make(500, 6, 12);
    for (int solver : {MFS_PCA_SVD_SOLVER_FULL, MFS_PCA_SVD_SOLVER_COVARIANCE_EIGH}) {
        mfs_model *m = fit(D, params(-1, solver, 1));
        auto Z = apply(m, MFS_METHOD_TRANSFORM, D.X.data(), D.n, D.d, D.d);
        // each whitened column has mean 0 and variance 1 (ddof=1) on the training data
        for (int64_t c = 0; c < D.d; c++) {
            double s = 0, ss = 0;
            for (int64_t i = 0; i < D.n; i++) { s += Z[i * D.d + c]; ss += (double)Z[i * D.d + c] * Z[i * D.d + c]; }
            EXPECT_NEAR(s / D.n, 0.0, 1e-4);
            EXPECT_NEAR((ss - s * s / D.n) / (D.n - 1), 1.0, 1e-4) << "column " << c;
        }
        auto Xb = apply(m, MFS_METHOD_INVERSE_TRANSFORM, Z.data(), D.n, D.d, D.d);
        for (size_t i = 0; i < Xb.size(); i++) EXPECT_NEAR(Xb[i], D.X[i], 2e-5 * (1 + std::fabs(D.X[i])));
        mfs_model_free(m);
    }
}

// scikit-learn's float n_components: k = searchsorted(cumsum(ratio), f, "right") + 1
TEST(PCA, VarianceFraction) {
    Data D = make(400, 10, 13);
    Ref r = reference(D);
    double total = std::accumulate(r.ev.begin(), r.ev.end(), 0.0);
    for (double f : {0.05, 0.3, 0.5, 0.8, 0.9, 0.99, 0.999999}) {
        int64_t want = 1;
        double cum = 0;
        for (int64_t c = 0; c < D.d; c++) {
            cum += r.ev[c] / total;
            if (cum <= f) want = c + 2;
        }
        want = std::min<int64_t>(want, D.d);
        for (int solver : {MFS_PCA_SVD_SOLVER_AUTO, MFS_PCA_SVD_SOLVER_FULL, MFS_PCA_SVD_SOLVER_COVARIANCE_EIGH}) {
            mfs_model *m = fit(D, params(-1, solver, 0, f));
            auto ev = get(m, "explained_variance");
            EXPECT_EQ((int64_t)ev.size(), want) << "fraction " << f;
            auto ratio = get(m, "explained_variance_ratio");
            double sum = std::accumulate(ratio.begin(), ratio.end(), 0.0);
            EXPECT_GT(sum, f - 1e-6);
            mfs_model_free(m);
        }
    }
}

// On data of exact rank 5, the randomized solver finds the same 5 axes.
TEST(PCA, RandomizedOnLowRankData) {
    Data D = make(3000, 40, 14, 5);
    mfs_model *full = fit(D, params(5, MFS_PCA_SVD_SOLVER_FULL));
    for (int64_t seed : {0, 1, 42}) {
        mfs_pca_params p = params(5, MFS_PCA_SVD_SOLVER_RANDOMIZED);
        p.random_state = seed;
        mfs_model *rnd = fit(D, p);
        auto a = get(full, "components"), b = get(rnd, "components");
        auto ea = get(full, "explained_variance"), eb = get(rnd, "explained_variance");
        for (int c = 0; c < 5; c++) EXPECT_NEAR(eb[c], ea[c], 1e-4 * ea[0]);
        for (size_t i = 0; i < a.size(); i++) EXPECT_NEAR(b[i], a[i], 1e-3);
        // total variance from Xc itself: nothing outside rank 5, so the noise is ~0
        EXPECT_NEAR(get<double>(rnd, "noise_variance")[0], 0.0, 1e-4 * ea[0]);
        mfs_model_free(rnd);
    }
    // same seed -> the same bits
    mfs_pca_params p = params(5, MFS_PCA_SVD_SOLVER_RANDOMIZED);
    p.random_state = 7;
    mfs_model *r1 = fit(D, p), *r2 = fit(D, p);
    EXPECT_EQ(get(r1, "components"), get(r2, "components"));
    mfs_model_free(r1);
    mfs_model_free(r2);
    mfs_model_free(full);
}

TEST(PCA, ConstantDataHasNoVarianceToExplain) {
    Data D{6, 3, std::vector<float>(18, 2.5f)};
    mfs_model *m = fit(D, params(-1));
    for (float v : get(m, "explained_variance")) EXPECT_EQ(v, 0.0f);
    for (float v : get(m, "explained_variance_ratio")) EXPECT_EQ(v, 0.0f);
    auto Z = apply(m, MFS_METHOD_TRANSFORM, D.X.data(), D.n, D.d, D.d);
    for (float z : Z) EXPECT_EQ(z, 0.0f);
    mfs_model_free(m);
    m = fit(D, params(-1, MFS_PCA_SVD_SOLVER_FULL, 1));  // whitening stays finite (clipped scale)
    Z = apply(m, MFS_METHOD_TRANSFORM, D.X.data(), D.n, D.d, D.d);
    for (float z : Z) EXPECT_TRUE(std::isfinite(z));
    mfs_model_free(m);
}

TEST(PCA, BadParams) {
    auto create = [](mfs_pca_params p) {
        mfs_model *m = nullptr;
        mfs_status s = mfs_pca_create(&p, MFS_DEVICE_CPU, &m);
        mfs_model_free(m);
        return s;
    };
    mfs_pca_params p = params(-1);
    p.n_components = 0;
    EXPECT_EQ(create(p), MFS_E_INVALID_ARG);
    EXPECT_NE(std::string(mfs_last_error()).find("n_components is 0"), std::string::npos) << mfs_last_error();
    p = params(-2);
    EXPECT_EQ(create(p), MFS_E_INVALID_ARG);
    p = params(-1), p.whiten = 2;
    EXPECT_EQ(create(p), MFS_E_INVALID_ARG);
    for (double f : {1.0, -0.1, 1.5, (double)NAN, (double)INFINITY}) {
        p = params(-1, 0, 0, f);
        EXPECT_EQ(create(p), MFS_E_INVALID_ARG) << f;
    }
    p = params(-1), p.svd_solver = 4;
    EXPECT_EQ(create(p), MFS_E_INVALID_ARG);
    EXPECT_NE(std::string(mfs_last_error()).find("svd_solver is 4"), std::string::npos);
    p = params(-1), p.svd_solver = -1;
    EXPECT_EQ(create(p), MFS_E_INVALID_ARG);
    p = params(-1), p.iterated_power = -2;
    EXPECT_EQ(create(p), MFS_E_INVALID_ARG);
    p = params(-1), p.n_oversamples = -1;
    EXPECT_EQ(create(p), MFS_E_INVALID_ARG);
    p = params(-1, MFS_PCA_SVD_SOLVER_RANDOMIZED, 0, 0.5);
    EXPECT_EQ(create(p), MFS_E_INVALID_ARG);
    EXPECT_NE(std::string(mfs_last_error()).find("randomized"), std::string::npos);
    p = params(-1), p.pad_ = 1;
    EXPECT_EQ(create(p), MFS_E_INVALID_ARG);
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_pca_create(nullptr, MFS_DEVICE_CPU, &m), MFS_E_INVALID_ARG);
    p = params(-1);
    if (mfs_cuda_device_count() == 0) {
        EXPECT_EQ(mfs_pca_create(&p, MFS_DEVICE_CUDA, &m), MFS_E_DEVICE);
        EXPECT_EQ(m, nullptr);
    }
}

TEST(PCA, BadInput) {
    Data D = make(10, 4, 15);
    mfs_model *m = nullptr;
    mfs_pca_params p = params(5);
    ASSERT_EQ(mfs_pca_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
    mfs_array X = view(D);
    // n_components > min(n, d): both numbers in the message
    EXPECT_EQ(mfs_fit(m, &X, nullptr), MFS_E_INVALID_ARG);
    std::string msg = mfs_last_error();
    EXPECT_NE(msg.find("n_components is 5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("= 4"), std::string::npos) << msg;
    mfs_model_free(m);
    for (int solver : {MFS_PCA_SVD_SOLVER_FULL, MFS_PCA_SVD_SOLVER_COVARIANCE_EIGH, MFS_PCA_SVD_SOLVER_RANDOMIZED}) {
        p = params(-1, solver);
        ASSERT_EQ(mfs_pca_create(&p, MFS_DEVICE_CPU, &m), MFS_OK);
        // transform before fit
        std::vector<float> o(40);
        mfs_array out = {o.data(), MFS_DTYPE_FLOAT32, 2, {10, 4}};
        EXPECT_EQ(mfs_transform(m, &X, &out), MFS_E_NOT_FITTED);
        // one sample: no variance (ddof = 1)
        mfs_array X1 = {D.X.data(), MFS_DTYPE_FLOAT32, 2, {1, 4}};
        EXPECT_EQ(mfs_fit(m, &X1, nullptr), MFS_E_VALUE);
        EXPECT_NE(std::string(mfs_last_error()).find("1 sample"), std::string::npos) << mfs_last_error();
        // NaN, 1-D, wrong dtype
        std::vector<float> bad = D.X;
        bad[7] = NAN;
        mfs_array Xn = {bad.data(), MFS_DTYPE_FLOAT32, 2, {10, 4}};
        EXPECT_EQ(mfs_fit(m, &Xn, nullptr), MFS_E_VALUE);
        mfs_array X1d = {D.X.data(), MFS_DTYPE_FLOAT32, 1, {40}};
        EXPECT_NE(mfs_fit(m, &X1d, nullptr), MFS_OK);
        mfs_array Xi = {D.X.data(), MFS_DTYPE_INT32, 2, {10, 4}};
        EXPECT_NE(mfs_fit(m, &Xi, nullptr), MFS_OK);
        ASSERT_EQ(mfs_fit(m, &X, nullptr), MFS_OK) << mfs_last_error();
        // wrong columns at transform and inverse_transform, wrong out shape, predict
        mfs_array X3 = {D.X.data(), MFS_DTYPE_FLOAT32, 2, {10, 3}};
        mfs_array o3 = {o.data(), MFS_DTYPE_FLOAT32, 2, {10, 4}};
        EXPECT_EQ(mfs_transform(m, &X3, &o3), MFS_E_SHAPE);
        msg = mfs_last_error();
        EXPECT_NE(msg.find("3 columns"), std::string::npos) << msg;
        EXPECT_EQ(mfs_inverse_transform(m, &X3, &o3), MFS_E_SHAPE);
        mfs_array small = {o.data(), MFS_DTYPE_FLOAT32, 2, {10, 3}};
        EXPECT_EQ(mfs_transform(m, &X, &small), MFS_E_SHAPE);
        EXPECT_EQ(mfs_predict(m, &X, &out), MFS_E_UNSUPPORTED);
        mfs_model_free(m);
    }
}

TEST(PCA, SaveLoadRoundTrip) {
    Data D = make(200, 7, 16);
    for (int whiten : {0, 1}) {
        mfs_model *m = fit(D, params(4, MFS_PCA_SVD_SOLVER_FULL, whiten));
        auto buf = save(m);
        mfs_model *l = nullptr;
        ASSERT_EQ(mfs_model_load_buffer(buf.data(), buf.size(), MFS_DEVICE_CPU, &l), MFS_OK) << mfs_last_error();
        for (const char *name : {"components", "explained_variance", "explained_variance_ratio", "singular_values", "mean"})
            EXPECT_EQ(get(m, name), get(l, name)) << name;
        EXPECT_EQ(get<double>(m, "noise_variance"), get<double>(l, "noise_variance"));
        EXPECT_EQ(get<int64_t>(m, "n_samples"), get<int64_t>(l, "n_samples"));
        auto Za = apply(m, MFS_METHOD_TRANSFORM, D.X.data(), D.n, D.d, 4);
        auto Zb = apply(l, MFS_METHOD_TRANSFORM, D.X.data(), D.n, D.d, 4);
        EXPECT_EQ(Za, Zb);
        EXPECT_EQ(apply(m, MFS_METHOD_INVERSE_TRANSFORM, Za.data(), D.n, 4, D.d),
                  apply(l, MFS_METHOD_INVERSE_TRANSFORM, Za.data(), D.n, 4, D.d));
        mfs_pca_params got;
        ASSERT_EQ(mfs_model_get_params(l, &got, sizeof got), MFS_OK);
        EXPECT_EQ(got.whiten, whiten);
        mfs_model_free(l);
        mfs_model_free(m);
    }
}

TEST(PCA, CorruptedFileIsFormatError) {
    Data D = make(20, 3, 17);
    mfs_model *m = fit(D, params(2));
    auto buf = save(m);
    mfs_model *out = nullptr;
    for (size_t i = 0; i < buf.size(); i++) {
        auto bad = buf;
        bad[i] ^= 0x10;
        ASSERT_EQ(mfs_model_load_buffer(bad.data(), bad.size(), MFS_DEVICE_CPU, &out), MFS_E_FORMAT) << i;
        ASSERT_EQ(out, nullptr);
    }
    for (size_t len = 0; len < buf.size(); len += 7)
        ASSERT_EQ(mfs_model_load_buffer(buf.data(), len, MFS_DEVICE_CPU, &out), MFS_E_FORMAT) << len;
    mfs_model_free(m);
}

// Valid checksum, hostile contents: only the loader's and check_state's
// validation stands between the bytes and transform.
TEST(PCA, HostileFileWithValidChecksum) {
    Data D = make(20, 3, 18);
    mfs_model *m = fit(D, params(2, MFS_PCA_SVD_SOLVER_FULL, 1));
    auto buf = save(m);
    mfs_model *out = nullptr;
    int loaded = 0;
    for (size_t i = 8; i + 8 < buf.size(); i++)
        for (unsigned char v : {0x00, 0x01, 0x7f, 0xff}) {
            auto bad = buf;
            if (bad[i] == v) continue;
            bad[i] = v;
            refresh_checksum(bad);
            mfs_status s = mfs_model_load_buffer(bad.data(), bad.size(), MFS_DEVICE_CPU, &out);
            if (s != MFS_OK) {
                ASSERT_EQ(s, MFS_E_FORMAT) << "offset " << i << ": " << mfs_last_error();
                continue;
            }
            loaded++;
            // data bytes may change legally; the model must still work or refuse cleanly
            std::vector<float> o(D.n * 3), b(D.n * 3);
            mfs_array X = view(D), Z = {o.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 2}};
            mfs_status ts = mfs_transform(out, &X, &Z);
            EXPECT_TRUE(ts == MFS_OK || ts == MFS_E_SHAPE || ts == MFS_E_NOT_FITTED) << i;
            mfs_array Xb = {b.data(), MFS_DTYPE_FLOAT32, 2, {D.n, 3}};
            mfs_status is = mfs_inverse_transform(out, &Z, &Xb);
            // (a legal but extreme variance can overflow the projection: inf is refused as input)
            EXPECT_TRUE(is == MFS_OK || is == MFS_E_SHAPE || is == MFS_E_NOT_FITTED || is == MFS_E_VALUE)
                << i << " " << mfs_last_error();
            mfs_model_free(out);
        }
    EXPECT_GT(loaded, 0);
    // NaN in the mean is refused by check_state
    auto bad = buf;
    float mean0 = get(m, "mean")[0];
    for (size_t i = 0; i + 4 < bad.size(); i++)
        if (memcmp(bad.data() + i, &mean0, 4) == 0) {
            float nanv = NAN;
            memcpy(bad.data() + i, &nanv, 4);
            break;
        }
    refresh_checksum(bad);
    EXPECT_EQ(mfs_model_load_buffer(bad.data(), bad.size(), MFS_DEVICE_CPU, &out), MFS_E_FORMAT);
    mfs_model_free(m);
}
