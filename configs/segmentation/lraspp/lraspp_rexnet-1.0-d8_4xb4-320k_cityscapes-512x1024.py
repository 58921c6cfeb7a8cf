# LRASPP, Cityscapes 512x1024, 320k iterations, ReXNet-1.0 at output stride 8.
# Inherits mmseg's MobileNetV3-large LRASPP recipe and swaps only the backbone: ReXNet-1.0
# with its stride-16 and -32 stages dilated (output_stride=8, as timm's RexNet does),
# read at strides 2, 4 and 8 like MobileNetV3's (1, 3, 16) outputs: stage 0 (16 ch),
# stage 1 (38 ch) and the 1280-channel head conv, where MobileNetV3 gives 16, 24, 960.
# ReXNet's ImageNet weights take RGB with ImageNet mean/std: the base preprocessor.
#
# ImageNet weights: rexnet_mm://rexnet-1.0 (docs/checkpoints.md; train from
# scratch with --cfg-options model.backbone.init_cfg=None).
_base_ = 'mmseg::mobilenet_v3/mobilenet-v3-d8_lraspp_4xb4-320k_cityscapes-512x1024.py'

custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)

model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='ReXNet',
        widen_factor=1.0,
        output_stride=8,
        out_indices=(0, 1, 6),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained', checkpoint='rexnet_mm://rexnet-1.0')),
    decode_head=dict(in_channels=(16, 38, 1280)))
