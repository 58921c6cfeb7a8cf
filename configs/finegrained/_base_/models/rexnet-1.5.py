# ReXNet-1.5 ImageNet classifier body + a fresh linear classifier for transfer:
# the ReXNet-1.0 model file at width 1.5 (head conv 1920 channels). The backbone
# loads the authors' rexnetv1_1.5x.pth, timm's rexnet_150 or a rexnet_mm file.
_base_ = './rexnet-1.0.py'

model = dict(
    backbone=dict(widen_factor=1.5,
                  init_cfg=dict(checkpoint='checkpoints/rexnetv1_1.5x.pth')),
    head=dict(in_channels=1920))
