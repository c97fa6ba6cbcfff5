/* PLACEHOLDER: the logistic_regression model is being built (issue 3). */
#ifndef MFS_LOGISTIC_REGRESSION_H
#define MFS_LOGISTIC_REGRESSION_H
#include "mfs/core.h"
#ifndef MFS_CDEF
#ifdef __cplusplus
extern "C" {
#endif
#endif
typedef struct mfs_logistic_regression_params { int32_t reserved_; } mfs_logistic_regression_params;
MFS_API void mfs_logistic_regression_params_default(mfs_logistic_regression_params *params);
#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif
