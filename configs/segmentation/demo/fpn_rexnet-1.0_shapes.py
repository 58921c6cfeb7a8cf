# Segmentation demo (tools/demo_seg.sh): configs/segmentation/sem_fpn/
# fpn_rexnet-1.0_4xb4-160k_ade20k-512x512.py (Semantic FPN on ReXNet-1.0, unchanged
# model) on the embedded shapes segmentation data, sized for a 2-core CPU. Changed, and
# only these:
#   * data: the shapes (5 classes with background, 255 ignored where shapes touch),
#     images used whole (no resize or crop), horizontal flips;
#   * size: the generated images' size instead of 512x512 crops;
#   * schedule: a few hundred iterations of AdamW with a cosine decay instead of 160k of
#     SGD; the backbone starts from scratch (no ImageNet weights on the demo machine);
#   * BN instead of SyncBN: the demo trains in one process.
# (Semantic FPN is the lightest of the shipped heads at this size: LRASPP's 49x49 image
# pooling needs >= 392 px inputs, DeepLabV3+ at output stride 8 costs 2.4x FPN's time.)
#
#   python -m rexnet_mm.synthetic.shapes_seg --out data/shapes_seg
#   python tools/train.py configs/segmentation/demo/fpn_rexnet-1.0_shapes.py
_base_ = '../sem_fpn/fpn_rexnet-1.0_4xb4-160k_ade20k-512x512.py'

data_root = 'data/shapes_seg/'
metainfo = dict(
    classes=('background', 'circle', 'square', 'triangle', 'cross'),
    palette=[[0, 0, 0], [220, 20, 60], [0, 130, 200], [60, 180, 75], [245, 130, 48]])
crop_size = (96, 96)
norm_cfg = dict(type='BN', requires_grad=True)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(norm_cfg=norm_cfg, init_cfg=None),
    decode_head=dict(num_classes=5, norm_cfg=norm_cfg))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
dataset = dict(
    type='BaseSegDataset',
    data_root=data_root,
    metainfo=metainfo,
    img_suffix='.jpg',
    seg_map_suffix='.png',
    reduce_zero_label=False)
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline,
        **dataset))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline,
        **dataset))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

max_iters = 800
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.002, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', begin=0, T_max=max_iters, end=max_iters,
         by_epoch=False, eta_min=0)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)
