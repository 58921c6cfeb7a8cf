"""Our classification models in mmpretrain's ``ModelHub``, so that
``mmpretrain.list_models('*rexnet*')``, ``get_model(name, pretrained=PATH)``,
``ImageClassificationInferencer(name, pretrained=PATH)`` and ``FeatureExtractor`` resolve
rexnet_mm's names (registered on ``import rexnet_mm``). The stand-ins trained on our
embedded generated data (``standin_*``, ``*_synthetic-birds``) are not registered."""
import os.path as osp

from ..errors import MissingFileError
from ..utils import rebind
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
    try:
        from mmpretrain.apis.model import ModelHub
    except ImportError:
        return []
    root = config_dir()
    # metafiles name their configs as ``configs/<folder>/<name>.py``: relative to the
    # folder holding ``configs`` (the checkout, or ``rexnet_mm/.mim`` in a wheel)
    prefix = osp.dirname(root)
    before = set(ModelHub._models_dict)
    for rel in CLASSIFICATION_METAFILES:
        path = osp.join(root, rel)
        if not osp.isfile(path):
            continue
        from modelindex.load_model_index import load
        index = load(path)
        index.build_models_with_collections()
        for meta in index.models:
            if is_standin(meta):
                continue  # its config stays usable by path: rexnet_mm.get_config(name)
            if meta.name.lower() in ModelHub._models_dict:
                continue  # registered by an earlier import (e.g. a reload)
            meta.config = ModelHub._expand_config_path(meta, prefix)
            ModelHub._models_dict[meta.name.lower()] = meta
    register_model_hub.names = sorted(
        set(register_model_hub.names) | (set(ModelHub._models_dict) - before))
    return register_model_hub.names


register_model_hub.names = []


def missing_weights_message(name, path):
    return (f'{name}: checkpoint {path!r} does not exist; convert released weights with '
            f'`python tools/convert_checkpoint.py SRC {path}` (docs/checkpoints.md) or '
            f'train one with tools/train.py')


def guard_get_model():
    """Make ``get_model(<our name>, pretrained=MISSING)`` (and the inferencers built on
    it) fail in one line naming the convert command, instead of mmengine's bare
    'can not be found'. mmpretrain binds ``get_model`` in several modules; each binding
    of the original function is replaced by the same wrapper. Other names pass through."""
    import functools
    import importlib
    try:
        model_module = importlib.import_module('mmpretrain.apis.model')
    except ImportError:
        return
    original = model_module.get_model
    if getattr(original, '_rexnet_mm_guard', False):
        return
    ours = set(register_model_hub.names)

    @functools.wraps(original)
    def get_model(model, pretrained=False, *args, **kwargs):
        if (isinstance(model, str) and model.lower() in ours and isinstance(pretrained, str)
                and '://' not in pretrained and not osp.isfile(pretrained)):
            raise MissingFileError(missing_weights_message(model, pretrained))
        return original(model, pretrained, *args, **kwargs)

    get_model._rexnet_mm_guard = True
    rebind(original, get_model, ('mmpretrain', 'mmpretrain.apis', 'mmpretrain.apis.model',
                                 'mmpretrain.apis.base'))
