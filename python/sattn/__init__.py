"""sattn: sparse attention patterns compiled to fused kernels.

    import sattn
    out = sattn.attention(q, k, v, "streaming", window=256)    # torch or NumPy

    pattern = sattn.Pattern.stock("power").bind(window=3)
    kernel = pattern.compile(heads=32, kv_heads=8, head_dim=128,
                             dtype="bf16", backend="cuda")
    out = kernel(q, k, v)                  # reusable, little host overhead
    mask = pattern.mask(1024)              # NumPy bool [1, 1, 1024, 1024]
    pattern.picture("power.png", seq_len=131072)

The package is pure Python over libsattn.so's C API (ctypes); see
python/README.md for how the library is found ($SATTN_LIBRARY first) and
README.md for the patterns. torch is optional: with torch >= 2.4 imported,
sattn.attention is the operator torch.ops.sattn.attention, which
torch.compile(fullgraph=True) traces without a graph break.
"""

from . import _capi, _torch
from ._errors import SattnArgumentError, SattnError
from ._functional import attention, reference
from ._kernel import Kernel
from ._pattern import Pattern, stock_pattern_dirs, stock_patterns

__version__ = "0.1.0"

__all__ = ["Kernel", "Pattern", "SattnArgumentError", "SattnError",
           "attention", "cache_dir", "library_path", "reference",
           "stock_pattern_dirs", "stock_patterns", "version"]


def version():
    """The version of the loaded libsattn.so ("MAJOR.MINOR.PATCH")."""
    return _capi.load().sattn_version().decode()


def library_path():
    """The path of the libsattn.so in use (loading it if needed)."""
    return _capi.loaded_path()


def cache_dir():
    """The folder compiled kernels are cached in ($SATTN_CACHE_DIR, else
    $XDG_CACHE_HOME/sattn, else ~/.cache/sattn), or None when
    SATTN_CACHE_DIR=off."""
    found = _capi.load().sattn_cache_dir()
    return found.decode() if found is not None else None


def register_torch_op():
    """Registers torch.ops.sattn.attention now (done by itself when torch
    is imported); returns it, or None with torch < 2.4 or no torch."""
    return _torch.register()


_torch.setup()
