# CUB-200-2011 (200 bird species, 5994 train / 5794 test images): data, augmentation
# and schedule length for fine-tuning.
# Folder layout (mmpretrain's CUB reads the original, unmodified release):
#   CUB_200_2011/{images/<class>/*.jpg, images.txt, image_class_labels.txt,
#     train_test_split.txt}
# Recipe (docs/transfer.md): 448px crops -- small parts (beaks, wing
# bars) decide the class; 100 epochs
# at a total batch of 64 with 5 warm-up epochs, then cosine decay to 0.
_base_ = './finegrained.py'

dataset_type = 'CUB'
data_root = 'data/CUB_200_2011'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, split='train'))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, split='test'))
test_dataloader = val_dataloader
