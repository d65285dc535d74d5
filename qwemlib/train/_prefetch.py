"""Software prefetch for the numba kernels of :mod:`._cpu_kernel` (LLVM's ``llvm.prefetch``).

A prefetch is a hint to the CPU to start loading a cache line; it returns at once, reads
nothing into a register and never faults, so a kernel that prefetches computes exactly what
it computes without (the same arithmetic in the same order, bit for bit). It pays where the
kernel knows its next addresses early and they miss the caches: the ``"exact"`` estimator's
cells touch two rows of ``W`` (800 bytes each at d = 200) all over the vocabulary and read a
table of tens of millions of cells at random. Measured at V = 10,000, d = 200, 500 k cells per
step on the first local shard (2-core machine, 2026-12-03, one thread): the cell loop from 99
to 65 ms per step with the row and table prefetches (the rows alone: 72 ms); the gains of the
kernels through ``train()`` are in :mod:`._cpu_kernel`'s docstring and
data/bench/train-local-cpu-kernel.md.

Used in: :mod:`qwemlib.train._cpu_kernel`.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_I8P = ir.IntType(8).as_pointer()
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)


def _prefetch(builder, addr, write: int, locality: int):
    fnty = ir.FunctionType(ir.VoidType(), [_I8P, _I32, _I32, _I32])
    fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
    builder.call(fn, [builder.inttoptr(addr, _I8P), ir.Constant(_I32, write),
                      ir.Constant(_I32, locality), ir.Constant(_I32, 1)])


@intrinsic
def prefetch_row(typingctx, arr, row):
    """Prefetch (for writing) every 64-byte line of ``arr[row, :]``; ``arr`` 2-D C-contiguous."""
    if not (isinstance(arr, types.Array) and arr.ndim == 2 and isinstance(row, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        shape = cgutils.unpack_tuple(builder, ary.shape, 2)
        strides = cgutils.unpack_tuple(builder, ary.strides, 2)
        row64 = context.cast(builder, args[1], signature.args[1], types.int64)
        start = builder.add(builder.ptrtoint(ary.data, _I64), builder.mul(row64, strides[0]))
        nbytes = builder.mul(shape[1], strides[1])
        zero, line = ir.Constant(_I64, 0), ir.Constant(_I64, 64)
        with cgutils.for_range_slice(builder, zero, nbytes, line) as (pos, _):
            _prefetch(builder, builder.add(start, pos), 1, 3)
        return context.get_dummy_value()

    return types.void(arr, row), codegen


@intrinsic
def prefetch_at(typingctx, arr, idx):
    """Prefetch (for reading, no reuse expected) the line holding ``arr[idx]``; ``arr`` 1-D."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and isinstance(idx, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        (stride,) = cgutils.unpack_tuple(builder, ary.strides, 1)
        idx64 = context.cast(builder, args[1], signature.args[1], types.int64)
        _prefetch(builder, builder.add(builder.ptrtoint(ary.data, _I64), builder.mul(idx64, stride)), 0, 0)
        return context.get_dummy_value()

    return types.void(arr, idx), codegen
