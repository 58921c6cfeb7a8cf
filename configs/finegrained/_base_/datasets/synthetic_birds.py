# The embedded "synthetic birds" set (rexnet_mm.synthetic.finegrained):
# 32 visually close classes, 64x64 images, written in the CUB-200-2011 layout and
# read by mmpretrain's own CUB class:
#   synthetic_birds/{images/<class>/*.jpg, images.txt, image_class_labels.txt,
#                    train_test_split.txt, classes.txt}
# Generate it with
#   python -m rexnet_mm.synthetic.finegrained data/synthetic_birds
# The recipe is the fine-grained one scaled to 64 px and a CPU: mild crops (the
# crown must stay in view), flips (every class attribute is mirror-symmetric),
# no colour jitter (hue is a class attribute).
_base_ = './finegrained.py'

dataset_type = 'CUB'
data_root = 'data/synthetic_birds'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=64, crop_ratio_range=(0.6, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=64, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=64),
    dict(type='PackInputs'),
]
# The generator's 32 class names, in label order (rexnet_mm.synthetic.finegrained,
# classes.txt): mmpretrain's CUB class would otherwise name the labels after CUB's 200
# birds, in the checkpoints' dataset_meta and in exported files' contracts.
classes = [
    '001.Hue190_plain_red_crown', '002.Hue210_plain_red_crown',
    '003.Hue230_plain_red_crown', '004.Hue250_plain_red_crown',
    '005.Hue190_hstripes_red_crown', '006.Hue210_hstripes_red_crown',
    '007.Hue230_hstripes_red_crown', '008.Hue250_hstripes_red_crown',
    '009.Hue190_vstripes_red_crown', '010.Hue210_vstripes_red_crown',
    '011.Hue230_vstripes_red_crown', '012.Hue250_vstripes_red_crown',
    '013.Hue190_dots_red_crown', '014.Hue210_dots_red_crown',
    '015.Hue230_dots_red_crown', '016.Hue250_dots_red_crown',
    '017.Hue190_plain_orange_crown', '018.Hue210_plain_orange_crown',
    '019.Hue230_plain_orange_crown', '020.Hue250_plain_orange_crown',
    '021.Hue190_hstripes_orange_crown', '022.Hue210_hstripes_orange_crown',
    '023.Hue230_hstripes_orange_crown', '024.Hue250_hstripes_orange_crown',
    '025.Hue190_vstripes_orange_crown', '026.Hue210_vstripes_orange_crown',
    '027.Hue230_vstripes_orange_crown', '028.Hue250_vstripes_orange_crown',
    '029.Hue190_dots_orange_crown', '030.Hue210_dots_orange_crown',
    '031.Hue230_dots_orange_crown', '032.Hue250_dots_orange_crown',
]
train_dataloader = dict(
    num_workers=2,
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 classes=classes, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 classes=classes, pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_epochs=30, val_interval=10)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=30,
         eta_min=0.0, convert_to_iter_based=True),
]
