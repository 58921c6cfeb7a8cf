_base_ = [
    './_base_/models/regnety-1.6gf.py',
    './_base_/datasets/synthetic_birds.py',
    './_base_/schedules/finetune_sgd.py',
    './_base_/default_runtime.py',
]
# re-initialised classifier for the dataset's 32 classes
model = dict(head=dict(num_classes=32))
data_preprocessor = dict(num_classes=32)
