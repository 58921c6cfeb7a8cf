"""Distributed training and testing without a GPU (torchrun + gloo)."""
from .config import ConfigError


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
