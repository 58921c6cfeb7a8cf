"""What the command lines do, as functions on mmengine configs: reading configs
(:mod:`.config`), pre-flight checks (:mod:`.checks`, :mod:`.finegrained_layouts`), CPU
distributed setup (:mod:`.dist`), training and testing (:mod:`.runner`), COCO
evaluation (:mod:`.evaluation`), fine-grained transfer (:mod:`.transfer`), the
ImageNet stand-in experiment (:mod:`.standin`) and randomly initialised models of any
config (:mod:`.build`). Deployment (ONNX) is the layer above: :mod:`rexnet_mm.deploy`."""
from .config import ConfigError, config_dir, load_config, toolbox_of
from .evaluation import evaluate as coco_evaluate
from .hooks import FuseBNHook  # noqa: F401 (registers the hook)
from .runner import build_runner, test, train

__all__ = ['ConfigError', 'build_runner', 'coco_evaluate', 'config_dir', 'load_config',
           'test', 'toolbox_of', 'train']
