# Oxford-IIIT Pets (37 breeds, 3680 trainval / 3669 test images): data, augmentation
# and schedule length for fine-tuning.
# Folder layout (mmpretrain's OxfordIIITPet reads the original, unmodified release):
#   Oxford-IIIT_Pets/{images/*.jpg, annotations/{trainval,test}.txt}
# Recipe (docs/transfer.md): 224px crops -- whole-animal appearance
# at ImageNet scale; 100 epochs
# at a total batch of 64 with 5 warm-up epochs, then cosine decay to 0.
_base_ = './finegrained_224.py'

dataset_type = 'OxfordIIITPet'
data_root = 'data/Oxford-IIIT_Pets'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, split='trainval'))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, split='test'))
test_dataloader = val_dataloader
