/* The counter-based random number generator of libmfs: Philox4x32-10
 * (Salmon et al., SC'11). A value depends only on (seed, stream, counter), so
 * CPU threads, CUDA threads and a reader of the docs all draw the same bits:
 * "seed 42" means the same thing on every device and thread count.
 * Header-only so that CUDA kernels compile the very same code. */
#ifndef MFS_RNG_H
#define MFS_RNG_H
#include <stdint.h>
#include <math.h>

#if defined(__CUDACC__)
#define MFS_HD __host__ __device__ __forceinline__
#else
#define MFS_HD static inline
#endif

typedef struct mfs_u32x4 { uint32_t v[4]; } mfs_u32x4;

/* One Philox4x32-10 block: 4 random 32-bit words for (seed, stream, counter). */
MFS_HD mfs_u32x4 mfs_philox(uint64_t seed, uint64_t stream, uint64_t counter) {
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32);
    uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
        k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
    }
    mfs_u32x4 out;
    out.v[0] = c0; out.v[1] = c1; out.v[2] = c2; out.v[3] = c3;
    return out;
}

/* 24 random bits -> float in [0, 1). */
MFS_HD float mfs_u32_to_unit_float(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }
/* 53 random bits -> double in [0, 1). */
MFS_HD double mfs_u64_to_unit_double(uint32_t hi, uint32_t lo) {
    uint64_t x = ((uint64_t)hi << 21) ^ ((uint64_t)lo >> 11);
    return (double)(x & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

/* A sequential stream for host code: successive draws walk the counter. */
typedef struct mfs_rng {
    uint64_t seed, stream, counter;
    uint32_t buf[4];
    int used; /* words of buf consumed; 4 = empty */
} mfs_rng;

MFS_HD mfs_rng mfs_rng_make(uint64_t seed, uint64_t stream) {
    mfs_rng r;
    r.seed = seed; r.stream = stream; r.counter = 0; r.used = 4;
    r.buf[0] = r.buf[1] = r.buf[2] = r.buf[3] = 0;
    return r;
}
MFS_HD uint32_t mfs_rng_u32(mfs_rng *r) {
    if (r->used == 4) {
        mfs_u32x4 b = mfs_philox(r->seed, r->stream, r->counter++);
        r->buf[0] = b.v[0]; r->buf[1] = b.v[1]; r->buf[2] = b.v[2]; r->buf[3] = b.v[3];
        r->used = 0;
    }
    return r->buf[r->used++];
}
/* Uniform double in [0, 1). */
MFS_HD double mfs_rng_uniform(mfs_rng *r) {
    uint32_t hi = mfs_rng_u32(r), lo = mfs_rng_u32(r);
    return mfs_u64_to_unit_double(hi, lo);
}
/* Uniform integer in [0, n), n >= 1 (rejection sampling: no modulo bias). */
MFS_HD uint64_t mfs_rng_below(mfs_rng *r, uint64_t n) {
    if (n <= 1) return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    for (;;) {
        uint64_t x = ((uint64_t)mfs_rng_u32(r) << 32) | mfs_rng_u32(r);
        if (x < limit) return x % n;
    }
}
/* Standard normal via Box-Muller (one value per call; simple over fast). */
MFS_HD double mfs_rng_normal(mfs_rng *r) {
    double u1 = mfs_rng_uniform(r), u2 = mfs_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
#endif
