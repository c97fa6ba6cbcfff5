/* The training parameters every network shares (mfs_train_params, the `train`
 * member of mfs_mlp_params, mfs_cnn_params, ...): their defaults, their
 * validation and their translation into the trainer's mfs__train_config, each
 * in one place so that a new network only embeds the struct and calls these. */
#include <math.h>
#include <string.h>
#include "core/internal.h"
#include "mfs/train.h"
#include "neural/network.h"

void mfs_train_params_default(mfs_train_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->solver = MFS_SOLVER_ADAM;
    p->learning_rate = MFS_LEARNING_RATE_CONSTANT;
    p->alpha = 1e-4;
    p->batch_size = -1;
    p->max_iter = 200;
    p->learning_rate_init = 1e-3;
    p->power_t = 0.5;
    p->shuffle = 1;
    p->nesterovs_momentum = 1;
    p->random_state = 0;
    p->tol = 1e-4;
    p->momentum = 0.9;
    p->early_stopping = 0;
    p->n_iter_no_change = 10;
    p->validation_fraction = 0.1;
    p->beta_1 = 0.9;
    p->beta_2 = 0.999;
    p->epsilon = 1e-8;
    p->verbose = 0;
    p->warm_start = 0;
    p->dropout = 0.0;
}

static int finite_in(double v, double lo, double hi) { return isfinite(v) && v >= lo && v <= hi; }

mfs_status mfs__train_params_check(const char *fn, const mfs_train_params *p) {
#define BAD(...) return mfs__error(MFS_E_INVALID_ARG, __VA_ARGS__)
    if (p->solver < MFS_SOLVER_SGD || p->solver > MFS_SOLVER_ADAMW)
        BAD("%s: solver is %d, expected 0 (sgd), 1 (adam) or 2 (adamw)", fn, (int)p->solver);
    if (p->learning_rate < MFS_LEARNING_RATE_CONSTANT || p->learning_rate > MFS_LEARNING_RATE_COSINE)
        BAD("%s: learning_rate is %d, expected 0 (constant), 1 (invscaling), 2 (adaptive) or 3 (cosine)", fn,
            (int)p->learning_rate);
    if (!finite_in(p->alpha, 0.0, INFINITY)) BAD("%s: alpha is %g, it must be a finite number >= 0", fn, p->alpha);
    if (p->batch_size < 1 && p->batch_size != -1)
        BAD("%s: batch_size is %d, it must be >= 1 (or -1: auto)", fn, (int)p->batch_size);
    if (p->max_iter < 1) BAD("%s: max_iter is %d, it must be >= 1", fn, (int)p->max_iter);
    if (!(isfinite(p->learning_rate_init) && p->learning_rate_init > 0.0))
        BAD("%s: learning_rate_init is %g, it must be a finite number > 0", fn, p->learning_rate_init);
    if (!finite_in(p->power_t, 0.0, INFINITY)) BAD("%s: power_t is %g, it must be a finite number >= 0", fn, p->power_t);
    if (p->shuffle != 0 && p->shuffle != 1) BAD("%s: shuffle is %d, expected 0 or 1", fn, (int)p->shuffle);
    if (p->nesterovs_momentum != 0 && p->nesterovs_momentum != 1)
        BAD("%s: nesterovs_momentum is %d, expected 0 or 1", fn, (int)p->nesterovs_momentum);
    if (p->random_state < 0) BAD("%s: random_state is %lld, it must be >= 0", fn, (long long)p->random_state);
    if (!finite_in(p->tol, 0.0, INFINITY)) BAD("%s: tol is %g, it must be a finite number >= 0", fn, p->tol);
    if (!finite_in(p->momentum, 0.0, 1.0)) BAD("%s: momentum is %g, it must be in [0, 1]", fn, p->momentum);
    if (p->early_stopping != 0 && p->early_stopping != 1)
        BAD("%s: early_stopping is %d, expected 0 or 1", fn, (int)p->early_stopping);
    if (p->n_iter_no_change < 1) BAD("%s: n_iter_no_change is %d, it must be >= 1", fn, (int)p->n_iter_no_change);
    if (!(isfinite(p->validation_fraction) && p->validation_fraction >= 0.0 && p->validation_fraction < 1.0))
        BAD("%s: validation_fraction is %g, it must be in [0, 1)", fn, p->validation_fraction);
    if (p->early_stopping && !(p->validation_fraction > 0.0))
        BAD("%s: validation_fraction is %g, early_stopping needs it in (0, 1)", fn, p->validation_fraction);
    if (!(isfinite(p->beta_1) && p->beta_1 >= 0.0 && p->beta_1 < 1.0))
        BAD("%s: beta_1 is %g, it must be in [0, 1)", fn, p->beta_1);
    if (!(isfinite(p->beta_2) && p->beta_2 >= 0.0 && p->beta_2 < 1.0))
        BAD("%s: beta_2 is %g, it must be in [0, 1)", fn, p->beta_2);
    if (!(isfinite(p->epsilon) && p->epsilon > 0.0))
        BAD("%s: epsilon is %g, it must be a finite number > 0", fn, p->epsilon);
    if ((float)p->epsilon == 0.0f) /* the optimizers run in float: 0 would divide 0 by 0 */
        BAD("%s: epsilon is %g, which is 0 in float32 (the training precision); it must be >= 1.4e-45", fn,
            p->epsilon);
    if (p->verbose < 0) BAD("%s: verbose is %d, it must be >= 0", fn, (int)p->verbose);
    if (p->warm_start != 0 && p->warm_start != 1) BAD("%s: warm_start is %d, expected 0 or 1", fn, (int)p->warm_start);
    if (!(isfinite(p->dropout) && p->dropout >= 0.0 && p->dropout < 1.0))
        BAD("%s: dropout is %g, it must be in [0, 1)", fn, p->dropout);
#undef BAD
    return MFS_OK;
}

mfs__train_config mfs__train_config_from(const mfs_train_params *p, int64_t n, int32_t incremental) {
    mfs__train_config c;
    memset(&c, 0, sizeof c);
    c.solver = p->solver;
    c.schedule = p->learning_rate;
    c.learning_rate_init = p->learning_rate_init;
    c.power_t = p->power_t;
    c.alpha = p->alpha;
    c.momentum = p->momentum;
    /* scikit-learn's SGDOptimizer: nesterov = nesterovs_momentum and momentum > 0 */
    c.nesterovs_momentum = p->nesterovs_momentum && p->momentum > 0.0;
    c.shuffle = p->shuffle;
    c.beta_1 = p->beta_1;
    c.beta_2 = p->beta_2;
    c.epsilon = p->epsilon;
    c.batch_size = p->batch_size == -1 ? (n < 200 ? n : 200) : p->batch_size;
    /* the whole fit's epochs even for partial_fit (the trainer runs one epoch
     * when incremental): the cosine schedule is a fraction of max_iter */
    c.max_iter = p->max_iter;
    c.n_iter_no_change = p->n_iter_no_change;
    c.tol = p->tol;
    /* scikit-learn's _fit_stochastic: early_stopping and not incremental */
    c.early_stopping = p->early_stopping && !incremental;
    c.incremental = incremental;
    c.validation_fraction = p->validation_fraction;
    c.seed = (uint64_t)p->random_state;
    return c;
}
