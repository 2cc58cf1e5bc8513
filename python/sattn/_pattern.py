"""sattn.Pattern: a loaded, bound pattern; the stock patterns by name."""

import ctypes
import itertools
import os
import weakref

from . import _arrays, _capi
from ._arrays import describe_type

# Dense token masks beyond this are refused (as sattn-compile does): a
# picture or the kernel itself is the way to look at longer sequences.
MAX_MASK_BYTES = 1 << 31

# What Pattern.reads names, by the C API's flags.
_READS = (("reads_q", "q"), ("reads_k", "k"),
          ("reads_key_scores", "key_score"),
          ("reads_weights", "score_weights"))

_tokens = itertools.count(1)
# Patterns passed to the torch operator by token (torch.compile graphs hold
# the token, a string); kept alive for as long as a graph may name them.
_by_token = {}


def stock_pattern_dirs():
    """Folders searched for stock patterns by name, in order:
    $SATTN_PATTERN_PATH (os.pathsep-separated), the source tree's
    patterns/library, then share/sattn/patterns of the prefix libsattn.so
    is installed in."""
    dirs = [d for d in os.environ.get("SATTN_PATTERN_PATH", "").split(
        os.pathsep) if d]
    repo = os.path.dirname(os.path.dirname(_capi.PACKAGE_DIR))
    dirs.append(os.path.join(repo, "patterns", "library"))
    lib_dir = os.path.dirname(_capi.loaded_path())
    for up in ("..", os.path.join("..", "..")):
        dirs.append(os.path.normpath(os.path.join(lib_dir, up, "share",
                                                  "sattn", "patterns")))
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def stock_patterns():
    """Names of the stock patterns found (power, streaming, ...)."""
    names = set()
    for d in stock_pattern_dirs():
        names.update(f[:-6] for f in os.listdir(d) if f.endswith(".sattn"))
    return sorted(names)


def stock_pattern_path(name):
    for d in stock_pattern_dirs():
        path = os.path.join(d, name + ".sattn")
        if os.path.isfile(path):
            return path
    raise ValueError(
        f"no stock pattern {name!r} (stock patterns: "
        f"{', '.join(stock_patterns()) or 'none found'}); pass the path of a "
        f".sattn or .mlir file, or a sattn.Pattern")


def is_path(text):
    return (os.sep in text or text.endswith(".sattn") or
            text.endswith(".mlir"))


def format_param(name, value):
    """One override as the C API takes it: "name=value"."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"parameter names are identifiers, got {name!r}")
    if isinstance(value, bool):
        raise TypeError(f"parameter {name} must be a number, got {value!r}")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, str) and value and "," not in value:
        text = value
    else:
        raise TypeError(f"parameter {name} must be a number, got "
                        f"{describe_type(value)}")
    return f"{name}={text}"


class Pattern:
    """A sparse attention pattern, loaded and bound to its parameters
    (docs/dsl.md, docs/patterns.md).

    Make one with Pattern.from_file, Pattern.from_source or Pattern.stock;
    bind parameters with .bind(name=value); compile it with .compile(...)
    for a reusable kernel, or pass it to sattn.attention.
    """

    def __init__(self, handle, origin, params):
        """Private: use the class methods."""
        lib = _capi.load()
        self._handle = handle
        self._finalizer = weakref.finalize(self, lib.sattn_pattern_release,
                                           handle)
        self._origin = origin  # how it was made, for repr and caches
        self.params = dict(params)
        info = _capi.PatternInfo()
        _capi.check(lib.sattn_pattern_get_info(handle, ctypes.byref(info)))
        self.name = info.name.decode()
        self.block = info.block
        self.reads = frozenset(what for flag, what in _READS
                               if getattr(info, flag))
        # A plain attribute: what torch.compile reads of a Pattern.
        self._token = f"sattn.Pattern#{next(_tokens)}"
        _by_token[self._token] = self

    @classmethod
    def from_file(cls, path, *, name=None):
        """The pattern `name` (None: the only one) of a .sattn or .mlir
        file."""
        path = os.fspath(path)
        handle = _capi.load().sattn_pattern_from_file(
            path.encode(), name.encode() if name else None)
        return cls(_capi.check_handle(handle),
                   ("file", os.path.abspath(path), name), {})

    @classmethod
    def from_source(cls, text, *, language="sattn", name=None):
        """A pattern from source text: the DSL ("sattn") or MLIR."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {describe_type(text)}")
        handle = _capi.load().sattn_pattern_from_source(
            text.encode(), language.encode(), name.encode() if name else None)
        return cls(_capi.check_handle(handle),
                   ("source", text, language, name), {})

    @classmethod
    def stock(cls, name):
        """A stock pattern by name: power, streaming, sample, hip, sparsek,
        pbs (sattn.stock_patterns() lists what is installed)."""
        return cls.from_file(stock_pattern_path(name))

    def bind(self, **params):
        """A new pattern with these parameter values (e.g. window=256)."""
        if not params:
            return self
        overrides = ",".join(format_param(n, v) for n, v in params.items())
        handle = _capi.load().sattn_pattern_bind(self._handle,
                                                 overrides.encode())
        merged = dict(self.params)
        merged.update(params)
        return Pattern(_capi.check_handle(handle), self._origin, merged)

    def __repr__(self):
        params = "".join(f", {n}={v!r}" for n, v in self.params.items())
        return f"sattn.Pattern({self.name!r}{params})"

    def compile(self, *, heads, head_dim, kv_heads=None, dtype="f32",
                scale=None, backend="cpu", arch=None, cpu_threads=0):
        """A kernel for this pattern and these static sizes; batch and
        sequence lengths are given at each call. dtype: "f32", "f16",
        "bf16" (or a torch/NumPy dtype); backend: "cpu" or "cuda"; scale:
        None for 1/sqrt(head_dim)."""
        from ._kernel import Kernel
        return Kernel(self, heads=heads,
                      kv_heads=heads if kv_heads is None else kv_heads,
                      head_dim=head_dim, dtype=dtype_code(dtype),
                      scale=_arrays.check_scale(scale), backend=backend,
                      arch=arch, cpu_threads=cpu_threads)

    def _shape(self, seq_len, kv_len, batch, heads, kv_heads, head_dim):
        shape = _capi.Shape(batch, heads, heads if kv_heads is None else
                            kv_heads, seq_len,
                            seq_len if kv_len is None else kv_len, head_dim)
        for field, _ in _capi.Shape._fields_:
            value = getattr(shape, field)
            if value < 1:
                raise ValueError(f"{field} must be positive, got {value}")
        if shape.heads % shape.kv_heads:
            raise ValueError(f"kv_heads {shape.kv_heads} must divide heads "
                             f"{shape.heads}")
        return shape

    def _inputs(self, shape, q, k, key_score, score_weights):
        """Host float32 copies of the run-time inputs, kept alive by the
        returned list, and the C struct pointing at them."""
        expected = {
            "q": (shape.batch, shape.heads, shape.seq_q, shape.head_dim),
            "k": (shape.batch, shape.kv_heads, shape.seq_k, shape.head_dim),
            "key_score": (shape.batch, shape.kv_heads, shape.seq_k),
            "score_weights": (shape.kv_heads, shape.head_dim)}
        given = {"q": q, "k": k, "key_score": key_score,
                 "score_weights": score_weights}
        missing = [name for name in sorted(self.reads) if given[name] is None]
        if missing:
            raise ValueError(
                f"pattern {self.name!r} selects keys from {', '.join(missing)}"
                f" at run time: pass " + ", ".join(
                    f"{name}= {_shape_text(expected[name])}"
                    for name in missing))
        inputs, keep = _capi.Inputs(), []
        for field, name in (("q", "q"), ("k", "k"),
                            ("key_scores", "key_score"),
                            ("weights", "score_weights")):
            x = given[name]
            if x is None:
                continue
            host = host_float32(x, name)
            if host.shape != expected[name]:
                raise ValueError(f"{name} has shape {host.shape}; these sizes "
                                 f"need {expected[name]}")
            keep.append(host)
            setattr(inputs, field, host.ctypes.data)
        return inputs, keep

    def mask(self, seq_len, *, kv_len=None, batch=1, heads=1, kv_heads=None,
             head_dim=64, q=None, k=None, key_score=None,
             score_weights=None):
        """The exact token mask as a NumPy bool array [batch, heads,
        seq_len, kv_len]: True where query i attends key j (docs/patterns.md;
        queries are the last seq_len of kv_len positions). Patterns that
        select at run time read q [B, H, Sq, D], k [B, Hkv, Sk, D],
        key_score [B, Hkv, Sk] or score_weights [Hkv, D] (NumPy or torch)."""
        import numpy as np
        shape = self._shape(seq_len, kv_len, batch, heads, kv_heads, head_dim)
        count = shape.batch * shape.heads * shape.seq_q * shape.seq_k
        if count > MAX_MASK_BYTES:
            raise ValueError(
                f"a dense mask of {count} elements is too large (more than "
                f"{MAX_MASK_BYTES >> 20} MiB); draw it with .picture() "
                f"instead")
        inputs, keep = self._inputs(shape, q, k, key_score, score_weights)
        mask = np.empty((shape.batch, shape.heads, shape.seq_q, shape.seq_k),
                        dtype=np.uint8)
        _capi.check(_capi.load().sattn_pattern_mask(
            self._handle, ctypes.byref(shape), ctypes.byref(inputs),
            mask.ctypes.data, mask.nbytes))
        del keep
        return mask.view(np.bool_)

    def picture(self, path, *, seq_len=16384, kv_len=None, batch=1, heads=1,
                kv_heads=None, head_dim=64, head=0, batch_index=0, q=None,
                k=None, key_score=None, score_weights=None):
        """Draws the key blocks that query head `head` of batch entry
        `batch_index` attends to: a PNG, or SVG when path ends in .svg.
        Long sequences are drawn in merged cells (at most 1024 a side).
        Returns the path."""
        path = os.fspath(path)
        shape = self._shape(seq_len, kv_len, batch, heads, kv_heads, head_dim)
        keep = []
        inputs = _capi.Inputs()
        if self.reads or any(x is not None for x in
                             (q, k, key_score, score_weights)):
            inputs, keep = self._inputs(shape, q, k, key_score,
                                        score_weights)
        _capi.check(_capi.load().sattn_pattern_picture(
            self._handle, ctypes.byref(shape), ctypes.byref(inputs),
            batch_index, head, path.encode()))
        del keep
        return path


def _shape_text(shape):
    return "[" + ", ".join(str(n) for n in shape) + "]"


def host_float32(x, name):
    """A C-order float32 NumPy copy (or the array itself) of x."""
    import numpy as np
    kind = _arrays.kind_of(x)
    if kind is _arrays.TORCH:
        import torch
        x = x.detach().to(device="cpu", dtype=torch.float32).contiguous()
        return x.numpy()
    if kind is None:
        raise TypeError(f"{name} must be a torch tensor or a NumPy array, "
                        f"got {describe_type(x)}")
    return np.ascontiguousarray(x, dtype=np.float32)


def dtype_code(dtype):
    """"f32", "f16" or "bf16" for a dtype given as a code ("bf16"), a name
    ("bfloat16"), a torch dtype or a NumPy dtype."""
    if isinstance(dtype, str):
        name = dtype
    elif type(dtype).__module__ == "torch":
        name = str(dtype).replace("torch.", "")
    else:
        try:
            import numpy as np
            name = np.dtype(dtype).name
        except (ImportError, TypeError):
            name = repr(dtype)
    code = _arrays.DTYPE_CODES.get(name, name)
    if code not in _arrays.DTYPE_NAMES:
        raise TypeError(f"dtype must be f32, f16 or bf16 (float32, float16, "
                        f"bfloat16), got {dtype!r}")
    return code


def pattern_by_token(token):
    return _by_token.get(token)
