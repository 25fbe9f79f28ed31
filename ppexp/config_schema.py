"""Known config keys and their types, for typo warnings and type errors.

Types: 'int', 'number', 'bool', 'str', 'list', 'dict', joined with '|'.
Train/Eval keys are flattened as ``dataset.x`` / ``loader.x``; Optimizer's
``lr.x`` and ``regularizer.x`` likewise. Includes every key of upstream's
configs (so they load without warnings) plus ppexp's own.
"""

GLOBAL = {
    # upstream
    "use_gpu": "bool", "use_xpu": "bool", "use_npu": "bool", "use_mlu": "bool", "use_gcu": "bool",
    "epoch_num": "int", "log_smooth_window": "int", "print_batch_step": "int",
    "save_model_dir": "str", "save_epoch_step": "int", "eval_batch_step": "int|list",
    "cal_metric_during_train": "bool", "pretrained_model": "str", "checkpoints": "str",
    "save_inference_dir": "str", "use_visualdl": "bool", "use_wandb": "bool", "use_tensorboard": "bool",
    "infer_img": "str", "character_dict_path": "str", "character_type": "str",
    "max_text_length": "int", "infer_mode": "bool", "use_space_char": "bool",
    "save_res_path": "str", "distributed": "bool", "seed": "int",
    "use_amp": "bool", "amp_level": "str", "amp_dtype": "str", "scale_loss": "number",
    "use_dynamic_loss_scaling": "bool", "amp_custom_black_list": "list", "amp_custom_white_list": "list",
    "d2s_train_image_shape": "list", "uniform_output_enabled": "bool", "model_name": "str",
    "use_sync_bn": "bool", "find_unused_parameters": "bool", "eval_with_loss": "bool",
    # ppexp
    "cpu_threads": "int|str", "data_parallel": "int|str|bool", "early_stopping": "dict", "ema": "dict",
    "accumulate_steps": "int", "nan_policy": "str", "progress_bar": "bool", "max_sample_retries": "int",
    "nan_max_consecutive": "int", "load_unverified_checkpoint": "bool",
}

ARCHITECTURE = {
    "model_type": "str", "algorithm": "str", "Transform": "dict", "Backbone": "dict",
    "Neck": "dict", "Head": "dict", "in_channels": "int",
}

OPTIMIZER = {
    "name": "str", "beta1": "number", "beta2": "number", "epsilon": "number", "momentum": "number",
    "rho": "number", "weight_decay": "number", "clip_norm": "number", "clip_norm_global": "number",
    "no_weight_decay_name": "str", "one_dim_param_no_weight_decay": "bool", "group_lr": "bool",
    "param_groups": "list", "lr": "dict", "regularizer": "dict", "use_lazy": "bool",
    "lr.name": "str", "lr.learning_rate": "number", "lr.warmup_epoch": "number", "lr.warmup_steps": "int",
    "lr.start_lr": "number", "lr.min_lr": "number", "lr.end_lr": "number", "lr.power": "number",
    "lr.max_lr": "number", "lr.step_size": "int", "lr.gamma": "number", "lr.decay_epochs": "list",
    "lr.values": "list", "lr.milestones": "list", "lr.cycle": "int", "lr.T_max": "int",
    "lr.last_epoch": "int", "lr.three_phase": "bool", "lr.anneal_strategy": "str",
    "lr.divide_factor": "number", "lr.end_learning_rate": "number", "lr.phase_pct": "number",
    "regularizer.name": "str", "regularizer.factor": "number",
}

LOADER = {
    "loader.shuffle": "bool", "loader.batch_size_per_card": "int", "loader.drop_last": "bool",
    "loader.num_workers": "int", "loader.use_shared_memory": "bool", "loader.collate_fn": "str",
}

DATASET = {
    "dataset.name": "str", "dataset.data_dir": "str|list", "dataset.label_file_list": "list|str",
    "dataset.ratio_list": "list|number", "dataset.delimiter": "str", "dataset.transforms": "list",
    "dataset.shuffle": "bool", "dataset.seed": "int", "dataset.ext_op_transform_idx": "int",
    "dataset.ds_width": "bool", "dataset.max_sample_retries": "int", "dataset.resolution_schedule": "list",
    "sampler": "dict",
}

SCHEMA = {
    "Global": GLOBAL,
    "Architecture": ARCHITECTURE,
    "Optimizer": OPTIMIZER,
    "Loss": {"name": "str", "use_focal_loss": "bool",
             # DBLoss (det)
             "balance_loss": "bool", "main_loss_type": "str", "alpha": "number", "beta": "number",
             "ohem_ratio": "number", "eps": "number"},
    "PostProcess": {"name": "str", "character_dict_path": "str", "use_space_char": "bool",
                    # DBPostProcess (det)
                    "thresh": "number", "box_thresh": "number", "max_candidates": "int", "unclip_ratio": "number",
                    "use_dilation": "bool", "score_mode": "str", "box_type": "str"},
    "Metric": {"name": "str", "main_indicator": "str", "is_filter": "bool", "ignore_space": "bool"},
    "Train": {**DATASET, **LOADER},
    "Eval": {**DATASET, **LOADER},
}

SECTION_KEYS = list(SCHEMA)
