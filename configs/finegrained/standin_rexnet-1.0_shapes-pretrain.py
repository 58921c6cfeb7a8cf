# ImageNet stand-in (docs/transfer.md): real ImageNet weights
# cannot be downloaded here, so tools/pretrain_standin.py pre-trains the
# ReXNet-1.0 ImageNet classifier of configs/classification on a *different*
# generated task -- 96 classes of 4 shapes x 4 fills x 6 colour families, which
# shares low-level cues (colour, stripes, dots, edges) with the birds but none of
# their classes, as ImageNet does for real fine-grained sets:
#   python -m rexnet_mm.synthetic.finegrained data/shapes --task shapes
# (mmpretrain CustomDataset layout: {train,val}/<class>/*.png) -- exports the
# result in the authors' checkpoint layout and fine-tunes it on the synthetic
# birds. The recipe is the ImageNet one scaled to 64 px images and a CPU:
# no RandAugment/erasing at this size, a 1-epoch warm-up and a short cosine run.
_base_ = ['../classification/rexnet-1.0_4xb128_in1k.py']

data_root = 'data/shapes'
num_classes = 96
data_preprocessor = dict(num_classes=num_classes)
model = dict(head=dict(num_classes=num_classes))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=64, crop_ratio_range=(0.5, 1.0),
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
    batch_size=64,
    num_workers=2,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=data_root,
                 data_prefix='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=2,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=data_root,
                 data_prefix='val', pipeline=test_pipeline),
)
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=0.1, weight_decay=5e-5))
max_epochs = 12
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=max_epochs,
         eta_min=0.0, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None))
randomness = dict(seed=0, deterministic=False)
