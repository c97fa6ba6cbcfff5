/* PLACEHOLDER until the logistic_regression model lands (issue 3): registered, cannot be fitted. */
#include <string.h>
#include "core/internal.h"
#include "mfs/logistic_regression.h"
void mfs_logistic_regression_params_default(mfs_logistic_regression_params *p) { if (p) memset(p, 0, sizeof *p); }
const mfs_model_vtable mfs__logistic_regression_vtable = {.kind = MFS_MODEL_LOGISTIC_REGRESSION, .name = "logistic_regression", .params_size = sizeof(mfs_logistic_regression_params)};
