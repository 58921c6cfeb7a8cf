# Food-101 (101 dishes, 75750 train / 25250 test images): data, augmentation and
# schedule length for fine-tuning.
# Folder layout (mmpretrain's Food101 reads the original, unmodified release):
#   food-101/{images/<class>/*.jpg, meta/train.txt, meta/test.txt}
# Recipe (docs/transfer.md): 224px crops -- texture-level cues at
# ImageNet scale; the large train set needs few epochs; 20 epochs
# at a total batch of 64 with 1 warm-up epochs, then cosine decay to 0.
_base_ = './finegrained_224.py'

dataset_type = 'Food101'
data_root = 'data/food-101'
# stronger scale augmentation than the other 224px sets (crops down to 8%)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, split='train',
                                     pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, split='test'))
test_dataloader = val_dataloader

train_cfg = dict(max_epochs=20, val_interval=2)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=20,
         eta_min=0.0, convert_to_iter_based=True),
]
