/* libmfs — machine-learning models from scratch, in C11 and CUDA.
 *
 * A worked example: fit K-Means on a (n, d) float32 matrix and predict.
 *
 *     #include <mfs/mfs.h>
 *     mfs_kmeans_params p;
 *     mfs_kmeans_params_default(&p);
 *     p.n_clusters = 3;
 *     mfs_model *km = NULL;
 *     if (mfs_kmeans_create(&p, MFS_DEVICE_CPU, &km) != MFS_OK) {
 *         fprintf(stderr, "%s\n", mfs_last_error());   // names the bad argument
 *         return 1;
 *     }
 *     mfs_array X = {data, MFS_DTYPE_FLOAT32, 2, {n, d}};
 *     mfs_fit(km, &X, NULL);
 *     int32_t labels[n];
 *     mfs_array out = {labels, MFS_DTYPE_INT32, 1, {n}};
 *     mfs_predict(km, &X, &out);          // shape from mfs_output_shape()
 *     mfs_model_save(km, "km.mfs");       // loads in C and in Python (mfs.load)
 *     mfs_model_free(km);
 *
 * Every fallible function returns mfs_status (0 = MFS_OK) and sets a message
 * for mfs_last_error(); nothing prints, aborts or exits. Arrays are borrowed,
 * outputs caller-allocated. See core.h for the generic interface and one
 * header per model for its parameters and fitted arrays. */
#ifndef MFS_H
#define MFS_H
#include "mfs/core.h"
#include "mfs/linalg.h"
#include "mfs/linear_regression.h"
#include "mfs/kmeans.h"
#include "mfs/pca.h"
#include "mfs/logistic_regression.h"
#include "mfs/knn.h"
#include "mfs/naive_bayes.h"
#include "mfs/decision_tree.h"
#include "mfs/random_forest.h"
#include "mfs/svm.h"
#include "mfs/linear_svm.h"
#include "mfs/train.h"
#include "mfs/mlp.h"
#include "mfs/cnn.h"
#endif
