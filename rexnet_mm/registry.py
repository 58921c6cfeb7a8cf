"""Registries of rexnet_mm and how our modules reach mmdet, mmseg and mmpretrain.

Naming policy (documented in docs/install.md, "Registry names"):

* Every rexnet_mm module lives in our own registry (scope ``rexnet_mm``), a child of
  mmengine's root ``MODELS``. A scoped name such as ``type='rexnet_mm.ReXNet'`` or
  ``type='rexnet_mm.RegNet'`` therefore resolves from any toolbox's config; mmengine
  imports ``rexnet_mm.registry`` by itself when it meets the scope.
* The same classes are also registered, under plain names, into the ``MODELS``
  registries of mmdet, mmseg and mmpretrain (those installed), so that a config with
  ``custom_imports=dict(imports=['rexnet_mm'])`` can write ``type='ReXNet'``.
* We never shadow a name a toolbox already owns. Where a toolbox has a class of the
  same name (mmdet and mmpretrain both ship ``RegNet``), the toolbox keeps its own and
  ours is registered there under its distinct name (``PyclsRegNet``). Inside our scope
  the natural name works too: ``rexnet_mm.RegNet`` is ours.
"""
from importlib import import_module

from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='rexnet_mm',
                  locations=['rexnet_mm.models'])

#: Toolboxes whose MODELS registry receives our modules, if they are installed.
TOOLBOX_REGISTRIES = ('mmdet.registry', 'mmseg.registry', 'mmpretrain.registry')


def toolbox_model_registries():
    """The MODELS registries of the installed toolboxes, in a fixed order."""
    registries = []
    for module_name in TOOLBOX_REGISTRIES:
        try:
            registries.append(import_module(module_name).MODELS)
        except ImportError:
            continue
    return registries


def register_model(name=None, aliases=(), toolbox_name=None):
    """Class decorator: register into our scope and every toolbox's MODELS.

    Args:
        name (str, optional): name in our scope; defaults to the class name.
        aliases (tuple[str]): extra names in our scope only.
        toolbox_name (str, optional): name used in the toolboxes' registries;
            defaults to ``name``. A toolbox that already owns the name keeps
            its class (see the module docstring).
    """

    def _register(cls):
        own = name or cls.__name__
        for key in (own, *aliases):
            MODELS.register_module(name=key, module=cls)
        outer = toolbox_name or own
        for registry in toolbox_model_registries():
            existing = registry.get(outer) if outer in registry.module_dict else None
            if existing is None:
                registry.register_module(name=outer, module=cls)
            elif existing is not cls:
                raise KeyError(
                    f'{outer} is already registered in {registry.scope}.MODELS by '
                    f'{existing.__module__}; give rexnet_mm\'s class another '
                    f'toolbox_name')
        return cls

    return _register
