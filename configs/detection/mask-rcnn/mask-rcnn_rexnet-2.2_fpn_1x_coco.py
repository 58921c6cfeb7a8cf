# Mask R-CNN + FPN, 1x COCO, ReXNet-2.2 (taps 85, 134, 283, 406 channels).
# Same recipe as the ReXNet-1.0 config. Paper: 42.0 box / 37.8 mask AP.
# ImageNet weights: rexnet_mm://rexnet-2.2 (docs/checkpoints.md).
_base_ = './mask-rcnn_rexnet-1.0_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        widen_factor=2.2,
        init_cfg=dict(checkpoint='rexnet_mm://rexnet-2.2')),
    neck=dict(in_channels=[85, 134, 283, 406]))
