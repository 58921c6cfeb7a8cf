#!/usr/bin/env python
"""RegNet exactness report: stage plans, params and GFLOPs vs the pycls zoo, timm/mmdet parity.

    .venv/bin/python tools/analysis/regnet_report.py [--archs ARCH ...] [--no-parity]

Prints the docs/backbones.md's "Verified" table (markdown) from the helpers tests/test_regnet.py
asserts with, at the same seeds. Params: 1000-class classifiers. GFLOPs: conv + FC
multiply-adds at 224x224 as pycls counts them (``rexnet_mm.analysis.pycls_flops``).
Parity: timm's model with random weights (BN statistics included) -> converted -> ours,
max |diff| of logits / of the four stage outputs on one 64x64 image (ours gets it
BGR-flipped), eval mode; mmdet: max |diff| of the stage outputs against mmdet's own
``RegNet`` (only the archs mmdet has). Zoo numbers from docs/reference.md.
"""
import argparse
import fnmatch
import sys


def select_archs(patterns, names):
    """Zoo archs matching any of the names or shell patterns (``regnety_*``), zoo order."""
    if not patterns:
        return list(names)
    patterns = [p.lower().replace('-', '_') for p in patterns]  # also 'RegNetY-1.6GF'
    unknown = [p for p in patterns if not fnmatch.filter(names, p)]
    if unknown:
        sys.exit(f'error: no RegNet arch matches {", ".join(unknown)}; use names or '
                 f'patterns of: {", ".join(names)}')
    return [n for n in names if any(fnmatch.fnmatch(n, p) for p in patterns)]


def joined(values):
    return ','.join(str(v) for v in values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--archs', nargs='+', metavar='ARCH',
                        help='arch names or patterns, e.g. regnetx_400mf "regnety_*" '
                             '(default: the whole zoo)')
    parser.add_argument('--no-parity', action='store_true',
                        help='skip the timm and mmdet comparisons (no timm model is built)')
    args = parser.parse_args()
    from rexnet_mm.analysis.complexity import count_params, pycls_flops
    from rexnet_mm.analysis.parity import (REGNET_ZOO, regnet_mmdet_parity, regnet_timm_pair,
                                           regnet_timm_parity)
    from rexnet_mm.models.backbones.regnet import arch_stages
    from rexnet_mm.models.classifiers import build_regnet_classifier
    archs = select_archs(args.archs, list(REGNET_ZOO))
    mmdet_archs = ()
    if not args.no_parity:
        from mmdet.models.backbones import RegNet as MMDetRegNet
        mmdet_archs = MMDetRegNet.arch_settings

    print('| arch | timm | stage widths | depths | group w | params (pycls M) | '
          'GFLOPs (pycls) | timm parity logits / stages | mmdet parity |')
    print('|---|---|---|---|---|---|---|---|---|')
    worst = 0.0
    for arch in archs:
        timm_name, _, _, zoo_gflops, zoo_mparams = REGNET_ZOO[arch]
        plan = arch_stages(arch)
        groups = plan['group_widths']
        parity = mmdet = '-'
        if args.no_parity:
            ours = build_regnet_classifier(arch).eval()
        else:
            ref, ours, _ = regnet_timm_pair(arch)
            result = regnet_timm_parity(ref, ours)
            del ref
            parity = f"{result['logits']:.1e} / {max(result['stages']):.1e}"
            worst = max(worst, result['rel'])
            if arch in mmdet_archs:
                mmdet_result = regnet_mmdet_parity(arch)
                mmdet = f"{max(mmdet_result['stages']):.1e}"
                worst = max(worst, mmdet_result['rel'])
        print(f"| {arch} | {timm_name} | {joined(plan['widths'])} | {joined(plan['depths'])} | "
              f"{groups[0] if len(set(groups)) == 1 else joined(groups)} | "
              f"{count_params(ours):,} ({zoo_mparams:g}) | "
              f"{pycls_flops(ours) / 1e9:.3f} ({zoo_gflops:g}) | {parity} | {mmdet} |",
              flush=True)
    if not args.no_parity:
        from rexnet_mm.analysis.parity import PARITY_RTOL
        print(f'\nlargest timm/mmdet difference relative to the output scale: {worst:.1e} '
              f'(tests assert <= {PARITY_RTOL:g})')


if __name__ == '__main__':
    main()
