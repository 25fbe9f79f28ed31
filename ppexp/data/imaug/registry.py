"""Registry of data transforms (the ``transforms:`` lists of Train/Eval).

What other code needs to know about a transform, it declares as a class attribute (absent = False),
read with :func:`declares`; nothing matches transform class names:

- ``label_encoder``: turns ``data['label']`` into training targets;
- ``train_only``: needs a label or other training samples, so inference leaves it out;
- ``text_label_encoder``: checks labels against ``charset`` / ``max_text_len`` (the dataset pre-validates with it);
- ``whole_line_label``: the label is everything after the first delimiter (JSON det labels);
- ``carries_input_shape``: its ``image_shape`` [C, H, W] is the model's input shape;
- ``prepares_model_input``: turns the augmented image into the model's input (resize, normalise, layout);
- ``ppexp_only_export``: an image step PaddleX has no op for; ``ppexp export`` writes it under inference.yml's
  ``ppexp_preprocess`` key (run by ``ppexp predict/eval --model_dir``, not by PaddleOCR 3);
- ``scheduled_size``: its ``size`` (w, h) is the training crop Train.dataset.resolution_schedule changes by epoch.
"""
from ppexp.utils.registry import Registry

TRANSFORMS = Registry("transform")


def declares(op, attribute):
    """Whether a transform (instance or class) declares ``attribute``."""
    return bool(getattr(op, attribute, False))


def class_declares(name, attribute):
    """Whether the transform named ``name`` in a config declares ``attribute``. For an upstream
    transform ppexp does not build, upstream's naming tells the one fact known without the class:
    its ``*LabelEncode`` ops are label encoders (and so train-only)."""
    if name in TRANSFORMS:
        return declares(TRANSFORMS.get(name), attribute)
    return attribute in ("label_encoder", "train_only") and str(name).endswith("LabelEncode")
