# ReXNet-lite-1.0 ImageNet-1k classifier (76.2 top-1 with the released weights).
# Lite's classifier is two layers: fc 1280->1024, BN, ReLU6, dropout 0.2, fc
# 1024->1000 (keys head.layers.0.{fc,norm}.*, head.layers.1.fc.*).
# Evaluate converted weights with
#   python tools/convert_checkpoint.py <the authors' lite-1.0 file> rexnet-lite-1.0_in1k.pth
#   python tools/test.py configs/classification/rexnet-lite-1.0_4xb128_in1k.py \
#       rexnet-lite-1.0_in1k.pth
_base_ = ['./_base_/imagenet_rexnet.py']

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ReXNet', widen_factor=1.0, arch='lite',
                  out_indices=(6, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='StackedLinearClsHead',
        num_classes=1000,
        in_channels=1280,
        mid_channels=[1024],
        dropout_rate=0.2,
        norm_cfg=dict(type='BN1d'),
        act_cfg=dict(type='ReLU6'),
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5),
    ),
)
