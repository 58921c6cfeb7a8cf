"""Export our layout to a foreign one (the inverse of the converters)."""
from .base import CheckpointError


def export_state_dict(state_dict, family, layout):
    """Our ``backbone.*``/``head.*`` layout -> ``layout`` of ``family``."""
    if family == 'rexnet':
        from .rexnet import to_layout
        if layout not in ('timm', 'authors'):
            raise CheckpointError(f"ReXNet exports to 'timm' or 'authors', not {layout!r}")
        return to_layout(state_dict, layout)
    if family == 'regnet':
        from . import regnet
        to_layout = getattr(regnet, 'to_layout', None)
        if to_layout is None:
            raise CheckpointError('RegNet export is not available')
        return to_layout(state_dict, layout)
    raise CheckpointError(f'unknown model family {family!r}')
