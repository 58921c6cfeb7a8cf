"""The package's layering, read from the modules' own import statements.

rexnet_mm is layered (:data:`LAYERS`, the table of docs/development.md): models
(backbones, classifiers) near the bottom, weights (checkpoint formats) above them, apis
(configs, checks, runner, evaluation) above that, deploy (ONNX export, ONNX Runtime,
INT8) above apis, analysis (reports, benchmarks) above deploy, and the command lines
(rexnet_mm.tools, and tools/*.py that only call them) on top. These tests parse every
module with ``ast`` (function-level imports included) and check two graphs: the modules'
(no cycle; no module imports a layer above its own) and the same graph with every module
collapsed to its subpackage (no cycle; each subpackage imports only layers below its
own), and that the scripts under tools/ and tests/ neither edit ``sys.path`` nor load
other scripts.
"""
import ast
import importlib
import os.path as osp
import pkgutil
from pathlib import Path

import pytest

import rexnet_mm

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(rexnet_mm.__file__).parent

#: The layer of each subpackage and top-level module (docs/development.md has the same
#: table): each may import only those of a lower layer. ``rexnet_mm`` is the package's
#: ``__init__``, which imports what registers and fixes on import: nothing imports it.
LAYERS = {
    'rexnet_mm.errors': 0, 'rexnet_mm.numerics': 0, 'rexnet_mm.registry': 0,
    'rexnet_mm.utils': 0, 'rexnet_mm.version': 0,
    'rexnet_mm.fixes': 1, 'rexnet_mm.images': 1,
    'rexnet_mm.models': 2,
    'rexnet_mm.weights': 3, 'rexnet_mm.synthetic': 3, 'rexnet_mm.distill': 3,
    'rexnet_mm.apis': 4,
    'rexnet_mm.deploy': 5,
    'rexnet_mm.analysis': 6,
    'rexnet_mm.tools': 7,
    'rexnet_mm': 8,
}


def package_modules():
    names = ['rexnet_mm']
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix='rexnet_mm.'):
        names.append(info.name)
    return sorted(names)


def module_path(name):
    rel = name.split('.')[1:]
    path = PACKAGE.joinpath(*rel)
    return path / '__init__.py' if path.is_dir() else path.with_suffix('.py')


def imported_modules(name, modules):
    """The rexnet_mm modules ``name`` imports anywhere in its source."""
    path = module_path(name)
    is_package = path.name == '__init__.py'
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = name.split('.')
                base = parts if is_package else parts[:-1]
                base = base[:len(base) - (node.level - 1)]
                prefix = '.'.join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ''
            # a name that is a submodule imports that module, anything else the package
            targets = [f'{prefix}.{a.name}' if f'{prefix}.{a.name}' in modules else prefix
                       for a in node.names]
        else:
            continue
        for target in targets:
            # the deepest rexnet_mm module the statement names
            while target and target not in modules:
                target = target.rpartition('.')[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph():
    modules = package_modules()
    return {m: imported_modules(m, set(modules)) for m in modules}


def find_cycle(graph):
    """A list of modules forming an import cycle, or None."""
    state = {}

    def visit(node, stack):
        state[node] = 'open'
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 'open':
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt, stack)
                if cycle:
                    return cycle
        state[node] = 'done'
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node, [])
            if cycle:
                return cycle
    return None


def test_every_module_imports():
    for name in package_modules():
        if name.endswith('__main__'):
            continue
        importlib.import_module(name)


def test_import_graph_is_a_dag():
    graph = import_graph()
    assert len(graph) > 30 and graph['rexnet_mm.weights.rexnet']  # the parse found edges
    assert find_cycle(graph) is None, ' -> '.join(find_cycle(graph))


def test_cycle_detection_finds_a_planted_cycle():
    graph = import_graph()
    graph['rexnet_mm.models.backbones.base'].add('rexnet_mm.weights.base')
    graph['rexnet_mm.weights.base'].add('rexnet_mm.models.backbones.rexnet')
    assert find_cycle(graph) is not None


def unit(name):
    """The subpackage (or top-level module) of module ``name``: ``rexnet_mm.deploy.export``
    -> ``rexnet_mm.deploy``, ``rexnet_mm.utils`` -> itself, ``rexnet_mm`` -> itself."""
    return '.'.join(name.split('.')[:2])


def layer(name):
    return LAYERS[unit(name)]


def test_no_module_imports_a_higher_layer():
    graph = import_graph()
    assert set(map(unit, graph)) == set(LAYERS), 'a subpackage missing from LAYERS'
    wrong = [(m, t) for m, targets in graph.items() for t in targets if layer(t) > layer(m)]
    assert not wrong, wrong


# ------------------------------------------------------------------ the subpackage graph

def subpackage_graph(graph):
    """``graph`` (module -> imported modules) with every module collapsed to its
    :func:`unit`; imports within one unit dropped."""
    collapsed = {}
    for module, targets in graph.items():
        collapsed.setdefault(unit(module), set()).update(
            unit(t) for t in targets if unit(t) != unit(module))
    for targets in list(collapsed.values()):
        for target in targets:
            collapsed.setdefault(target, set())
    return collapsed


def layer_violations(graph, layers=None):
    """``(importer, imported)`` pairs of a subpackage graph where the imported unit is not
    of a lower layer than the importer (a unit missing from the table is one too)."""
    layers = LAYERS if layers is None else layers
    return sorted((a, b) for a, targets in graph.items() for b in targets
                  if a not in layers or b not in layers or layers[b] >= layers[a])


def test_subpackage_graph_is_a_dag():
    modules = import_graph()
    graph = subpackage_graph(modules)
    # the parse found edges, function-level imports among them (analysis.profile imports
    # the deploy modules inside its functions only)
    assert 'rexnet_mm.apis' in graph['rexnet_mm.deploy']
    assert 'rexnet_mm.deploy.kinds' in modules['rexnet_mm.analysis.profile']
    assert 'rexnet_mm.deploy' in graph['rexnet_mm.analysis']
    cycle = find_cycle(graph)
    assert cycle is None, ' -> '.join(cycle)


def test_subpackages_import_only_lower_layers():
    graph = subpackage_graph(import_graph())
    assert set(graph) == set(LAYERS), set(graph) ^ set(LAYERS)
    wrong = layer_violations(graph)
    assert not wrong, f'imports against the layer table (LAYERS): {wrong}'


def test_subpackage_checks_find_planted_faults():
    """The checks can fail: a cycle between two subpackages whose modules form no cycle
    (only the collapsed graph shows it), and an upward import planted into the real
    graph (apis importing deploy, as apis.deploy once imported analysis)."""
    synthetic = {'rexnet_mm.models.a': {'rexnet_mm.weights.b'},
                 'rexnet_mm.weights.b': {'rexnet_mm.models.c'},
                 'rexnet_mm.models.c': set()}
    assert find_cycle(synthetic) is None
    collapsed = subpackage_graph(synthetic)
    assert collapsed == {'rexnet_mm.models': {'rexnet_mm.weights'},
                         'rexnet_mm.weights': {'rexnet_mm.models'}}
    assert find_cycle(collapsed) is not None
    assert layer_violations(collapsed) == [('rexnet_mm.models', 'rexnet_mm.weights')]

    graph = import_graph()
    graph['rexnet_mm.apis.config'].add('rexnet_mm.deploy.export')
    collapsed = subpackage_graph(graph)
    cycle = find_cycle(collapsed)
    assert cycle is not None and {'rexnet_mm.apis', 'rexnet_mm.deploy'} <= set(cycle)
    assert layer_violations(collapsed) == [('rexnet_mm.apis', 'rexnet_mm.deploy')]
    # a sibling import (same layer) and a unit missing from the table are faults too
    assert layer_violations({'rexnet_mm.weights': {'rexnet_mm.synthetic'},
                             'rexnet_mm.synthetic': set()}) == [
        ('rexnet_mm.weights', 'rexnet_mm.synthetic')]
    assert layer_violations({'rexnet_mm.newpart': {'rexnet_mm.utils'}}) == [
        ('rexnet_mm.newpart', 'rexnet_mm.utils')]


def test_layer_table_is_the_documented_one():
    """docs/development.md's table lists the same units at the same layers."""
    import re
    documented = {}
    for line in (ROOT / 'docs' / 'development.md').read_text().splitlines():
        row = re.match(r'\|\s*(\d+)\s*\|([^|]*)\|', line)
        if row:
            for name in re.findall(r'`(rexnet_mm[\w.]*)`', row.group(2)):
                documented[name] = int(row.group(1))
    assert documented == LAYERS


def _scripts():
    return sorted(ROOT.glob('tools/**/*.py')) + sorted(ROOT.glob('tests/*.py'))


def test_scripts_neither_edit_sys_path_nor_load_scripts():
    tool_names = {p.stem for p in ROOT.glob('tools/**/*.py')}
    for path in _scripts():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
                if node.value.attr == 'path' and getattr(node.value.value, 'id', '') == 'sys':
                    assert node.attr not in ('insert', 'append', 'extend'), path
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) \
                    else [node.module or '']
                for n in names:
                    assert n.split('.')[0] not in tool_names or n.startswith('rexnet_mm'), \
                        (path, n)
            if isinstance(node, ast.Name) and node.id == 'spec_from_file_location':
                pytest.fail(f'{path} loads a file as a module')


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_train_and_test_scripts_are_thin(tool):
    lines = (ROOT / 'tools' / f'{tool}.py').read_text().splitlines()
    assert len(lines) < 100
    assert osp.isfile(module_path(f'rexnet_mm.tools.{tool}'))


# ------------------------------------------ private upstream names only in rexnet_mm/fixes/

#: Packages whose private (single-underscore) names rexnet_mm may use in rexnet_mm/fixes/
#: only: a patch there is pinned to the upstream code (tests/test_fixes.py); anywhere
#: else an upgrade would change behaviour silently.
UPSTREAM = ('mmengine', 'mmcv', 'mmdet', 'mmseg', 'mmpretrain', 'torch', 'torchvision')
#: Justified exceptions, as (module path, name): none.
PRIVATE_ALLOWED = set()
#: a definition of the name {0}: ``def``/``class``, ``x.{0} = ...`` or ``{0} = ...``
_DEFINITION = (r'(?:def|class)\s+({0})\b|\.({0})\s*(?::[^=\n]*)?=(?!=)'
               r'|^\s*({0})\s*(?::[^=\n]*)?=(?!=)')


def _is_private(name):
    return name[:1] == '_' and name[1:2].isalpha() and name.isidentifier()


def private_names_used(tree):
    """``(line, kind, name)`` for each private name a module reaches: ``'import'`` (from an
    upstream package, or a private upstream module), ``'self'`` (``self._x`` /
    ``cls._x``), ``'attr'`` (``anything._x``), ``'string'`` (``getattr(x, '_x')`` and
    other string constants spelling a private name)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module.split('.')[0] in UPSTREAM:
                found += [(node.lineno, 'import', f'{node.module}.{a.name}') for a in node.names
                          if _is_private(a.name) or any(map(_is_private,
                                                             node.module.split('.')))]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, 'import', a.name) for a in node.names
                      if a.name.split('.')[0] in UPSTREAM
                      and any(map(_is_private, a.name.split('.')))]
        elif isinstance(node, ast.Attribute) and _is_private(node.attr):
            on_self = isinstance(node.value, ast.Name) and node.value.id in ('self', 'cls')
            found.append((node.lineno, 'self' if on_self else 'attr', node.attr))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and _is_private(node.value)):
            found.append((node.lineno, 'string', node.value))
    return found


def _own_definitions(trees):
    """Names rexnet_mm defines itself: functions, classes, module and class variables."""
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Module, ast.ClassDef)):
                for stmt in node.body:
                    for target in getattr(stmt, 'targets', [getattr(stmt, 'target', None)]):
                        if isinstance(target, ast.Name):
                            names.add(target.id)
    return names


_UPSTREAM_DEFINES = {}  # name -> whether an upstream source defines it (read once)


def _files_mentioning(roots, needles):
    """The ``.py`` files under ``roots`` that contain one of ``needles`` (grep where there
    is one: 0.3 s instead of 2 s for torch's 50 MB of sources)."""
    import shutil
    import subprocess
    grep = shutil.which('grep')
    if grep:
        args = [a for n in needles for a in ('-e', n)]
        out = subprocess.run([grep, '-rlF', '--include=*.py', *args, *roots],
                             capture_output=True, text=True).stdout
        return [Path(line) for line in out.splitlines()]
    return [p for root in roots for p in Path(root).rglob('*.py')
            if any(n.encode() in p.read_bytes() for n in needles)]


def _upstream_definitions(names):
    """The ``names`` that an upstream package's source defines (``def``/``class``, or an
    assignment to ``x._name``/``_name``): read from the installed sources."""
    import importlib.util
    import re
    todo = sorted(set(names) - set(_UPSTREAM_DEFINES))
    if todo:
        roots = [root for package in UPSTREAM
                 for spec in [importlib.util.find_spec(package)] if spec
                 for root in spec.submodule_search_locations or []]
        defined = set()
        for path in _files_mentioning(roots, todo):
            if '.mim' in path.parts or 'configs' in path.parts:
                continue  # toolbox configs: `_base_ = ...` is data, not an API
            text = path.read_text(encoding='utf-8', errors='replace')
            for name in todo:
                if name not in defined and name in text and re.search(
                        _DEFINITION.format(re.escape(name)), text, re.M):
                    defined.add(name)
        _UPSTREAM_DEFINES.update((n, n in defined) for n in todo)
    return {n for n in names if _UPSTREAM_DEFINES[n]}


def private_upstream_uses(sources):
    """``{path: [(line, kind, name), ...]}``: the private upstream names each of
    ``sources`` (``{path: text}``) uses, judged against the names rexnet_mm defines."""
    trees = {path: ast.parse(text, str(path)) for path, text in sources.items()}
    own = _own_definitions(ast.parse(p.read_text()) for p in PACKAGE.rglob('*.py'))
    own |= _own_definitions(trees.values())
    used = {path: private_names_used(tree) for path, tree in trees.items()}
    upstream = _upstream_definitions({n.rpartition('.')[2] for uses in used.values()
                                      for _, kind, n in uses if kind != 'import'})
    wrong = {}
    for path, uses in used.items():
        for line, kind, name in uses:
            if kind == 'import':
                bad = True
            elif kind == 'attr':  # on another object: upstream's if upstream has that name
                bad = name in upstream
            else:  # on self, or a string: upstream's unless we define the name ourselves
                bad = name in upstream and name not in own
            if bad and (str(path), name) not in PRIVATE_ALLOWED:
                wrong.setdefault(str(path), []).append((line, kind, name))
    return wrong


def _checked_sources():
    paths = [p for p in PACKAGE.rglob('*.py') if 'fixes' not in p.relative_to(PACKAGE).parts]
    paths += sorted(ROOT.glob('tools/**/*.py'))
    return {p.relative_to(ROOT): p.read_text() for p in paths}


def test_private_upstream_names_only_in_fixes():
    """No module outside rexnet_mm/fixes/ (nor a tools/ script) uses a private name of
    mmengine, mmcv, mmdet, mmseg, mmpretrain or torch: rexnet_mm/fixes/upstream.py has
    helpers for the ones the other layers need."""
    sources = _checked_sources()
    assert len(sources) > 40 and any('models' in str(p) for p in sources)
    wrong = private_upstream_uses(sources)
    assert not wrong, ('private upstream names outside rexnet_mm/fixes/ (move them into a '
                       f'helper there, e.g. rexnet_mm/fixes/upstream.py): {wrong}')


def test_private_upstream_scan_finds_planted_uses():
    planted = '\n'.join([
        'from torch.nn.modules.batchnorm import _BatchNorm',
        'import torch._dynamo',
        'from mmpretrain.apis.model import ModelHub',
        'n = len(ModelHub._models_dict)',
        'def f(self, model, pre):',
        '    self._is_init = True',  # mmengine BaseModule's, set on our subclass
        '    getattr(pre, "_channel_conversion", False)',
        '    return model._forward(pre)',  # mmseg's, though our backbones define one too
        'def g(self):',
        '    return self._freeze_stages(), self._not_upstream, x._rexnet_mm_mark',
    ])
    wrong = private_upstream_uses({Path('planted.py'): planted})['planted.py']
    assert sorted(name for _, _, name in wrong) == sorted([
        'torch.nn.modules.batchnorm._BatchNorm', 'torch._dynamo', '_models_dict', '_is_init',
        '_channel_conversion', '_forward']), wrong
