"""rexnet_mm: ReXNet and RegNet backbones for the OpenMMLab stack.

Layers, each importing only those below it (docs/development.md has the table):

* :mod:`rexnet_mm.models`: backbones and classifiers (registered in our registry scope
  ``rexnet_mm`` and in the MODELS registries of mmdet, mmseg and mmpretrain, see
  :mod:`rexnet_mm.registry`);
* :mod:`rexnet_mm.weights`: checkpoint formats, detection, conversion, loading;
* :mod:`rexnet_mm.apis`: configs, pre-flight checks, runner, evaluation, transfer;
* :mod:`rexnet_mm.deploy`: ONNX export, ONNX Runtime parity, INT8, ``OnnxPredictor``;
* :mod:`rexnet_mm.analysis`: complexity, parity, benchmarks and plots for the report
  tools;
* :mod:`rexnet_mm.tools`: the command lines (``python -m rexnet_mm.tools.train``).

Beneath them: :mod:`rexnet_mm.fixes` (upstream defects, applied on import),
:mod:`rexnet_mm.synthetic` (the embedded data generators), and small helpers every layer
may use (:mod:`rexnet_mm.errors`, :mod:`rexnet_mm.utils`, :mod:`rexnet_mm.numerics`,
:mod:`rexnet_mm.images`).
"""
import os
import sys
import warnings

from .version import __version__

if 'torch' not in sys.modules:
    # OpenMP threads that spin while waiting make a CPU run 10-50x slower as soon as
    # another process (a data loader worker) competes for the cores; sleeping waiters
    # cost ~nothing when the cores are free. Read when torch loads its OpenMP runtime,
    # so only effective when rexnet_mm is imported first (as by its tools); an
    # explicit OMP_WAIT_POLICY wins.
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
# mmengine and mmcv import pkg_resources, which setuptools >= 67 flags on every run
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

from . import fixes  # noqa: F401,E402
from . import models  # noqa: F401,E402
from . import weights  # noqa: F401,E402
from . import distill  # noqa: F401,E402
from .apis.config import get_config, get_config_path, list_configs  # noqa: F401,E402
from .apis.model_hub import guard_get_model, register_model_hub  # noqa: E402
from .fixes import default_scope  # noqa: E402

fixes.APPLIED['model_hub'] = bool(register_model_hub())
fixes.APPLIED['get_model_guard'] = guard_get_model()

__all__ = ['default_scope', 'get_config', 'get_config_path', 'list_configs', '__version__']
