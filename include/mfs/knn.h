/* PLACEHOLDER: the knn model is being built (issue 3). */
#ifndef MFS_KNN_H
#define MFS_KNN_H
#include "mfs/core.h"
#ifndef MFS_CDEF
#ifdef __cplusplus
extern "C" {
#endif
#endif
typedef struct mfs_knn_params { int32_t reserved_; } mfs_knn_params;
MFS_API void mfs_knn_params_default(mfs_knn_params *params);
#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif
