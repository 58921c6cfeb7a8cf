"""mmpretrain 1.2.0's ``ModelHub``: a plugin's models in it, and a check before
``get_model``.

* mmpretrain has no public way to add a plugin's metafiles but
  ``ModelHub.register_model_index``, which raises on a name already registered (a second
  ``import rexnet_mm`` after a reload, or a name mmpretrain ships): :func:`register_metafiles`
  does what it does (``ModelHub._expand_config_path``, ``ModelHub._models_dict``) and
  skips the names already there.
* :func:`guard_get_model` wraps ``get_model`` (in every mmpretrain module that binds
  it) so that a caller's check runs first (rexnet_mm's: a missing ``pretrained=PATH`` of
  one of our models fails in one line naming the convert command,
  :func:`rexnet_mm.apis.model_hub.guard_get_model`).

Called by :mod:`rexnet_mm.apis.model_hub` (which knows where our metafiles are) on
``import rexnet_mm``.
"""
import functools
import importlib

from ..utils import rebind
from .guard import Fix, guarded

REGISTRATION = Fix(
    'model_hub', requires=(('mmpretrain', '1.2.0', '1.3.0'), ),
    pins={  # the registration we repeat, and the lookup that reads it
        'mmpretrain.apis.model:ModelHub.register_model_index':
            '0912e797f060da47cb390246ce63e54351b7d9486a8e8907d04d015af69f11f2',
        'mmpretrain.apis.model:ModelHub._expand_config_path':
            '7fc09140bb89b9513772409167ef96a762ca57f09ef990864476ad5272c1856f',
        'mmpretrain.apis.model:ModelHub.get':
            '6346b22c8788657e48e8482698e58843206f3ce4bfd5f8af88b497cbea20448a',
    },
    summary="our classification metafiles' models added to `ModelHub` as "
            '`register_model_index` adds them, skipping names already registered')

GET_MODEL_GUARD = Fix(
    'get_model_guard', requires=(('mmpretrain', '1.2.0', '1.3.0'), ),
    pins={'mmpretrain.apis.model:get_model':
          'e9883f2da6d41d8a684586152b8a612921255596db159d252cb0f6308bc8ecb5'},
    summary='`get_model` wrapped (every module that binds it): a missing `pretrained=PATH` '
            'of one of our models fails in one line naming the convert command')

#: mmpretrain modules that bind ``get_model``
GET_MODEL_MODULES = ('mmpretrain', 'mmpretrain.apis', 'mmpretrain.apis.model',
                     'mmpretrain.apis.base')


@guarded(REGISTRATION, skipped=())
def register_metafiles(paths, prefix, skip=None):
    """Add the models of the metafiles ``paths`` to ModelHub, their configs relative to
    ``prefix``, except those ``skip(meta)`` is true for; returns the (lower-case) names
    added."""
    from mmpretrain.apis.model import ModelHub
    models = ModelHub._models_dict
    before = set(models)
    for path in paths:
        from modelindex.load_model_index import load
        index = load(path)
        index.build_models_with_collections()
        for meta in index.models:
            if skip is not None and skip(meta):
                continue
            if meta.name.lower() in models:
                continue  # registered by an earlier import (e.g. a reload)
            meta.config = ModelHub._expand_config_path(meta, prefix)
            models[meta.name.lower()] = meta
    return sorted(set(models) - before)


@guarded(GET_MODEL_GUARD)
def guard_get_model(check):
    """Make mmpretrain's ``get_model(model, pretrained, ...)`` call ``check(model,
    pretrained)`` first (which raises to refuse); True if applied (idempotent: a second
    call leaves the first guard)."""
    original = importlib.import_module('mmpretrain.apis.model').get_model
    if getattr(original, 'rexnet_mm_guard', False):
        return False

    @functools.wraps(original)
    def get_model(model, pretrained=False, *args, **kwargs):
        check(model, pretrained)
        return original(model, pretrained, *args, **kwargs)

    get_model.rexnet_mm_guard = True
    rebind(original, get_model, GET_MODEL_MODULES)
    return True
