# LRASPP, Cityscapes 512x1024, 320k iterations, RegNetY-400MF at output stride 8 (the
# RegNet of ReXNet-1.0's cost: 0.40 vs 0.40 GFLOPs at 224x224). Stages 3-4 dilated with
# mmseg's ResNetV1c convention (strides (2, 2, 1, 1), dilations (1, 1, 2, 4),
# contract_dilation); LRASPP reads stages 0, 1 and 3 (48, 104, 440 channels at strides 4,
# 8, 8). pycls weights take BGR input with pycls statistics (docs/checkpoints.md).
_base_ = './lraspp_rexnet-1.0-d8_4xb4-320k_cityscapes-512x1024.py'

model = dict(
    data_preprocessor=dict(
        mean=[103.53, 116.28, 123.675], std=[57.375, 57.12, 58.395], bgr_to_rgb=False),
    backbone=dict(
        _delete_=True,
        type='PyclsRegNet',
        arch='regnety_400mf',
        strides=(2, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        contract_dilation=True,
        out_indices=(0, 1, 3),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained', checkpoint='rexnet_mm://regnety-400mf')),
    decode_head=dict(in_channels=(48, 104, 440)))
