# Semantic FPN, ADE20K 512x512, 160k iterations, RegNetY-1.6GF backbone (pycls
# ImageNet weights). pycls weights were trained on BGR input with pycls' statistics,
# so the preprocessor keeps BGR (docs/checkpoints.md).
# ImageNet weights: rexnet_mm://regnety-1.6gf (docs/checkpoints.md).
_base_ = './fpn_rexnet-1.0_4xb4-160k_ade20k-512x512.py'

model = dict(
    data_preprocessor=dict(
        mean=[103.53, 116.28, 123.675], std=[57.375, 57.12, 58.395], bgr_to_rgb=False),
    backbone=dict(
        _delete_=True,
        type='PyclsRegNet',
        arch='regnety_1.6gf',
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained', checkpoint='rexnet_mm://regnety-1.6gf')),
    neck=dict(in_channels=[48, 120, 336, 888]))
