/* Kernel support vector machines by SMO: SVC and SVR.
 * PLACEHOLDER: the model is being built; its parameters and functions come here. */
#ifndef MFS_SVM_H
#define MFS_SVM_H
#include "mfs/core.h"
#endif
