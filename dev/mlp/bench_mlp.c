/* MLP training throughput without Python in the way, for profiling the
 * trainer (perf record works cleanly on it): the benchmark network of issue 5,
 * 784-256-256-10, relu, Adam lr 1e-3, batch 128, on random data.
 *   gcc -O2 dev/mlp/bench_mlp.c -Iinclude -Lbuild/libmfs -lmfs -o /tmp/bench_mlp
 *   LD_LIBRARY_PATH=build/libmfs /tmp/bench_mlp threads epochs [n] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "mfs/mfs.h"

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }

int main(int argc, char **argv) {
    int thr = argc > 1 ? atoi(argv[1]) : 2, epochs = argc > 2 ? atoi(argv[2]) : 3;
    long n = argc > 3 ? atol(argv[3]) : 20000, d = 784;
    float *X = malloc(sizeof(float) * n * d);
    int32_t *y = malloc(sizeof(int32_t) * n);
    unsigned s = 12345u;
    for (long i = 0; i < n * d; i++) { s = s * 1664525u + 1013904223u; X[i] = (float)(s >> 8) / 16777216.0f; }
    for (long i = 0; i < n; i++) y[i] = rand() % 10;
    mfs_set_num_threads(thr);
    mfs_mlp_params p;
    mfs_mlp_params_default(&p);
    p.task = MFS_MLP_TASK_CLASSIFICATION;
    p.n_classes = 10;
    p.n_hidden = 2;
    p.hidden_layer_sizes[0] = p.hidden_layer_sizes[1] = 256;
    p.train.solver = MFS_SOLVER_ADAM;
    p.train.alpha = 0.0;
    p.train.batch_size = 128;
    p.train.max_iter = 1;
    p.train.tol = 0.0;
    p.train.n_iter_no_change = 1000000;
    mfs_array Xa = {X, MFS_DTYPE_FLOAT32, 2, {n, d}}, ya = {y, MFS_DTYPE_INT32, 1, {n}};
    for (int e = 0; e < epochs; e++) {
        mfs_model *m;
        if (mfs_mlp_create(&p, MFS_DEVICE_CPU, &m) != MFS_OK) { fprintf(stderr, "%s\n", mfs_last_error()); return 1; }
        double t0 = now();
        if (mfs_fit(m, &Xa, &ya) != MFS_OK) { fprintf(stderr, "%s\n", mfs_last_error()); return 1; }
        double t = now() - t0;
        printf("fit %d: %.0f samples/s\n", e, n / t);
        mfs_model_free(m);
    }
    free(X); free(y);
    return 0;
}
