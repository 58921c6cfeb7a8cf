# Stanford Cars (196 models, 8144 train / 8041 test images): data, augmentation and
# schedule length for fine-tuning.
# Folder layout (mmpretrain's StanfordCars reads the original, unmodified release):
#   Stanford_Cars/{car_ims/*.jpg + cars_annos.mat, or cars_train/, cars_test/,
#     devkit/cars_{train_annos,test_annos_withlabels}.mat}
# Recipe (docs/transfer.md): 448px crops -- grilles, lights and
# badges decide the class; 100 epochs
# at a total batch of 64 with 5 warm-up epochs, then cosine decay to 0.
_base_ = './finegrained.py'

dataset_type = 'StanfordCars'
data_root = 'data/Stanford_Cars'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, split='train'))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, split='test'))
test_dataloader = val_dataloader
