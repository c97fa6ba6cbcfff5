/* Decision-tree inference on the GPU (decision_tree; usable for any trees in
 * scikit-learn's flat layout): the nodes are packed into 16-byte records
 * (left, right, feature, float threshold) and uploaded per call; one thread
 * per (row, tree) walks a tree for apply, one thread per row walks every tree
 * and averages the leaf values in double for predict. Rows go through in
 * blocks, so device memory stays bounded for any m.
 *
 * The float threshold is the largest float <= the double threshold: for a
 * float x, x <= t (double) exactly when x <= that float, so the GPU takes the
 * very same branches as the CPU's double comparison. Fitting stays on the CPU
 * (src_c/classical/tree.c): see docs/models/decision_tree.md for why. */
#include <math.h>
#include "src_cuda/core/cuda_internal.cuh"

namespace {
constexpr int64_t DT_BLOCK_BYTES = (int64_t)128 << 20; /* X block + outputs on the device */
constexpr int DT_THREADS = 128;

struct dt_node {
    int32_t left, right, feature;
    float threshold;
};

__device__ __forceinline__ int32_t dt_leaf(const dt_node *__restrict__ nodes, const float *__restrict__ x) {
    int32_t q = 0;
    dt_node nd = nodes[0];
    while (nd.left >= 0) {
        q = x[nd.feature] <= nd.threshold ? nd.left : nd.right;
        nd = nodes[q];
    }
    return q;
}

/* leaves (rows, T): one thread per (row, tree), trees fastest */
__global__ void apply_kernel(const float *__restrict__ X, int64_t rows, int64_t d, int64_t T,
                             const int64_t *__restrict__ offsets, const dt_node *__restrict__ nodes,
                             int32_t *__restrict__ leaves) {
    const int64_t q = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (q >= rows * T) return;
    const int64_t i = q / T, t = q % T;
    leaves[q] = dt_leaf(nodes + offsets[t], X + i * d);
}

/* out (rows, V) = mean over the T trees of value[leaf], summed in double in tree order */
__global__ void predict_kernel(const float *__restrict__ X, int64_t rows, int64_t d, int64_t T,
                               const int64_t *__restrict__ offsets, const dt_node *__restrict__ nodes,
                               const double *__restrict__ value, int32_t V, float *__restrict__ out) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= rows) return;
    const float *x = X + i * d;
    float *o = out + i * V;
    for (int32_t v0 = 0; v0 < V; v0 += 8) { /* 8 accumulators at a time: no local-memory array of V */
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        const int32_t nv = V - v0 < 8 ? V - v0 : 8;
        for (int64_t t = 0; t < T; t++) {
            const int64_t leaf = offsets[t] + dt_leaf(nodes + offsets[t], x);
            for (int32_t v = 0; v < nv; v++) acc[v] += value[leaf * V + v0 + v];
        }
        for (int32_t v = 0; v < nv; v++) o[v0 + v] = (float)(acc[v] / (double)T);
    }
}

mfs_status check_args(const char *fn, const int32_t *cl, const int32_t *cr, const int32_t *feature,
                      const double *threshold, int64_t n_nodes, const int64_t *node_offset, int64_t n_trees,
                      const float *X, int64_t m, int64_t d) {
    if (!cl || !cr || !feature || !threshold || !node_offset || (!X && m > 0))
        return mfs__error(MFS_E_INVALID_ARG, "%s: a pointer argument is NULL", fn);
    if (n_nodes < 1 || n_nodes > INT32_MAX || n_trees < 1 || m < 0 || d < 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_nodes %lld, n_trees %lld, m %lld, d %lld out of range", fn,
                          (long long)n_nodes, (long long)n_trees, (long long)m, (long long)d);
    for (int64_t t = 0; t < n_trees; t++)
        if (node_offset[t] < 0 || node_offset[t] >= n_nodes)
            return mfs__error(MFS_E_INVALID_ARG, "%s: node_offset[%lld] = %lld, expected 0..%lld", fn, (long long)t,
                              (long long)node_offset[t], (long long)(n_nodes - 1));
    return MFS_OK;
}

/* Pack and upload the nodes and the offsets. */
mfs_status upload_trees(const char *fn, const int32_t *cl, const int32_t *cr, const int32_t *feature,
                        const double *threshold, int64_t n_nodes, const int64_t *node_offset, int64_t n_trees,
                        mfs_dev_buf<dt_node> &dnodes, mfs_dev_buf<int64_t> &doff, mfs_mem_counter *mem) {
    dt_node *h = (dt_node *)mfs__malloc((size_t)n_nodes * sizeof(dt_node));
    if (!h) return mfs__error(MFS_E_NOMEM, "%s: out of memory packing %lld nodes", fn, (long long)n_nodes);
    for (int64_t q = 0; q < n_nodes; q++) {
        float t = (float)threshold[q];
        if ((double)t > threshold[q]) t = nextafterf(t, -INFINITY); /* largest float <= threshold */
        h[q].left = cl[q];
        h[q].right = cr[q];
        h[q].feature = feature[q];
        h[q].threshold = t;
    }
    mfs_status s = dnodes.alloc(fn, n_nodes, mem);
    if (s == MFS_OK) s = mfs__cuda_upload(dnodes.ptr, h, (size_t)n_nodes * sizeof(dt_node));
    mfs__free(h);
    MFS_TRY(s);
    MFS_TRY(doff.alloc(fn, n_trees, mem));
    return mfs__cuda_upload(doff.ptr, node_offset, (size_t)n_trees * sizeof(int64_t));
}

int64_t block_rows(int64_t m, int64_t d, int64_t per_row_out) {
    int64_t rows = DT_BLOCK_BYTES / (int64_t)((d + per_row_out) * 4);
    if (rows < 1) rows = 1;
    return rows < m ? rows : m;
}
} // namespace

extern "C" mfs_status mfs__tree_apply_cuda(const int32_t *cl, const int32_t *cr, const int32_t *feature,
                                           const double *threshold, int64_t n_nodes, const int64_t *node_offset,
                                           int64_t n_trees, const float *X, int64_t m, int64_t d, int32_t *leaves,
                                           mfs_mem_counter *mem) {
    const char *fn = "mfs__tree_apply_cuda";
    MFS_TRY(check_args(fn, cl, cr, feature, threshold, n_nodes, node_offset, n_trees, X, m, d));
    if (!leaves && m > 0) return mfs__error(MFS_E_INVALID_ARG, "%s: leaves is NULL", fn);
    MFS_TRY(mfs__cuda_require(fn));
    if (m == 0) return MFS_OK;
    mem = mfs__cuda_counter(mem);
    mfs_dev_buf<dt_node> dnodes;
    mfs_dev_buf<int64_t> doff;
    mfs_dev_buf<float> dX;
    mfs_dev_buf<int32_t> dL;
    MFS_TRY(upload_trees(fn, cl, cr, feature, threshold, n_nodes, node_offset, n_trees, dnodes, doff, mem));
    const int64_t rows = block_rows(m, d, n_trees);
    MFS_TRY(dX.alloc(fn, rows * d, mem));
    MFS_TRY(dL.alloc(fn, rows * n_trees, mem));
    for (int64_t i0 = 0; i0 < m; i0 += rows) {
        const int64_t b = m - i0 < rows ? m - i0 : rows;
        MFS_TRY(mfs__cuda_upload(dX.ptr, X + i0 * d, (size_t)(b * d) * sizeof(float)));
        apply_kernel<<<(unsigned)mfs__ceil_div(b * n_trees, DT_THREADS), DT_THREADS, 0, MFS_STREAM>>>(
            dX.ptr, b, d, n_trees, doff.ptr, dnodes.ptr, dL.ptr);
        MFS_CUDA_LAUNCHED(fn, "apply_kernel");
        MFS_TRY(mfs__cuda_download(leaves + i0 * n_trees, dL.ptr, (size_t)(b * n_trees) * sizeof(int32_t)));
    }
    return MFS_OK;
}

extern "C" mfs_status mfs__tree_predict_cuda(const int32_t *cl, const int32_t *cr, const int32_t *feature,
                                             const double *threshold, const double *value, int64_t n_nodes,
                                             int32_t V, const int64_t *node_offset, int64_t n_trees, const float *X,
                                             int64_t m, int64_t d, float *out, mfs_mem_counter *mem) {
    const char *fn = "mfs__tree_predict_cuda";
    MFS_TRY(check_args(fn, cl, cr, feature, threshold, n_nodes, node_offset, n_trees, X, m, d));
    if (!value || V < 1 || (!out && m > 0))
        return mfs__error(MFS_E_INVALID_ARG, "%s: value or out is NULL, or V = %d < 1", fn, (int)V);
    MFS_TRY(mfs__cuda_require(fn));
    if (m == 0) return MFS_OK;
    mem = mfs__cuda_counter(mem);
    mfs_dev_buf<dt_node> dnodes;
    mfs_dev_buf<int64_t> doff;
    mfs_dev_buf<double> dval;
    mfs_dev_buf<float> dX, dO;
    MFS_TRY(upload_trees(fn, cl, cr, feature, threshold, n_nodes, node_offset, n_trees, dnodes, doff, mem));
    MFS_TRY(dval.alloc(fn, n_nodes * V, mem));
    MFS_TRY(mfs__cuda_upload(dval.ptr, value, (size_t)(n_nodes * V) * sizeof(double)));
    const int64_t rows = block_rows(m, d, V);
    MFS_TRY(dX.alloc(fn, rows * d, mem));
    MFS_TRY(dO.alloc(fn, rows * V, mem));
    for (int64_t i0 = 0; i0 < m; i0 += rows) {
        const int64_t b = m - i0 < rows ? m - i0 : rows;
        MFS_TRY(mfs__cuda_upload(dX.ptr, X + i0 * d, (size_t)(b * d) * sizeof(float)));
        predict_kernel<<<(unsigned)mfs__ceil_div(b, DT_THREADS), DT_THREADS, 0, MFS_STREAM>>>(
            dX.ptr, b, d, n_trees, doff.ptr, dnodes.ptr, dval.ptr, V, dO.ptr);
        MFS_CUDA_LAUNCHED(fn, "predict_kernel");
        MFS_TRY(mfs__cuda_download(out + i0 * V, dO.ptr, (size_t)(b * V) * sizeof(float)));
    }
    return MFS_OK;
}
