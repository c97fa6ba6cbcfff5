/* Random forests of CART trees: RandomForestClassifier / RandomForestRegressor.
 * PLACEHOLDER so the registry links while the model is being built: creating
 * one answers MFS_E_UNSUPPORTED. */
#include "core/internal.h"

static mfs_status check_params(const void *params) {
    (void)params;
    return mfs__error(MFS_E_UNSUPPORTED, "mfs_model_create: model 'random_forest' is not built yet");
}

const mfs_model_vtable mfs__random_forest_vtable = {
    .kind = MFS_MODEL_RANDOM_FOREST,
    .name = "random_forest",
    .params_size = 8,
    .supervised = 1,
    .check_params = check_params,
};
