# Runtime shared by the fine-grained transfer configs (mmpretrain scope).
default_scope = 'mmpretrain'
custom_imports = dict(imports=['rexnet_mm'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # keep the last two and the final checkpoint; never the whole history
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=2,
                    save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
# The ImageNet weights enter through model.backbone.init_cfg (any layout the
# rexnet_mm converters accept), never through load_from, which expects
# mmengine's own layout and would also try to restore the 1000-class head.
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
