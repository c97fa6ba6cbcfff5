/* Convolutional networks: CNNClassifier / CNNRegressor.
 * PLACEHOLDER so the registry links while the model is being built: creating
 * one answers MFS_E_UNSUPPORTED. */
#include "core/internal.h"

static mfs_status check_params(const void *params) {
    (void)params;
    return mfs__error(MFS_E_UNSUPPORTED, "mfs_model_create: model 'cnn' is not built yet");
}

const mfs_model_vtable mfs__cnn_vtable = {
    .kind = MFS_MODEL_CNN,
    .name = "cnn",
    .params_size = 8,
    .supervised = 1,
    .check_params = check_params,
};
