/* Thread-local last-error message and status names. */
#include <stdarg.h>
#include <stdio.h>
#include "internal.h"

static _Thread_local char mfs_err_msg[1024];

mfs_status mfs__error(mfs_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(mfs_err_msg, sizeof mfs_err_msg, fmt, ap);
    va_end(ap);
    return status;
}

void mfs__clear_error(void) { mfs_err_msg[0] = 0; }

const char *mfs_last_error(void) { return mfs_err_msg; }

const char *mfs_status_string(mfs_status status) {
    switch (status) {
    case MFS_OK: return "MFS_OK";
    case MFS_E_INVALID_ARG: return "MFS_E_INVALID_ARG";
    case MFS_E_SHAPE: return "MFS_E_SHAPE";
    case MFS_E_VALUE: return "MFS_E_VALUE";
    case MFS_E_NOMEM: return "MFS_E_NOMEM";
    case MFS_E_NOT_FITTED: return "MFS_E_NOT_FITTED";
    case MFS_E_UNSUPPORTED: return "MFS_E_UNSUPPORTED";
    case MFS_E_DEVICE: return "MFS_E_DEVICE";
    case MFS_E_FORMAT: return "MFS_E_FORMAT";
    case MFS_E_IO: return "MFS_E_IO";
    case MFS_E_BUFFER_TOO_SMALL: return "MFS_E_BUFFER_TOO_SMALL";
    case MFS_E_OVERFLOW: return "MFS_E_OVERFLOW";
    case MFS_E_INTERNAL: return "MFS_E_INTERNAL";
    case MFS_E_NOT_CONVERGED: return "MFS_E_NOT_CONVERGED";
    }
    return "MFS_E_UNKNOWN";
}

const char *mfs_version(void) { return "0.1.0"; }
int32_t mfs_abi_version(void) { return MFS_ABI_VERSION; }
