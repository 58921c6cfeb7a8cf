#!/usr/bin/env python
"""Prepare mmcv 2.1.0's CPU ops for a unity build (a few translation units, not 77).

    python tools/mmcv_unity.py SRC_DIR [--units 4]

Used by ``tools/install.sh``; standard library only (it runs before rexnet_mm is
installed). Every one of mmcv's 77 CPU op sources includes ``torch/extension.h``,
whose parsing and template instantiation, not the op code, is most of the ~30 s each
file takes to compile. Compiling the sources in a few units parses those headers a
few times instead of 77 times; the object code of each op is the same.

What it does to the unpacked sdist ``SRC_DIR`` (nothing else is touched):

1. checks that the CPU op sources are exactly the ones this plan was made for (their
   names and a SHA-256 over their contents); anything else stops with exit status 2
   and a one-line message, before any file is written;
2. writes ``mmcv/ops/csrc/unity/unit_K.cpp``, each ``#include``-ing a share of the
   sources. Sources that define the same file-local helpers (``PreCalc``,
   ``pre_calc_for_bilinear_interpolate``, ``bilinear_interpolate_gradient``, ``add``)
   go to different units; every macro a source ``#define``s is ``#undef``-ed after it,
   and the two sources with global side effects (``using namespace std``, ``min``/
   ``max`` macros) come last in their units;
3. points the CPU branch of mmcv's ``setup.py`` at those units (the branch must be
   found exactly once) and adds ``-g0`` after its ``-std=`` flag: no debug information,
   which changes no instruction of the compiled ops.

``tools/install.sh`` falls back to mmcv's own file-by-file build if the unity build
fails, and ``tests/test_mmcv_ops.py`` checks the ops against torchvision and plain
PyTorch references.
"""
import argparse
import glob
import hashlib
import os
import os.path as osp
import re
import sys

#: SHA-256 of the sorted CPU op sources (name and content) of mmcv 2.1.0's sdist.
EXPECTED_SOURCES_SHA256 = '33e48d455c4f04dc68cf3a8865cba2ed5127559e823e6fb90fa6c4a2be94c0b0'
EXPECTED_NUM_SOURCES = 77
#: Sources that each define the same file-local helpers: never in one unit together.
CLASH_GROUPS = (
    ('pytorch/cpu/bezier_align.cpp', 'pytorch/cpu/roi_align.cpp',
     'pytorch/cpu/roi_align_rotated.cpp', 'pytorch/cpu/rotated_feature_align.cpp'),
)
#: Sources whose global side effects must not reach other sources: last in a unit.
LAST_IN_UNIT = ('pytorch/contour_expand.cpp', 'pytorch/cpu/psamask.cpp')
CSRC = osp.join('mmcv', 'ops', 'csrc')
CPU_BRANCH = ("            print(f'Compiling {ext_name} only with CPU')\n"
              "            op_files = glob.glob('./mmcv/ops/csrc/pytorch/*.cpp') + \\\n"
              "                glob.glob('./mmcv/ops/csrc/pytorch/cpu/*.cpp')\n")
#: The C++ flags of the (non-Windows, torch > 1.12) build, after install.sh's edit.
CXX_FLAGS = "extra_compile_args['cxx'] = ['-std=c++20']\n"
CXX_FLAGS_G0 = "extra_compile_args['cxx'] = ['-std=c++20', '-g0']\n"
UNITY_BRANCH = ("            print(f'Compiling {ext_name} only with CPU (unity build)')\n"
                "            op_files = sorted(glob.glob('./mmcv/ops/csrc/unity/*.cpp'))\n")


class PlanError(Exception):
    """The sources are not the ones the unity plan was made for."""


def op_sources(src_dir):
    """The CPU op sources setup.py compiles, relative to ``mmcv/ops/csrc``."""
    root = osp.join(src_dir, CSRC)
    files = glob.glob(osp.join(root, 'pytorch', '*.cpp')) + \
        glob.glob(osp.join(root, 'pytorch', 'cpu', '*.cpp'))
    return sorted(osp.relpath(f, root).replace(os.sep, '/') for f in files)


def sources_digest(src_dir, sources):
    digest = hashlib.sha256()
    for rel in sources:
        digest.update(rel.encode() + b'\0')
        with open(osp.join(src_dir, CSRC, rel), 'rb') as f:
            digest.update(f.read() + b'\0')
    return digest.hexdigest()


def plan_units(sources, sizes, num_units):
    """Split ``sources`` into ``num_units`` lists of similar total size.

    Largest first, each into the smallest unit that holds no source of its clash
    group; the LAST_IN_UNIT sources are moved to the end of their units.
    """
    group_of = {f: i for i, group in enumerate(CLASH_GROUPS) for f in group}
    if max(len(g) for g in CLASH_GROUPS) > num_units:
        raise PlanError(f'need at least {max(len(g) for g in CLASH_GROUPS)} units')
    units = [[] for _ in range(num_units)]
    totals = [0] * num_units
    for rel in sorted(sources, key=lambda f: (-sizes[f], f)):
        allowed = [k for k in range(num_units)
                   if rel not in group_of or all(group_of.get(o) != group_of[rel]
                                                 for o in units[k])]
        k = min(allowed, key=lambda k: (totals[k], k))
        units[k].append(rel)
        totals[k] += sizes[rel]
    return [sorted(u, key=lambda f: (f in LAST_IN_UNIT, f)) for u in units]


def defined_macros(path):
    with open(path, errors='replace') as f:
        return re.findall(r'^\s*#\s*define\s+(\w+)', f.read(), flags=re.M)


def write_units(src_dir, units):
    out_dir = osp.join(src_dir, CSRC, 'unity')
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for k, unit in enumerate(units):
        lines = ['// Generated by rexnet_mm tools/mmcv_unity.py: a unity build unit.']
        for rel in unit:
            lines.append(f'#include "../{rel}"')
            for macro in defined_macros(osp.join(src_dir, CSRC, rel)):
                lines.append(f'#undef {macro}')
        path = osp.join(out_dir, f'unit_{k}.cpp')
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        paths.append(path)
    return paths


def patch_setup(src_dir):
    path = osp.join(src_dir, 'setup.py')
    with open(path) as f:
        text = f.read()
    if text.count(CPU_BRANCH) != 1:
        raise PlanError("mmcv's setup.py has no single CPU-only branch to patch")
    if text.count(CXX_FLAGS) != 1:
        raise PlanError(f"mmcv's setup.py has no single {CXX_FLAGS.strip()!r} to add "
                        f"-g0 to (run after the c++17 -> c++20 edit)")
    text = text.replace(CPU_BRANCH, UNITY_BRANCH).replace(CXX_FLAGS, CXX_FLAGS_G0)
    with open(path, 'w') as f:
        f.write(text)


def prepare(src_dir, num_units):
    sources = op_sources(src_dir)
    digest = sources_digest(src_dir, sources)
    if len(sources) != EXPECTED_NUM_SOURCES or digest != EXPECTED_SOURCES_SHA256:
        raise PlanError(
            f'mmcv CPU op sources differ from the ones the unity plan was made for '
            f'({len(sources)} files, sha256 {digest[:12]}; expected '
            f'{EXPECTED_NUM_SOURCES}, {EXPECTED_SOURCES_SHA256[:12]})')
    sizes = {rel: osp.getsize(osp.join(src_dir, CSRC, rel)) for rel in sources}
    units = plan_units(sources, sizes, num_units)
    paths = write_units(src_dir, units)
    patch_setup(src_dir)
    return units, paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src_dir', help='unpacked mmcv 2.1.0 sdist')
    parser.add_argument('--units', type=int, default=4, help='translation units')
    parser.add_argument('--digest', action='store_true',
                        help='only print the sources digest (for a new plan)')
    args = parser.parse_args(argv)
    if args.digest:
        sources = op_sources(args.src_dir)
        print(len(sources), sources_digest(args.src_dir, sources))
        return
    try:
        units, _ = prepare(args.src_dir, args.units)
    except PlanError as exc:
        print(f'mmcv unity build: {exc}', file=sys.stderr)
        sys.exit(2)
    print(f'mmcv unity build: {sum(map(len, units))} sources in {len(units)} units '
          f'({", ".join(str(len(u)) for u in units)} files)')


if __name__ == '__main__':
    main()
