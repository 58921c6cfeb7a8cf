"""rexnet_mm: ReXNet and RegNet backbones for the OpenMMLab stack.

Importing the package registers its modules in its own registry scope
(``rexnet_mm``) and in the MODELS registries of mmdet, mmseg and mmpretrain (see
:mod:`rexnet_mm.registry`), and applies the upstream fixes in :mod:`rexnet_mm.fixes`.
"""
__version__ = '0.1.0'

from . import fixes  # noqa: F401,E402
from . import models  # noqa: F401,E402
from . import converters  # noqa: F401,E402
