"""Configs: where ours are, reading one with ``--cfg-options``, which toolbox it serves."""
import os.path as osp

#: The toolboxes whose configs the tools serve, by ``default_scope``.
TOOLBOXES = ('mmdet', 'mmseg', 'mmpretrain')


class ConfigError(ValueError):
    """A config or a command-line option that cannot work; the message names the fix."""


def config_dir():
    """The folder of rexnet_mm's configs: the checkout's ``configs/`` (source or
    editable install), else the copy a wheel ships as ``rexnet_mm/.mim/configs``."""
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for path in (osp.join(osp.dirname(package), 'configs'), osp.join(package, '.mim', 'configs')):
        if osp.isdir(path):
            return path
    raise ConfigError(f'rexnet_mm configs not found next to {package}: reinstall rexnet_mm')


def load_config(path, cfg_options=None, launcher='none', work_dir=None):
    """Read ``path``, apply ``--cfg-options``, set launcher and work_dir (default
    ``./work_dirs/<config name>``) and check that a toolbox serves it."""
    import rexnet_mm  # noqa: F401  registers our modules, applies rexnet_mm.fixes
    from mmengine.config import Config

    if not osp.isfile(path):
        raise ConfigError(f'config file {path!r} does not exist')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    toolbox_of(cfg, path)
    return cfg


def toolbox_of(cfg, path='config'):
    """The toolbox (mmdet / mmseg / mmpretrain) named by ``cfg.default_scope``."""
    scope = cfg.get('default_scope', None)
    if scope not in TOOLBOXES:
        raise ConfigError(
            f'{path} has default_scope={scope!r}; these tools serve configs of '
            f'{", ".join(TOOLBOXES)} (inherit one of their configs or set default_scope)')
    return scope


def set_default_dataloader_cfg(cfg, fields=('train_dataloader', 'val_dataloader',
                                            'test_dataloader')):
    """mmpretrain's tools pass these defaults; its configs rely on them."""
    import torch

    for field in fields:
        if cfg.get(field, None) is None:
            continue
        loader = cfg[field]
        loader.setdefault('collate_fn', dict(type='default_collate'))
        loader.setdefault('pin_memory', torch.cuda.is_available())
