#!/bin/sh
# Time SGEMM builds with other KC/MC back to back, alternating, so that they see
# the same machine load:  sh dev/gemm/variants.sh "M N K threads" "384 192" "256 192" ...
set -e
cd "$(dirname "$0")/../.."
SHAPE=$1; shift
CORE="src_c/core/error.c src_c/core/memory.c src_c/core/threads.c src_cuda/stubs.c"
for v in "$@"; do
  set -- $v
  gcc -std=c11 -O3 -march=native -fopenmp -fno-math-errno -Iinclude -Isrc_c -I. \
      -DMFS_GEMM_KC=$1 -DMFS_GEMM_MC=$2 -DMFS_GEMM_NC=${3:-4096} dev/gemm/bench_gemm.c src_c/linalg/gemm.c $CORE -lm \
      -o /tmp/bench_gemm_kc$1_mc$2_nc${3:-4096}
done
set -- $SHAPE
for round in 1 2 3; do
  for b in /tmp/bench_gemm_kc*; do printf '%s: ' "${b#/tmp/bench_gemm_}"; $b $4 7 $1 $2 $3; done
done
