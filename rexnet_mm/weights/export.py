"""Export our layout to a foreign one, and whole-file conversion (convert_checkpoint)."""
import os.path as osp

from ..models.normalization import FAMILY_INPUT
from . import regnet, rexnet
from .base import (FAMILIES, FORMATS, CheckpointError, convert_state_dict, read_state_dict,
                   save_checkpoint)

#: Layouts each family exports to (besides ours, 'rexnet_mm').
EXPORT_LAYOUTS = {'rexnet': ('timm', 'authors'), 'regnet': ('pycls', 'timm', 'mmdet')}


def export_state_dict(state_dict, family, layout):
    """Our ``backbone.*``/``head.*`` layout -> ``layout`` of ``family``."""
    if family not in EXPORT_LAYOUTS:
        raise CheckpointError(f'unknown model family {family!r}')
    if layout not in EXPORT_LAYOUTS[family]:
        raise CheckpointError(f'{family} checkpoints export to '
                              f'{", ".join(EXPORT_LAYOUTS[family])}, not {layout!r}')
    module = rexnet if family == 'rexnet' else regnet
    return module.to_layout(state_dict, layout)


def input_meta(family, layout='rexnet_mm'):
    """The input channel order and statistics a file of ``family`` in ``layout`` expects."""
    if family == 'regnet':
        return regnet.layout_meta('ours' if layout == 'rexnet_mm' else layout)
    return dict(FAMILY_INPUT[family])  # ReXNet weights: RGB in every layout


def convert_file(src, dst, to='rexnet_mm', family=None, force=False):
    """Read ``src`` (any known layout), write ``dst`` in layout ``to``.

    ``dst`` gets an mmengine checkpoint (``meta`` with source, format, family, layout
    and the input normalisation; ``state_dict``), written atomically. ``src`` is never
    written, nor an existing ``dst`` unless ``force``. Returns a one-line summary.
    """
    if osp.abspath(src) == osp.abspath(dst):
        raise CheckpointError('DST must differ from SRC (the source checkpoint is never '
                              'overwritten)')
    if osp.exists(dst) and not force:
        raise CheckpointError(f'{dst} exists; pass --force to overwrite it')
    state = read_state_dict(src)
    ours, fmt = convert_state_dict(state, family)
    family = FORMATS[fmt].family
    out = ours if to == 'rexnet_mm' else export_state_dict(ours, family, to)
    meta = dict(source=osp.abspath(src), source_format=fmt, family=family, layout=to,
                **input_meta(family, to))
    backbone = {k[len('backbone.'):]: v for k, v in ours.items() if k.startswith('backbone.')}
    holds = FAMILIES[family].identify(backbone)
    plan = getattr(FAMILIES[family], 'plan', None)
    if plan is not None:  # the backbone arguments that build exactly this net
        kwargs = plan(backbone)
        name = FAMILIES[family].model_class.__name__
        meta['backbone'] = dict(type=name, **kwargs)
        holds += f', built by {name}({", ".join(f"{k}={v!r}" for k, v in kwargs.items())})'

    save_checkpoint(out, dst, meta=meta)
    return (f'{src} ({fmt} layout, {len(state)} tensors) -> {dst} ({to} layout, '
            f'{len(out)} tensors): {holds}')
