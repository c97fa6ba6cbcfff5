/* Random forests of CART trees: RandomForestClassifier / RandomForestRegressor.
 * PLACEHOLDER: the model is being built; its parameters and functions come here. */
#ifndef MFS_RANDOM_FOREST_H
#define MFS_RANDOM_FOREST_H
#include "mfs/core.h"
#endif
