# Runtime shared by the fine-grained transfer configs: mmpretrain's default
# runtime (mmpretrain scope) with what differs.
_base_ = 'mmpretrain::_base_/default_runtime.py'

custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)

default_hooks = dict(
    logger=dict(interval=50),
    # keep the last two and the final checkpoint; never the whole history
    checkpoint=dict(interval=10, max_keep_ckpts=2, save_last=True))
env_cfg = dict(cudnn_benchmark=True)

# The ImageNet weights enter through model.backbone.init_cfg (any layout the
# rexnet_mm converters accept), never through load_from, which expects
# mmengine's own layout and would also try to restore the 1000-class head.
load_from = None
randomness = dict(seed=0)
