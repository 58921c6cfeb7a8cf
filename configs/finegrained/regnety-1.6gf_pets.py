_base_ = [
    './_base_/models/regnety-1.6gf.py',
    './_base_/datasets/pets.py',
    './_base_/schedules/finetune_sgd.py',
    './_base_/default_runtime.py',
]
# re-initialised classifier for the dataset's 37 classes
model = dict(head=dict(num_classes=37))
data_preprocessor = dict(num_classes=37)
