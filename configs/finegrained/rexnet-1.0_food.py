_base_ = [
    './_base_/models/rexnet-1.0.py',
    './_base_/datasets/food.py',
    './_base_/schedules/finetune_sgd.py',
    './_base_/default_runtime.py',
]
# re-initialised classifier for the dataset's 101 classes
model = dict(head=dict(num_classes=101))
data_preprocessor = dict(num_classes=101)
