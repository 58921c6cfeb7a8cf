# Mask R-CNN + FPN, 1x COCO, RegNetX-3.2GF (rexnet_mm's pycls-exact RegNet,
# registered in mmdet as PyclsRegNet; mmdet's own `RegNet` is left alone).
# Mirrors mmdet's regnet/mask-rcnn_regnetx-3.2GF_fpn_1x_coco.py: BGR input
# with pycls statistics, frozen stem + stage 1, frozen BN statistics, weight
# decay 5e-5. mmdet reports 40.3 box / 36.6 mask AP for this recipe.
#
# ImageNet weights: rexnet_mm://regnetx-3.2gf (converted from the
# pycls model zoo, docs/checkpoints.md; or --cfg-options model.backbone.init_cfg=None).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)

model = dict(
    data_preprocessor=dict(
        mean=[103.53, 116.28, 123.675],
        std=[57.375, 57.12, 58.395],
        bgr_to_rgb=False),
    backbone=dict(
        _delete_=True,
        type='PyclsRegNet',
        arch='regnetx_3.2gf',
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        init_cfg=dict(
            type='Pretrained', checkpoint='rexnet_mm://regnetx-3.2gf')),
    neck=dict(in_channels=[96, 192, 432, 1008]))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.00005))
