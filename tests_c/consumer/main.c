/* Fits Linear Regression through the installed library and checks the answer:
 * y = 2 x + 1 must give coef 2, intercept 1. Exit 0 on success. */
#include <math.h>
#include <stdio.h>
#include <mfs/mfs.h>

int main(void) {
    float X[4] = {0, 1, 2, 3}, y[4] = {1, 3, 5, 7}, coef[1], icpt[1];
    mfs_linear_regression_params p;
    mfs_linear_regression_params_default(&p);
    mfs_model *m = NULL;
    mfs_array Xa = {X, MFS_DTYPE_FLOAT32, 2, {4, 1}}, ya = {y, MFS_DTYPE_FLOAT32, 1, {4}};
    mfs_array ca = {coef, MFS_DTYPE_FLOAT32, 1, {1}}, ia = {icpt, MFS_DTYPE_FLOAT32, 0, {0}};
    if (mfs_linear_regression_create(&p, MFS_DEVICE_CPU, &m) || mfs_fit(m, &Xa, &ya) ||
        mfs_model_get_array(m, "coef", &ca) || mfs_model_get_array(m, "intercept", &ia)) {
        fprintf(stderr, "consumer: %s\n", mfs_last_error());
        return 1;
    }
    mfs_model_free(m);
    printf("libmfs %s: coef %.4f intercept %.4f\n", mfs_version(), coef[0], icpt[0]);
    return fabsf(coef[0] - 2) < 1e-4f && fabsf(icpt[0] - 1) < 1e-4f ? 0 : 1;
}
