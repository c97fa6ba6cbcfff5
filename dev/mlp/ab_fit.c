/* Paired A/B of two (up to four) builds of libmfs on the benchmark MLP
 * (784-256-256-10, Adam, batch 128, one epoch), for changes smaller than this
 * VM's minute-to-minute drift: every library is loaded into this one process
 * (dlmopen, each with its own OpenMP runtime), and one fit of each runs in
 * turn, `rounds` times, 30 ms apart so that the other runtime's threads have
 * stopped spinning. Reported: each build's median samples/s and the median
 * (quartiles) of its per-round speed relative to the first build. The order
 * in a round is worth a few percent: list a build twice (A B A B) to see it.
 * PRED=1 times mfs_predict_proba on the n rows instead (after one fit);
 * NOSHUF=1 fits without shuffling; lib:VAR=value sets VAR around that build's calls.
 *   gcc -O2 dev/mlp/ab_fit.c -Iinclude -ldl -o /tmp/ab_fit
 *   /tmp/ab_fit threads rounds n /abs/build-a/libmfs/libmfs.so /abs/build-b/libmfs/libmfs.so ... */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mfs/mfs.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
typedef struct { void *h; char env[64]; int (*create)(const mfs_mlp_params *, int, mfs_model **); int (*fit)(mfs_model *, const mfs_array *, const mfs_array *); int (*pred)(const mfs_model *, const mfs_array *, mfs_array *); mfs_model *m; void (*free_)(mfs_model *); void (*def)(mfs_mlp_params *); void (*thr)(int); } lib_t;
static int cmpd(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
    int thr = atoi(argv[1]), rounds = atoi(argv[2]); long n = atol(argv[3]), d = 784; int nl = argc - 4;
    lib_t L[8];
    for (int i = 0; i < nl; i++) {
        char path[512]; strcpy(path, argv[4 + i]); char *c = strchr(path, ':'); L[i].env[0] = 0;
        if (c) { *c = 0; strcpy(L[i].env, c + 1); }
        L[i].h = dlmopen(LM_ID_NEWLM, path, RTLD_NOW | RTLD_LOCAL);
        if (!L[i].h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
        L[i].create = dlsym(L[i].h, "mfs_mlp_create"); L[i].fit = dlsym(L[i].h, "mfs_fit"); L[i].pred = dlsym(L[i].h, "mfs_predict_proba"); L[i].free_ = dlsym(L[i].h, "mfs_model_free");
        L[i].def = dlsym(L[i].h, "mfs_mlp_params_default"); L[i].thr = dlsym(L[i].h, "mfs_set_num_threads");
        L[i].thr(thr);
    }
    float *X = malloc(sizeof(float) * n * d); int32_t *y = malloc(sizeof(int32_t) * n);
    unsigned s = 12345u;
    for (long i = 0; i < n * d; i++) { s = s * 1664525u + 1013904223u; X[i] = (float)(s >> 8) / 16777216.0f; }
    for (long i = 0; i < n; i++) y[i] = rand() % 10;
    mfs_array Xa = {X, MFS_DTYPE_FLOAT32, 2, {n, d}}, ya = {y, MFS_DTYPE_INT32, 1, {n}};
    double *t = calloc((size_t)rounds * nl, sizeof(double));
    for (int r = -1; r < rounds; r++)
        for (int i = 0; i < nl; i++) {
            if (L[i].env[0]) putenv(L[i].env); 
            mfs_mlp_params p; L[i].def(&p);
            p.task = MFS_MLP_TASK_CLASSIFICATION; p.n_classes = 10; p.n_hidden = 2;
            p.hidden_layer_sizes[0] = p.hidden_layer_sizes[1] = 256; p.train.solver = MFS_SOLVER_ADAM;
            p.train.alpha = 0.0; p.train.batch_size = 128; p.train.max_iter = 1; p.train.tol = 0.0; p.train.n_iter_no_change = 1000000; if (getenv("NOSHUF")) p.train.shuffle = 0;
            double dt;
            if (getenv("PRED")) {
                static float *P; if (!P) P = malloc(sizeof(float) * n * 10);
                mfs_array Pa = {P, MFS_DTYPE_FLOAT32, 2, {n, 10}};
                if (r < 0) { if (L[i].create(&p, MFS_DEVICE_CPU, &L[i].m)) return 2; if (L[i].fit(L[i].m, &Xa, &ya)) return 3; }
                { struct timespec z = {0, 30000000}; nanosleep(&z, NULL); }
                double t0 = now(); if (L[i].pred(L[i].m, &Xa, &Pa)) return 4; dt = now() - t0;
            } else {
            mfs_model *m; if (L[i].create(&p, MFS_DEVICE_CPU, &m)) return 2;
            { struct timespec z = {0, 30000000}; nanosleep(&z, NULL); }
            double t0 = now(); if (L[i].fit(m, &Xa, &ya)) return 3; dt = now() - t0;
            L[i].free_(m);
            }
            if (L[i].env[0]) { char k[64]; strcpy(k, L[i].env); *strchr(k, '=') = 0; unsetenv(k); }
            if (r >= 0) t[r * nl + i] = dt;
        }
    for (int i = 0; i < nl; i++) {
        double v[256], q[256];
        for (int r = 0; r < rounds; r++) { v[r] = n / t[r * nl + i]; q[r] = t[r * nl] / t[r * nl + i]; }
        qsort(v, rounds, sizeof(double), cmpd); qsort(q, rounds, sizeof(double), cmpd);
        printf("%-40s median %7.0f samples/s [%7.0f..%7.0f]  paired speed vs first: median %.3f [q1 %.3f q3 %.3f]\n", argv[4 + i], v[rounds / 2], v[0], v[rounds - 1], q[rounds / 2], q[rounds / 4], q[3 * rounds / 4]);
    }
    return 0;
}
