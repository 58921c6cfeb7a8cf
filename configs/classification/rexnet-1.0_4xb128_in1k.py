# ReXNet-1.0 ImageNet-1k classifier (77.9 top-1 with the released weights).
# Evaluate converted weights (any layout: authors' rexnetv1_1.0x.pth, timm's
# rexnet_100, rexnet_mm) with
#   python tools/convert_checkpoint.py rexnetv1_1.0x.pth rexnet-1.0_in1k.pth
#   python tools/test.py configs/classification/rexnet-1.0_4xb128_in1k.py \
#       rexnet-1.0_in1k.pth
# The classifier's keys are backbone.* + head.fc.* (rexnet_mm.weights).
_base_ = ['./_base_/imagenet_rexnet.py']

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ReXNet', widen_factor=1.0, arch='v1', out_indices=(6, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1280,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5),
    ),
)
