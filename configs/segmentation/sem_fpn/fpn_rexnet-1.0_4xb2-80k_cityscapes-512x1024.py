# Semantic FPN, Cityscapes 512x1024, 80k iterations, ReXNet-1.0 backbone (ImageNet init).
# Inherits mmseg's sem_fpn/fpn_r50_4xb2-80k_cityscapes-512x1024.py and swaps only the
# backbone: FPN reads the stride 4/8/16/32 stages (38, 61, 128, 185 channels).
#
# ImageNet weights: rexnet_mm://rexnet-1.0 (docs/checkpoints.md; train from
# scratch with --cfg-options model.backbone.init_cfg=None).
_base_ = 'mmseg::sem_fpn/fpn_r50_4xb2-80k_cityscapes-512x1024.py'

custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)

model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='ReXNet',
        widen_factor=1.0,
        out_indices=(1, 2, 4, 5),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained', checkpoint='rexnet_mm://rexnet-1.0')),
    neck=dict(in_channels=[38, 61, 128, 185]))
