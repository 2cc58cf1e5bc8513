"""sattn.Kernel: a compiled pattern, called on tensors."""

import ctypes
import threading
import weakref

from . import _arrays, _capi

ORIGINS = {0: "built", 1: "memory cache", 2: "disk cache"}


# Plans kept per kernel and thread; past that they are all dropped (a
# decoder whose lengths grow at each step would otherwise add one a call).
MAX_PLANS = 64


class _CallStructs(threading.local):
    """One thread's plans of calls (see _Plan) by call key, and the times
    of its last timed call."""

    def __init__(self):
        self.plans = {}
        self.selection_ms = ctypes.c_double()
        self.attention_ms = ctypes.c_double()
        self.timing_pointers = (ctypes.pointer(self.selection_ms),
                                ctypes.pointer(self.attention_ms))


class _Plan:
    """The C structs of calls whose tensors share their metadata (types,
    dtypes, shapes, strides, devices; layout, lse and timing wanted), filled
    once with everything but the data pointers and the stream, which each
    call sets. Built from tensors that passed every check, and kept only
    for tensors that needed no copy, so a call that finds its plan has
    passed the same checks. One thread's: calls refill its structs."""

    __slots__ = ("kind", "shape", "tensors", "args", "out_shape",
                 "lse_shape", "align", "align_f32", "cuda", "workspace_bytes")

    def __init__(self, kind, shape, q, k, v, key_score, score_weights,
                 layout, return_lse, timing_pointers, workspace_bytes):
        self.kind, self.shape = kind, shape
        tensors = self.tensors = [_capi.Tensor() for _ in range(7)]
        args = self.args = _capi.RunArgs()
        pointers = [ctypes.pointer(t) for t in tensors]
        for i, x in enumerate((q, k, v)):
            _describe(tensors[i], x.shape, kind.strides(x), layout)
        self.out_shape = _arrays.physical_shape(
            shape.batch, shape.heads, shape.seq_q, shape.head_dim, layout)
        _describe(tensors[3], self.out_shape,
                  _contiguous_strides(self.out_shape), layout)
        args.q, args.k, args.v, args.out = pointers[:4]
        self.lse_shape = None
        if return_lse:
            self.lse_shape = (shape.batch, shape.heads, shape.seq_q)
            _describe_dense(tensors[4], self.lse_shape,
                            _contiguous_strides(self.lse_shape))
            args.lse = pointers[4]
        if key_score is not None:
            _describe_dense(tensors[5], key_score.shape,
                            kind.strides(key_score))
            args.key_scores = pointers[5]
        if score_weights is not None:
            _describe_dense(tensors[6], score_weights.shape,
                            kind.strides(score_weights))
            args.weights = pointers[6]
        # NumPy arrays whose data is not aligned to the element (not
        # flags.aligned) are copied: each call checks (_unaligned).
        numpy = kind is _arrays.NUMPY
        self.align = ((2 if shape.dtype != "f32" else 4) - 1
                      if numpy else 0)
        self.align_f32 = 3 if numpy else 0
        # On CUDA a workspace from torch's allocator, like the outputs, on
        # the stream the kernels run on. The library's own (a NULL
        # workspace: one per stream) would save the allocation but costs
        # an event record and a stream wait per call, and waits on work of
        # earlier calls, which CUDA graph capture may refuse. The CPU
        # backend keeps its own.
        self.cuda = shape.device[0] == "cuda"
        self.workspace_bytes = workspace_bytes if self.cuda else 0
        args.workspace_bytes = self.workspace_bytes
        if timing_pointers is not None:
            args.selection_ms, args.attention_ms = timing_pointers


def _describe(tensor, shape, strides, layout):
    tensor.rank = 4
    tensor.sizes[:] = _arrays.logical(shape, layout)
    tensor.strides[:] = _arrays.logical(strides, layout)


def _describe_dense(tensor, shape, strides):
    tensor.rank = len(shape)
    tensor.sizes[:len(shape)] = tuple(shape)
    tensor.strides[:len(shape)] = tuple(strides)


def _copied_if_needed(kind, x):
    """x, or a contiguous copy when its head dim is strided (or NumPy
    strides are negative or not whole elements): what a kernel can read."""
    strides = kind.strides(x)
    if strides is None or strides[-1] != 1 or min(strides) < 0:
        return kind.contiguous(x)
    return x


def _dense_if_needed(kind, x):
    """x, or a contiguous copy of it."""
    strides = kind.strides(x)
    if strides is None or tuple(strides) != _contiguous_strides(x.shape):
        return kind.contiguous(x)
    return x


def _fill(tensor, kind, x, layout):
    """Points `tensor` at x ([B, H, S, D] or [B, S, H, D]); returns what
    must stay alive: x or its copy (_copied_if_needed)."""
    x = _copied_if_needed(kind, x)
    tensor.data = kind.data(x)
    _describe(tensor, x.shape, kind.strides(x), layout)
    return x


def _fill_dense(tensor, kind, x):
    """Points `tensor` at a contiguous (copy of) x of any rank <= 4."""
    x = _dense_if_needed(kind, x)
    tensor.data = kind.data(x)
    _describe_dense(tensor, x.shape, kind.strides(x))
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
        self._run_packed = lib.sattn_kernel_run_packed
        self._run_with_inputs = lib.sattn_kernel_run_with_inputs
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

    @_arrays.accepts_tokens(first=1)
    def __call__(self, q, k, v, /, *, key_score=None, score_weights=None,
                 layout="bhsd", return_lse=False, cu_seqlens_q=None,
                 cu_seqlens_k=None, inputs=None):
        """Attention of q [B, Hq, Sq, D] on k, v [B, Hkv, Sk, D] (layout
        "bhsd"; "bshd": [B, S, H, D]); returns out like q, and with
        return_lse the log-sum-exp [B, Hq, Sq] (float32, natural log).
        cu_seqlens_q and cu_seqlens_k (host offsets, n + 1 each) pack n
        sequences along S of a batch of 1 (FlashAttention's varlen; on
        CUDA, not with key_score); layout "thd" takes q [T, Hq, D], k and v
        [T, Hkv, D], key_score [Hkv, T] and returns out [T, Hq, D] (lse
        [Hq, T]). inputs maps the names of the pattern's run-time integer
        inputs (`input doc: i32[b, s]`) to int32 values of their declared
        shapes: torch tensors on the call's device, or on the host NumPy
        arrays and nested lists."""
        packed, keep = _capi.packed_sequences(cu_seqlens_q, cu_seqlens_k)
        if inputs:
            if packed is not None:
                raise ValueError("packed sequences with run-time integer "
                                 "inputs are not supported yet")
            kind, shape = self._check(q, k, v, key_score, score_weights,
                                      layout)
            structs, count, keep_inputs = _capi.int_inputs(inputs,
                                                           shape.device)
            return self._run_checked(kind, shape, q, k, v, key_score,
                                     score_weights, layout, return_lse,
                                     inputs=(structs, count, keep_inputs))
        if packed is not None:
            kind, shape = self._check(q, k, v, key_score, score_weights,
                                      layout)
            return self._run_checked(kind, shape, q, k, v, key_score,
                                     score_weights, layout, return_lse,
                                     packed=packed)
        return self._call(q, k, v, key_score, score_weights, layout,
                          return_lse, False)

    def timed(self, q, k, v, /, *, key_score=None, score_weights=None,
              layout="bhsd"):
        """One call that waits for its kernels: (out, selection ms,
        attention ms), as the backend measures them (CUDA events on the
        stream, or the host clock)."""
        out = self._call(q, k, v, key_score, score_weights, layout, False,
                         True)
        structs = self._structs
        return out, structs.selection_ms.value, structs.attention_ms.value

    def _call(self, q, k, v, key_score, score_weights, layout, return_lse,
              timed, key=None):
        """A call: through its plan when an earlier call of this thread
        with the same metadata made one (the checks passed then hold
        now), else checked in full first. `key`: call_key's, when the
        caller has it."""
        if key is None:
            key = call_key(q, k, v, key_score, score_weights, layout,
                           return_lse, timed)
        if key is not None:
            plan = self._structs.plans.get(key)
            if plan is not None:
                return self._launch(plan, q, k, v, key_score, score_weights,
                                    layout, return_lse, timed)
        kind, shape = self._check(q, k, v, key_score, score_weights, layout)
        return self._run_checked(kind, shape, q, k, v, key_score,
                                 score_weights, layout, return_lse, timed,
                                 key)

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

    def _run_checked(self, kind, shape, q, k, v, key_score, score_weights,
                     layout, return_lse, timed=False, key=None, packed=None,
                     inputs=None):
        """Runs a call whose tensors have been checked, through a plan made
        for it: kept under `key` (call_key's) when no tensor was copied.
        `packed`: the C struct of packed sequences; `inputs`: int_inputs'
        array, count and kept objects (neither is planned)."""
        if packed is not None or inputs is not None:
            key = None
        used = [_copied_if_needed(kind, x) for x in (q, k, v)]
        used += [None if x is None else _dense_if_needed(kind, x)
                 for x in (key_score, score_weights)]
        structs = self._structs
        on_cuda = shape.device[0] == "cuda"
        plan = _Plan(kind, shape, *used, layout, return_lse,
                     structs.timing_pointers if timed else None,
                     self.workspace_bytes(shape.batch, shape.seq_q,
                                          shape.seq_k) if on_cuda else 0)
        if key is not None and all(
                x is y for x, y in zip(used, (q, k, v, key_score,
                                              score_weights))):
            plans = structs.plans
            if len(plans) >= MAX_PLANS:
                plans.clear()
            plans[key] = plan
        return self._launch(plan, *used, layout, return_lse, timed, packed,
                            inputs)

    def _launch(self, plan, q, k, v, key_score, score_weights, layout,
                return_lse, timed, packed=None, inputs=None):
        """Runs a call of tensors that fit `plan`: sets the data pointers
        (and the stream), allocates the outputs, calls the C API."""
        handle = self._handle
        if handle is None:
            raise ValueError(f"{self!r} is closed")
        kind = plan.kind
        data = kind.data
        tensors = plan.tensors
        pq, pk, pv = data(q), data(k), data(v)
        if (pq | pk | pv) & plan.align:
            return self._unaligned(plan, q, k, v, key_score, score_weights,
                                   layout, return_lse, timed, packed, inputs)
        tensors[0].data, tensors[1].data, tensors[2].data = pq, pk, pv
        if key_score is not None:
            p = tensors[5].data = data(key_score)
            if p & plan.align_f32:
                return self._unaligned(plan, q, k, v, key_score,
                                       score_weights, layout, return_lse,
                                       timed, packed, inputs)
        if score_weights is not None:
            p = tensors[6].data = data(score_weights)
            if p & plan.align_f32:
                return self._unaligned(plan, q, k, v, key_score,
                                       score_weights, layout, return_lse,
                                       timed, packed, inputs)
        out = kind.empty(plan.out_shape, q)
        tensors[3].data = data(out)
        lse = None
        if return_lse:
            lse = kind.empty(plan.lse_shape, q, float32=True)
            tensors[4].data = data(lse)
        args = plan.args
        workspace = None
        if plan.cuda:
            if plan.workspace_bytes:
                workspace = kind.empty_bytes(plan.workspace_bytes, q)
                args.workspace = data(workspace)
            args.stream = kind.stream(q)
        if inputs is not None:
            status = self._run_with_inputs(handle, args, inputs[0], inputs[1])
        elif packed is None:
            status = self._run(handle, args)
        else:
            status = self._run_packed(handle, args, ctypes.byref(packed))
        if status:
            _capi.raise_for(status)
        del workspace  # once the kernels are queued (torch's stream order)
        return (out, lse) if return_lse else out

    def _unaligned(self, plan, q, k, v, key_score, score_weights, layout,
                   return_lse, timed, packed=None, inputs=None):
        """A planned call with data not aligned to its elements: copied,
        through a plan of its own (the copies are aligned)."""
        kind = plan.kind
        copies = [None if x is None else kind.contiguous(x)
                  for x in (q, k, v, key_score, score_weights)]
        return self._run_checked(kind, plan.shape, *copies, layout,
                                 return_lse, timed, packed=packed,
                                 inputs=inputs)


def call_key(q, k, v, key_score, score_weights, layout, return_lse, timed):
    """What a call's checks and plan depend on, hashable: types, metas
    (_arrays' meta), layout, lse and timing wanted; None for calls that take
    the full path (tensors of other types, or of mixed types)."""
    kind = _arrays.exact_kinds.get(type(q))
    if kind is None:
        return None
    t = type(q)
    if type(k) is not t or type(v) is not t:
        return None
    if key_score is not None and type(key_score) is not t:
        return None
    if score_weights is not None and type(score_weights) is not t:
        return None
    if type(layout) is not str:
        return None
    meta = kind.meta
    try:
        return (t, meta(q), meta(k), meta(v),
                None if key_score is None else meta(key_score),
                None if score_weights is None else meta(score_weights),
                layout, True if return_lse else False, timed)
    except Exception:  # what a strange tensor raises, the checks say
        return None


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
