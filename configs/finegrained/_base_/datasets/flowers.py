# Oxford Flowers-102 (102 species, 2040 trainval / 6149 test images): data,
# augmentation and schedule length for fine-tuning.
# Folder layout (mmpretrain's Flowers102 reads the original, unmodified release):
#   Flowers102/{jpg/image_00001.jpg..., imagelabels.mat, setid.mat}
# Recipe (docs/transfer.md): 224px crops -- colour and petal shape at
# ImageNet scale suffice; 200 epochs
# at a total batch of 64 with 10 warm-up epochs, then cosine decay to 0.
_base_ = './finegrained_224.py'

dataset_type = 'Flowers102'
data_root = 'data/Flowers102'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, split='trainval'))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, split='test'))
test_dataloader = val_dataloader

train_cfg = dict(max_epochs=200, val_interval=20)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=10, end=200,
         eta_min=0.0, convert_to_iter_based=True),
]
