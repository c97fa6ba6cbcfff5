/* Quick SGEMM timing for kernel experiments: best and median GFLOP/s of mfs_sgemm.
 *   gcc -O2 -fopenmp dev/gemm/bench_gemm.c -Iinclude -Lbuild-linalg/libmfs -lmfs -o /tmp/bench_gemm
 *   LD_LIBRARY_PATH=build-linalg/libmfs /tmp/bench_gemm threads reps M N K [ta tb] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "mfs/core.h"
#include "mfs/linalg.h"

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv) {
    int thr = argc > 1 ? atoi(argv[1]) : 1, reps = argc > 2 ? atoi(argv[2]) : 10;
    long M = argc > 3 ? atol(argv[3]) : 1024, N = argc > 4 ? atol(argv[4]) : M, K = argc > 5 ? atol(argv[5]) : M;
    int ta = argc > 6 ? atoi(argv[6]) : 0, tb = argc > 7 ? atoi(argv[7]) : 0;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N), *C = malloc(sizeof(float) * M * N);
    for (long i = 0; i < M * K; i++) A[i] = (float)rand() / RAND_MAX - 0.5f;
    for (long i = 0; i < K * N; i++) B[i] = (float)rand() / RAND_MAX - 0.5f;
    mfs_set_num_threads(thr);
    double *t = malloc(sizeof(double) * reps);
    mfs_sgemm(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, 0.0f, C, N);
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        mfs_sgemm(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, 0.0f, C, N);
        t[r] = now() - t0;
    }
    qsort(t, reps, sizeof(double), cmp);
    double f = 2.0 * M * N * K / 1e9;
    printf("%ldx%ldx%ld ta=%d tb=%d thr=%d: best %.1f median %.1f GFLOP/s\n", M, N, K, ta, tb, thr, f / t[0], f / t[reps / 2]);
    return 0;
}
