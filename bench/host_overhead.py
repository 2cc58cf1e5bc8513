#!/usr/bin/env python3
"""Per-call host overhead of the Python package: what a call of
sattn.Kernel (and of sattn.attention) costs on top of the C API call it
makes.

For each kind of tensor available (NumPy on the CPU, torch on the CPU,
torch on CUDA), on a problem small enough that the kernel costs little,
the script times single calls of

  * the C API alone: sattn_kernel_run with its arguments built once
    (the library's own work, the kernel included),
  * Kernel.__call__ (checks, output allocation, the same C call),
  * sattn.attention (pattern and kernel lookup; on torch >= 2.4 through the
    operator torch.ops.sattn.attention),
  * on CUDA, the C API alone again with no workspace (the library's own
    buffer per stream, where the package passes one from torch's
    allocator),

and prints the median of each and the differences (the overhead). The
three take turns, 200 calls each, so that a machine whose speed drifts
moves them alike. CUDA calls are queued without waiting, a synchronisation
after each 200, so that the queue never fills; the times are host times.

    python3 bench/host_overhead.py [--calls 5000] [--lib build/lib/libsattn.so]
"""

import argparse
import ctypes
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def median_calls_us(callables, calls, sync=None, batch=200):
    """Median wall time of one call of each callable, in microseconds.
    The callables take turns, a batch each, so that a drift of the
    machine's speed (a shared or throttled CPU) reaches them all alike:
    timed one after the other, their differences moved by more than the
    overhead measured."""
    for call in callables:
        for _ in range(50):
            call()
    if sync:
        sync()
    times = [[] for _ in callables]
    perf = time.perf_counter
    while len(times[0]) < calls:
        n = min(batch, calls - len(times[0]))
        for call, into in zip(callables, times):
            for _ in range(n):
                start = perf()
                call()
                into.append(perf() - start)
            if sync:
                sync()
    return [statistics.median(t) * 1e6 for t in times]


def bare_c_call(kernel, q, k, v, out, workspace=None, stream=None):
    """sattn_kernel_run with every argument built beforehand."""
    from sattn import _capi

    def tensor(data, shape, strides):
        t = _capi.Tensor()
        t.data, t.rank = data, len(shape)
        t.sizes[:len(shape)] = shape
        t.strides[:len(shape)] = strides
        return t

    def describe(x):
        if hasattr(x, "data_ptr"):
            return tensor(x.data_ptr(), tuple(x.shape), tuple(x.stride()))
        return tensor(x.ctypes.data, x.shape,
                      [s // x.itemsize for s in x.strides])

    tensors = [describe(x) for x in (q, k, v, out)]
    args = _capi.RunArgs()
    args.q, args.k, args.v, args.out = (ctypes.pointer(t) for t in tensors)
    if workspace is not None:
        args.workspace = workspace.data_ptr()
        args.workspace_bytes = workspace.numel()
    args.stream = stream
    run, handle = _capi.load().sattn_kernel_run, kernel._handle

    def call():
        if run(handle, args):
            _capi.raise_for(1)
    return call, tensors


def measure(label, sattn, pattern, make, backend, calls, sync=None,
            torch=None):
    q, k, v = make()
    kernel = pattern.compile(heads=q.shape[1], head_dim=q.shape[3],
                             dtype="f32" if backend == "cpu" else "bf16",
                             backend=backend, cpu_threads=1)
    out = kernel(q, k, v)
    workspace = stream = None
    if backend == "cuda":
        workspace = torch.empty(kernel.workspace_bytes(1, q.shape[2],
                                                       k.shape[2]),
                                dtype=torch.uint8, device="cuda")
        stream = torch.cuda.current_stream().cuda_stream
    bare, keep = bare_c_call(kernel, q, k, v, out, workspace, stream)
    names = ["C API alone", "Kernel.__call__", "sattn.attention"]
    callables = [bare, lambda: kernel(q, k, v),
                 lambda: sattn.attention(q, k, v, pattern)]
    if backend == "cuda":
        # The same C call with no workspace: the library's own per stream
        # (what the package would save the allocation for).
        own, _ = bare_c_call(kernel, q, k, v, out, None, stream)
        names.append("C API, own wksp")
        callables.append(own)
    rows = list(zip(names, median_calls_us(callables, calls, sync)))
    base = rows[0][1]
    print(f"\n{label}: q {tuple(q.shape)}, {calls} calls each")
    for name, us in rows:
        extra = ("" if name == "C API alone" else
                 f"  overhead {us - base:6.1f} us")
        print(f"  {name:18s} {us:8.1f} us{extra}")
    del keep
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--lib", default="", help="libsattn.so (default: "
                        "what the package finds)")
    args = parser.parse_args()
    if args.lib:
        os.environ["SATTN_LIBRARY"] = args.lib
    sys.path.insert(0, os.path.join(REPO, "python"))
    try:
        import torch
    except ImportError:
        torch = None
    import sattn
    print(f"sattn {sattn.version()} ({sattn.library_path()}), Python "
          f"{sys.version.split()[0]}, torch "
          f"{torch.__version__ if torch else 'absent'}")
    pattern = sattn.Pattern.stock("streaming").bind(sink=16, window=16)
    shape = (1, 1, 16, 32)
    try:
        import numpy as np
        rng = np.random.default_rng(0)
        measure("NumPy, cpu backend (1 thread)", sattn, pattern,
                lambda: tuple(rng.standard_normal(shape, dtype=np.float32)
                              for _ in range(3)), "cpu", args.calls)
    except ImportError:
        print("\nNumPy: absent")
    if torch is None:
        return 0
    measure("torch CPU tensors, cpu backend (1 thread)", sattn, pattern,
            lambda: tuple(torch.randn(shape) for _ in range(3)), "cpu",
            args.calls, torch=torch)
    if torch.cuda.is_available():
        shape = (1, 1, 128, 64)
        measure("torch CUDA tensors, cuda backend", sattn, pattern,
                lambda: tuple(torch.randn(shape, device="cuda",
                                          dtype=torch.bfloat16)
                              for _ in range(3)), "cuda", args.calls,
                sync=torch.cuda.synchronize, torch=torch)
    else:
        print("\ntorch CUDA tensors: no CUDA device")
    return 0


if __name__ == "__main__":
    sys.exit(main())
