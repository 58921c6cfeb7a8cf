# DeepLabV3+, cityscapes-512x1024, ReXNet-1.0 at output stride 8.
# Inherits mmseg's MobileNetV2 DeepLabV3+ recipe and swaps only the backbone: ReXNet-1.0
# with output_stride=8 read like MobileNetV2's (1, 2, 4, 6): stages 1 (38 ch, stride 4:
# the decoder's low-level input), 2, 4 (128 ch: the auxiliary head) and 5 (185 ch: ASPP),
# where MobileNetV2 gives 24, 32, 96, 320.
#
# ImageNet weights: rexnet_mm://rexnet-1.0 (docs/checkpoints.md; train from
# scratch with --cfg-options model.backbone.init_cfg=None).
_base_ = 'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3plus_4xb2-80k_cityscapes-512x1024.py'

custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)

model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='ReXNet',
        widen_factor=1.0,
        output_stride=8,
        out_indices=(1, 2, 4, 5),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained', checkpoint='rexnet_mm://rexnet-1.0')),
    decode_head=dict(in_channels=185, c1_in_channels=38),
    auxiliary_head=dict(in_channels=128))
