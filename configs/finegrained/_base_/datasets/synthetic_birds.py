# The embedded "synthetic birds" set (rexnet_mm.synthetic.finegrained):
# 32 visually close classes, 64x64 images, written in the CUB-200-2011 layout and
# read by mmpretrain's own CUB class:
#   synthetic_birds/{images/<class>/*.jpg, images.txt, image_class_labels.txt,
#                    train_test_split.txt, classes.txt}
# Generate it with
#   python -m rexnet_mm.synthetic.finegrained data/synthetic_birds
# The recipe is the fine-grained one scaled to 64 px and a CPU: mild crops (the
# crown must stay in view), flips (every class attribute is mirror-symmetric),
# no colour jitter (hue is a class attribute).
_base_ = './finegrained.py'

dataset_type = 'CUB'
data_root = 'data/synthetic_birds'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=64, crop_ratio_range=(0.6, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=64, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=64),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    num_workers=2,
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_epochs=30, val_interval=10)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=30,
         eta_min=0.0, convert_to_iter_based=True),
]
