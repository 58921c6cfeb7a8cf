"""Our classification models in mmpretrain's ``ModelHub``, so that
``mmpretrain.list_models('*rexnet*')``, ``get_model(name, pretrained=PATH)``,
``ImageClassificationInferencer(name, pretrained=PATH)`` and ``FeatureExtractor`` resolve
rexnet_mm's names (registered on ``import rexnet_mm``)."""
import os.path as osp

from ..fixes import model_hub
from .config import config_dir

#: metafiles of the configs that build mmpretrain models
CLASSIFICATION_METAFILES = ('classification/metafile.yml', 'finegrained/metafile.yml')


def register_model_hub():
    """Register our classification metafiles with mmpretrain's ModelHub (once; a no-op
    without mmpretrain). Returns the names registered."""
    root = config_dir()
    # metafiles name their configs as ``configs/<folder>/<name>.py``: relative to the
    # folder holding ``configs`` (the checkout, or ``rexnet_mm/.mim`` in a wheel)
    paths = [osp.join(root, rel) for rel in CLASSIFICATION_METAFILES
             if osp.isfile(osp.join(root, rel))]
    added = model_hub.register_metafiles(paths, osp.dirname(root))
    register_model_hub.names = sorted(set(register_model_hub.names) | set(added))
    return register_model_hub.names


register_model_hub.names = []


def missing_weights_message(name, path):
    return (f'{name}: checkpoint {path!r} does not exist; convert released weights with '
            f'`python tools/convert_checkpoint.py SRC {path}` (docs/checkpoints.md) or '
            f'train one with tools/train.py')


def guard_get_model():
    """Make ``get_model(<our name>, pretrained=MISSING)`` (and the inferencers built on
    it) fail in one line naming the convert command, instead of mmengine's bare
    'can not be found' (:func:`rexnet_mm.fixes.model_hub.guard_get_model` wraps every
    binding of mmpretrain's ``get_model``). Other names pass through. True if applied."""
    ours = set(register_model_hub.names)

    def check(model, pretrained):
        if (isinstance(model, str) and model.lower() in ours and isinstance(pretrained, str)
                and '://' not in pretrained and not osp.isfile(pretrained)):
            raise FileNotFoundError(missing_weights_message(model, pretrained))

    return model_hub.guard_get_model(check)
