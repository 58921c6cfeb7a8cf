# Demo (tools/demo.sh): configs/ssdlite_rexnet.py (SSDLite + ReXNet-1.0, unchanged model)
# on the embedded shapes dataset, sized for a 2-core CPU. Changed, and why (docs/demo.md):
#   * data: shapes COCO (4 classes), 2,000 training images, resize + flip. More distinct
#     images at the same number of iterations lifted AP@0.5 the most (600 -> 1,200 images:
#     0.82 -> 0.91 at seed 1);
#   * input size: 128 instead of 320 px, the SSD anchor sizes scaled by 128/320 and their
#     strides following the 128 px feature maps;
#   * schedule: 1,000 iterations (4 epochs) of AdamW (lr 2e-3, weight decay 0.05) with a
#     60-iteration warm-up and a per-iteration cosine decay, instead of 600 epochs of SGD:
#     from scratch, SGD reached AP@0.5 0.48 in 20 epochs, AdamW 0.88 in 12;
#   * no ImageNet weights exist on the demo machine, so the backbone starts from scratch
#     (ReXNet's default Kaiming init).
#
#   python -m rexnet_mm.synthetic.shapes_coco --out data/shapes_coco_v3
#   python tools/train.py configs/detection/demo/ssdlite_rexnet_shapes.py
_base_ = '../../ssdlite_rexnet.py'

# ---------------------------------------------------------------- data
data_root = 'data/shapes_coco_v3/'
metainfo = dict(
    classes=('circle', 'square', 'triangle', 'cross'),
    palette=[(220, 20, 60), (0, 130, 200), (60, 180, 75), (245, 130, 48)])
input_size = 128

model = dict(
    backbone=dict(init_cfg=None),  # from scratch: no ImageNet weights here
    bbox_head=dict(
        num_classes=4,
        # mmdet's SSDLite anchors (sizes 48..320 for 320 px) scaled by 128/320;
        # strides of the 128 px feature maps 8, 4, 2, 1, 1, 1
        anchor_generator=dict(
            strides=[16, 32, 64, 128, 128, 128],
            min_sizes=[19, 40, 60, 81, 101, 122],
            max_sizes=[40, 60, 81, 101, 122, 128])))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=8),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

# ---------------------------------------------------------------- schedule
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=60),
    dict(type='CosineAnnealingLR', begin=0, T_max=max_epochs, end=max_epochs,
         by_epoch=True, convert_to_iter_based=True, eta_min=0)
]
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=0.002, weight_decay=0.05))
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
log_processor = dict(window_size=10)
randomness = dict(seed=0)  # reproducible on one machine; docs/demo.md gives the spread
