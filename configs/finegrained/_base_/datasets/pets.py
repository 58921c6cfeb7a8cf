# Oxford-IIIT Pets (37 breeds, 3680 trainval / 3669 test images): data, augmentation
# and schedule length for fine-tuning.
# Folder layout (mmpretrain's OxfordIIITPet reads the original, unmodified release):
#   Oxford-IIIT_Pets/{images/*.jpg, annotations/{trainval,test}.txt}
# Recipe (README, "Fine-grained transfer"): 224px crops -- whole-animal appearance
# at ImageNet scale; 100 epochs
# at a total batch of 64 with 5 warm-up epochs, then cosine decay to 0.
dataset_type = 'OxfordIIITPet'
data_root = 'data/Oxford-IIIT_Pets'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.25, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
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
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='trainval',
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 pipeline=test_pipeline),
)
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=10)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=5, end=100,
         eta_min=0.0, convert_to_iter_based=True),
]
