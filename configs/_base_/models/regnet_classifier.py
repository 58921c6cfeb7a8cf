# RegNet ImageNet classifier (pycls head: global average pooling + linear), built from
# rexnet_mm's PyclsRegNet backbone with mmpretrain's ImageClassifier. Its state dict
# (backbone.*, head.fc.*) is the layout every rexnet_mm RegNet converter writes, so a
# converted pycls / timm / mmdet / mmpretrain checkpoint loads into it unchanged.
#
# Another size: set backbone.arch (regnetx_200mf ... regnety_32gf) and head.in_channels
# to the arch's last stage width (PyclsRegNet(arch).stage_widths[-1], e.g. 384 for
# regnetx_400mf, 888 for regnety_1.6gf, 1512 for regnety_3.2gf).
#
# Channel order: BGR input with pycls' statistics, for every converted checkpoint
# (timm's RGB copies get their stem flipped by the converter).
custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=1000,
        mean=[103.53, 116.28, 123.675],
        std=[57.375, 57.12, 58.395],
        to_rgb=False),
    backbone=dict(type='PyclsRegNet', arch='regnetx_400mf', out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=384,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
