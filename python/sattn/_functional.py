"""sattn.attention and sattn.reference: one call, pattern given by name,
path or Pattern, kernels compiled on first use and kept."""

import ctypes
import os
import threading

from . import _arrays, _capi, _torch
from ._kernel import Kernel, call_key, check_reads, _fill, _fill_dense
from ._pattern import Pattern, is_path, pattern_by_token, stock_pattern_path

_lock = threading.Lock()
_patterns = {}  # (origin, overrides) -> Pattern
_kernels = {}  # (pattern, heads, kv_heads, head_dim, dtype, scale, backend)
# The kernel of calls that passed every check, by _attention_key; cleared
# when full (lengths that grow at each call would fill it).
_calls = {}
MAX_CALLS = 256


@_arrays.accepts_tokens()
def attention(q, k, v, pattern, /, *, scale=None, enable_gqa=False,
              return_lse=False, key_score=None, layout="bhsd",
              score_weights=None, cu_seqlens_q=None, cu_seqlens_k=None,
              inputs=None, **params):
    """Sparse attention of q on k and v under `pattern`, like
    torch.nn.attention.flex_attention with the pattern in place of the
    block mask:

        out = sattn.attention(q, k, v, "streaming", window=256)

    q [B, Hq, Sq, D], k and v [B, Hkv, Sk, D] (layout "bhsd"; "bshd" for
    [B, S, H, D]): torch tensors (CPU, or CUDA on the current stream),
    float32, float16 or bfloat16, any strides; or NumPy arrays (float32,
    float16, ml_dtypes.bfloat16). Queries are the last Sq of Sk positions.
    Hq != Hkv needs enable_gqa=True and Hq % Hkv == 0.

    pattern: a stock pattern's name ("power", "streaming", "sample", "hip",
    "sparsek", "pbs"), the path of a .sattn/.mlir file, or a sattn.Pattern;
    **params bind its parameters. key_score [B, Hkv, Sk] and score_weights
    [Hkv, D] (float32) feed patterns that select keys by them. q, k, v and
    pattern are positional, so that a parameter may be called k (hip's).

    Returns out, shaped and laid out like q (and, with return_lse, the
    log-sum-exp [B, Hq, Sq] in float32). Bad shapes, dtypes, devices and
    layouts raise ValueError or TypeError before any kernel runs. The
    kernel for each (pattern, heads, head dim, dtype, scale, device) is
    compiled once (and cached on disk, see sattn.cache_dir()).

    cu_seqlens_q, cu_seqlens_k: packed sequences (FlashAttention's varlen,
    docs/patterns.md): n + 1 offsets each (ints, host memory) of n
    sequences lying along S of a batch of 1, each attended on its own with
    local indices (on CUDA, not with key_score). layout "thd" takes them as
    FlashAttention does: q [T, Hq, D], k and v [T, Hkv, D], key_score
    [Hkv, T]; out [T, Hq, D] and lse [Hq, T].

    inputs: the pattern's run-time integer inputs by name (`input doc:
    i32[b, s]` in the pattern), int32 values of their declared shapes:
    torch tensors on q's device, or on the host NumPy arrays and nested
    lists, e.g. inputs={"doc": doc_ids} for FlexAttention's document mask.
    """
    packed, keep = _capi.packed_sequences(cu_seqlens_q, cu_seqlens_k)
    if inputs:
        if packed is not None:
            raise ValueError("packed sequences with run-time integer inputs "
                             "are not supported yet")
        kind, shape, resolved, scale = check_attention(
            q, k, v, pattern, scale, enable_gqa, key_score, score_weights,
            layout, params)
        kernel = kernel_for(resolved, shape, scale)
        structs, count, keep_inputs = _capi.int_inputs(inputs, shape.device)
        return kernel._run_checked(kind, shape, q, k, v, key_score,
                                   score_weights, layout, return_lse,
                                   inputs=(structs, count, keep_inputs))
    if packed is not None:
        kind, shape, resolved, scale = check_attention(
            q, k, v, pattern, scale, enable_gqa, key_score, score_weights,
            layout, params)
        kernel = kernel_for(resolved, shape, scale)
        return kernel._run_checked(kind, shape, q, k, v, key_score,
                                   score_weights, layout, return_lse,
                                   packed=packed)
    op = _torch.op
    if op is not None and _torch.is_tensor(q):
        # The dispatcher would reject a NumPy k or v with its own message
        # (is_tensor, unlike the full check, is traced by torch.compile).
        for x in (k, v, key_score, score_weights):
            if x is not None and not _torch.is_tensor(x):
                _arrays.check_kinds((("q", q), ("k", k), ("v", v),
                                     ("key_score", key_score),
                                     ("score_weights", score_weights)))
        # Through torch's dispatcher, so torch.compile sees one operator.
        out, lse = op(q, k, v, pattern_token(pattern), encode_params(params),
                      0.0 if scale is None else scale, enable_gqa, layout,
                      key_score, score_weights)
        return (out, lse) if return_lse else out
    if op is None and _arrays.kind_of(q) is _arrays.TORCH:
        # torch came in past the import hook (importlib.util.find_spec
        # without an import, say): register now, for the calls after this.
        _torch.register()
    return run_attention(q, k, v, pattern, scale, enable_gqa, return_lse,
                         key_score, score_weights, layout, params)


def run_attention(q, k, v, pattern, scale, enable_gqa, return_lse, key_score,
                  score_weights, layout, params):
    """attention() without the torch operator in between. A call whose
    arguments match an earlier call's that passed every check (the same
    pattern source and parameters, scale, enable_gqa, and the tensors'
    call_key) goes straight to that call's kernel."""
    key = _attention_key(q, k, v, pattern, scale, enable_gqa, return_lse,
                         key_score, score_weights, layout, params)
    if key is not None:
        kernel = _calls.get(key)
        if kernel is not None:
            return kernel._call(q, k, v, key_score, score_weights, layout,
                                return_lse, False, key[0])
    kind, shape, resolved, scale = check_attention(
        q, k, v, pattern, scale, enable_gqa, key_score, score_weights, layout,
        params)
    kernel = kernel_for(resolved, shape, scale)
    result = kernel._run_checked(kind, shape, q, k, v, key_score,
                                 score_weights, layout, return_lse, False,
                                 None if key is None else key[0])
    if key is not None:
        if len(_calls) >= MAX_CALLS:
            _calls.clear()
        _calls[key] = kernel
    return result


def _attention_key(q, k, v, pattern, scale, enable_gqa, return_lse,
                   key_score, score_weights, layout, params):
    """What attention()'s checks and kernel depend on, hashable, its first
    item the kernel's call_key; None for calls that take the full path."""
    call = call_key(q, k, v, key_score, score_weights, layout, return_lse,
                    False)
    if call is None:
        return None
    if scale is not None and type(scale) is not float and \
            type(scale) is not int:
        return None
    try:
        origin, _ = pattern_origin(pattern)
        return (call, origin, encode_params(params) if params else "",
                None if scale is None else (type(scale), scale),
                True if enable_gqa else False)
    except Exception:  # the checks say what is wrong
        return None


def check_attention(q, k, v, pattern, scale, enable_gqa, key_score,
                    score_weights, layout, params):
    """Everything attention() checks before compiling or running: returns
    the kind of tensors, the CallShape, the bound Pattern and the scale."""
    kind = _arrays.check_kinds((("q", q), ("k", k), ("v", v),
                                ("key_score", key_score),
                                ("score_weights", score_weights)))
    shape = _arrays.check_call(kind, q, k, v, layout, enable_gqa, key_score,
                               score_weights)
    scale = _arrays.check_scale(scale)
    resolved = resolve_pattern(pattern, params)
    check_reads(resolved, key_score, score_weights)
    return kind, shape, resolved, scale


def pattern_token(pattern):
    """The string the torch operator takes for a pattern."""
    if isinstance(pattern, str):
        return pattern
    if isinstance(pattern, Pattern):
        return pattern._token
    return os.fspath(pattern)


def encode_params(params):
    """**params as "name=value,..." (the torch operator's string). Plain
    string formatting, which torch.compile traces; the values are checked
    when the pattern is bound (format_param)."""
    return ",".join([f"{name}={params[name]}" for name in sorted(params)])


def decode_params(text):
    params = {}
    for part in text.split(",") if text else ():
        name, _, value = part.partition("=")
        params[name] = value
    return params


def pattern_origin(pattern):
    """(origin, Pattern or None) of a name, path or Pattern: origin, which
    names the source (a file: with its time and size, so that a changed
    file is another origin), keys the patterns loaded; the Pattern is the
    one given, or None for a file."""
    if isinstance(pattern, Pattern):
        return ("pattern", pattern._token), pattern
    if not isinstance(pattern, (str, os.PathLike)):
        raise TypeError(f"pattern must be a stock pattern's name, a path "
                        f"or a sattn.Pattern, got "
                        f"{_arrays.describe_type(pattern)}")
    text = os.fspath(pattern)
    if text.startswith("sattn.Pattern#"):
        base = pattern_by_token(text)
        if base is None:
            raise ValueError(f"{text} names no live sattn.Pattern")
        return ("pattern", text), base
    path = text if is_path(text) else stock_pattern_path(text)
    try:
        stat = os.stat(path)
    except OSError as e:
        raise ValueError(f"pattern file {path!r}: {e.strerror}") from None
    return ("file", os.path.abspath(path), stat.st_mtime_ns,
            stat.st_size), None


def resolve_pattern(pattern, params):
    """The bound Pattern for a name, path or Pattern plus **params; loaded
    once per (source, parameters). A file is loaded again when it
    changes."""
    origin, base = pattern_origin(pattern)
    overrides = encode_params(params)
    key = (origin, overrides)
    with _lock:
        found = _patterns.get(key)
    if found is not None:
        return found
    if base is None:
        base = Pattern.from_file(origin[1])
    bound = base.bind(**params)
    with _lock:
        return _patterns.setdefault(key, bound)


def kernel_for(pattern, shape, scale):
    """The kernel of `pattern` for this call's static sizes, compiled on
    first use."""
    backend = "cuda" if shape.device[0] == "cuda" else "cpu"
    key = (pattern._token, shape.heads, shape.kv_heads, shape.head_dim,
           shape.dtype, scale, backend)
    with _lock:
        found = _kernels.get(key)
    if found is not None:
        return found
    kernel = Kernel(pattern, heads=shape.heads, kv_heads=shape.kv_heads,
                    head_dim=shape.head_dim, dtype=shape.dtype, scale=scale,
                    backend=backend)
    with _lock:
        return _kernels.setdefault(key, kernel)


@_arrays.accepts_tokens()
def reference(q, k, v, pattern, /, *, scale=None, enable_gqa=False,
              return_lse=False, key_score=None, layout="bhsd",
              score_weights=None, cu_seqlens_q=None, cu_seqlens_k=None,
              inputs=None, **params):
    """attention() computed by sattn's float64 reference oracle (the check
    every kernel is held to, docs/patterns.md), any head dim. Takes and
    returns the same kinds; CUDA tensors are copied to the host and the
    results back."""
    packed, keep_offsets = _capi.packed_sequences(cu_seqlens_q, cu_seqlens_k)
    kind, shape, resolved, scale = check_attention(
        q, k, v, pattern, scale, enable_gqa, key_score, score_weights, layout,
        params)
    on_cuda = shape.device[0] == "cuda"
    if on_cuda:
        q, k, v, key_score, score_weights = (
            None if x is None else x.cpu()
            for x in (q, k, v, key_score, score_weights))
        if inputs:
            inputs = {name: x.cpu() if hasattr(x, "detach") else x
                      for name, x in inputs.items()}
    if inputs and packed is not None:
        raise ValueError("packed sequences with run-time integer inputs are "
                         "not supported yet")
    int_structs, int_count, keep_inputs = _capi.int_inputs(inputs,
                                                           ("cpu", None))
    tensors = [_capi.Tensor() for _ in range(7)]
    for tensor in tensors[:4]:
        tensor.rank = 4
    keep = [_fill(tensors[i], kind, x, layout)
            for i, x in enumerate((q, k, v))]
    out = kind.empty(_arrays.physical_shape(shape.batch, shape.heads,
                                            shape.seq_q, shape.head_dim,
                                            layout), q)
    lse = kind.empty((shape.batch, shape.heads, shape.seq_q), q,
                     float32=True)
    _fill(tensors[3], kind, out, layout)
    _fill_dense(tensors[4], kind, lse)
    args = _capi.RunArgs()
    args.q, args.k, args.v, args.out, args.lse = (
        ctypes.pointer(t) for t in tensors[:5])
    if key_score is not None:
        keep.append(_fill_dense(tensors[5], kind, key_score))
        args.key_scores = ctypes.pointer(tensors[5])
    if score_weights is not None:
        keep.append(_fill_dense(tensors[6], kind, score_weights))
        args.weights = ctypes.pointer(tensors[6])
    config = _capi.Config(shape.heads, shape.kv_heads, shape.head_dim,
                          shape.dtype.encode(), scale, b"cpu", None, 0)
    lib = _capi.load()
    if int_structs is not None:
        _capi.check(lib.sattn_reference_run_with_inputs(
            resolved._handle, ctypes.byref(config), ctypes.byref(args),
            int_structs, int_count))
    elif packed is None:
        _capi.check(lib.sattn_reference_run(
            resolved._handle, ctypes.byref(config), ctypes.byref(args)))
    else:
        _capi.check(lib.sattn_reference_run_packed(
            resolved._handle, ctypes.byref(config), ctypes.byref(args),
            ctypes.byref(packed)))
    del keep, keep_offsets, keep_inputs
    if on_cuda:
        out, lse = out.cuda(), lse.cuda()
    return (out, lse) if return_lse else out
