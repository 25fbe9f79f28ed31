"""Backbones; importing this package registers them in BACKBONES (rec) and DET_BACKBONES (det)."""
from ppexp.modeling.backbones.det_mobilenet_v3 import MobileNetV3 as DetMobileNetV3
from ppexp.modeling.backbones.det_resnet_vd import ResNetVd
from ppexp.modeling.backbones.rec_mobilenet_v3 import MobileNetV3
from ppexp.modeling.backbones.rec_resnet_vd import ResNet

__all__ = ["DetMobileNetV3", "MobileNetV3", "ResNet", "ResNetVd"]
