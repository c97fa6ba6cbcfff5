// Helpers shared by the googletest suites: a model's file bytes, and resealing
// an edited file with a valid checksum (so that only field validation stands
// between hostile bytes and the model).
#ifndef MFS_TESTING_H
#define MFS_TESTING_H
#include <gtest/gtest.h>
#include <cstdint>
#include <cstring>
#include <vector>
extern "C" {
#include "mfs/mfs.h"
}

// The bytes mfs_model_save_buffer writes, after its size query.
inline std::vector<unsigned char> save(const mfs_model *m) {
    size_t needed = 0;
    EXPECT_EQ(mfs_model_save_buffer(m, nullptr, 0, &needed), MFS_E_BUFFER_TOO_SMALL);
    std::vector<unsigned char> buf(needed);
    EXPECT_EQ(mfs_model_save_buffer(m, buf.data(), buf.size(), &needed), MFS_OK) << mfs_last_error();
    return buf;
}

// A fitted model's named array, copied out with the shape the library reports.
template <typename T = float> std::vector<T> get(const mfs_model *m, const char *name) {
    mfs_dtype dt;
    int32_t nd;
    int64_t shape[4];
    EXPECT_EQ(mfs_model_array_info(m, name, &dt, &nd, shape), MFS_OK) << name << ": " << mfs_last_error();
    int64_t numel = 1;
    for (int i = 0; i < nd; i++) numel *= shape[i];
    std::vector<T> v((size_t)numel);
    mfs_array a = {v.data(), dt, nd, {shape[0], shape[1], shape[2], shape[3]}};
    EXPECT_EQ(mfs_model_get_array(m, name, &a), MFS_OK) << name << ": " << mfs_last_error();
    return v;
}

// Recompute the trailing FNV-1a 64 checksum of the model file format.
inline void refresh_checksum(std::vector<unsigned char> &b) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i + 8 < b.size(); i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    std::memcpy(b.data() + b.size() - 8, &h, 8);
}
#endif
