# RegNetY-1.6GF (pycls parameterisation, rexnet_mm's PyclsRegNet) + a fresh
# linear classifier. The backbone starts from the zoo's rexnet_mm://regnety-1.6gf
# (the pycls weights; a local file in any layout the converters accept works too);
# the classifier is not loaded.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='PyclsRegNet', arch='regnety_1.6gf', out_indices=(3, ),
        init_cfg=dict(type='Pretrained',
                      checkpoint='rexnet_mm://regnety-1.6gf')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=888,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1,
                  mode='original'),
        topk=(1, 5),
        init_cfg=dict(type='Normal', layer='Linear', std=0.01)),
)
# pycls weights expect BGR input with these statistics (the converters flip the
# stem of timm's RGB copies, so this holds for every layout).
data_preprocessor = dict(
    mean=[103.53, 116.28, 123.675],
    std=[57.375, 57.12, 58.395],
    to_rgb=False,
)
