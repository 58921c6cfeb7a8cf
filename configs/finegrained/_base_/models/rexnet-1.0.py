# ReXNet-1.0 ImageNet classifier body + a fresh linear classifier for transfer.
# The backbone starts from the zoo's ImageNet weights (rexnet_mm://rexnet-1.0,
# fetched and converted on first use; a local file in any layout the converters
# accept works too); the classifier is not loaded and starts from init_cfg below. head.num_classes is set per dataset.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ReXNet', widen_factor=1.0, arch='v1', out_indices=(6, ),
        init_cfg=dict(type='Pretrained',
                      checkpoint='rexnet_mm://rexnet-1.0')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1280,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1,
                  mode='original'),
        topk=(1, 5),
        init_cfg=dict(type='Normal', layer='Linear', std=0.01)),
)
# The released ReXNet weights were trained on RGB images with the ImageNet
# statistics (timm / torchvision preprocessing).
data_preprocessor = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)
