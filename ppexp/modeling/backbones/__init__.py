"""Backbones; importing this package registers them in BACKBONES."""
from ppexp.modeling.backbones.rec_mobilenet_v3 import MobileNetV3
from ppexp.modeling.backbones.rec_resnet_vd import ResNet

__all__ = ["MobileNetV3", "ResNet"]
