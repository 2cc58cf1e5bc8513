"""Tensors as sattn sees them: NumPy arrays and torch tensors, their checks
and the views the C API takes.

Both kinds are read without importing either library: a tensor can only be
a torch tensor if torch is already imported. NumPy has no bfloat16 of its
own; arrays of ml_dtypes.bfloat16 (dtype name "bfloat16") are taken as bf16.
"""

import ctypes
import functools
import math
import sys
from collections import namedtuple

DTYPE_CODES = {"float32": "f32", "float16": "f16", "bfloat16": "bf16"}
DTYPE_NAMES = {code: name for name, code in DTYPE_CODES.items()}
LAYOUTS = {"bhsd": "[B, H, S, D]", "bshd": "[B, S, H, D]"}

# What a call is, from q, k and v alone.
CallShape = namedtuple(
    "CallShape",
    "batch heads kv_heads seq_q seq_k head_dim dtype device")


# The kind of tensors whose type is exactly numpy.ndarray or torch.Tensor,
# by type: filled as kind_of meets them, read by the calls' fast paths
# (subclasses, FakeTensor among them, always take the full checks).
exact_kinds = {}


def kind_of(x):
    """'numpy', 'torch' or None."""
    np = sys.modules.get("numpy")
    if np is not None and isinstance(x, np.ndarray):
        if type(x) is np.ndarray:
            exact_kinds[np.ndarray] = NUMPY
        return NUMPY
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        if type(x) is torch.Tensor:
            exact_kinds[torch.Tensor] = TORCH
        return TORCH
    return None


def describe_type(x):
    return type(x).__module__ + "." + type(x).__qualname__


class _Numpy:
    name = "numpy"
    _codes = None  # by dtype object: dtype.name costs a microsecond
    _np = None  # the numpy module, once an array has been seen

    @staticmethod
    def meta(x):
        """What the checks of a call read of x, hashable: calls whose
        tensors have equal metas pass or fail the same checks (data
        alignment aside, which each call checks)."""
        return (x.dtype, x.shape, x.strides)

    @classmethod
    def dtype(cls, x):
        if cls._codes is None:
            import numpy as np
            cls._codes = {np.dtype(np.float32): "f32",
                          np.dtype(np.float16): "f16"}
        code = cls._codes.get(x.dtype)
        if code is None and x.dtype.name == "bfloat16":  # ml_dtypes
            code = "bf16"
        return code

    @staticmethod
    def dtype_name(x):
        return x.dtype.name

    @staticmethod
    def device(x):
        return ("cpu", None)

    @staticmethod
    def strides(x):
        if not x.flags.aligned:
            return None  # strides not in whole elements: copied first
        itemsize = x.itemsize
        return [s // itemsize for s in x.strides]

    def data(self, x):
        """x's data pointer, through the C array interface (a capsule of
        PyArrayInterface, __array_struct__), a third of what the Python one
        (__array_interface__, a new dict) costs; that one where the first
        is missing or disagrees with it."""
        self.data = _array_struct_data() or _array_interface_data
        return self.data(x)

    @staticmethod
    def contiguous(x):
        """A C-contiguous, aligned array of x's values (x itself when it
        is one: ascontiguousarray alone keeps unaligned data)."""
        import numpy as np
        if not x.flags.aligned:
            return np.array(x, order="C")  # a new, aligned copy
        return np.ascontiguousarray(x)

    @classmethod
    def empty(cls, shape, like, float32=False):
        np = cls._np
        if np is None:
            import numpy as np
            cls._np = np
        return np.empty(shape, dtype=np.float32 if float32 else like.dtype)

    @staticmethod
    def stream(like):
        return None


def _array_interface_data(x):
    return x.__array_interface__["data"][0]


class _ArrayInterface(ctypes.Structure):
    """PyArrayInterface, NumPy's C array interface."""
    _fields_ = [("two", ctypes.c_int), ("nd", ctypes.c_int),
                ("typekind", ctypes.c_char), ("itemsize", ctypes.c_int),
                ("flags", ctypes.c_int), ("shape", ctypes.c_void_p),
                ("strides", ctypes.c_void_p), ("data", ctypes.c_void_p),
                ("descr", ctypes.c_void_p)]


def _array_struct_data():
    """A function giving an array's data pointer from __array_struct__, if
    it gives what __array_interface__ does on a few views; else None."""
    try:
        import numpy as np
        get = ctypes.PyDLL(None).PyCapsule_GetPointer
        get.restype = ctypes.c_void_p
        get.argtypes = [ctypes.py_object, ctypes.c_char_p]
        offset = _ArrayInterface.data.offset
        read = ctypes.c_void_p.from_address

        def data(x):
            capsule = x.__array_struct__  # alive while it is read
            return read(get(capsule, None) + offset).value

        base = np.zeros((2, 3, 4, 8), np.float32)
        for view in (base, base[1, :, 2:], base[:, ::-1], base[..., 1::2]):
            if data(view) != _array_interface_data(view):
                return None
        return data
    except Exception:
        return None


class _Torch:
    name = "torch"
    _dtypes = None
    _raw_stream = None  # torch._C._cuda_getCurrentRawStream, or a stand-in

    @staticmethod
    def meta(x):
        """As _Numpy.meta."""
        return (x.dtype, x.shape, x.stride(), x.device)

    @classmethod
    def dtype(cls, x):
        if cls._dtypes is None:
            import torch
            cls._dtypes = {torch.float32: "f32", torch.float16: "f16",
                           torch.bfloat16: "bf16"}
        return cls._dtypes.get(x.dtype)

    @staticmethod
    def dtype_name(x):
        return str(x.dtype).replace("torch.", "")

    @staticmethod
    def device(x):
        return (x.device.type, x.device.index)

    @staticmethod
    def strides(x):
        return tuple(x.stride())

    @staticmethod
    def data(x):
        return x.data_ptr()

    @staticmethod
    def contiguous(x):
        return x.contiguous()

    @staticmethod
    def empty(shape, like, float32=False):
        # From torch's allocator on the current stream, which the kernels
        # run on: the memory is not reused before they are done with it.
        if float32:
            return like.new_empty(shape, dtype=sys.modules["torch"].float32)
        return like.new_empty(shape)

    @staticmethod
    def empty_bytes(count, like):
        # From torch's allocator on the current stream, as the outputs are.
        return like.new_empty((max(count, 1),),
                              dtype=sys.modules["torch"].uint8)

    @classmethod
    def stream(cls, like):
        """The current CUDA stream of like's device (a CUstream as an
        int), None off CUDA."""
        device = like.device
        if device.type != "cuda":
            return None
        return cls.raw_stream()(device.index or 0)

    @classmethod
    def raw_stream(cls):
        """A function of a device index giving its current stream: what
        torch.compile's generated code uses (torch._C), which costs a
        tenth of torch.cuda.current_stream(); that where torch lacks it."""
        function = cls._raw_stream
        if function is None:
            import torch
            function = getattr(torch._C, "_cuda_getCurrentRawStream", None)
            if function is None:
                def function(index):
                    return torch.cuda.current_stream(index).cuda_stream
            cls._raw_stream = function
        return function


NUMPY = _Numpy()
TORCH = _Torch()


def logical(dims, layout):
    """[B, H, S, D] order of a 4-dim size or stride tuple in `layout`."""
    if layout == "bshd":
        return (dims[0], dims[2], dims[1], dims[3])
    return tuple(dims)


def physical_shape(batch, heads, seq, head_dim, layout):
    if layout == "bshd":
        return (batch, seq, heads, head_dim)
    return (batch, heads, seq, head_dim)


def check_layout(layout):
    if layout not in LAYOUTS:
        raise ValueError(
            f"layout must be 'bhsd' ({LAYOUTS['bhsd']}), 'bshd' "
            f"({LAYOUTS['bshd']}) or 'thd' ([T, H, D]), got {layout!r}")


def from_tokens(q, k, v, key_score):
    """Layout "thd" ([T, H, D] tensors: the tokens of a batch of 1, as
    packed sequences come, with key_score [Hkv, T]) as "bshd" views with
    a batch of 1."""
    for name, x, dims in (("q", q, "[T, Hq, D]"), ("k", k, "[T, Hkv, D]"),
                          ("v", v, "[T, Hkv, D]"),
                          ("key_score", key_score, "[Hkv, T]")):
        if x is None and name == "key_score":
            continue
        shape = tuple(getattr(x, "shape", ()))
        rank = dims.count(",") + 1
        if len(shape) != rank:
            raise ValueError(f"{name} must have {rank} dims {dims} "
                             f"(layout='thd'), got shape {shape}")
    return (q[None], k[None], v[None],
            None if key_score is None else key_score[None])


def accepts_tokens(first=0):
    """Lets an attention-like callable take layout "thd": its positional q,
    k and v start at argument `first` (1 for methods), its keywords include
    layout, key_score and return_lse. It is called with "bshd" views of a
    batch of 1; its out comes back [T, H, D] and its lse [H, T]."""
    def decorate(fn):
        @functools.wraps(fn)
        def call(*args, layout="bhsd", key_score=None, return_lse=False,
                 **kwargs):
            if layout != "thd" or len(args) < first + 3:
                return fn(*args, layout=layout, key_score=key_score,
                          return_lse=return_lse, **kwargs)
            q, k, v, key_score = from_tokens(*args[first:first + 3],
                                             key_score)
            result = fn(*args[:first], q, k, v, *args[first + 3:],
                        layout="bshd", key_score=key_score,
                        return_lse=return_lse, **kwargs)
            if return_lse:
                out, lse = result
                return out[0], lse[0]
            return result[0]
        return call
    return decorate


def check_kinds(named):
    """The kind shared by the (name, tensor) pairs given; q, k and v are
    required, None skips the others."""
    kind = None
    for name, x in named:
        if x is None and name not in ("q", "k", "v"):
            continue
        k = kind_of(x)
        if k is None:
            raise TypeError(f"{name} must be a torch tensor or a NumPy array, "
                            f"got {describe_type(x)}")
        if kind is None:
            kind = k
        elif k is not kind:
            raise TypeError(f"{name} is a {k.name} array but q is a "
                            f"{kind.name} one: pass one kind")
    return kind


def check_call(kind, q, k, v, layout, enable_gqa, key_score=None,
               score_weights=None):
    """Checks q, k, v (and the optional inputs) against each other and
    returns the call's CallShape. Reads metadata only (shapes, dtypes,
    devices), so it also runs on torch's fake tensors."""
    check_layout(layout)
    order = LAYOUTS[layout]
    shapes = {}
    for name, x in (("q", q), ("k", k), ("v", v)):
        shape = tuple(x.shape)
        if len(shape) != 4:
            raise ValueError(
                f"{name} must have 4 dims {order} (layout={layout!r}), got "
                f"shape {shape}")
        if min(shape) < 1:
            raise ValueError(f"{name} has shape {shape}: sizes must be "
                             f"positive")
        shapes[name] = logical(shape, layout)
    dtype = kind.dtype(q)
    if dtype is None:
        raise TypeError(
            f"q has dtype {kind.dtype_name(q)}; sattn takes float32, float16 "
            f"or bfloat16" + (" (bfloat16 through ml_dtypes for NumPy)"
                              if kind is NUMPY else ""))
    for name, x in (("k", k), ("v", v)):
        if x.dtype != q.dtype:
            raise TypeError(f"{name} has dtype {kind.dtype_name(x)} but q "
                            f"has {kind.dtype_name(q)}: q, k and v must "
                            f"share one dtype")
    device = kind.device(q)
    for name, x in (("k", k), ("v", v), ("key_score", key_score),
                    ("score_weights", score_weights)):
        if x is not None and kind.device(x) != device:
            raise ValueError(f"{name} is on {_device_text(kind.device(x))} "
                             f"but q is on {_device_text(device)}")
    if device[0] not in ("cpu", "cuda"):
        raise ValueError(f"q is on {_device_text(device)}; sattn runs on the "
                         f"CPU and on CUDA devices")
    if device[0] == "cuda" and (device[1] or 0) != 0:
        raise ValueError(
            f"q is on {_device_text(device)}; sattn runs CUDA kernels on "
            f"device 0 only (choose the GPU with CUDA_VISIBLE_DEVICES)")
    batch, heads, seq_q, head_dim = shapes["q"]
    kb, kv_heads, seq_k, kd = shapes["k"]
    if shapes["v"] != shapes["k"]:
        raise ValueError(
            f"v has shape {tuple(v.shape)} but k has {tuple(k.shape)}: they "
            f"must be equal")
    if kb != batch:
        raise ValueError(f"k has batch {kb} but q has {batch}")
    if kd != head_dim:
        raise ValueError(f"k has head dim {kd} but q has {head_dim}")
    if heads != kv_heads:
        if not enable_gqa:
            raise ValueError(
                f"q has {heads} heads and k, v have {kv_heads}: pass "
                f"enable_gqa=True for grouped-query attention")
        if heads % kv_heads:
            raise ValueError(
                f"q has {heads} heads, not a multiple of the {kv_heads} "
                f"heads of k and v (grouped-query attention needs Hq % Hkv "
                f"== 0)")
    _check_float32(kind, "key_score", key_score, (batch, kv_heads, seq_k),
                   "[B, Hkv, Sk]")
    _check_float32(kind, "score_weights", score_weights, (kv_heads, head_dim),
                   "[Hkv, D]")
    return CallShape(batch, heads, kv_heads, seq_q, seq_k, head_dim, dtype,
                     device)


def _check_float32(kind, name, x, expected, order):
    if x is None:
        return
    if tuple(x.shape) != expected:
        raise ValueError(f"{name} must have shape {order} = {expected}, got "
                         f"{tuple(x.shape)}")
    if kind.dtype(x) != "f32":
        raise TypeError(f"{name} must be float32, got {kind.dtype_name(x)}")


def _device_text(device):
    kind, index = device
    return kind if index is None else f"{kind}:{index}"


def check_scale(scale):
    """The C API's scale: 0 for 1/sqrt(D), else a positive finite float."""
    if scale is None:
        return 0.0
    if isinstance(scale, bool):
        raise TypeError(f"scale must be a number, got {scale!r}")
    if not isinstance(scale, (int, float)):
        try:
            scale = float(scale)
        except (TypeError, ValueError):
            raise TypeError(f"scale must be a number, got "
                            f"{describe_type(scale)}") from None
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive finite number, got "
                         f"{scale!r}")
    return float(scale)
