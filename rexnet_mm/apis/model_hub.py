"""Our classification models in mmpretrain's ``ModelHub``, so that
``mmpretrain.list_models('*rexnet*')``, ``get_model(name, pretrained=PATH)``,
``ImageClassificationInferencer(name, pretrained=PATH)`` and ``FeatureExtractor`` resolve
rexnet_mm's names (registered on ``import rexnet_mm``). The stand-ins trained on our
embedded generated data (``standin_*``, ``*_synthetic-birds``) are not registered."""
import os.path as osp

from ..errors import MissingFileError, UserError
from ..fixes import model_hub
from .config import config_dir

#: metafiles of the configs that build mmpretrain models
CLASSIFICATION_METAFILES = ('classification/metafile.yml', 'finegrained/metafile.yml')

#: ``Training Data`` of the configs that train on our embedded generated data (the
#: transfer demo's stand-in pre-training and the synthetic-birds recipes): test and demo
#: stand-ins, not models a user would pick from ``list_models``, so not registered.
EMBEDDED_DATA = '(embedded)'


def is_standin(meta):
    """Whether a metafile entry trains on the embedded generated data."""
    data = getattr(getattr(meta, 'metadata', None), 'training_data', None) or ''
    data = data if isinstance(data, str) else ' '.join(map(str, data))
    return data.strip().endswith(EMBEDDED_DATA)


def register_model_hub():
    """Register our classification metafiles with mmpretrain's ModelHub (once; a no-op
    without mmpretrain). Returns the names registered."""
    root = config_dir()
    # metafiles name their configs as ``configs/<folder>/<name>.py``: relative to the
    # folder holding ``configs`` (the checkout, or ``rexnet_mm/.mim`` in a wheel)
    paths = [osp.join(root, rel) for rel in CLASSIFICATION_METAFILES
             if osp.isfile(osp.join(root, rel))]
    # the stand-ins' configs stay usable by path: rexnet_mm.get_config(name)
    added = model_hub.register_metafiles(paths, osp.dirname(root), skip=is_standin)
    register_model_hub.names = sorted(set(register_model_hub.names) | set(added))
    return register_model_hub.names


register_model_hub.names = []


def missing_weights_message(name, path):
    return (f'{name}: checkpoint {path!r} does not exist; convert released weights with '
            f'`python tools/convert_checkpoint.py SRC {path}` (docs/checkpoints.md) or '
            f'train one with tools/train.py')


def _weights_of(name):
    from mmpretrain.apis.model import ModelHub
    return ModelHub.get(name).weights


def guard_get_model():
    """Make ``get_model(<our name>, pretrained=MISSING)`` (and the inferencers built on
    it) fail in one line naming the convert command, instead of mmengine's bare
    'can not be found', and ``pretrained=True`` of a model without weights (mmpretrain
    would warn and build random weights) fail in one line too (:func:`rexnet_mm.fixes.model_hub.guard_get_model` wraps every
    binding of mmpretrain's ``get_model``). Other names pass through. True if applied."""
    ours = set(register_model_hub.names)

    def check(model, pretrained):
        if (isinstance(model, str) and model.lower() in ours and isinstance(pretrained, str)
                and '://' not in pretrained and not osp.isfile(pretrained)):
            raise MissingFileError(missing_weights_message(model, pretrained))
        if (pretrained is True and isinstance(model, str) and model.lower() in ours
                and _weights_of(model) is None):
            raise UserError(f'{model} has no released weights (only the ImageNet '
                            f'classifiers do, by zoo name): train it with tools/train.py or '
                            f'tools/transfer.py and pass pretrained=PATH, or '
                            f'pretrained=False for random weights')

    return model_hub.guard_get_model(check)
