"""What the torch tests share: torch if it imports, the skip reasons, and
a main() that exits 77 (ctest's "skipped") when nothing could run, so that
a machine without torch or CUDA never reports a pass."""

import sys
import unittest

from support import STOCK, sattn  # noqa: F401 (re-exported)

try:
    import torch
    TORCH_MISSING = None
except ImportError as e:  # the tests skip, saying why
    torch = None
    TORCH_MISSING = f"torch is not importable ({e})"

SKIPPED = 77


def custom_op_missing():
    """Why torch.compile tests cannot run here, or None."""
    if torch is None:
        return TORCH_MISSING
    if sattn.register_torch_op() is None:
        return (f"torch {torch.__version__} has no torch.library.custom_op "
                f"(torch >= 2.4 is needed for torch.compile)")
    return None


def cuda_missing():
    if torch is None:
        return TORCH_MISSING
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} sees no CUDA device"
    return None


def main():
    """unittest.main, but exit 77 when every test was skipped, printing
    the reasons."""
    program = unittest.main(exit=False, verbosity=2)
    result = program.result
    ran = result.testsRun - len(result.skipped)
    if not result.wasSuccessful():
        sys.exit(1)
    if result.testsRun and ran == 0:
        reasons = sorted({reason for _, reason in result.skipped})
        print("SKIPPED, nothing ran: " + "; ".join(reasons))
        sys.exit(SKIPPED)
    sys.exit(0)
