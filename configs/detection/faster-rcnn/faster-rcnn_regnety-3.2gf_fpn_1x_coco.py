# Faster R-CNN + FPN, 1x COCO, RegNetY-3.2GF (X-3.2GF's cost, with SE):
# stage widths 72, 216, 576, 1512. Same recipe as the RegNetX-3.2GF config.
# ImageNet weights: rexnet_mm://regnety-3.2gf (docs/checkpoints.md).
_base_ = './faster-rcnn_regnetx-3.2gf_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        arch='regnety_3.2gf',
        init_cfg=dict(checkpoint='rexnet_mm://regnety-3.2gf')),
    neck=dict(in_channels=[72, 216, 576, 1512]))
