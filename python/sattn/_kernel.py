"""sattn.Kernel: a compiled pattern, called on tensors."""

import ctypes
import threading
import weakref

from . import _arrays, _capi

ORIGINS = {0: "built", 1: "memory cache", 2: "disk cache"}


class _CallStructs(threading.local):
    """The C structs of one call, made once per thread and refilled, so
    that a call builds no ctypes objects."""

    def __init__(self):
        self.tensors = [_capi.Tensor() for _ in range(7)]
        for tensor in self.tensors:
            tensor.rank = 4
        self.args = _capi.RunArgs()
        self.pointers = [ctypes.pointer(t) for t in self.tensors]
        self.selection_ms = ctypes.c_double()
        self.attention_ms = ctypes.c_double()
        self.timing_pointers = (ctypes.pointer(self.selection_ms),
                                ctypes.pointer(self.attention_ms))


def _fill(tensor, kind, x, layout):
    """Points `tensor` at x ([B, H, S, D] or [B, S, H, D]); returns what
    must stay alive: x, or a contiguous copy when its head dim is strided
    (or NumPy strides are negative or not whole elements)."""
    strides = kind.strides(x)
    if strides is None or strides[-1] != 1 or min(strides) < 0:
        x = kind.contiguous(x)
        strides = kind.strides(x)
    tensor.data = kind.data(x)
    tensor.sizes[:] = _arrays.logical(x.shape, layout)
    tensor.strides[:] = _arrays.logical(strides, layout)
    return x


def _fill_dense(tensor, kind, x):
    """Points `tensor` at a contiguous (copy of) x of any rank <= 4."""
    strides = kind.strides(x)
    if strides is None or tuple(strides) != _contiguous_strides(x.shape):
        x = kind.contiguous(x)
        strides = kind.strides(x)
    tensor.data = kind.data(x)
    tensor.rank = len(x.shape)
    tensor.sizes[:len(x.shape)] = tuple(x.shape)
    tensor.strides[:len(x.shape)] = tuple(strides)
    return x


def _contiguous_strides(shape):
    strides, step = [], 1
    for n in reversed(tuple(shape)):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


class Kernel:
    """A pattern compiled for fixed heads, kv heads, head dim, dtype, scale
    and backend. Batch and sequence lengths are given by each call:

        kernel = sattn.Pattern.stock("power").compile(heads=8, head_dim=64)
        out = kernel(q, k, v)       # q [B, 8, Sq, 64], k, v [B, 8, Sk, 64]
        out, lse = kernel(q, k, v, return_lse=True)

    Calls take NumPy arrays (the CPU backend) or torch tensors (CPU, or
    CUDA on the current stream for the cuda backend), return the same kind,
    and may come from many threads at once.
    """

    def __init__(self, pattern, *, heads, kv_heads, head_dim, dtype, scale,
                 backend, arch=None, cpu_threads=0):
        if backend not in ("cpu", "cuda"):
            raise ValueError(f"backend must be 'cpu' or 'cuda', got "
                             f"{backend!r}")
        lib = _capi.load()
        config = _capi.Config(heads, kv_heads, head_dim, dtype.encode(),
                              scale, backend.encode(),
                              arch.encode() if arch else None, cpu_threads)
        handle = _capi.check_handle(
            lib.sattn_kernel_compile(pattern._handle, ctypes.byref(config)))
        self._handle = handle
        self._finalizer = weakref.finalize(self, lib.sattn_kernel_release,
                                           handle)
        self._run = lib.sattn_kernel_run
        self.pattern = pattern
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, head_dim
        self.dtype, self.scale, self.backend = dtype, scale, backend
        info = _capi.KernelInfo()
        _capi.check(lib.sattn_kernel_get_info(handle, ctypes.byref(info)))
        self.origin = ORIGINS.get(info.origin, str(info.origin))
        self.compile_ms = info.compile_ms
        self.digest = info.digest.decode()
        self._workspace_bytes = {}
        self._structs = _CallStructs()

    def __repr__(self):
        return (f"sattn.Kernel({self.pattern!r}, heads={self.heads}, "
                f"kv_heads={self.kv_heads}, head_dim={self.head_dim}, "
                f"dtype={self.dtype!r}, backend={self.backend!r})")

    def close(self):
        """Releases the kernel now (it is released when collected
        otherwise); calling it afterwards raises ValueError."""
        self._finalizer()
        self._handle = None

    def workspace_bytes(self, batch, seq_q, seq_k):
        """Scratch bytes a call of these sizes needs (allocated per call
        from torch's allocator for CUDA tensors)."""
        key = (batch, seq_q, seq_k)
        found = self._workspace_bytes.get(key)
        if found is None:
            count = ctypes.c_size_t()
            _capi.check(_capi.load().sattn_kernel_workspace_bytes(
                self._live_handle(), batch, seq_q, seq_k,
                ctypes.byref(count)))
            found = self._workspace_bytes[key] = count.value
        return found

    def _live_handle(self):
        if self._handle is None:
            raise ValueError(f"{self!r} is closed")
        return self._handle

    def __call__(self, q, k, v, /, *, key_score=None, score_weights=None,
                 layout="bhsd", return_lse=False):
        """Attention of q [B, Hq, Sq, D] on k, v [B, Hkv, Sk, D] (layout
        "bhsd"; "bshd": [B, S, H, D]); returns out like q, and with
        return_lse the log-sum-exp [B, Hq, Sq] (float32, natural log)."""
        kind, shape = self._check(q, k, v, key_score, score_weights, layout)
        return self._launch(kind, shape, q, k, v, key_score, score_weights,
                            layout, return_lse)

    def timed(self, q, k, v, /, *, key_score=None, score_weights=None,
              layout="bhsd"):
        """One call that waits for its kernels: (out, selection ms,
        attention ms), as the backend measures them (CUDA events on the
        stream, or the host clock)."""
        kind, shape = self._check(q, k, v, key_score, score_weights, layout)
        out = self._launch(kind, shape, q, k, v, key_score, score_weights,
                           layout, False, timed=True)
        structs = self._structs
        return out, structs.selection_ms.value, structs.attention_ms.value

    def _check(self, q, k, v, key_score, score_weights, layout):
        """The kind and CallShape of a call this kernel can run."""
        kind = _arrays.check_kinds((("q", q), ("k", k), ("v", v),
                                    ("key_score", key_score),
                                    ("score_weights", score_weights)))
        shape = _arrays.check_call(kind, q, k, v, layout, True, key_score,
                                   score_weights)
        self._check_shape(shape)
        check_reads(self.pattern, key_score, score_weights)
        return kind, shape

    def _check_shape(self, shape):
        want = (self.heads, self.kv_heads, self.head_dim, self.dtype)
        got = (shape.heads, shape.kv_heads, shape.head_dim, shape.dtype)
        if got != want:
            raise ValueError(
                f"this kernel takes heads={self.heads}, "
                f"kv_heads={self.kv_heads}, head_dim={self.head_dim}, "
                f"dtype={self.dtype}; the tensors have heads={got[0]}, "
                f"kv_heads={got[1]}, head_dim={got[2]}, dtype={got[3]}")
        on_cuda = shape.device[0] == "cuda"
        if on_cuda != (self.backend == "cuda"):
            raise ValueError(
                f"this kernel runs on the {self.backend} backend, which "
                f"takes {'CUDA' if self.backend == 'cuda' else 'host'} "
                f"memory; the tensors are on {shape.device[0]}")

    def _launch(self, kind, shape, q, k, v, key_score, score_weights, layout,
                return_lse, timed=False):
        """Runs a call whose tensors have been checked; `timed` waits and
        leaves the times in the thread's structs."""
        handle = self._live_handle()
        structs = self._structs
        tensors, args, pointers = (structs.tensors, structs.args,
                                   structs.pointers)
        batch, heads, seq_q, head_dim = (shape.batch, shape.heads,
                                         shape.seq_q, shape.head_dim)
        keep = [_fill(tensors[0], kind, q, layout),
                _fill(tensors[1], kind, k, layout),
                _fill(tensors[2], kind, v, layout)]
        out = kind.empty(_arrays.physical_shape(batch, heads, seq_q, head_dim,
                                                layout), q)
        _fill(tensors[3], kind, out, layout)
        args.q, args.k, args.v, args.out = pointers[:4]
        lse = None
        if return_lse:
            lse = kind.empty((batch, heads, seq_q), q, float32=True)
            _fill_dense(tensors[4], kind, lse)
            args.lse = pointers[4]
        else:
            args.lse = None
        args.key_scores = args.weights = None
        if key_score is not None:
            keep.append(_fill_dense(tensors[5], kind, key_score))
            args.key_scores = pointers[5]
        if score_weights is not None:
            keep.append(_fill_dense(tensors[6], kind, score_weights))
            args.weights = pointers[6]
        workspace = None
        if shape.device[0] == "cuda":
            workspace = kind.empty_bytes(
                self.workspace_bytes(batch, seq_q, shape.seq_k), q)
            args.workspace = kind.data(workspace)
            args.workspace_bytes = workspace.numel()
            args.stream = kind.stream(q)
        else:
            args.workspace = None
            args.workspace_bytes = 0
            args.stream = None
        args.selection_ms, args.attention_ms = (
            structs.timing_pointers if timed else (None, None))
        status = self._run(handle, args)
        if status:
            _capi.raise_for(status)
        del keep, workspace
        return (out, lse) if return_lse else out


def check_reads(pattern, key_score, score_weights):
    """ValueError when the optional inputs do not match what the pattern
    reads at run time."""
    for name, x, order in (("key_score", key_score, "[B, Hkv, Sk]"),
                           ("score_weights", score_weights, "[Hkv, D]")):
        if name in pattern.reads and x is None:
            raise ValueError(
                f"pattern {pattern.name!r} selects keys by {name} at run "
                f"time: pass {name}= (float32 {order})")
        if name not in pattern.reads and x is not None:
            raise ValueError(f"pattern {pattern.name!r} does not read "
                             f"{name}; leave it out")
