"""train.log in upstream's line format, and VisualDL scalars."""
import logging
import os
import sys
import time

LOG_FORMAT = "[%(asctime)s] ppocr %(levelname)s: %(message)s"
DATE_FORMAT = "%Y/%m/%d %H:%M:%S"


def setup_logger(log_file=None, rank=0, level=logging.INFO):
    """The 'ppexp' logger: console on rank 0, plus ``log_file`` (appended) on rank 0."""
    logger = logging.getLogger("ppexp")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = False
    formatter = logging.Formatter(LOG_FORMAT, datefmt=DATE_FORMAT)
    if rank == 0:
        console = logging.StreamHandler(sys.stdout)
        console.setFormatter(formatter)
        logger.addHandler(console)
        if log_file:
            os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
            file_handler = logging.FileHandler(log_file, "a", encoding="utf-8")
            file_handler.setFormatter(formatter)
            logger.addHandler(file_handler)
    logger.setLevel(level if rank == 0 else logging.ERROR)
    return logger


def setup_run_logging(config, log_name="train.log"):
    """Console + <save_model_dir>/<log_name> (None: console only) on rank 0."""
    import paddle

    from ppexp.config_defaults import save_model_dir

    log_file = os.path.join(save_model_dir(config), log_name) if log_name else None
    return setup_logger(log_file, paddle.distributed.get_rank())


class VisualDLLogger:
    """Scalars to ``<save_model_dir>/vdl/``; a no-op when disabled or not rank 0."""

    def __init__(self, logdir=None, enabled=True):
        self.writer, self.path = None, None
        if enabled and logdir:
            from visualdl import LogWriter

            os.makedirs(logdir, exist_ok=True)
            # VisualDL names files by the second and opens them for overwrite: make the name unique
            name = f"vdlrecords.{int(time.time())}.{os.getpid()}.log"
            self.writer = LogWriter(logdir=logdir, file_name=name)
            self.logdir = logdir
            self.path = os.path.join(logdir, name)

    def scalars(self, prefix, values, step):
        if self.writer is None:
            return
        for key, value in values.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(tag=f"{prefix}/{key}", value=float(value), step=int(step))

    def flush(self):
        if self.writer is not None:
            self.writer.flush()

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None
