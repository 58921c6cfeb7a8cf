_base_ = [
    './_base_/models/regnety-1.6gf.py',
    './_base_/datasets/aircraft.py',
    './_base_/schedules/finetune_sgd.py',
    './_base_/default_runtime.py',
]
# re-initialised classifier for the dataset's 100 classes
model = dict(head=dict(num_classes=100))
data_preprocessor = dict(num_classes=100)
