# SSDLite with a ReXNet-1.0 backbone on COCO at 320x320.
#
# Mirrors mmdet's SSDLite-MobileNetV2 recipe (depthwise SSD neck and head, ReLU6,
# BN(eps=1e-3, momentum=0.03) in neck/head, SSDAnchorGenerator with strides
# 16..320, SGD lr 0.015 wd 4e-5, cosine, 120 epochs x RepeatDataset(5), 8x24
# images) and changes only what differs:
#   * backbone: ReXNet-1.0 tapped at stride 16 (layer5, 128 ch, out_indices 4)
#     and at stride 32 on the 1280-ch head conv (conv2, out_indices 6), where
#     MobileNetV2 gives 96 and 1280 channels;
#   * neck/head channels follow the taps: (128, 1280, 512, 256, 256, 128);
#   * the backbone starts from ImageNet weights (mmdet's baseline trains from
#     scratch). Its BN keeps eps=1e-5, the value the ImageNet weights were
#     trained with;
#   * nchw_outputs=False: the backbone's channels-last (NHWC) outputs go on as
#     they are, so that the SSD neck and head (plain PyTorch ops) run channels-last
#     on the CPU too (faster; same values; docs/deploy.md "Speed").
#
# ImageNet weights are expected at rexnet_mm://rexnet-1.0; see
# docs/checkpoints.md to convert the released ones, or train from scratch with
#   --cfg-options model.backbone.init_cfg=None
_base_ = 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'

custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='ReXNet',
        widen_factor=1.0,
        out_indices=(4, 6),
        norm_cfg=dict(type='BN', momentum=0.03),
        nchw_outputs=False,
        init_cfg=dict(
            type='Pretrained', checkpoint='rexnet_mm://rexnet-1.0')),
    neck=dict(
        in_channels=(128, 1280),
        out_channels=(128, 1280, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=(128, 1280, 512, 256, 256, 128)))
