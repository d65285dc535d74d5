"""An atomic fetch-and-add for the numba kernels of :mod:`._cpu_kernel` (LLVM's ``atomicrmw``).

The ``"exact"`` estimator's cells are shared out in blocks among the threads of a step by a
counter that each thread increments for its next block (:func:`._cpu_kernel._exact_cells`):
a thread that starts late (the one that first computes the step's matmuls) or is slowed by
the machine takes fewer blocks, instead of the whole step waiting for its fixed share.

Used in: :mod:`qwemlib.train._cpu_kernel`.
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def fetch_add(typingctx, arr, idx, val):
    """Atomically ``old = arr[idx]; arr[idx] += val``, returning ``old``; ``arr`` 1-D int64."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.dtype == types.int64
            and isinstance(idx, types.Integer) and isinstance(val, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        i = context.cast(builder, args[1], signature.args[1], types.int64)
        v = context.cast(builder, args[2], signature.args[2], types.int64)
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [i])
        return builder.atomic_rmw("add", ptr, v, "seq_cst")

    return types.int64(arr, idx, val), codegen
