# ImageNet-1k data, schedule and runtime of the ReXNet classifiers.
#
# Evaluation matches how the released weights were validated (timm's rexnet
# preprocessing): RGB, ImageNet mean/std, bicubic resize of the short edge to
# 256 and a 224 centre crop (crop_pct 0.875).
# Training mirrors the authors' published command (timm train.py, 4 GPUs x 128):
#   --opt sgd --lr 0.5 --weight-decay 1e-5 --batch-size 128 --epochs 400
#   --sched cosine --remode pixel --reprob 0.2 --drop 0.2 --aa rand-m9-mstd0.5
# with timm's defaults for what the command leaves out (Nesterov momentum 0.9,
# label smoothing 0.1, 3 warm-up epochs, no weight decay on BN and biases).
# Not reproduced: --drop 0.2 before the classifier (mmpretrain's LinearClsHead
# has no dropout; the lite head keeps its own 0.2) and AMP (pass --amp to
# tools/train.py on GPUs).
# Runtime: mmpretrain's default, with what differs at the end of this file.
_base_ = 'mmpretrain::_base_/default_runtime.py'

custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)

dataset_type = 'ImageNet'
data_root = 'data/imagenet'
data_preprocessor = dict(
    num_classes=1000,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)
bgr_mean = data_preprocessor['mean'][::-1]
bgr_std = data_preprocessor['std'][::-1]

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2,
         total_level=10, magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[round(x) for x in bgr_mean],
                      interpolation='bicubic')),
    # timm's --remode pixel: per-pixel normal noise in the erased box
    dict(type='RandomErasing', erase_prob=0.2, mode='rand', min_area_ratio=0.02,
         max_area_ratio=1 / 3, fill_color=bgr_mean, fill_std=bgr_std),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 pipeline=test_pipeline),
)
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, nesterov=True,
                   weight_decay=1e-5),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=2e-4, by_epoch=True, begin=0, end=3,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=3, end=400,
         eta_min=1e-5, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=400, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=512)

default_hooks = dict(
    checkpoint=dict(interval=5, max_keep_ckpts=3, save_best='auto'))
env_cfg = dict(cudnn_benchmark=True)
