/* PLACEHOLDER: the naive_bayes model is being built (issue 3). */
#ifndef MFS_NAIVE_BAYES_H
#define MFS_NAIVE_BAYES_H
#include "mfs/core.h"
#ifndef MFS_CDEF
#ifdef __cplusplus
extern "C" {
#endif
#endif
typedef struct mfs_naive_bayes_params { int32_t reserved_; } mfs_naive_bayes_params;
MFS_API void mfs_naive_bayes_params_default(mfs_naive_bayes_params *params);
#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif
