"""Process-level setup before training: distributed init, seeds, warning filters."""
import random
import warnings

import numpy as np


def prepare_runtime(seed=None):
    """Apply the CPU thread plan and join the process group when there are several ranks
    (ppexp's CPU workers or paddle.distributed.launch); seed RNGs. Returns the WorkerInfo."""
    from ppexp.engine.cpu_setup import init_worker

    warnings.filterwarnings("ignore", message="When training, we now always track global mean and variance")
    info = init_worker()
    if seed is not None:
        set_seed(seed)
    return info


def set_seed(seed):
    import paddle

    rank = 0
    try:
        import paddle.distributed as dist

        rank = dist.get_rank()
    except Exception:
        pass
    paddle.seed(seed + rank)
    np.random.seed(seed + rank)
    random.seed(seed + rank)


def capture_rng():
    """numpy and Python RNG states as plain data (saved in .states for exact resume)."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {"numpy": [name, keys, int(pos), int(has_gauss), float(gauss)],
            "python": [version, list(internal), gauss_next]}


def restore_rng(state):
    if not state:
        return
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
