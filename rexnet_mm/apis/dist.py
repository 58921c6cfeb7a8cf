"""Distributed training and testing without a GPU (torchrun + gloo)."""
from .config import ConfigError


def sync_bn_keys(node, key='model'):
    """The ``--cfg-options`` keys (``model.backbone.norm_cfg.type``) of every SyncBN
    layer type in a model config."""
    from ..utils import config_dicts
    for path, d in config_dicts(node, key):
        if d.get('type') in ('SyncBN', 'MMSyncBN'):
            yield f'{path}.type'


def check_sync_bn_on_cpu(cfg):
    """SyncBN under ``torchrun`` without a GPU: one line naming the options that make
    it plain BN. torch's SyncBatchNorm synchronises CUDA/XPU tensors only and raises at
    the first training step on the CPU; with BN each process normalises over its own
    images (as mmdet's BN does on GPUs), with SyncBN over all processes' images."""
    keys = list(dict.fromkeys(sync_bn_keys(cfg.model)))
    if cfg.get('sync_bn'):
        keys.append('sync_bn')  # mmengine's BN -> SyncBN conversion
    if keys:
        fix = ' '.join(f'{k}=BN' if k != 'sync_bn' else 'sync_bn=None' for k in keys)
        raise ConfigError(
            f'SyncBN synchronises GPU tensors only (torch), and this torchrun job has no '
            f'GPU: train in one process, or add --cfg-options {fix} (each process then '
            f'normalises over its own images)')


def setup_cpu_distributed(cfg):
    """Let ``--launcher pytorch`` run without a GPU: gloo, and DDP without device_ids.

    mmengine 0.10.7 calls ``torch.cuda.set_device`` before initialising the process
    group and passes ``device_ids=[LOCAL_RANK]`` to DDP, both of which fail for CPU
    modules. We initialise the (gloo) group ourselves, so the Runner skips its own
    ``init_dist``, and wrap the model with a DDP that takes no device ids. Returns
    True if it did.
    """
    import torch
    import torch.distributed as dist

    if cfg.launcher == 'none' or torch.cuda.is_available():
        return False
    if cfg.launcher != 'pytorch':
        raise ConfigError(f'without a GPU only --launcher pytorch (torchrun) is supported, '
                          f'got {cfg.launcher!r}')
    check_sync_bn_on_cpu(cfg)
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg') or {}
    if wrapper.get('type', 'MMDistributedDataParallel') == 'MMDistributedDataParallel':
        _register_cpu_ddp()
        cfg.model_wrapper_cfg = dict(wrapper, type='CPUDistributedDataParallel')
    return True


def _register_cpu_ddp():
    from mmengine.model import MMDistributedDataParallel
    from mmengine.registry import MODEL_WRAPPERS

    if 'CPUDistributedDataParallel' in MODEL_WRAPPERS.module_dict:
        return

    class CPUDistributedDataParallel(MMDistributedDataParallel):
        """mmengine's DDP for CPU modules (no ``device_ids``)."""

        def __init__(self, module, device_ids=None, **kwargs):
            kwargs.setdefault('broadcast_buffers', False)
            super().__init__(module=module, **kwargs)

    MODEL_WRAPPERS.register_module(module=CPUDistributedDataParallel)
