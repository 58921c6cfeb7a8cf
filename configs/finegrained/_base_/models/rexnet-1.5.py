# ReXNet-1.5 ImageNet classifier body + a fresh linear classifier for transfer:
# the ReXNet-1.0 model file at width 1.5 (head conv 1920 channels). The backbone
# starts from the zoo's rexnet_mm://rexnet-1.5.
_base_ = './rexnet-1.0.py'

model = dict(
    backbone=dict(widen_factor=1.5,
                  init_cfg=dict(checkpoint='rexnet_mm://rexnet-1.5')),
    head=dict(in_channels=1920))
