"""The libmfs model file format, written and read in pure Python.

The same layout as src_c/core/modelfile.c (see there): an independent
implementation, so a model fitted with backend="python" saves a file that C
loads, and a file C wrote can be read here without the library's parser."""
from __future__ import annotations

import struct

import numpy as np

MAGIC = b"MFSMODEL"
VERSION = 1
_DTYPES = {0: np.float32, 1: np.int32, 2: np.float64, 3: np.int64, 4: np.uint8}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}


def fnv1a64(data: bytes) -> int:
    h = 1469598103934665603
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def write(kind: int, params: bytes, n_features_in: int, arrays: dict, device: int = 0) -> bytes:
    out = bytearray(MAGIC)
    out += struct.pack("<IIIIqII", VERSION, kind, device, 1, n_features_in, len(params), len(arrays))
    out += params
    for name, a in arrays.items():
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
    """Parse a model file: {'kind', 'fitted', 'n_features_in', 'params' (bytes), 'arrays'}."""
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
    arrays = {}
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
        arrays[name] = np.frombuffer(data[pos:pos + nbytes], dtype=_DTYPES[code]).reshape(shape).copy()
        pos += nbytes
    if pos != len(data) - 8:
        raise ValueError("trailing bytes")
    return {"kind": kind, "fitted": fitted, "n_features_in": nfeat, "params": params, "arrays": arrays}
