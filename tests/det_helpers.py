"""Generated detection data for the det tests: dark images with light text-like boxes."""
import json
import os

import cv2
import numpy as np

TRAIN_TRANSFORMS = [
    {"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
    {"DetLabelEncode": None},
    {"IaaAugment": {"augmenter_args": [{"type": "Fliplr", "args": {"p": 0.5}},
                                       {"type": "Affine", "args": {"rotate": [-10, 10]}},
                                       {"type": "Resize", "args": {"size": [0.5, 3]}}]}},
    {"EastRandomCropData": {"size": [160, 160], "max_tries": 50, "keep_ratio": True}},
    {"MakeBorderMap": {"shrink_ratio": 0.4, "thresh_min": 0.3, "thresh_max": 0.7}},
    {"MakeShrinkMap": {"shrink_ratio": 0.4, "min_text_size": 8}},
    {"NormalizeImage": {"scale": "1./255.", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                        "order": "hwc"}},
    {"ToCHWImage": None},
    {"KeepKeys": {"keep_keys": ["image", "threshold_map", "threshold_mask", "shrink_map", "shrink_mask"]}},
]


def eval_transforms(resize):
    return [
        {"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
        {"DetLabelEncode": None},
        {"DetResizeForTest": resize},
        {"NormalizeImage": {"scale": "1./255.", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                            "order": "hwc"}},
        {"ToCHWImage": None},
        {"KeepKeys": {"keep_keys": ["image", "shape", "polys", "ignore_tags"]}},
    ]


def make_det_set(root, n, seed=0, sizes=((120, 200), (160, 160), (96, 256))):
    """``n`` images (cycling through ``sizes`` h x w) with 2-3 filled boxes each (the last one
    '###' in every third image); writes root/label.txt in upstream's det format. Returns its path."""
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(root, "img"), exist_ok=True)
    lines = []
    for i in range(n):
        h, w = sizes[i % len(sizes)]
        img = np.full((h, w, 3), 30, np.uint8)
        boxes, y = [], 8
        for k in range(int(rng.integers(2, 4))):
            bh, bw = int(rng.integers(14, 24)), int(rng.integers(w // 4, w // 2))
            x = int(rng.integers(4, w - bw - 4))
            if y + bh > h - 4:
                break
            cv2.rectangle(img, (x, y), (x + bw, y + bh), (220, 220, 220), -1)
            text = "###" if (i % 3 == 2 and k == 1) else f"T{i}{k}"
            boxes.append({"transcription": text, "points": [[x, y], [x + bw, y], [x + bw, y + bh], [x, y + bh]]})
            y += bh + int(rng.integers(10, 20))
        rel = f"img/{i}.png"
        cv2.imwrite(os.path.join(root, rel), img)
        lines.append(f"{rel}\t{json.dumps(boxes)}")
    path = os.path.join(root, "label.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def det_config(root, label, train=TRAIN_TRANSFORMS, resize=None, eval_batch=2):
    ds = {"name": "SimpleDataSet", "data_dir": str(root), "label_file_list": [label]}
    return {
        "Global": {"seed": 7},
        "Train": {"dataset": dict(ds, transforms=train), "loader": {"batch_size_per_card": 2, "num_workers": 0}},
        "Eval": {"dataset": dict(ds, transforms=eval_transforms(resize or {"limit_side_len": 256, "limit_type": "max"})),
                 "loader": {"batch_size_per_card": eval_batch, "shuffle": False, "num_workers": 0}},
    }


def tiny_det_overrides(root, out_dir, crop=96, side=160):
    """-o overrides: configs/det/det_plates_demo.yml shrunk to a seconds-long run on ``root``."""
    return [f"Global.save_model_dir={out_dir}", "Global.pretrained_model=null", "Global.epoch_num=1",
            "Global.eval_batch_step=[0,2]",
            "Global.print_batch_step=1", "Architecture.Backbone.model_name=small", "Architecture.Backbone.scale=0.35",
            "Architecture.Neck.out_channels=16", f"Train.dataset.data_dir={root}",
            f"Train.dataset.label_file_list=[{root}/train.txt]", f"Eval.dataset.data_dir={root}",
            f"Eval.dataset.label_file_list=[{root}/val.txt]", "Train.loader.num_workers=0",
            "Eval.loader.num_workers=0", "Train.loader.batch_size_per_card=3",
            f"Train.dataset.transforms.3.EastRandomCropData.size=[{crop},{crop}]",
            f"Eval.dataset.transforms.2.DetResizeForTest={{limit_side_len: {side}, limit_type: max}}"]
