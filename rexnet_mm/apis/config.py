"""Configs: where ours are, reading one with ``--cfg-options``, which toolbox it serves."""
import os.path as osp

from ..errors import UserError

#: The toolboxes whose configs the tools serve, by ``default_scope``.
TOOLBOXES = ('mmdet', 'mmseg', 'mmpretrain')


class ConfigError(UserError, ValueError):
    """A config or a command-line option that cannot work; the message names the fix."""


def config_dir():
    """The folder of rexnet_mm's configs: the checkout's ``configs/`` (source or
    editable install), else the copy a wheel ships as ``rexnet_mm/.mim/configs``."""
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for path in (osp.join(osp.dirname(package), 'configs'), osp.join(package, '.mim', 'configs')):
        if osp.isdir(path):
            return path
    raise ConfigError(f'rexnet_mm configs not found next to {package}: reinstall rexnet_mm')


def list_configs(pattern='*'):
    """Our shipped configs matching a shell ``pattern`` (on the path below ``configs/``,
    or on the name), as paths relative to :func:`config_dir`, sorted; ``_base_``
    fragments are not listed."""
    import fnmatch
    import os
    root = config_dir()
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ('_base_', '__pycache__'))
        for name in files:
            if name.endswith('.py'):
                rel = osp.relpath(osp.join(folder, name), root).replace(os.sep, '/')
                if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(name[:-3], pattern):
                    found.append(rel)
    return sorted(found)


def get_config_path(name):
    """Absolute path of one of our configs, for ``_base_`` or ``Config.fromfile``:
    ``name`` is a path below ``configs/`` (``'detection/demo/ssdlite_rexnet_shapes.py'``)
    or a config's name (``'ssdlite_rexnet'``)."""
    root = config_dir()
    rel = name if name.endswith('.py') else name + '.py'
    if osp.isfile(osp.join(root, rel)):
        return osp.join(root, rel)
    stem = osp.basename(rel)[:-3]  # not splitext: 'rexnet-1.0_cub' has a dot
    matches = [p for p in list_configs() if osp.basename(p)[:-3] == stem]
    if len(matches) == 1:
        return osp.join(root, matches[0])
    if matches:
        raise ConfigError(f'{name!r} names several configs ({", ".join(matches)}): give the '
                          'path below configs/')
    raise ConfigError(f'no rexnet_mm config {name!r}: see rexnet_mm.list_configs() '
                      '(python -c "import rexnet_mm; print(rexnet_mm.list_configs())")')


def get_config(name, cfg_options=None):
    """One of our configs as an mmengine ``Config`` (see :func:`get_config_path`)."""
    from mmengine.config import Config
    cfg = Config.fromfile(get_config_path(name))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def find_config(path):
    """``path`` if it is a file, else the shipped config it names: a config's name
    (``'ssdlite_rexnet_shapes'``) or its path below ``configs/`` (a leading
    ``configs/`` is allowed, so the checkout's paths work from anywhere). A missing path
    in another folder is not looked up by its name: it may be the user's own file."""
    if osp.isfile(path):
        return path
    rel = path.replace('\\', '/')
    rel = rel[len('configs/'):] if rel.startswith('configs/') else rel
    if '/' not in rel or osp.isfile(osp.join(config_dir(), rel)):
        try:
            return get_config_path(rel)
        except ConfigError:
            pass
    raise ConfigError(f'config file {path!r} does not exist, nor is it the name of a shipped '
                      f'config: give a path, or a name from rexnet_mm.list_configs() (python '
                      f'-c "import rexnet_mm; print(rexnet_mm.list_configs())")')


def load_config(path, cfg_options=None, launcher='none', work_dir=None, data_root=None):
    """Read ``path`` (a file, or a shipped config's name: :func:`find_config`), check and
    apply ``--cfg-options`` (:func:`check_cfg_options`), move the data to ``data_root``
    (:func:`move_data_root`; also taken from a ``data_root=DIR`` option, or from a
    ``data_root`` the config file sets over its bases'), set launcher and work_dir (default
    ``./work_dirs/<config name>``) and check that a toolbox serves it. Nothing is written."""
    from mmengine.config import Config

    path = find_config(path)
    cfg = Config.fromfile(path)
    cfg_options = dict(cfg_options or {})
    if 'data_root' in cfg_options:  # the top-level variable reaches no dataset by itself
        option = cfg_options.pop('data_root')
        data_root = data_root if data_root is not None else option
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    if data_root is not None:
        if not isinstance(data_root, str) or not data_root:
            raise ConfigError(f'--data-root {data_root!r}: give a folder')
        move_data_root(cfg, data_root)
    else:
        _follow_own_data_root(cfg, path)
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(field, None)
        if loader and loader.get('num_workers', 1) == 0 and loader.get('persistent_workers'):
            # PyTorch refuses persistent workers without workers; '...num_workers=0' on
            # the command line means "load in the main process", so drop the flag
            loader.persistent_workers = False
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    toolbox_of(cfg, path)
    return cfg


# --------------------------------------------------------------------------- --cfg-options

_MISSING = object()

#: Fields whose values mmengine / PyTorch validate only once they are built (after the
#: Runner made its work dir): (key suffix, test, what is expected).
_VALIDATED = (
    ('.batch_size', lambda v: type(v) is int and v > 0, 'a positive integer'),
    ('.num_workers', lambda v: type(v) is int and v >= 0, 'an integer >= 0'),
    ('train_cfg.max_epochs', lambda v: type(v) is int and v > 0, 'a positive integer'),
    ('train_cfg.max_iters', lambda v: type(v) is int and v > 0, 'a positive integer'),
    ('train_cfg.val_interval', lambda v: type(v) is int and v > 0, 'a positive integer'),
)


def _lookup(cfg, key):
    """The config's value at a dotted ``--cfg-options`` key (list items by index)."""
    node = cfg.to_dict() if hasattr(cfg, 'to_dict') else cfg  # a Config: its dict
    for part in key.split('.'):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _expected(old, new):
    """None if ``new`` can replace ``old`` (the config's own value), else what is
    expected. None replaces anything and anything replaces None; an int an float."""
    if old is None or new is None:
        return None
    if isinstance(old, bool):
        return None if isinstance(new, bool) else 'true or false'
    if isinstance(old, int):
        return None if type(new) is int else 'an integer'
    if isinstance(old, float):
        return None if type(new) in (int, float) else 'a number'
    if isinstance(old, str):
        return None if isinstance(new, (str, int, float)) and not isinstance(new, bool) \
            else 'a string'
    if isinstance(old, (list, tuple)):
        return None if isinstance(new, (list, tuple)) else 'a list (key="[a,b]")'
    if isinstance(old, dict):
        return None if isinstance(new, dict) else 'a dict (set its keys one by one, key.sub=v)'
    return None


def check_cfg_options(cfg, options):
    """Stop in one line on a ``--cfg-options`` value that does not fit: another type than
    the config's own value at that key (``batch_size=abc`` where the config has 8), or
    out of range for the few fields that mmengine checks only once it has built them
    (:data:`_VALIDATED`). New keys are not checked. A number given for a string entry is
    kept as the text of that number (mmengine's parser turns ``x=12`` into an int)."""
    for key, new in list(options.items()):
        old = _lookup(cfg, key)
        if old is _MISSING:
            continue
        expected = _expected(old, new)
        for suffix, ok, what in _VALIDATED:
            if (key == suffix or key.endswith(suffix)) and new is not None and not ok(new):
                expected = what
        if expected is not None:
            raise ConfigError(f'--cfg-options {key}={new!r}: expected {expected} (the '
                              f'config has {old!r}); nothing was built or written')
        if isinstance(old, str) and isinstance(new, (int, float)):
            options[key] = str(new)


# --------------------------------------------------------------------------- data root

def _is_under(path, root):
    root = root.rstrip('/')
    return path == root or path.rstrip('/') == root or path.startswith(root + '/')


def _data_sections(cfg):
    """The top-level entries holding datasets and evaluators."""
    return [k for k in cfg.keys() if k.rsplit('_', 1)[-1] in ('dataloader', 'evaluator')]


def dataset_roots(cfg):
    """The ``data_root`` values of every dataset of the config's dataloaders."""
    from ..utils import config_dicts
    roots = set()
    for section in _data_sections(cfg):
        for _, node in config_dicts(cfg[section]):
            if isinstance(node.get('data_root'), str) and node['data_root']:
                roots.add(node['data_root'])
    return roots


def move_data_root(cfg, new_root, old_roots=None):
    """Move every dataset, evaluator and annotation path of ``cfg`` from its data root(s)
    to ``new_root``: each dataset's ``data_root``, and every path in the dataloaders and
    evaluators that lies under one of the old roots (an evaluator's ``ann_file``,
    absolute annotation paths), the top-level ``data_root`` too. The old roots are the
    config's ``data_root`` and its datasets' (or ``old_roots``). Returns them."""
    from ..utils import config_dicts
    new = new_root if new_root.endswith('/') else new_root + '/'
    olds = set(old_roots) if old_roots is not None else dataset_roots(cfg) | (
        {cfg.data_root} if isinstance(cfg.get('data_root'), str) and cfg.data_root else set())
    olds = sorted((o for o in olds if o and o.rstrip('/') != new.rstrip('/')), key=len,
                  reverse=True)

    def moved(value):
        for old in olds:
            if _is_under(value, old):
                rest = value[len(old.rstrip('/')):].lstrip('/')
                return new + rest
        return None

    for section in _data_sections(cfg):
        for _, node in config_dicts(cfg[section]):
            for key, value in list(node.items()):
                if key == 'data_root' and isinstance(value, str) and (
                        old_roots is None or value in olds):
                    node[key] = new
                elif isinstance(value, str) and moved(value) is not None:
                    node[key] = moved(value)
    cfg.data_root = new
    return olds


def _own_data_root(path):
    """The literal top-level ``data_root = '...'`` of the config file, if it has
    ``_base_`` configs (and the base names), else None."""
    import ast
    try:
        tree = ast.parse(open(path).read(), path)
    except (OSError, SyntaxError):
        return None, None
    own, bases = None, None
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name):
            name = node.targets[0].id
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            if name == 'data_root' and isinstance(value, str):
                own = value
            elif name == '_base_':
                bases = [value] if isinstance(value, str) else list(value)
    return (own, bases) if bases else (None, None)


def _follow_own_data_root(cfg, path):
    """A config that sets ``data_root`` over its base's moves the base's datasets with it
    (mmengine evaluates the base's ``data_root + ...`` before the child's value exists)."""
    own, bases = _own_data_root(path)
    if own is None or all(r == own for r in dataset_roots(cfg)):
        return
    from mmengine.config import Config

    from ..fixes.upstream import base_config_path
    olds = set()
    for base in bases:
        base_cfg = Config.fromfile(base_config_path(base, path))
        olds |= dataset_roots(base_cfg)
        if isinstance(base_cfg.get('data_root'), str):
            olds.add(base_cfg.data_root)
    move_data_root(cfg, own, olds - {own})


def toolbox_of(cfg, path='config'):
    """The toolbox (mmdet / mmseg / mmpretrain) named by ``cfg.default_scope``."""
    scope = cfg.get('default_scope', None)
    if scope not in TOOLBOXES:
        raise ConfigError(
            f'{path} has default_scope={scope!r}; these tools serve configs of '
            f'{", ".join(TOOLBOXES)} (inherit one of their configs or set default_scope)')
    return scope


def set_default_dataloader_cfg(cfg, fields=('train_dataloader', 'val_dataloader',
                                            'test_dataloader')):
    """mmpretrain's tools pass these defaults; its configs rely on them."""
    import torch

    for field in fields:
        if cfg.get(field, None) is None:
            continue
        loader = cfg[field]
        loader.setdefault('collate_fn', dict(type='default_collate'))
        loader.setdefault('pin_memory', torch.cuda.is_available())
