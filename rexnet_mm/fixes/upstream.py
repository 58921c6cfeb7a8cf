"""The private upstream names the rest of rexnet_mm needs, in one place.

Every underscore attribute of mmengine, mmcv, mmdet, mmseg, mmpretrain or torch that
rexnet_mm touches is used in :mod:`rexnet_mm.fixes` only (``tests/test_architecture.py``
scans the package): the patches themselves, and these helpers for the other layers. None
of them changes upstream code; each says what it stands for, so that an upgrade that
renames one breaks here, loudly (an ``ImportError``/``AttributeError`` naming it).
"""
from torch.nn.modules.batchnorm import _BatchNorm

#: torch's common base of ``BatchNorm1d/2d/3d``, ``SyncBatchNorm`` and mmengine's
#: ``_BatchNormXd``: "any batch norm" in ``isinstance`` and in mmengine's init configs
#: (``layer=BatchNormBase.__name__``)
BatchNormBase = _BatchNorm


def instance_count(manager_class):
    """How many instances an mmengine ``ManagerMixin`` class (``Visualizer``,
    ``MMLogger``, ...) holds by name."""
    return len(manager_class._instance_dict)


def swaps_channels(data_preprocessor):
    """Whether an OpenMMLab data preprocessor turns BGR input into RGB: mmengine's and
    mmdet's keep that in ``_channel_conversion``, mmseg's in ``channel_conversion``,
    mmpretrain's in ``to_rgb``."""
    return any(bool(getattr(data_preprocessor, k, False)) for k in
               ('_channel_conversion', 'channel_conversion', 'to_rgb'))


def load_state_into(model, checkpoint, strict=False, logger=None):
    """mmengine's ``load_checkpoint`` minus the reading: the ``state_dict`` of an
    already loaded ``checkpoint`` (or the dict itself) into ``model``, ``module.``
    prefixes stripped, missing/unexpected keys reported to ``logger``."""
    from mmengine.runner.checkpoint import _load_checkpoint_to_model
    return _load_checkpoint_to_model(model, checkpoint, strict=strict, logger=logger)


def split_toolbox_config(cfg_path):
    """``'mmdet::folder/name.py'`` -> ``('mmdet', 'folder/name.py')`` as mmengine reads
    it (ValueError for a package it does not know)."""
    from mmengine.config.utils import _get_package_and_cfg_path
    return _get_package_and_cfg_path(cfg_path)


def base_config_path(base, cfg_path):
    """The file of a ``_base_`` entry of the config at ``cfg_path`` (``'../x.py'`` or
    ``'mmdet::folder/name.py'``), as mmengine's ``Config.fromfile`` finds it."""
    from mmengine.config import Config
    return Config._get_cfg_path(base, cfg_path)[0]
