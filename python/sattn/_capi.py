"""ctypes declarations of libsattn's C API (runtime/include/sattn/sattn_c.h)
and where the library is found.

The library is looked for, in order:

1. ``$SATTN_LIBRARY``: the path of ``libsattn.so`` (nothing else is tried
   when it is set);
2. the build of the source tree this package sits in
   (``python/sattn`` -> ``build/lib/libsattn.so``);
3. the ``lib`` folder of the prefix the package is installed into, so that
   ``cmake --install build --prefix P`` and ``pip install ./python`` into the
   same prefix (a virtual environment, ``/usr/local``) find each other;
4. the dynamic loader's cache (``ldconfig``), then ``/usr/local/lib`` and
   ``/usr/lib``.
"""

import ctypes
import ctypes.util
import os
import sys
import sysconfig
import threading

from ._errors import SattnArgumentError, SattnError

C_API_VERSION = 4  # SATTN_C_API_VERSION this module is written against

OK, ERROR, INVALID_ARGUMENT, INVALID_HANDLE = 0, 1, 2, 3

LIBRARY_NAME = "libsattn.so"
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("rank", ctypes.c_int64),
                ("sizes", ctypes.c_int64 * 4), ("strides", ctypes.c_int64 * 4)]


class PatternInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("overrides", ctypes.c_char_p),
                ("block", ctypes.c_int64), ("reads_q", ctypes.c_int),
                ("reads_k", ctypes.c_int), ("reads_key_scores", ctypes.c_int),
                ("reads_weights", ctypes.c_int)]


class Shape(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int64) for name in
                ("batch", "heads", "kv_heads", "seq_q", "seq_k", "head_dim")]


class Inputs(ctypes.Structure):
    _fields_ = [(name, ctypes.c_void_p) for name in
                ("q", "k", "key_scores", "weights")]


class Config(ctypes.Structure):
    _fields_ = [("heads", ctypes.c_int64), ("kv_heads", ctypes.c_int64),
                ("head_dim", ctypes.c_int64), ("dtype", ctypes.c_char_p),
                ("scale", ctypes.c_double), ("backend", ctypes.c_char_p),
                ("arch", ctypes.c_char_p), ("cpu_threads", ctypes.c_int64)]


class KernelInfo(ctypes.Structure):
    _fields_ = [("origin", ctypes.c_int), ("compile_ms", ctypes.c_double),
                ("digest", ctypes.c_char_p)]


_TENSOR_P = ctypes.POINTER(Tensor)


class RunArgs(ctypes.Structure):
    _fields_ = [("q", _TENSOR_P), ("k", _TENSOR_P), ("v", _TENSOR_P),
                ("out", _TENSOR_P), ("lse", _TENSOR_P),
                ("key_scores", _TENSOR_P), ("weights", _TENSOR_P),
                ("workspace", ctypes.c_void_p),
                ("workspace_bytes", ctypes.c_size_t),
                ("stream", ctypes.c_void_p),
                ("selection_ms", ctypes.POINTER(ctypes.c_double)),
                ("attention_ms", ctypes.POINTER(ctypes.c_double))]


class PackedSequences(ctypes.Structure):
    _fields_ = [("cu_seqlens_q", ctypes.POINTER(ctypes.c_int32)),
                ("cu_seqlens_k", ctypes.POINTER(ctypes.c_int32)),
                ("entries", ctypes.c_int64)]


class IntInput(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("data", ctypes.c_void_p),
                ("sizes", ctypes.POINTER(ctypes.c_int64)),
                ("rank", ctypes.c_int64)]


def _declare(lib):
    """Sets the argument and result types of every function used."""
    vp, cp, i64 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int64
    status = ctypes.c_int
    declarations = {
        "sattn_version": (cp, []),
        "sattn_c_api_version": (ctypes.c_int, []),
        "sattn_last_error": (cp, []),
        "sattn_last_status": (status, []),
        "sattn_cache_dir": (cp, []),
        "sattn_pattern_from_file": (vp, [cp, cp]),
        "sattn_pattern_from_source": (vp, [cp, cp, cp]),
        "sattn_pattern_bind": (vp, [vp, cp]),
        "sattn_pattern_get_info": (status, [vp, ctypes.POINTER(PatternInfo)]),
        "sattn_pattern_mask": (status, [vp, ctypes.POINTER(Shape),
                                        ctypes.POINTER(Inputs), vp,
                                        ctypes.c_size_t]),
        "sattn_pattern_picture": (status, [vp, ctypes.POINTER(Shape),
                                           ctypes.POINTER(Inputs), i64, i64,
                                           cp]),
        "sattn_pattern_release": (status, [vp]),
        "sattn_kernel_compile": (vp, [vp, ctypes.POINTER(Config)]),
        "sattn_kernel_get_info": (status, [vp, ctypes.POINTER(KernelInfo)]),
        "sattn_kernel_workspace_bytes": (status, [vp, i64, i64, i64,
                                                  ctypes.POINTER(
                                                      ctypes.c_size_t)]),
        "sattn_kernel_run": (status, [vp, ctypes.POINTER(RunArgs)]),
        "sattn_kernel_run_packed": (status, [vp, ctypes.POINTER(RunArgs),
                                             ctypes.POINTER(
                                                 PackedSequences)]),
        "sattn_kernel_run_with_inputs": (status, [vp,
                                                  ctypes.POINTER(RunArgs),
                                                  ctypes.POINTER(IntInput),
                                                  i64]),
        "sattn_kernel_release": (status, [vp]),
        "sattn_reference_run": (status, [vp, ctypes.POINTER(Config),
                                         ctypes.POINTER(RunArgs)]),
        "sattn_reference_run_with_inputs": (status, [
            vp, ctypes.POINTER(Config), ctypes.POINTER(RunArgs),
            ctypes.POINTER(IntInput), i64]),
        "sattn_reference_run_packed": (status, [vp, ctypes.POINTER(Config),
                                                ctypes.POINTER(RunArgs),
                                                ctypes.POINTER(
                                                    PackedSequences)]),
    }
    for name, (restype, argtypes) in declarations.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes


def library_candidates():
    """Where the library is looked for, in order (see the module's doc)."""
    explicit = os.environ.get("SATTN_LIBRARY")
    if explicit:
        return [explicit]
    repo = os.path.dirname(os.path.dirname(PACKAGE_DIR))
    candidates = [os.path.join(repo, "build", "lib", LIBRARY_NAME)]
    # <prefix>/lib/pythonX.Y/site-packages/sattn -> <prefix>/lib.
    prefix_lib = os.path.dirname(os.path.dirname(os.path.dirname(PACKAGE_DIR)))
    multiarch = sysconfig.get_config_var("MULTIARCH")
    for lib_dir in (prefix_lib, os.path.join(sys.prefix, "lib")):
        candidates.append(os.path.join(lib_dir, LIBRARY_NAME))
        if multiarch:
            candidates.append(os.path.join(lib_dir, multiarch, LIBRARY_NAME))
    found = ctypes.util.find_library("sattn")
    if found:
        candidates.append(found)
    candidates += [os.path.join(d, LIBRARY_NAME)
                   for d in ("/usr/local/lib", "/usr/lib")]
    return candidates


_lock = threading.Lock()
_lib = None
_path = None


def load():
    """The loaded library (loaded on first use)."""
    global _lib, _path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            _path, _lib = _open()
    return _lib


def loaded_path():
    load()
    return _path


def _open():
    tried = []
    for path in library_candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(f"{path} (no such file)")
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
            continue
        try:
            _declare(lib)
        except AttributeError as e:
            raise SattnError(f"{path} is not a sattn library with C API "
                             f"{C_API_VERSION}: {e}") from None
        if lib.sattn_c_api_version() != C_API_VERSION:
            raise SattnError(
                f"{path} implements C API {lib.sattn_c_api_version()}; this "
                f"package needs {C_API_VERSION}: install matching versions")
        return os.path.abspath(path) if os.path.exists(path) else path, lib
    raise SattnError(
        "cannot find libsattn.so; tried:\n  " + "\n  ".join(tried) +
        "\nBuild sattn (make build), install it (cmake --install build), or "
        "set SATTN_LIBRARY to the library's path")


def last_error():
    return load().sattn_last_error().decode(errors="replace")


def raise_for(status):
    """Raises the exception for a failed call's status and message."""
    message = last_error() or f"sattn failed with status {status}"
    if status == INVALID_ARGUMENT:
        raise SattnArgumentError(message)
    raise SattnError(message)


def check(status):
    if status != OK:
        raise_for(status)


def check_handle(handle):
    """Returns a handle a creating call returned, or raises its error."""
    if not handle:
        raise_for(load().sattn_last_status())
    return handle


def _nested_ints(name, x):
    """(shape, flat values) of nested sequences of ints."""
    if isinstance(x, (list, tuple)):
        parts = [_nested_ints(name, e) for e in x]
        shapes = {p[0] for p in parts}
        if len(shapes) > 1:
            raise ValueError(f"input '{name}' is ragged: its rows have "
                             f"different shapes")
        inner = shapes.pop() if shapes else ()
        return (len(x),) + inner, [v for p in parts for v in p[1]]
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeError(f"input '{name}' must hold integers, got "
                        f"{type(x).__name__}")
    return (), [x]


def int_inputs(inputs, device):
    """The C array of a pattern's run-time integer inputs from a mapping
    name -> int32 values (torch tensors on the call's device, a (type,
    index) pair; on the host also NumPy arrays and nested lists), its
    length, and what it points into (keep it alive); (None, 0, None) when
    `inputs` is empty."""
    if not inputs:
        return None, 0, None
    on_cuda = device[0] == "cuda"
    if not hasattr(inputs, "items"):
        raise TypeError("inputs must map each input's name to its values, "
                        "e.g. inputs={'doc': doc_ids}")
    keep = []
    structs = (IntInput * len(inputs))()
    for n, (name, x) in enumerate(inputs.items()):
        if not isinstance(name, str):
            raise TypeError(f"input names must be strings, got {name!r}")
        if hasattr(x, "detach"):  # a torch tensor
            if on_cuda != (x.device.type == "cuda") or (
                    on_cuda and x.device.index != device[1]):
                raise ValueError(
                    f"input '{name}' is on {x.device}; the call runs on "
                    f"{'cuda:%s' % device[1] if on_cuda else 'the host'}")
            if x.is_floating_point() or x.is_complex():
                raise TypeError(f"input '{name}' must hold integers, got "
                                f"{x.dtype}")
            if x.numel() and (int(x.min()) < -2**31 or int(x.max()) >= 2**31):
                raise ValueError(f"input '{name}' has values outside int32")
            import torch
            x = x.detach().to(torch.int32).contiguous()
            shape, data = tuple(x.shape), x.data_ptr()
        elif on_cuda:
            raise ValueError(f"input '{name}' must be a CUDA tensor for a "
                             f"call on CUDA")
        elif hasattr(x, "__array_interface__"):  # NumPy
            import numpy
            if x.dtype.kind not in "iub":
                raise TypeError(f"input '{name}' must hold integers, got "
                                f"{x.dtype}")
            if x.size and (int(x.min()) < -2**31 or int(x.max()) >= 2**31):
                raise ValueError(f"input '{name}' has values outside int32")
            x = numpy.ascontiguousarray(x, dtype=numpy.int32)
            shape, data = tuple(x.shape), x.ctypes.data
        else:
            shape, values = _nested_ints(name, x)
            if any(v < -2**31 or v >= 2**31 for v in values):
                raise ValueError(f"input '{name}' has values outside int32")
            x = (ctypes.c_int32 * max(len(values), 1))(*values)
            data = ctypes.cast(x, ctypes.c_void_p).value
        sizes = (ctypes.c_int64 * max(len(shape), 1))(*shape)
        encoded = name.encode()
        keep += [x, sizes, encoded]
        structs[n] = IntInput(encoded, data,
                              ctypes.cast(sizes,
                                          ctypes.POINTER(ctypes.c_int64)),
                              len(shape))
    keep.append(structs)
    return structs, len(inputs), keep


def packed_sequences(cu_seqlens_q, cu_seqlens_k):
    """The C struct of two offset lists (sequences of ints, NumPy arrays or
    CPU torch tensors), and the int32 arrays it points into (keep them
    alive); None when neither is given."""
    if cu_seqlens_q is None and cu_seqlens_k is None:
        return None, None
    if cu_seqlens_q is None or cu_seqlens_k is None:
        raise ValueError("packed sequences need both cu_seqlens_q and "
                         "cu_seqlens_k")
    arrays = []
    for name, x in (("cu_seqlens_q", cu_seqlens_q),
                    ("cu_seqlens_k", cu_seqlens_k)):
        if hasattr(x, "detach"):  # a torch tensor
            if x.device.type != "cpu":
                raise ValueError(f"{name} must be in host memory (the "
                                 f"offsets are read by the host)")
            x = x.detach().numpy()
        values = [int(e) for e in x]
        if any(e < -2**31 or e >= 2**31 for e in values):
            raise ValueError(f"{name} must hold 32-bit offsets")
        arrays.append((ctypes.c_int32 * max(len(values), 1))(*values))
        arrays.append(len(values))
    (q, nq), (k, nk) = (arrays[0], arrays[1]), (arrays[2], arrays[3])
    if nq != nk:
        raise ValueError(f"cu_seqlens_q and cu_seqlens_k must have the same "
                         f"number of entries, got {nq} and {nk}")
    struct = PackedSequences(ctypes.cast(q, ctypes.POINTER(ctypes.c_int32)),
                             ctypes.cast(k, ctypes.POINTER(ctypes.c_int32)),
                             nq)
    return struct, (q, k)
