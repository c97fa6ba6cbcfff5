/* The one place model kinds are registered. Adding a model: one line here and
 * the count below, or the static_assert fails the build. */
#include <assert.h>
#include "internal.h"

extern const mfs_model_vtable mfs__linear_regression_vtable;
extern const mfs_model_vtable mfs__kmeans_vtable;
extern const mfs_model_vtable mfs__pca_vtable;
extern const mfs_model_vtable mfs__logistic_regression_vtable;
extern const mfs_model_vtable mfs__knn_vtable;
extern const mfs_model_vtable mfs__naive_bayes_vtable;
extern const mfs_model_vtable mfs__decision_tree_vtable;
extern const mfs_model_vtable mfs__random_forest_vtable;
extern const mfs_model_vtable mfs__svm_vtable;
extern const mfs_model_vtable mfs__linear_svm_vtable;
extern const mfs_model_vtable mfs__mlp_vtable;
extern const mfs_model_vtable mfs__cnn_vtable;

static const mfs_model_vtable *const registry[] = {
    &mfs__linear_regression_vtable,
    &mfs__kmeans_vtable,
    &mfs__pca_vtable,
    &mfs__logistic_regression_vtable,
    &mfs__knn_vtable,
    &mfs__naive_bayes_vtable,
    &mfs__decision_tree_vtable,
    &mfs__random_forest_vtable,
    &mfs__svm_vtable,
    &mfs__linear_svm_vtable,
    &mfs__mlp_vtable,
    &mfs__cnn_vtable,
};

enum { MFS_MODEL_COUNT = 12 };
static_assert(sizeof registry / sizeof registry[0] == MFS_MODEL_COUNT,
              "a model kind is missing from the registry");

const mfs_model_vtable *mfs__vtable(mfs_model_kind kind) {
    for (size_t i = 0; i < MFS_MODEL_COUNT; i++)
        if (registry[i]->kind == kind) return registry[i];
    return NULL;
}
