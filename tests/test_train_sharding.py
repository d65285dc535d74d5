"""Tests for qwemlib.train._sharding: data-parallel SGD on two devices ends where one device does.

JAX fixes its device count when it starts, so the two-device tests run in a subprocess
with ``XLA_FLAGS=--xla_force_host_platform_device_count=2`` and ``JAX_PLATFORMS=cpu``
(:func:`test_two_device_tests_pass_in_a_subprocess`, which checks that all of them ran
there); in a process that already has two devices they run directly. The reference is
the one-device run of the same config: the same global batches (bit for bit) and the
same ``W`` and records up to float32 rounding, each to ``RTOL = 1e-5`` of its largest
value. Measured on this 60-step run: the two-device ``W`` differs by 2.8e-7 (the sums over
the same pairs in another order), the mean losses by 4.5e-7; a key per device (other
batches) moves ``W`` by 1.7e-2 and the exact objective by 7e-4, so the tolerance tells the
two apart with a margin of 30 or more either side.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from train_helpers import L, brute_force_P, interrupt_and_resume, interrupt_at_record, tiny_corpus

from qwemlib import train as T
from qwemlib.train import _device
from qwemlib.train._sharding import data_mesh, replicate, shard_batch

# (not when this file runs as one host of the two-host test: that must not start JAX before
# jax.distributed.initialize)
TWO = __name__ != "__main__" and jax.device_count() >= 2
needs_two = pytest.mark.skipif(not TWO, reason="needs 2 devices; runs in the subprocess of "
                               "test_two_device_tests_pass_in_a_subprocess")
N_TWO_DEVICE_TESTS = 5  # the tests marked needs_two (the subprocess must run them all)
RTOL = 1e-5
BASE = dict(dim=3, window=L, steps=60, lr=2e-3, batch_pos=2000, batch_neg=2000, schedule="step",
            init_scale=0.1, record_steps=(10, 20, 40, 50), n_snapshots=3, steps_per_call=7,
            negatives="uniform", grad_path="scatter")


@pytest.fixture(scope="module")
def tiny():
    ids, off = tiny_corpus()
    return ids, off, brute_force_P(ids, off, L)


@pytest.fixture(scope="module")
def one_device(tiny):
    ids, off, P = tiny
    return T.train(ids, off, P, T.TrainConfig(**BASE), progress=False)


def assert_same_run(a, b, rtol=RTOL):
    scale = np.abs(a.W).max()
    np.testing.assert_allclose(b.W, a.W, rtol=0, atol=rtol * scale)
    np.testing.assert_array_equal(b.steps, a.steps)
    np.testing.assert_array_equal(b.snapshot_steps, a.snapshot_steps)
    # the mean batch loss changes sign (its terms cancel): tolerance relative to its size
    np.testing.assert_allclose(b.loss, a.loss, rtol=0, atol=rtol * np.nanmax(np.abs(a.loss)))
    np.testing.assert_allclose(b.objective, a.objective, rtol=rtol)
    np.testing.assert_allclose(b.singular_values, a.singular_values, rtol=0,
                               atol=rtol * a.singular_values.max())
    np.testing.assert_allclose(b.snapshots, a.snapshots, rtol=0, atol=rtol * scale)


def test_config_refuses_bad_device_counts():
    with pytest.raises(ValueError, match=r"TrainConfig.devices=3: .*multiples of the device count"):
        T.TrainConfig(**BASE, devices=3)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="TrainConfig.devices"):
            T.TrainConfig(devices=bad)
    with pytest.raises(ValueError, match="only backend='jax'"):
        T.TrainConfig(backend="cpu-kernel", devices=2)
    assert T.TrainConfig(devices=0).devices == 0  # all devices, counted at train time


def test_more_devices_than_visible_is_a_clear_error(tiny):
    ids, off, P = tiny
    n = jax.device_count() + 1
    with pytest.raises(ValueError, match=rf"devices={n}: only {n - 1} JAX device.*xla_force_host_platform"):
        T.train(ids, off, P, T.TrainConfig(**{**BASE, "batch_pos": 1000 * n, "batch_neg": 1000 * n},
                                           devices=n), progress=False)


@needs_two
@pytest.mark.parametrize("negatives", ["unigram", "exact"])  # "uniform": BASE's, in the runs below
def test_the_global_batch_is_the_one_device_batch_split_in_two(tiny, negatives):
    """Bit for bit the batch of sample_batch on one device; each device holds half of it."""
    ids, off, P = tiny
    cfg = T.TrainConfig(**{**BASE, "negatives": negatives})
    s = T.build_sampler(ids, off, P[1], cfg, P_ij=P[0])
    key = jax.random.fold_in(jax.random.PRNGKey(5), 17)
    one = T.sample_batch(key, s, 2000, 2000)
    mesh = data_mesh(2, 2000, 2000)
    two = jax.jit(lambda k, s: shard_batch(T.sample_batch(k, s, 2000, 2000), mesh))(
        replicate(key, mesh), replicate(s, mesh))
    for x1, x2 in zip(one, two, strict=True):
        np.testing.assert_array_equal(np.asarray(x2), np.asarray(x1))
        assert [sh.data.shape[0] for sh in x2.addressable_shards] == [x1.shape[0] // 2] * 2
        assert len({sh.device for sh in x2.addressable_shards}) == 2


@needs_two
def test_two_devices_end_at_the_one_device_W(tiny, one_device):
    ids, off, P = tiny
    two = T.train(ids, off, P, T.TrainConfig(**BASE, devices=2), progress=False)
    assert two.device.startswith("2 x cpu") and one_device.device.startswith("cpu")
    assert_same_run(one_device, two)
    # devices=0: all devices (here the same two, so the same compiled loop)
    every = T.train(ids, off, P, T.TrainConfig(**BASE, devices=0), progress=False)
    assert every.device.startswith(f"{jax.device_count()} x")
    np.testing.assert_array_equal(every.W, two.W)
    with pytest.raises(ValueError, match=r"TrainConfig.batch_pos=999 does not split over 2 devices"):
        T.train(ids, off, P, T.TrainConfig(**{**BASE, "batch_pos": 999}, devices=0), progress=False)


def _per_device_keys(key, sampler, batch_pos, batch_neg):
    """The wrong sharded sampler: device k draws its half of the batch from fold_in(key, k)."""
    halves = [T.sample_batch(jax.random.fold_in(key, k), sampler, batch_pos // 2, batch_neg // 2)
              for k in range(2)]
    return tuple(jnp.concatenate(x) for x in zip(*halves, strict=True))


@needs_two
def test_a_key_per_device_ends_at_another_W(tiny, one_device, monkeypatch):
    """The equality above can fail: per-device keys change the batches, and W moves by >> RTOL."""
    ids, off, P = tiny
    # a fresh runner cache while patched; the good runners stay cached for the other tests
    monkeypatch.setattr(_device, "_runner", lru_cache(_device._runner.__wrapped__))
    monkeypatch.setattr(_device, "sample_batch", _per_device_keys)
    wrong = T.train(ids, off, P, T.TrainConfig(**BASE, devices=2), progress=False)
    monkeypatch.undo()
    with pytest.raises(AssertionError):
        assert_same_run(one_device, wrong)
    rel = np.abs(wrong.W - one_device.W).max() / np.abs(one_device.W).max()
    assert rel > 100 * RTOL, rel


@needs_two
def test_resume_on_two_devices_and_across_device_counts(tiny, one_device, tmp_path):
    ids, off, P = tiny
    ck = str(tmp_path / "ck.npz")
    two = dict(BASE, devices=2)
    assert_same_run(one_device, interrupt_and_resume(ids, off, P, two, ck))
    assert T.load_checkpoint(ck)["step"] == 60
    # a two-device checkpoint continues on one device (devices is not trajectory-relevant)
    ck2 = str(tmp_path / "ck2.npz")
    interrupt_at_record(ids, off, P, T.TrainConfig(**two, checkpoint_path=ck2, checkpoint_every=20), 5)
    res = T.train(ids, off, P, T.TrainConfig(**BASE, checkpoint_path=ck2, checkpoint_every=20),
                  resume_from=ck2, progress=False)
    assert_same_run(one_device, res)


def test_two_device_tests_pass_in_a_subprocess():
    """Run this module under two forced CPU devices and check every two-device test ran and passed."""
    if TWO:
        pytest.skip("two devices here: the two-device tests run directly")
    flags = os.environ.get("XLA_FLAGS", "")
    # LLVM's optimization level 0 halves XLA's compile time on the CPU; both runs compared
    # there are compiled with it
    env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS=f"{flags} --xla_force_host_platform_device_count=2 "
               "--xla_backend_optimization_level=0".strip())
    here = Path(__file__)
    out = subprocess.run([sys.executable, "-m", "pytest", str(here), "-q", "-p", "no:cacheprovider",
                          "-k", "not subprocess", "-m", "not slow"], cwd=here.parent.parent, env=env,
                         capture_output=True, text=True, timeout=300)
    tail = (out.stdout + out.stderr)[-4000:]
    assert out.returncode == 0, tail
    passed = re.search(r"(\d+) passed", out.stdout)
    assert passed and int(passed.group(1)) >= N_TWO_DEVICE_TESTS + 2, tail
    assert "skipped" not in out.stdout.splitlines()[-1], tail


@pytest.mark.slow  # two processes, each importing JAX and compiling: ~40 s of CPU on 2 cores
def test_two_hosts_through_jax_distributed_end_at_the_one_device_W(one_device, tmp_path):
    """Two processes (one CPU device each, gloo collectives) joined by jax.distributed.initialize."""
    port = str(_free_port())
    env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_backend_optimization_level=0")
    procs = [subprocess.Popen([sys.executable, __file__, str(i), port, str(tmp_path)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in range(2)]
    logs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), "\n".join(x[-3000:] for x in logs)
    for i in range(2):
        with np.load(tmp_path / f"host{i}.npz") as z:
            assert str(z["device"]) == "2 x cpu:cpu (2 hosts)"
            np.testing.assert_allclose(z["W"], one_device.W, rtol=0, atol=RTOL * np.abs(one_device.W).max())
    assert T.load_checkpoint(str(tmp_path / "ck.npz"))["step"] == BASE["steps"]  # written by host 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _host_main(process_id: int, port: str, out: str) -> None:
    """One host of the two-host test: the same program, the same data, its own process id."""
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"localhost:{port}", num_processes=2,
                               process_id=process_id)
    ids, off = tiny_corpus()
    res = T.train(ids, off, brute_force_P(ids, off, L),
                  T.TrainConfig(**BASE, devices=0, checkpoint_path=f"{out}/ck.npz"), progress=False)
    np.savez(f"{out}/host{process_id}.npz", W=res.W, device=np.array(res.device))


if __name__ == "__main__":
    _host_main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
