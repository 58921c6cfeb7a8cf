"""The package's layering, read from the modules' own import statements.

rexnet_mm is layered: models (backbones, classifiers) at the bottom, weights (checkpoint
formats) above them, apis (configs, checks, runner, evaluation) above that, and the
command lines (rexnet_mm.tools, and tools/*.py that only call them) on top. These tests
parse every module with ``ast`` (function-level imports included), check that the
import graph has no cycle and that no module imports a layer above its own, and that
the scripts under tools/ and tests/ neither edit ``sys.path`` nor load other scripts.
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

#: Layer of each top-level part of the package; a module may import only modules of
#: its own or a lower layer.
LAYERS = {'registry': 0, 'fixes': 0, 'utils': 0, 'errors': 0, 'models': 1, 'weights': 2, 'synthetic': 2,
          'analysis': 3, 'apis': 3, 'tools': 4}


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


def layer(name):
    part = name.split('.')[1] if '.' in name else None
    return LAYERS.get(part, 0)


def test_no_module_imports_a_higher_layer():
    graph = import_graph()
    wrong = [(m, t) for m, targets in graph.items() for t in targets
             if m != 'rexnet_mm' and layer(t) > layer(m)]
    assert not wrong, wrong
    assert set(n.split('.')[1] for n in graph if n.count('.') >= 1) <= set(LAYERS)


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
