// Decision-tree inference on CUDA against the CPU on the same trees (GPU tests
// skip without a GPU), and the no-GPU contract: MFS_E_DEVICE with a message.
#include <gtest/gtest.h>
#include <cmath>
#include <random>
#include <string>
#include <vector>
extern "C" {
#include "mfs/mfs.h"
}
#include "src_cuda/cuda_api.h"
#include "classical/tree.h"

namespace {
struct Data {
    int64_t n, d;
    std::vector<float> X;
    std::vector<int32_t> y;
    std::vector<float> t;
};

Data make(int64_t n, int64_t d, unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<float> N(0, 1);
    Data D{n, d, std::vector<float>(n * d), std::vector<int32_t>(n), std::vector<float>(n)};
    for (int64_t i = 0; i < n; i++) {
        float *x = &D.X[i * d];
        for (int64_t j = 0; j < d; j++) x[j] = N(g);
        D.y[i] = (int32_t)((x[0] + x[1] * x[2] + 0.3f * N(g) > 0) + (x[3] > 1.f));
        D.t[i] = std::sin(3 * x[0]) + x[1] * x[2] + 0.1f * N(g);
    }
    return D;
}

mfs_model *fit(const Data &D, int criterion, mfs_device dev) {
    mfs_decision_tree_params p;
    mfs_decision_tree_params_default(&p);
    p.criterion = criterion;
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_decision_tree_create(&p, dev, &m), MFS_OK) << mfs_last_error();
    if (!m) return nullptr;
    const bool reg = criterion == MFS_TREE_CRITERION_SQUARED_ERROR;
    mfs_array X = {(void *)D.X.data(), MFS_DTYPE_FLOAT32, 2, {D.n, D.d}};
    mfs_array y = reg ? mfs_array{(void *)D.t.data(), MFS_DTYPE_FLOAT32, 1, {D.n}}
                      : mfs_array{(void *)D.y.data(), MFS_DTYPE_INT32, 1, {D.n}};
    EXPECT_EQ(mfs_fit(m, &X, &y), MFS_OK) << mfs_last_error();
    return m;
}

bool has_gpu() { return mfs_cuda_device_count() > 0; }
}  // namespace

// Fit on the CPU (the GPU model grows the same tree on the CPU), predict on
// both: the float thresholds rounded down on the GPU take the same branches
// as the CPU's double comparisons, so leaves, labels and values are equal.
TEST(CudaDecisionTree, PredictEqualsCpu) {
    if (!has_gpu()) GTEST_SKIP() << "no CUDA device";
    Data D = make(20000, 8, 1), Q = make(70000, 8, 2);
    for (int crit : {MFS_TREE_CRITERION_GINI, MFS_TREE_CRITERION_SQUARED_ERROR}) {
        mfs_model *c = fit(D, crit, MFS_DEVICE_CPU), *g = fit(D, crit, MFS_DEVICE_CUDA);
        mfs_array X = {Q.X.data(), MFS_DTYPE_FLOAT32, 2, {Q.n, Q.d}};
        std::vector<int64_t> lc(Q.n), lg(Q.n);
        mfs_array Lc = {lc.data(), MFS_DTYPE_INT64, 1, {Q.n}}, Lg = {lg.data(), MFS_DTYPE_INT64, 1, {Q.n}};
        ASSERT_EQ(mfs_decision_tree_apply(c, &X, &Lc), MFS_OK) << mfs_last_error();
        ASSERT_EQ(mfs_decision_tree_apply(g, &X, &Lg), MFS_OK) << mfs_last_error();
        EXPECT_EQ(lc, lg);
        if (crit == MFS_TREE_CRITERION_GINI) {
            std::vector<int32_t> pc(Q.n), pg(Q.n);
            mfs_array Pc = {pc.data(), MFS_DTYPE_INT32, 1, {Q.n}}, Pg = {pg.data(), MFS_DTYPE_INT32, 1, {Q.n}};
            ASSERT_EQ(mfs_predict(c, &X, &Pc), MFS_OK);
            ASSERT_EQ(mfs_predict(g, &X, &Pg), MFS_OK) << mfs_last_error();
            EXPECT_EQ(pc, pg);
        } else {
            std::vector<float> pc(Q.n), pg(Q.n);
            mfs_array Pc = {pc.data(), MFS_DTYPE_FLOAT32, 1, {Q.n}}, Pg = {pg.data(), MFS_DTYPE_FLOAT32, 1, {Q.n}};
            ASSERT_EQ(mfs_predict(c, &X, &Pc), MFS_OK);
            ASSERT_EQ(mfs_predict(g, &X, &Pg), MFS_OK) << mfs_last_error();
            EXPECT_EQ(pc, pg);
        }
        mfs_memory_stats st;
        ASSERT_EQ(mfs_memory_stats_get(g, &st), MFS_OK);
        EXPECT_GT(st.device_peak, Q.n * Q.d * 4 / 2);  // X went through the device (in one block here)
        EXPECT_EQ(st.device_current, 0);                 // and was given back
        mfs_model_free(c);
        mfs_model_free(g);
    }
}

// Several trees back to back (the forest layout): the mean of the leaf values
// on the GPU against the same mean on the CPU.
TEST(CudaDecisionTree, MultiTreePredictEqualsCpuMean) {
    if (!has_gpu()) GTEST_SKIP() << "no CUDA device";
    Data Q = make(5000, 6, 3);
    std::vector<int32_t> cl, cr, ft;
    std::vector<double> th, val;
    std::vector<int64_t> off;
    const int32_t V = 3;
    for (unsigned t = 0; t < 4; t++) {
        Data D = make(3000, 6, 10 + t);
        mfs_model *m = fit(D, MFS_TREE_CRITERION_GINI, MFS_DEVICE_CPU);
        auto grab = [&](const char *name, auto &vec) {
            mfs_dtype dt;
            int32_t nd;
            int64_t shape[4];
            ASSERT_EQ(mfs_model_array_info(m, name, &dt, &nd, shape), MFS_OK);
            using T = typename std::decay_t<decltype(vec)>::value_type;
            std::vector<T> tmp(shape[0] * (nd == 2 ? shape[1] : 1));
            mfs_array a = {tmp.data(), dt, nd, {shape[0], shape[1], 0, 0}};
            ASSERT_EQ(mfs_model_get_array(m, name, &a), MFS_OK);
            vec.insert(vec.end(), tmp.begin(), tmp.end());
        };
        off.push_back((int64_t)cl.size());
        grab("children_left", cl);
        grab("children_right", cr);
        grab("feature", ft);
        grab("threshold", th);
        grab("value", val);
        mfs_model_free(m);
    }
    const int64_t N = (int64_t)cl.size(), T = (int64_t)off.size();
    std::vector<float> out(Q.n * V);
    ASSERT_EQ(mfs__tree_predict_cuda(cl.data(), cr.data(), ft.data(), th.data(), val.data(), N, V, off.data(), T,
                                     Q.X.data(), Q.n, Q.d, out.data(), nullptr),
              MFS_OK)
        << mfs_last_error();
    std::vector<int32_t> leaves(Q.n * T);
    ASSERT_EQ(mfs__tree_apply_cuda(cl.data(), cr.data(), ft.data(), th.data(), N, off.data(), T, Q.X.data(), Q.n,
                                   Q.d, leaves.data(), nullptr),
              MFS_OK)
        << mfs_last_error();
    for (int64_t i = 0; i < Q.n; i++) {
        double acc[V] = {0, 0, 0};
        for (int64_t t = 0; t < T; t++) {
            const int64_t o = off[t];
            const int32_t leaf = mfs__tree_leaf(cl.data() + o, cr.data() + o, ft.data() + o, th.data() + o,
                                                Q.X.data() + i * Q.d);
            ASSERT_EQ(leaves[i * T + t], leaf) << i << " " << t;
            for (int32_t v = 0; v < V; v++) acc[v] += val[(o + leaf) * V + v];
        }
        // the same double sum in the same tree order, rounded once to float32
        for (int32_t v = 0; v < V; v++) ASSERT_EQ(out[i * V + v], (float)(acc[v] / (double)T)) << i;
    }
}

TEST(CudaDecisionTree, NoGpuIsADeviceError) {
    if (has_gpu()) GTEST_SKIP() << "a CUDA device is present";
    mfs_decision_tree_params p;
    mfs_decision_tree_params_default(&p);
    mfs_model *m = nullptr;
    EXPECT_EQ(mfs_decision_tree_create(&p, MFS_DEVICE_CUDA, &m), MFS_E_DEVICE);
    EXPECT_EQ(m, nullptr);
    EXPECT_FALSE(std::string(mfs_last_error()).empty());
    int32_t cl = -1, cr = -1, ft = -2, leaf = 0;
    double th = -2, val = 1;
    int64_t off = 0;
    float x = 0, out = 0;
    EXPECT_EQ(mfs__tree_apply_cuda(&cl, &cr, &ft, &th, 1, &off, 1, &x, 1, 1, &leaf, nullptr), MFS_E_DEVICE);
    EXPECT_EQ(mfs__tree_predict_cuda(&cl, &cr, &ft, &th, &val, 1, 1, &off, 1, &x, 1, 1, &out, nullptr), MFS_E_DEVICE);
}
