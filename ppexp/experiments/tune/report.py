"""``ppexp tune --report STUDY``: best trials, parameter importances, plots, the best config.

Writes into <study dir>/report/ (or --out/report/): report.md, history.png, importance.png,
parallel.png, intermediate.png (matplotlib) and report.png (all four), the same as .html when plotly is installed, and
best_config.yml ready for ``ppexp train -c``.
"""
import os
import warnings

from ppexp.config import ConfigError, dump_config, load_config, merge_overrides
from ppexp.config_defaults import SAVE_MODEL_DIR
from ppexp.experiments.tune.study import TuneError, import_optuna, open_storage, open_study, redact, state_counts
from ppexp.experiments.tune.tuner import study_paths

PLOTS = {  # file stem -> optuna.visualization function name
    "history": "plot_optimization_history",
    "importance": "plot_param_importances",
    "parallel": "plot_parallel_coordinate",
    "intermediate": "plot_intermediate_values",
}


def write_report(name, storage=None, out=None, metric=None, top=10, echo=print):
    optuna = import_optuna()
    study_dir, url = study_paths(name, out, storage)
    if url.startswith("sqlite:///") and not os.path.isfile(url[len("sqlite:///"):]):
        raise TuneError(f"no study database at {url[len('sqlite:///'):]}; pass the study's --storage URL, or "
                        "--out DIR when it was tuned with --out")
    study = open_study(open_storage(url, heartbeat=False), name, create=False)
    metric = metric or study.user_attrs.get("metric", "value")
    report_dir = os.path.join(study_dir, "report")
    os.makedirs(report_dir, exist_ok=True)
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    lines = [f"# Study {name}", "", f"storage {redact(url)}; {len(trials)} trials: {state_counts(trials)}", ""]
    lines += _best_table(study, complete, metric, top)
    importances = _importances(study, complete)
    if importances:
        lines += ["", "## Parameter importances (Optuna's default evaluator)", ""]
        lines += [f"- `{k}`: {v:.3f}" for k, v in importances.items()]
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    if failed:
        lines += ["", "## Failed trials", ""]
        lines += [f"- trial {t.number}: {t.user_attrs.get('fail_reason', 'worker lost (no heartbeat)')}"
                  for t in failed]
    written = _plots(study, report_dir, len(complete))
    lines += ["", "## Plots", ""] + [f"![{stem}]({os.path.basename(path)})" for stem, path in written
                                     if path.endswith(".png")]
    if complete:
        best_cfg = _best_config(study, study.best_trial, report_dir)
        if best_cfg:
            lines += ["", f"Best config: `{best_cfg}`  ->  `ppexp train -c {best_cfg}`"]
    dirs = [t.user_attrs["trial_dir"] for t in complete[:top] if os.path.isdir(t.user_attrs.get("trial_dir", ""))]
    if dirs:
        lines += ["", "Compare the runs: `ppexp compare " + " ".join(_short_path(d) for d in dirs[:4]) + "`"]
    path = os.path.join(report_dir, "report.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    echo("\n".join(lines[2:]))
    echo(f"\nreport written to {path}")
    return path


def _short_path(path):
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _best_table(study, complete, metric, top):
    if not complete:
        return ["No trial completed."]
    ranked = sorted(complete, key=lambda t: t.value, reverse=study.direction.name == "MAXIMIZE")[:top]
    keys = list(dict.fromkeys(k for t in ranked for k in t.params))
    head = ["trial", metric, "seconds"] + [k.split(".")[-1] for k in keys]
    rows = [[str(t.number), f"{t.value:.4f}", f"{t.user_attrs.get('seconds', 0):.1f}"]
            + [_cell(t.params.get(k, "")) for k in keys] for t in ranked]
    out = [f"## Best {len(ranked)} trials", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def _cell(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _importances(study, complete):
    if len(complete) < 2:
        return {}
    optuna = import_optuna()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "some regimes have < 2 trials": expected in small studies
            return optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError) as err:  # e.g. a single distinct value per parameter
        warnings.warn(f"parameter importances not computed: {err}")
        return {}


def _plots(study, report_dir, n_complete):
    """PNG with matplotlib (always), HTML with plotly (when installed). Returns [(stem, path)]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as mpl_vis

    written = []
    for stem, func in PLOTS.items():
        if n_complete < 2 and stem in ("importance", "parallel"):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                axes = getattr(mpl_vis, func)(study)
            fig = (axes.flat[0] if hasattr(axes, "flat") else axes).figure
            fig.set_size_inches(7, 4)
            fig.tight_layout()
            path = os.path.join(report_dir, f"{stem}.png")
            fig.savefig(path, dpi=72)
            plt.close(fig)
            written.append((stem, path))
        except (ValueError, RuntimeError, ImportError) as err:
            warnings.warn(f"{stem} plot skipped: {err}")
    if len(written) > 1:
        written.append(("report", _overview(written, os.path.join(report_dir, "report.png"))))
    written += _html_plots(study, report_dir, n_complete)
    return written


def _overview(written, path):
    """The PNGs side by side in one small image (2 columns)."""
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    rows = (len(written) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(14, 4 * rows))
    for ax in axes.flat:
        ax.axis("off")
    for ax, (_, png) in zip(axes.flat, written):
        ax.imshow(mpimg.imread(png))
    fig.tight_layout(pad=0.2)
    fig.savefig(path, dpi=60)
    plt.close(fig)
    return path


def _html_plots(study, report_dir, n_complete):
    try:
        import plotly  # noqa: F401
    except ImportError:
        return []
    from optuna import visualization

    written = []
    for stem, func in PLOTS.items():
        if n_complete < 2 and stem in ("importance", "parallel"):
            continue
        path = os.path.join(report_dir, f"{stem}.html")
        try:
            getattr(visualization, func)(study).write_html(path)
            written.append((stem, path))
        except (ValueError, RuntimeError) as err:
            warnings.warn(f"{stem}.html skipped: {err}")
    return written


def _best_config(study, trial, report_dir):
    """The best trial's config.yml (or the study's base config + its overrides) for ``ppexp train``."""
    run_cfg = os.path.join(trial.user_attrs.get("trial_dir", ""), "config.yml")
    try:
        if os.path.isfile(run_cfg):
            config = load_config(run_cfg)
        else:  # the trial ran on another machine: rebuild it from the base config
            config = merge_overrides(load_config(study.user_attrs["config"]),
                                     list(study.user_attrs.get("overrides", [])) + trial.user_attrs["overrides"])
    except (ConfigError, KeyError) as err:
        warnings.warn(f"best config not written: {err}")
        return None
    config["Global"]["save_model_dir"] = os.path.join(SAVE_MODEL_DIR, f"{study.study_name}_best/")
    config["Global"]["checkpoints"] = None
    path = os.path.join(report_dir, "best_config.yml")
    dump_config(config, path)
    return path
