# Fine-tuning optimiser shared by all transfer recipes (see docs/transfer.md). The learning rates are for a total batch of 64; the epoch count,
# warm-up and cosine decay live in each dataset file because they depend on the
# dataset's size.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True,
                   weight_decay=1e-4),
    paramwise_cfg=dict(
        # no decay on BN and biases (SE biases included)
        norm_decay_mult=0.0, bias_decay_mult=0.0,
        # the freshly initialised classifier learns 10x faster than the
        # pre-trained backbone
        custom_keys={'head': dict(lr_mult=10.0)}),
)
val_cfg = dict()
test_cfg = dict()
# python tools/train.py ... --auto-scale-lr rescales for other total batches
auto_scale_lr = dict(base_batch_size=64)
