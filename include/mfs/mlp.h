/* Multi-layer perceptrons: MLPClassifier / MLPRegressor.
 * PLACEHOLDER: the model is being built; its parameters and functions come here. */
#ifndef MFS_MLP_H
#define MFS_MLP_H
#include "mfs/core.h"
#endif
