"""sattn.attention as a torch operator (torch.ops.sattn.attention) with a
fake implementation, so that torch.compile(fullgraph=True) traces modules
that call sattn.attention in one graph.

The operator is registered once torch is imported, whichever of torch and
sattn comes first: importing sattn before torch leaves a one-shot import
hook that registers it as soon as `import torch` completes. It needs
torch >= 2.4 (torch.library.custom_op); with older versions sattn.attention
runs eagerly on torch tensors, and torch.compile breaks the graph there.
"""

import importlib.abc
import importlib.util
import sys
import warnings

op = None  # torch.ops.sattn.attention.default, once registered
torch = None  # the torch module, once imported


def is_tensor(x):
    return isinstance(x, torch.Tensor)


def register():
    """Registers the operator if torch is imported; returns it (None with
    a torch too old for custom operators). Idempotent."""
    global op, torch
    if op is not None:
        return op
    module = sys.modules.get("torch")
    if module is None:
        return None
    if hasattr(getattr(module, "library", None), "custom_op"):
        from . import _torch_op  # noqa: F401 (defines the operator)
        op = module.ops.sattn.attention.default
    torch = module
    return op


class _RegisterAfterTorchImport(importlib.abc.MetaPathFinder):
    """Finds torch as the other finders do, and makes its loader register
    the operator once torch's own initialisation has run."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("torch")
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            try:
                register()
            except Exception as e:  # torch itself must still import
                warnings.warn(f"sattn: torch.ops.sattn.attention is not "
                              f"registered ({e}); sattn.attention runs "
                              f"eagerly")

        loader.exec_module = exec_then_register
        return spec


def setup():
    """At `import sattn`: registers now, or when torch gets imported."""
    if "torch" in sys.modules:
        register()
    elif importlib.util.find_spec("torch") is not None:
        sys.meta_path.insert(0, _RegisterAfterTorchImport())
