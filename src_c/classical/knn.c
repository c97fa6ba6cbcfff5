/* PLACEHOLDER until the knn model lands (issue 3): registered, cannot be fitted. */
#include <string.h>
#include "core/internal.h"
#include "mfs/knn.h"
void mfs_knn_params_default(mfs_knn_params *p) { if (p) memset(p, 0, sizeof *p); }
const mfs_model_vtable mfs__knn_vtable = {.kind = MFS_MODEL_KNN, .name = "knn", .params_size = sizeof(mfs_knn_params)};
