"""Models from any config, randomly initialised, for the tools that measure or export
them (FLOP counts, the speed benchmark, the rank study, the ONNX export): a config file
or an installed toolbox's (``'mmdet::folder/name.py'``), SyncBN as BN, no pretrained
weights read."""
import os.path as osp

from ..errors import InvalidValueError, MissingFileError
from ..fixes.upstream import split_toolbox_config


def config_input_shape(cfg):
    """The input a config tests at: mmseg's crop size, else the test pipeline's resize."""
    size = cfg.model.get('data_preprocessor', {}).get('size')
    if cfg.get('default_scope') == 'mmseg' and size:
        return tuple(size)
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'Resize':
            w, h = step['scale']
            if step.get('keep_ratio', False):
                return min(w, h), max(w, h)  # short side x long side (landscape)
            return h, w
    return 800, 1333


def load_any_config(cfg_path):
    """A config from a file, or from an installed toolbox as ``'mmdet::path/in/configs.py'``;
    a :class:`mmengine.config.Config` given instead comes back as a copy (the caller's
    object is never changed)."""
    import copy

    from mmengine.config import Config

    if isinstance(cfg_path, Config):
        return copy.deepcopy(cfg_path)
    if '::' in cfg_path and not osp.isfile(cfg_path):
        from mmengine.utils import get_installed_path

        try:
            package, rel = split_toolbox_config(cfg_path)
        except ValueError:
            raise MissingFileError(f'{cfg_path!r}: write a toolbox config as '
                                    f"'mmdet::folder/name.py'") from None
        path = osp.join(get_installed_path(package), '.mim', 'configs', rel)
        if not osp.isfile(path):
            raise MissingFileError(f'{cfg_path!r}: no such config in {package} ({path})')
        return Config.fromfile(path)
    if not osp.isfile(cfg_path):
        raise MissingFileError(f'{cfg_path!r}: no such config file')
    return Config.fromfile(cfg_path)


def plain_bn(node):
    """SyncBN -> BN in a model config (SyncBN cannot run outside a process group)."""
    from ..utils import config_dicts
    for _, d in config_dicts(node):
        if d.get('type') == 'SyncBN':
            d['type'] = 'BN'


def build_random_model(cfg_path, out_indices=None):
    """``(model, cfg, scope)``: the model of a detector / segmentor / classifier config
    (a path or a ``Config``, see :func:`load_any_config`), randomly initialised (no pretrained weights read),
    SyncBN as BN, ``out_indices`` overriding the backbone's if given. Built under the
    config's scope (``default_scope``, else the ``pkg::`` prefix, else mmdet), leaving the
    caller's default scope as it was."""
    from mmengine.registry import MODELS

    from ..fixes import default_scope
    cfg = load_any_config(cfg_path)
    if 'backbone' not in cfg.get('model', {}):
        name = cfg_path if isinstance(cfg_path, str) else cfg.filename or 'the config'
        raise InvalidValueError(f'{name!r} has no model.backbone: give a detector, '
                                'segmentor or classifier config')
    cfg.model.backbone.init_cfg = None
    cfg.model.pop('pretrained', None)
    if out_indices is not None:
        cfg.model.backbone.out_indices = tuple(out_indices)
    plain_bn(cfg.model)
    if cfg.get('data_preprocessor') and 'data_preprocessor' not in cfg.model:
        # mmpretrain's Runner puts the top-level one into the model: do the same
        cfg.model.data_preprocessor = cfg.data_preprocessor
    toolbox = isinstance(cfg_path, str) and '::' in cfg_path
    scope = cfg.get('default_scope') or (cfg_path.split('::')[0] if toolbox else 'mmdet')
    with default_scope(scope):
        model = MODELS.build(cfg.model)
    return model, cfg, scope
