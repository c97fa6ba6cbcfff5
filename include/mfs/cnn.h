/* Convolutional networks: CNNClassifier / CNNRegressor.
 * PLACEHOLDER: the model is being built; its parameters and functions come here. */
#ifndef MFS_CNN_H
#define MFS_CNN_H
#include "mfs/core.h"
#endif
