"""`ppexp reset` (start an experiment clean, safely and reversibly) and `ppexp doctor`.

Modules: ``safety`` (Guard: the only paths reset may touch), ``outputs`` (what in
save_model_dir is a previous run's output), ``canonical`` (label files in canonical
form, regeneration from a manifest), ``config_edit`` (reset copy of the config),
``plan`` (collect every action with its reason), ``archive`` (execute a plan, write
the manifest, ``--restore``), ``env_info`` (env.json: write, compare) and ``doctor``
(environment and config checks).
"""
from ppexp.experiments.reset.archive import execute_plan, restore_archive
from ppexp.engine.env_info import collect_env, compare_env, write_env_json
from ppexp.experiments.reset.plan import ResetOptions, build_plan
from ppexp.experiments.reset.safety import Guard, SafetyError

__all__ = ["build_plan", "ResetOptions", "execute_plan", "restore_archive", "Guard", "SafetyError",
           "collect_env", "compare_env", "write_env_json"]
