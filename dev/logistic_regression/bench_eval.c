/* Time one loss+gradient evaluation of Logistic Regression (the inner cost of
 * every L-BFGS iteration) on n x d float32 data.
 *   cc -O3 -march=native -fopenmp -I../../include -I../../src_c -I../.. bench_eval.c \
 *      ../../build-logreg/libmfs/libmfs.a -lm -o /tmp/bench_eval && /tmp/bench_eval 100000 100 2 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "mfs/mfs.h"
mfs_status mfs__logreg_loss_grad(const float *X, const int32_t *y, int64_t n, int64_t d, int64_t kk,
                                 const float *coef, const float *intercept, double *loss,
                                 double *dcoef, double *dintercept);
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
extern int mfs__logreg_gemm_min_rows;
int main(int argc, char **argv) {
    if (getenv("GEMM_MIN_ROWS")) mfs__logreg_gemm_min_rows = atoi(getenv("GEMM_MIN_ROWS"));
    int64_t n = argc > 1 ? atoll(argv[1]) : 100000, d = argc > 2 ? atoll(argv[2]) : 100, K = argc > 3 ? atoll(argv[3]) : 2;
    int64_t kk = K == 2 ? 1 : K;
    float *X = malloc(n * d * 4), *W = malloc(kk * d * 4), b[64] = {0};
    int32_t *y = malloc(n * 4);
    double *dW = malloc(kk * d * 8), db[64], loss;
    srand(1);
    for (int64_t i = 0; i < n * d; i++) X[i] = rand() / (float)RAND_MAX - 0.5f;
    for (int64_t i = 0; i < n; i++) y[i] = rand() % K;
    for (int64_t i = 0; i < kk * d; i++) W[i] = 0.01f * (rand() / (float)RAND_MAX - 0.5f);
    mfs_set_num_threads(argc > 4 ? atoi(argv[4]) : 2);
    double best = 1e9;
    for (int r = 0; r < 10; r++) {
        double t = now();
        mfs__logreg_loss_grad(X, y, n, d, kk, W, b, &loss, dW, db);
        t = now() - t;
        if (t < best) best = t;
    }
    printf("n %lld d %lld K %lld: best %.2f ms per evaluation (%.2f GB/s of X)\n", (long long)n, (long long)d,
           (long long)K, best * 1e3, n * d * 4 / best / 1e9);
    return 0;
}
