# FGVC-Aircraft 2013b (100 variants, 6667 trainval / 3333 test images): data,
# augmentation and schedule length for fine-tuning.
# Folder layout (mmpretrain's FGVCAircraft reads the original, unmodified release):
#   fgvc-aircraft-2013b/{data/images/*.jpg, data/images_variant_{trainval,test}.txt}
# Recipe (docs/transfer.md): 448px crops -- engine counts, windows
# and tail shapes decide the variant; 100 epochs
# at a total batch of 64 with 5 warm-up epochs, then cosine decay to 0.
_base_ = './finegrained.py'

dataset_type = 'FGVCAircraft'
data_root = 'data/fgvc-aircraft-2013b'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, split='trainval'))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, split='test'))
test_dataloader = val_dataloader
