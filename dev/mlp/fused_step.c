/* Prototype: the benchmark MLP's training step (784-256-256-10, relu,
 * softmax cross-entropy, Adam, batch 128) in ONE parallel region per step,
 * each thread owning a column half of every hidden layer for the forward,
 * the weight gradient and Adam alike (its weights, moments and gradients stay
 * in its own L2), against the library's fit, alternated in one process.
 * Measured 2026-11-27 (2 threads, 15 rounds): fused / library 0.915 median
 * (0.77-0.97), so the library keeps its layer-by-layer trainer; the phase
 * timers printed at the end show where thread 0's step goes (see
 * docs/models/feed_forward.md). The library's time is its whole fit
 * (allocation, initialization, loss), the prototype's only its steps, so the
 * ratio flatters the prototype. The step ignores the last partial batch. */
/*
 *   gcc -O3 -fno-math-errno -march=native -fopenmp dev/mlp/fused_step.c -Iinclude -Isrc_c \
 *       build/libmfs/libmfs.a -lm -o /tmp/fused_step
 *   /tmp/fused_step rounds [n] */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mfs/mfs.h"
#include "linalg/linalg.h"

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }

enum { D = 784, H = 256, K = 10, B = 128 };
typedef struct { float *W, *b, *mW, *vW, *mb, *vb, *dW, *db; int64_t ni, no; } lin;

static void lin_make(lin *L, int64_t ni, int64_t no, unsigned *s) {
    L->ni = ni; L->no = no;
    L->W = calloc(ni * no, 4); L->mW = calloc(ni * no, 4); L->vW = calloc(ni * no, 4); L->dW = calloc(ni * no, 4);
    L->b = calloc(no, 4); L->mb = calloc(no, 4); L->vb = calloc(no, 4); L->db = calloc(no, 4);
    float a = sqrtf(6.0f / (ni + no));
    for (int64_t i = 0; i < ni * no; i++) { *s = *s * 1664525u + 1013904223u; L->W[i] = a * ((float)(*s >> 8) / 8388608.0f - 1.0f); }
}

typedef struct { float step, b1, b2, c1, c2, eps; } adam;

/* Adam over rows r0..r1 and columns c0..c1 of a (rows, ld) matrix */
static void adam_block(const adam *o, float *p, const float *g, float *m, float *v, int64_t r0, int64_t r1,
                       int64_t ld, int64_t c0, int64_t c1) {
    for (int64_t r = r0; r < r1; r++) {
        float *pr = p + r * ld, *mr = m + r * ld, *vr = v + r * ld;
        const float *gr = g + r * ld;
#pragma omp simd
        for (int64_t j = c0; j < c1; j++) {
            float gi = gr[j];
            float mi = o->b1 * mr[j] + o->c1 * gi, vi = o->b2 * vr[j] + o->c2 * gi * gi;
            mr[j] = mi; vr[j] = vi;
            pr[j] -= o->step * mi / (sqrtf(vi) + o->eps);
        }
    }
}

static void bias_relu(float *z, const float *b, int64_t c0, int64_t c1) {
    for (int64_t r = 0; r < B; r++) {
        float *zr = z + r * H;
        for (int64_t j = c0; j < c1; j++) { float x = zr[j] + b[j]; zr[j] = x > 0 ? x : 0; }
    }
}

/* dz = dh * (h > 0) in place, db = column sums of dz (columns c0..c1) */
static void relu_back(float *dh, const float *h, float *db, int64_t c0, int64_t c1) {
    for (int64_t j = c0; j < c1; j++) db[j] = 0;
    for (int64_t r = 0; r < B; r++) {
        float *d = dh + r * H;
        const float *hr = h + r * H;
        for (int64_t j = c0; j < c1; j++) { float x = hr[j] > 0 ? d[j] : 0; d[j] = x; db[j] += x; }
    }
}

static double PH[16];
#define MARK(i) do { if (t == 0) { double _n = omp_get_wtime(); PH[i] += _n - _t; _t = _n; } } while (0)
static float *H0, *H1, *Z2, *dZ2, *dH1, *dH0, *losses;

static void step(lin *L, const float *X, const int64_t *idx, const int32_t *y, const adam *o) {
#pragma omp parallel num_threads(2)
    {
        const int t = omp_get_thread_num();
        const int64_t c0 = t * (H / 2), c1 = c0 + H / 2, r0 = t * (B / 2), r1 = r0 + B / 2;
        double _t = omp_get_wtime();
        mfs__sgemm_rows(0, 0, B, H / 2, D, 1.0f, X, D, idx, L[0].W + c0, H, 0.0f, H0 + c0, H);
        bias_relu(H0, L[0].b, c0, c1);
MARK(0);
#pragma omp barrier
        MARK(1);
        mfs__sgemm(0, 0, B, H / 2, H, 1.0f, H0, H, L[1].W + c0, H, 0.0f, H1 + c0, H);
        bias_relu(H1, L[1].b, c0, c1);
MARK(2);
#pragma omp barrier
        MARK(3);
        mfs__sgemm(0, 0, B / 2, K, H, 1.0f, H1 + r0 * H, H, L[2].W, K, 0.0f, Z2 + r0 * K, K);
        for (int64_t r = r0; r < r1; r++) { /* softmax cross-entropy and its gradient / B */
            float *z = Z2 + r * K, *dz = dZ2 + r * K, mx = -INFINITY, s = 0;
            for (int k = 0; k < K; k++) { z[k] += L[2].b[k]; mx = z[k] > mx ? z[k] : mx; }
            for (int k = 0; k < K; k++) { dz[k] = expf(z[k] - mx); s += dz[k]; }
            for (int k = 0; k < K; k++) dz[k] = (dz[k] / s - (k == y[idx[r]])) / B;
            losses[r] = logf(s) + mx - z[y[idx[r]]];
        }
MARK(4);
#pragma omp barrier
        MARK(5);
        /* layer 2: its rows c0..c1 of W2 are this thread's columns of H1 */
        mfs__sgemm(1, 0, H / 2, K, B, 1.0f, H1 + c0, H, dZ2, K, 0.0f, L[2].dW + c0 * K, K);
        mfs__sgemm(0, 1, B, H / 2, K, 1.0f, dZ2, K, L[2].W + c0 * K, K, 0.0f, dH1 + c0, H);
        adam_block(o, L[2].W, L[2].dW, L[2].mW, L[2].vW, c0, c1, K, 0, K);
        if (t == 0) {
            for (int k = 0; k < K; k++) { float s = 0; for (int r = 0; r < B; r++) s += dZ2[r * K + k]; L[2].db[k] = s; }
            adam_block(o, L[2].b, L[2].db, L[2].mb, L[2].vb, 0, 1, K, 0, K);
        }
        relu_back(dH1, H1, L[1].db, c0, c1);
MARK(6);
#pragma omp barrier
        MARK(7);
        mfs__sgemm(0, 1, B, H / 2, H, 1.0f, dH1, H, L[1].W + c0 * H, H, 0.0f, dH0 + c0, H);
        mfs__sgemm(1, 0, H, H / 2, B, 1.0f, H0, H, dH1 + c0, H, 0.0f, L[1].dW + c0, H);
        relu_back(dH0, H0, L[0].db, c0, c1);
        adam_block(o, L[1].b, L[1].db, L[1].mb, L[1].vb, 0, 1, H, c0, c1);
        adam_block(o, L[0].b, L[0].db, L[0].mb, L[0].vb, 0, 1, H, c0, c1);
MARK(8);
#pragma omp barrier
        MARK(9);
        adam_block(o, L[1].W, L[1].dW, L[1].mW, L[1].vW, 0, H, H, c0, c1);
        mfs__sgemm_rows(1, 0, D, H / 2, B, 1.0f, X, D, idx, dH0 + c0, H, 0.0f, L[0].dW + c0, H);
        MARK(12);
        adam_block(o, L[0].W, L[0].dW, L[0].mW, L[0].vW, 0, D, H, c0, c1);
        MARK(13);
    }
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    long n = argc > 2 ? atol(argv[2]) : 20000;
    float *X = malloc(sizeof(float) * n * D);
    int32_t *y = malloc(sizeof(int32_t) * n);
    int64_t *idx = malloc(sizeof(int64_t) * n);
    unsigned s = 12345u;
    for (long i = 0; i < n * D; i++) { s = s * 1664525u + 1013904223u; X[i] = (float)(s >> 8) / 16777216.0f; }
    for (long i = 0; i < n; i++) { y[i] = rand() % 10; idx[i] = i; }
    H0 = malloc(4 * B * H); H1 = malloc(4 * B * H); Z2 = malloc(4 * B * K); dZ2 = malloc(4 * B * K);
    dH1 = malloc(4 * B * H); dH0 = malloc(4 * B * H); losses = malloc(4 * B);
    mfs_set_num_threads(2);
    mfs_mlp_params p;
    mfs_mlp_params_default(&p);
    p.task = MFS_MLP_TASK_CLASSIFICATION; p.n_classes = 10; p.n_hidden = 2;
    p.hidden_layer_sizes[0] = p.hidden_layer_sizes[1] = 256;
    p.train.solver = MFS_SOLVER_ADAM; p.train.alpha = 0.0; p.train.batch_size = 128; p.train.max_iter = 1;
    p.train.tol = 0.0; p.train.n_iter_no_change = 1000000;
    mfs_array Xa = {X, MFS_DTYPE_FLOAT32, 2, {n, D}}, ya = {y, MFS_DTYPE_INT32, 1, {n}};
    double ratio[64];
    for (int rd = 0; rd < rounds && rd < 64; rd++) {
        mfs_model *m;
        mfs_mlp_create(&p, MFS_DEVICE_CPU, &m);
        double t0 = now();
        if (mfs_fit(m, &Xa, &ya) != MFS_OK) { fprintf(stderr, "%s\n", mfs_last_error()); return 1; }
        double tl = now() - t0;
        mfs_model_free(m);
        unsigned seed = 7;
        lin L[3];
        lin_make(&L[0], D, H, &seed); lin_make(&L[1], H, H, &seed); lin_make(&L[2], H, K, &seed);
        t0 = now();
        for (long i = n - 1; i > 0; i--) { seed = seed * 1664525u + 1013904223u; long j = seed % (i + 1); int64_t q = idx[i]; idx[i] = idx[j]; idx[j] = q; }
        double acc = 0;
        for (long b0 = 0, st = 1; b0 + B <= n; b0 += B, st++) {
            adam o = {(float)(1e-3 * sqrt(1 - pow(0.999, st)) / (1 - pow(0.9, st))), 0.9f, 0.999f, 0.1f, 0.001f, 1e-8f};
            step(L, X, idx + b0, y, &o);
            for (int r = 0; r < B; r++) acc += losses[r];
        }
        double tf = now() - t0;
        ratio[rd] = tl / tf;
        printf("round %d: library %.0f samples/s, fused %.0f samples/s, fused/library %.3f (loss %.3f)\n", rd, n / tl,
               n / tf, tl / tf, acc / n);
        for (int k = 0; k < 3; k++) { free(L[k].W); free(L[k].mW); free(L[k].vW); free(L[k].dW); free(L[k].b); free(L[k].mb); free(L[k].vb); free(L[k].db); }
    }
    int nr = rounds < 64 ? rounds : 64;
    for (int i = 1; i < nr; i++) /* insertion sort for the median */
        for (int j = i; j > 0 && ratio[j - 1] > ratio[j]; j--) { double q = ratio[j]; ratio[j] = ratio[j - 1]; ratio[j - 1] = q; }
    if (nr > 0) printf("fused/library: median %.3f, range %.3f..%.3f\n", ratio[nr / 2], ratio[0], ratio[nr - 1]);
    for (int i = 0; i < 16; i++) if (PH[i] > 0) printf("phase %d: %.3f ms/step\n", i, PH[i] * 1e3 / (rounds * (n / B)));
    return 0;
}
