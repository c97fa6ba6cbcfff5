/* Decision trees (CART): scikit-learn's DecisionTreeClassifier / DecisionTreeRegressor.
 * PLACEHOLDER: the model is being built; its parameters and functions come here. */
#ifndef MFS_DECISION_TREE_H
#define MFS_DECISION_TREE_H
#include "mfs/core.h"
#endif
