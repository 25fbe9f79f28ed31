"""One trial = one normal ``ppexp train`` run in its own process, reporting each eval to Optuna.

Started by the tuner as ``python -m ppexp.experiments.tune.trial_main -c CFG -o ... --storage URL
--study NAME --trial-id ID --pruner P --metric M --result result.json``. It trains exactly as
``ppexp train -c CFG -o ...`` (CPU workers, train.log, VisualDL, config.yml in save_model_dir) with an
eval callback that reports the metric (trial.report) and stops the run when the pruner says so.
Rank 0 writes ``result.json``: {"status": complete|pruned|failed, "value", "best", "error"}; the tuner
reads it and records the trial's outcome.
"""
import argparse
import json
import math
import os
import sys
import traceback


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="ppexp-trial")
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-o", "--opt", action="extend", nargs="+", default=[])
    parser.add_argument("--storage", required=True)
    parser.add_argument("--study", required=True)
    parser.add_argument("--trial-id", type=int, required=True)
    parser.add_argument("--pruner", default="median")
    parser.add_argument("--metric", default=None)
    parser.add_argument("--result", required=True)
    return parser.parse_args(argv)


def write_result(path, **result):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(result, f, default=float)
    os.replace(tmp, path)


class OptunaReporter:
    """Eval callback: report ``metric`` at each eval's global step; True (stop) when pruned.

    Rank 0 talks to the storage; with several CPU workers the decision reaches every rank
    through ``on_main`` so all of them stop at the same step."""

    def __init__(self, args, info, metric):
        self.args, self.info, self.metric = args, info, metric
        self.trial = None
        self.status, self.message = None, ""

    def _trial(self):
        if self.trial is None:
            import optuna

            from ppexp.experiments.tune.study import make_pruner, open_storage

            storage = open_storage(self.args.storage, heartbeat=False)
            study = optuna.load_study(study_name=self.args.study, storage=storage,
                                      pruner=make_pruner(self.args.pruner))
            self.trial = optuna.trial.Trial(study, self.args.trial_id)
        return self.trial

    def _decide(self, value, step):
        if value is None or not math.isfinite(value):
            return ["failed", f"eval metric '{self.metric}' is {value} at step {step}"]
        try:
            trial = self._trial()
            trial.report(value, step)
            if trial.should_prune():
                return ["pruned", f"pruned at step {step} ({self.metric} {value:.4f})"]
        except Exception as err:  # noqa: BLE001 - e.g. the trial was marked failed meanwhile
            return ["failed", f"could not report to the study: {type(err).__name__}: {err}"]
        return [None, ""]

    def __call__(self, trainer, result, step):
        from ppexp.engine.cpu_setup import on_main

        value = result.get(self.metric)
        value = None if value is None else float(value)
        self.status, self.message = on_main(self.info, self._decide, value, step)
        return self.status is not None


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(os.path.dirname(os.path.abspath(args.result)), exist_ok=True)
    try:
        return _run(args)
    except SystemExit:
        raise
    except BaseException as err:  # noqa: BLE001 - every failure becomes the trial's message
        if int(os.environ.get("PADDLE_TRAINER_ID", "0")) == 0:
            lines = traceback.format_exception(type(err), err, err.__traceback__)
            write_result(args.result, status="failed", error=f"{type(err).__name__}: {err}",
                         traceback="".join(lines[-6:]))
        print(f"trial failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1


def _run(args):
    from ppexp.config import get_config
    from ppexp.engine.runtime import start_training_process

    config, _ = get_config(args.config, args.opt)
    info = start_training_process(config)
    from ppexp.engine.trainer import train

    metric = args.metric or (config.get("Metric") or {}).get("main_indicator", "acc")
    reporter = OptunaReporter(args, info, metric)
    best = train(config, args.config, eval_callbacks=[reporter])
    if not info.is_main:
        return 0
    if reporter.status == "pruned":
        write_result(args.result, status="pruned", message=reporter.message, best=best)
        return 0
    if reporter.status == "failed":
        write_result(args.result, status="failed", error=reporter.message, best=best)
        return 1
    value = best.get(metric)
    if value is None:
        write_result(args.result, status="failed", best=best,
                     error=f"no evaluation gave '{metric}' (metrics: {sorted(best)}); lower "
                           "Global.eval_batch_step so evaluation runs, or pass --metric")
        return 1
    write_result(args.result, status="complete", value=float(value), best=best)
    return 0


if __name__ == "__main__":
    sys.exit(main())
