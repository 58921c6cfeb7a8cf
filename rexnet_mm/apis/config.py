"""Configs: where ours are, reading one with ``--cfg-options``, which toolbox it serves."""
import os.path as osp

from ..errors import UserError

#: The toolboxes whose configs the tools serve, by ``default_scope``.
TOOLBOXES = ('mmdet', 'mmseg', 'mmpretrain')


class ConfigError(UserError, ValueError):
    """A config or a command-line option that cannot work; the message names the fix."""


def config_dir():
    """The folder of rexnet_mm's configs: the checkout's ``configs/`` (source or
    editable install), else the copy a wheel ships as ``rexnet_mm/.mim/configs``."""
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for path in (osp.join(osp.dirname(package), 'configs'), osp.join(package, '.mim', 'configs')):
        if osp.isdir(path):
            return path
    raise ConfigError(f'rexnet_mm configs not found next to {package}: reinstall rexnet_mm')


def list_configs(pattern='*'):
    """Our shipped configs matching a shell ``pattern`` (on the path below ``configs/``,
    or on the name), as paths relative to :func:`config_dir`, sorted; ``_base_``
    fragments are not listed."""
    import fnmatch
    import os
    root = config_dir()
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ('_base_', '__pycache__'))
        for name in files:
            if name.endswith('.py'):
                rel = osp.relpath(osp.join(folder, name), root).replace(os.sep, '/')
                if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(name[:-3], pattern):
                    found.append(rel)
    return sorted(found)


def get_config_path(name):
    """Absolute path of one of our configs, for ``_base_`` or ``Config.fromfile``:
    ``name`` is a path below ``configs/`` (``'detection/demo/ssdlite_rexnet_shapes.py'``)
    or a config's name (``'ssdlite_rexnet'``)."""
    root = config_dir()
    rel = name if name.endswith('.py') else name + '.py'
    if osp.isfile(osp.join(root, rel)):
        return osp.join(root, rel)
    stem = osp.basename(rel)[:-3]  # not splitext: 'rexnet-1.0_cub' has a dot
    matches = [p for p in list_configs() if osp.basename(p)[:-3] == stem]
    if len(matches) == 1:
        return osp.join(root, matches[0])
    if matches:
        raise ConfigError(f'{name!r} names several configs ({", ".join(matches)}): give the '
                          'path below configs/')
    raise ConfigError(f'no rexnet_mm config {name!r}: see rexnet_mm.list_configs() '
                      '(python -c "import rexnet_mm; print(rexnet_mm.list_configs())")')


def get_config(name, cfg_options=None):
    """One of our configs as an mmengine ``Config`` (see :func:`get_config_path`)."""
    from mmengine.config import Config
    cfg = Config.fromfile(get_config_path(name))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def load_config(path, cfg_options=None, launcher='none', work_dir=None):
    """Read ``path``, apply ``--cfg-options``, set launcher and work_dir (default
    ``./work_dirs/<config name>``) and check that a toolbox serves it."""
    from mmengine.config import Config

    if not osp.isfile(path):
        raise ConfigError(f'config file {path!r} does not exist')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(field, None)
        if loader and loader.get('num_workers', 1) == 0 and loader.get('persistent_workers'):
            # PyTorch refuses persistent workers without workers; '...num_workers=0' on
            # the command line means "load in the main process", so drop the flag
            loader.persistent_workers = False
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
