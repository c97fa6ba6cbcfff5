/* PLACEHOLDER until the naive_bayes model lands (issue 3): registered, cannot be fitted. */
#include <string.h>
#include "core/internal.h"
#include "mfs/naive_bayes.h"
void mfs_naive_bayes_params_default(mfs_naive_bayes_params *p) { if (p) memset(p, 0, sizeof *p); }
const mfs_model_vtable mfs__naive_bayes_vtable = {.kind = MFS_MODEL_NAIVE_BAYES, .name = "naive_bayes", .params_size = sizeof(mfs_naive_bayes_params)};
