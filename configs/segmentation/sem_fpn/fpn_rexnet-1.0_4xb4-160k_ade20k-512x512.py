# Semantic FPN, ADE20K 512x512, 160k iterations, ReXNet-1.0 backbone (ImageNet init).
# Inherits mmseg's sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py and swaps only the
# backbone: FPN reads the stride 4/8/16/32 taps (38, 61, 128, 185 channels).
# mmseg's R-50 FPN reaches 37.49 mIoU with this recipe; MobileNetV2 DeepLabV3+ 34.02.
# ReXNet's ImageNet weights take RGB input with ImageNet mean/std, which is the
# base config's preprocessor.
#
# ImageNet weights: rexnet_mm://rexnet-1.0 (docs/checkpoints.md;
# train from scratch with --cfg-options model.backbone.init_cfg=None).
_base_ = 'mmseg::sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py'

custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='ReXNet',
        widen_factor=1.0,
        out_indices=(1, 2, 4, 5),
        norm_cfg=norm_cfg,
        init_cfg=dict(
            type='Pretrained', checkpoint='rexnet_mm://rexnet-1.0')),
    neck=dict(in_channels=[38, 61, 128, 185]))
