"""Several toolboxes in one process: mmengine's default scope is process-global.

mmengine 0.10.7 resolves an unprefixed type (``'Resize'``, ``'PackDetInputs'``) in the
registry of the *current default scope*, the one set last by anybody. mmdet's and
mmseg's inferencers and ``init_detector``/``init_model`` set their scope and leave it
set; mmpretrain's inferencers build their pipelines in whatever scope is current. So
``ImageClassificationInferencer`` after ``MMSegInferencer`` fails with ``ResizeEdge is
not in the mmseg::transform registry``, and ``inference_detector`` after an mmseg
inferencer builds its pipeline from mmseg's registry.

:func:`default_scope` runs a block in one toolbox's scope and gives the caller's scope
back afterwards. The fix runs each inferencer's ``__init__``/``__call__`` and the
toolboxes' ``init_*``/``inference_*`` functions that way (their own toolbox's scope,
restored after), so they can be mixed in any order; our own entry points
(:mod:`rexnet_mm.apis.runner`, :mod:`rexnet_mm.apis.transfer`) use it too. Code that
calls a toolbox's registries directly still depends on the current scope: wrap it in
``with rexnet_mm.default_scope('mmdet'):`` (docs/install.md, "Upstream fixes").
"""
import contextlib
import functools
import importlib
import itertools

from ..utils import rebind
from .guard import Fix, guarded

_counter = itertools.count()

FIX = Fix(
    'default_scope', requires=(('mmengine', '0.10.7', '0.11.0'), ),
    pins={  # the process-global scope: what default_scope() saves and restores
        'mmengine.utils.manager:ManagerMixin.get_instance':
            'e23d103eefcc8d0ac85fe6782045c7edb225d6aade433a5015f73cafb44bfc69',
        'mmengine.registry.default_scope:DefaultScope.get_current_instance':
            '466b8854dd4198ddeb939408b7dffebb8ddc254752b96d9e2d86323640aa6a63',
        'mmengine.registry.default_scope:DefaultScope.overwrite_default_scope':
            'be92e4f713c6376fc8ca085ae3f98813a03070d824a0ff64a304520599f3741d',
    },
    summary="the toolboxes' inferencers (`__init__`/`__call__`) and `init_*`/`inference_*` "
            "wrapped to run in their own toolbox's default scope and restore the caller's")


def _keep(args):  # the function sets its own scope: only restore the caller's after
    return None


def _own_scope(args):  # mmengine-based inferencers know theirs (``scope=`` argument)
    return args[0].scope


def _mmpretrain(args):  # mmpretrain's inferencers never set one
    return 'mmpretrain'


def _model_scope(default):  # inference_detector(model, ...): the model's config
    return lambda args: args[0].cfg.get('default_scope', default)


#: inferencer classes (and their subclasses) -> scope of (__init__, __call__)
INFERENCERS = (('mmdet.apis.det_inferencer', 'DetInferencer', _keep, _own_scope),
               ('mmseg.apis.mmseg_inferencer', 'MMSegInferencer', _keep, _own_scope),
               ('mmpretrain.apis.base', 'BaseInferencer', _mmpretrain, _mmpretrain))
#: module, function -> scope, modules that re-export it
FUNCTIONS = (('mmdet.apis.inference', 'init_detector', _keep, ('mmdet.apis', )),
             ('mmdet.apis.inference', 'inference_detector', _model_scope('mmdet'),
              ('mmdet.apis', )),
             ('mmseg.apis.inference', 'init_model', _keep, ('mmseg.apis', )),
             ('mmseg.apis.inference', 'inference_model', _model_scope('mmseg'),
              ('mmseg.apis', )))


@contextlib.contextmanager
def default_scope(scope_name=None):
    """Run the block with ``scope_name`` as mmengine's default scope (``None``: leave
    the current one) and restore the caller's scope afterwards, whatever the block set."""
    from mmengine.registry import DefaultScope
    saved = DefaultScope._instance_dict.copy()
    current = DefaultScope.get_current_instance()
    if scope_name is not None and (current is None or current.scope_name != scope_name):
        DefaultScope.get_instance(f'rexnet_mm-{scope_name}-{next(_counter)}',
                                  scope_name=scope_name)
    try:
        yield
    finally:
        # a new dict, as mmengine's own overwrite_default_scope does (which may have
        # replaced the one we saw)
        DefaultScope._instance_dict = saved


def _scoped(function, scope_of):
    """``function`` run under ``default_scope(scope_of(args))``."""
    if getattr(function, '_rexnet_mm_scoped', False):
        return function

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with default_scope(scope_of(args)):
            return function(*args, **kwargs)

    wrapper._rexnet_mm_scoped = True
    return wrapper


def _subclasses(cls):
    yield cls
    for sub in cls.__subclasses__():
        yield from _subclasses(sub)


@guarded(FIX, skipped=0)
def isolate_toolbox_scopes():
    """Apply the fix (idempotent); returns the number of methods and functions wrapped,
    0 where mmengine is a release this was not written for or nothing is installed."""
    wrapped = 0
    for module_name, class_name, init_scope, call_scope in INFERENCERS:
        try:
            base = getattr(importlib.import_module(module_name), class_name)
            importlib.import_module(module_name.rpartition('.')[0])  # all subclasses
        except ImportError:
            continue
        for cls in _subclasses(base):
            for method, scope_of in (('__init__', init_scope), ('__call__', call_scope)):
                function = vars(cls).get(method)
                if function is not None and not getattr(function, '_rexnet_mm_scoped',
                                                        False):
                    setattr(cls, method, _scoped(function, scope_of))
                    wrapped += 1
    for module_name, name, scope_of, exporters in FUNCTIONS:
        try:
            original = getattr(importlib.import_module(module_name), name)
        except ImportError:
            continue
        if getattr(original, '_rexnet_mm_scoped', False):
            continue
        rebind(original, _scoped(original, scope_of), (module_name, *exporters))
        wrapped += 1
    return wrapped
