"""The libmfs model file format, written and read in pure Python.

The same layout as src_c/core/modelfile.c (see there): an independent
implementation, so a model fitted with backend="python" saves a file that C
loads, and a file C wrote can be read here without the library's parser.

Arrays named "meta.*" are user metadata (the labels behind classes_, ...):
written after the model's arrays, at most 16 of them and 64 MiB in all, as
the C library enforces (MFS_META_* in src_c/core/internal.h)."""
from __future__ import annotations

import struct

import numpy as np

MAGIC = b"MFSMODEL"
VERSION = 1
_DTYPES = {0: np.float32, 1: np.int32, 2: np.float64, 3: np.int64, 4: np.uint8}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}
META_PREFIX = "meta."
MAX_ARRAYS = 32             # MFS_MAX_ARRAYS
META_MAX_ARRAYS = 16        # MFS_META_MAX_ARRAYS
META_MAX_BYTES = 64 << 20   # MFS_META_MAX_BYTES
NAME_MAX = 31               # MFS_NAME_MAX - 1


def _check_meta(meta: dict) -> None:
    """The limits C applies to metadata (ValueError where C says MFS_E_FORMAT)."""
    if len(meta) > META_MAX_ARRAYS:
        raise ValueError(f"{len(meta)} metadata arrays, at most {META_MAX_ARRAYS}")
    total = 0
    for name, a in meta.items():
        if not name.startswith(META_PREFIX) or len(name) == len(META_PREFIX) or len(name.encode()) > NAME_MAX:
            raise ValueError(f"metadata array name {name!r} must be {META_PREFIX!r} followed by 1 to "
                             f"{NAME_MAX - len(META_PREFIX)} characters")
        if a.dtype == np.float32 and not np.all(np.isfinite(a)):
            raise ValueError(f"metadata array {name!r} contains NaN or infinity")
        total += a.nbytes
    if total > META_MAX_BYTES:
        raise ValueError(f"metadata arrays hold {total} bytes, at most {META_MAX_BYTES}")


def fnv1a64(data: bytes) -> int:
    h = 1469598103934665603
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def write(kind: int, params: bytes, n_features_in: int, arrays: dict, device: int = 0,
          meta: dict | None = None) -> bytes:
    """A fitted model's file: its arrays, then the metadata arrays ("meta.*")."""
    meta = {k: np.asarray(v) for k, v in (meta or {}).items()}
    for name in arrays:
        if name.startswith(META_PREFIX):
            raise ValueError(f"model array {name!r}: the prefix {META_PREFIX!r} is for metadata")
    if len(arrays) > MAX_ARRAYS:
        raise ValueError(f"{len(arrays)} model arrays, at most {MAX_ARRAYS}")
    _check_meta(meta)
    out = bytearray(MAGIC)
    out += struct.pack("<IIIIqII", VERSION, kind, device, 1, n_features_in, len(params), len(arrays) + len(meta))
    out += params
    for name, a in list(arrays.items()) + list(meta.items()):
        a = np.asarray(a)
        if not a.flags.c_contiguous:  # (ascontiguousarray would make 0-d arrays 1-d)
            a = a.copy(order="C")
        code = _CODES[a.dtype]
        nm = name.encode()
        out += struct.pack("<I", len(nm)) + nm + struct.pack("<II", code, a.ndim)
        out += struct.pack(f"<{a.ndim}q", *a.shape) + struct.pack("<Q", a.nbytes) + a.tobytes()
    out += struct.pack("<Q", fnv1a64(bytes(out)))
    return bytes(out)


def read(data: bytes) -> dict:
    """Parse a model file: {'kind', 'fitted', 'n_features_in', 'params' (bytes),
    'arrays' (the model's), 'meta' (the "meta.*" arrays)}."""
    if data[:8] != MAGIC:
        raise ValueError("not a libmfs model file (bad magic)")
    if fnv1a64(data[:-8]) != struct.unpack("<Q", data[-8:])[0]:
        raise ValueError("checksum mismatch")
    version, kind, _dev, fitted, nfeat, psize, narr = struct.unpack_from("<IIIIqII", data, 8)
    if version != VERSION:
        raise ValueError(f"format version {version}")
    pos = 40
    params = data[pos:pos + psize]
    pos += psize
    arrays, meta = {}, {}
    for _ in range(narr):
        (ln,) = struct.unpack_from("<I", data, pos)
        name = data[pos + 4:pos + 4 + ln].decode()
        pos += 4 + ln
        code, ndim = struct.unpack_from("<II", data, pos)
        pos += 8
        shape = struct.unpack_from(f"<{ndim}q", data, pos)
        pos += 8 * ndim
        (nbytes,) = struct.unpack_from("<Q", data, pos)
        pos += 8
        into = meta if name.startswith(META_PREFIX) else arrays
        if name in into:
            raise ValueError(f"array {name!r} appears twice")
        into[name] = np.frombuffer(data[pos:pos + nbytes], dtype=_DTYPES[code]).reshape(shape).copy()
        pos += nbytes
    if pos != len(data) - 8:
        raise ValueError("trailing bytes")
    if len(arrays) > MAX_ARRAYS:
        raise ValueError(f"{len(arrays)} model arrays, at most {MAX_ARRAYS}")
    _check_meta(meta)
    return {"kind": kind, "fitted": fitted, "n_features_in": nfeat, "params": params, "arrays": arrays,
            "meta": meta}
