# Mask R-CNN + FPN, 1x COCO schedule, ReXNet-1.0 backbone (ImageNet init).
# Inherits mmdet's R-50 config and swaps the backbone: FPN reads the stride
# 4/8/16/32 block outputs (stages 1, 2, 4, 5: 38, 61, 128, 185 channels). Like mmdet's
# ResNet recipe, BN statistics are frozen (norm_eval) and the stem plus the
# stages up to stride 4 (frozen_stages=2) are not trained. ReXNet's ImageNet
# weights take RGB input with ImageNet mean/std: mmdet's default preprocessor.
# Paper (ReXNet, COCO val2017): 38.9 box / 35.4 mask AP.
#
# ImageNet weights: rexnet_mm://rexnet-1.0 (docs/checkpoints.md;
# train from scratch with --cfg-options model.backbone.init_cfg=None).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='ReXNet',
        widen_factor=1.0,
        out_indices=(1, 2, 4, 5),
        frozen_stages=2,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        init_cfg=dict(
            type='Pretrained', checkpoint='rexnet_mm://rexnet-1.0')),
    neck=dict(in_channels=[38, 61, 128, 185]))
