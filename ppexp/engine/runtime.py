"""Process-level setup before training: CPU plan, distributed init, device, logging, seeds, warning filters.

numpy is imported inside the functions: start_training_process sets the thread variables before it loads.
"""
import logging
import random
import warnings


def prepare_runtime(seed=None):
    """Apply the CPU thread plan and join the process group when there are several ranks
    (ppexp's CPU workers or paddle.distributed.launch); seed RNGs. Returns the WorkerInfo."""
    from ppexp.engine.cpu_setup import init_worker

    warnings.filterwarnings("ignore", message="When training, we now always track global mean and variance")
    info = init_worker()
    if seed is not None:
        set_seed(seed)
    return info


def gpu_requested(global_cfg):
    """use_gpu with a GPU build of paddle installed (checked without importing paddle)."""
    if not global_cfg.get("use_gpu", False):
        return False
    from importlib.metadata import PackageNotFoundError, version

    try:
        version("paddlepaddle-gpu")
        return True
    except PackageNotFoundError:
        return False


def select_device(config):
    """use_gpu when possible; on a CPU build say that use_gpu is ignored."""
    import paddle

    g = config.get("Global") or {}
    want_gpu = bool(g.get("use_gpu", False))
    if want_gpu and paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0:
        paddle.set_device(f"gpu:{paddle.distributed.ParallelEnv().dev_id}")
    else:
        if want_gpu:
            logging.getLogger("ppexp").info("Global.use_gpu is True but no GPU is available: running on CPU")
        paddle.set_device("cpu")


def start_training_process(config, cpu_plan=True):
    """Everything a training process does before ``train()``; returns the WorkerInfo.

    ``cpu_plan``: apply Global.cpu_threads / data_parallel (may re-exec the process or fork CPU
    workers, so call it before paddle is imported; not on a GPU build asked for use_gpu). Then
    :func:`prepare_runtime`, train.log in save_model_dir, the device."""
    from ppexp.engine.loggers import setup_run_logging

    g = config["Global"]
    if cpu_plan and not gpu_requested(g):
        from ppexp.engine.cpu_setup import ensure_cpu_runtime

        batch = ((config.get("Train") or {}).get("loader") or {}).get("batch_size_per_card")
        ensure_cpu_runtime(g.get("cpu_threads"), g.get("data_parallel", "auto"), batch_size=batch,
                           model_type=(config.get("Architecture") or {}).get("model_type"))
    info = prepare_runtime()
    setup_run_logging(config)
    select_device(config)
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
    import numpy as np

    np.random.seed(seed + rank)
    random.seed(seed + rank)


def capture_rng():
    """numpy and Python RNG states as plain data (saved in .states for exact resume)."""
    import numpy as np

    name, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {"numpy": [name, keys, int(pos), int(has_gauss), float(gauss)],
            "python": [version, list(internal), gauss_next]}


def restore_rng(state):
    if not state:
        return
    name, keys, pos, has_gauss, gauss = state["numpy"]
    import numpy as np

    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
