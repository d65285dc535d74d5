"""Data-parallel SGD over several devices and hosts (``TrainConfig(devices=...)``), with ``jax.sharding``.

The devices form a 1-D mesh with one axis, ``"data"``. ``W``, the sampler's tables and the
loss weights are replicated on every device; each step's batch is split along ``"data"``.
Every step draws the *global* batch from the step key exactly as the one-device loop does
(``sample_batch(fold_in(step_key, s), ...)``, :mod:`._device`) and constrains each of its
arrays to be split across the mesh (:func:`shard_batch`). XLA's SPMD partitioner then
lets each device compute its share of the pairs, the batch loss and the gradient, and
all-reduces the gradient; the same update is applied to every replica of ``W``.

Why the batches do not depend on the device count: with ``jax_threefry_partitionable``
(JAX's default since 0.5; :func:`data_mesh` refuses to run without it) the value of a
random array's element depends on the key and on the element's index only, not on how
the array is split, so device ``k`` of ``n`` generates exactly elements
``[k B/n, (k+1) B/n)`` of the one-device batch and no device generates the others. The
gradient is then a sum over the same pairs in another order (partial sums, then an
all-reduce), so ``W`` agrees with the one-device run up to floating-point rounding, and
the clock ``t = 2 g sum(eta)`` (:mod:`._schedule`) is unchanged: the global batch, the
learning rate and the update are those of one device. The obvious alternative, a key per
device (``fold_in(key, device index)``, each device drawing ``B/n`` pairs of its own), is
unbiased too but changes every batch with the device count; tests/test_train_sharding.py
shows that it ends at another ``W``.

Several hosts: every host runs the same program on the same tokens and statistics after
``jax.distributed.initialize()``; ``jax.devices()`` then lists the devices of all hosts and
``devices=0`` puts them all in the mesh. Arrays are made global with
:func:`jax.make_array_from_callback` from each host's own copy (:func:`replicate`), so no
host sends its corpus to another; only the gradient all-reduce crosses hosts. See
docs/MULTI_DEVICE.md.

Used in: :func:`qwemlib.train.train` (``TrainConfig.devices``); docs/MULTI_DEVICE.md;
tests/test_train_sharding.py.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

AXIS = "data"
_HOW = ("on a CPU, set XLA_FLAGS=--xla_force_host_platform_device_count=N before jax is "
        "imported; on several hosts, call jax.distributed.initialize() first (docs/MULTI_DEVICE.md)")


def data_mesh(devices: int, batch_pos: int, batch_neg: int) -> Mesh:
    """The 1-D ``"data"`` mesh of a run with ``TrainConfig.devices = devices`` (``0``: all).

    Raises ValueError when fewer devices are visible, when the batch halves do not split
    evenly over the mesh, when a multi-host run leaves out some host's devices, or when
    JAX's random numbers are not partitionable (the batches would then depend on the
    device count).
    """
    avail = jax.devices()
    n = len(avail) if devices == 0 else int(devices)
    if n > len(avail):
        raise ValueError(f"TrainConfig.devices={devices}: only {len(avail)} JAX device(s) are visible "
                         f"({avail[0].platform}); use devices <= {len(avail)}, or {_HOW}")
    if jax.process_count() > 1 and n != len(avail):
        raise ValueError(f"TrainConfig.devices={devices}: this is a run on {jax.process_count()} hosts "
                         f"with {len(avail)} devices in all; use devices=0 (every device of every host)")
    for name, b in (("batch_pos", batch_pos), ("batch_neg", batch_neg)):
        if b % n:
            raise ValueError(f"TrainConfig.{name}={b} does not split over {n} devices; use a multiple "
                             f"of {n} (e.g. {max(n, b - b % n)})")
    if not jax.config.jax_threefry_partitionable:
        raise ValueError("jax_threefry_partitionable is off, so the batches of a sharded run would "
                         "depend on the device count; turn it on "
                         "(jax.config.update('jax_threefry_partitionable', True))")
    return Mesh(np.array(avail[:n]), (AXIS,))


def replicate(tree, mesh: Mesh):
    """Every array leaf of ``tree`` as a global array replicated on ``mesh`` (``None`` kept).

    Built from this process's own copy (:func:`jax.make_array_from_callback`), so on several
    hosts each host must hold the same values (the same tokens and statistics). Leaves that
    are already replicated on ``mesh`` are returned unchanged.
    """
    rep = NamedSharding(mesh, P())

    def put(x):
        if isinstance(x, jax.Array) and x.sharding == rep:
            return x
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, rep, lambda idx: x[idx])

    return jax.tree_util.tree_map(put, tree)


def shard_batch(batch, mesh: Mesh):
    """The batch arrays of :func:`qwemlib.train.sample_batch`, each split along ``"data"``.

    Inside jit: a sharding constraint, so the sampler's random draws and gathers are
    partitioned too (each device makes only its own share of the pairs).
    """
    s = NamedSharding(mesh, P(AXIS))
    return tuple(jax.lax.with_sharding_constraint(x, s) for x in batch)


def replicated_jit(run, mesh: Mesh):
    """``jax.jit(run)`` with every input and output replicated on ``mesh``, ``W`` (first) donated.

    The returned callable replicates its arguments first (scalars each call; arrays that are
    already replicated, such as the sampler placed once by :func:`replicate`, pass through).
    """
    rep = NamedSharding(mesh, P())
    jitted = jax.jit(run, in_shardings=rep, out_shardings=rep, donate_argnums=(0,))

    def call(*args):
        return jitted(*replicate(args, mesh))

    return call


def mesh_description(mesh: Mesh) -> str:
    """``"2 x cpu"``, ``"8 x gpu:NVIDIA H200 (2 hosts)"``: the devices a sharded run used."""
    d = mesh.devices.flat[0]
    kind = f"{d.platform}:{getattr(d, 'device_kind', '')}".rstrip(":")
    hosts = len({x.process_index for x in mesh.devices.flat})
    return f"{mesh.devices.size} x {kind}" + (f" ({hosts} hosts)" if hosts > 1 else "")
