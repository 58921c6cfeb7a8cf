"""Small helpers every layer may use (layer 0: imports nothing of rexnet_mm)."""
import importlib
import sys


class _Bar:
    """mmengine's ProgressBar on stderr, ending its line when the last task is done."""

    def __init__(self, total):
        from mmengine.utils import ProgressBar
        self.bar, self.total = ProgressBar(total, file=sys.stderr), total

    def update(self):
        self.bar.update()
        if self.bar.completed == self.total:
            sys.stderr.write('\n')


class _NoBar:
    def update(self):
        pass


def progress_bar(total, enabled=True):
    """A progress bar on stderr (mmengine's, as the toolboxes' tools draw it) for a
    command line, or a no-op (library calls and tests stay quiet)."""
    return _Bar(total) if enabled and total > 0 else _NoBar()


def rebind(original, replacement, module_names):
    """Replace ``original`` by ``replacement`` in every one of ``module_names`` that binds
    it under its name (a toolbox re-exports a function in several modules; patching one
    binding would leave the others calling the original)."""
    for module_name in module_names:
        module = importlib.import_module(module_name)
        if getattr(module, original.__name__, None) is original:
            setattr(module, original.__name__, replacement)


def config_dicts(node, key=''):
    """``(dotted key, dict)`` for every dict in a nested config of dicts and lists (list
    items as ``key.0``, the form ``--cfg-options`` takes), ``node`` itself included."""
    if isinstance(node, dict):
        yield key, node
        for k, v in node.items():
            yield from config_dicts(v, f'{key}.{k}' if key else str(k))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from config_dicts(v, f'{key}.{i}' if key else str(i))
