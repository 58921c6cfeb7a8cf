"""Hooks our tools add to mmengine's Runner."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class FuseBNHook(Hook):
    """Fold every BN of the model into the conv / linear before it when testing starts
    (after the checkpoint is loaded): ``tools/test.py --fuse-bn``. Inference only: the
    model keeps no BN to train."""
    priority = 'VERY_LOW'

    def before_test(self, runner):
        from ..models.fusion import batchnorms, fuse_bn
        model = getattr(runner.model, 'module', runner.model)
        before = len(batchnorms(model))
        _, left = fuse_bn(model)
        runner.logger.info(f'FuseBNHook: {before - len(left)} BN layers folded into the '
                           f'convs before them, {len(left)} left')
