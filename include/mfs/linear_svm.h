/* Linear support vector classification by dual coordinate descent: LinearSVC.
 * PLACEHOLDER: the model is being built; its parameters and functions come here. */
#ifndef MFS_LINEAR_SVM_H
#define MFS_LINEAR_SVM_H
#include "mfs/core.h"
#endif
