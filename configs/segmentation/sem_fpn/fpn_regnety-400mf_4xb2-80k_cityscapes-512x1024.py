# Semantic FPN, Cityscapes 512x1024, 80k iterations, RegNetY-400MF (the RegNet of
# ReXNet-1.0's cost). pycls weights take BGR input with pycls statistics.
_base_ = './fpn_rexnet-1.0_4xb2-80k_cityscapes-512x1024.py'

model = dict(
    data_preprocessor=dict(
        mean=[103.53, 116.28, 123.675], std=[57.375, 57.12, 58.395], bgr_to_rgb=False),
    backbone=dict(
        _delete_=True,
        type='PyclsRegNet',
        arch='regnety_400mf',
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained', checkpoint='rexnet_mm://regnety-400mf')),
    neck=dict(in_channels=[48, 104, 208, 440]))
