#!/usr/bin/env python
"""ReXNet exactness report: timm parity per width, params and MACs against the paper.

    .venv/bin/python tools/analysis/rexnet_report.py [--no-parity]

Parity: timm's ReXNet with random weights (BN statistics included) -> converted ->
ours, max |diff| of logits and of the seven stage outputs on a 2x3x64x64 input (eval mode).
Params: 1000-class classifiers. MACs: conv + fc multiply-adds at 224x224
(mmengine's FlopAnalyzer). Paper numbers from docs/reference.md.
"""
import argparse

V1_PAPER = {0.9: (None, 0.348), 1.0: (4_796_873, 0.398), 1.3: (7_557_091, 0.662),
            1.5: (9_728_593, 0.876), 2.0: (16_366_620, 1.529), 2.2: (19_490_000, 1.843),
            3.0: (34_708_792, 3.396)}
LITE_PAPER = {1.0: (4_740_000, 0.407), 1.3: (6_750_000, 0.646), 1.5: (8_330_000, 0.836),
              2.0: (12_970_000, 1.498)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--no-parity', action='store_true', help='skip the timm comparison')
    args = parser.parse_args()
    from rexnet_mm.analysis.complexity import conv_fc_macs, count_params
    from rexnet_mm.models.classifiers import build_rexnet_classifier
    from rexnet_mm.analysis.parity import rexnet_timm_parity

    print('| model | params | paper params | MACs@224 | paper MACs | MACs diff | '
          'timm max abs diff (logits / taps) |')
    print('|---|---|---|---|---|---|---|')
    worst = 0.0
    for arch, table in (('v1', V1_PAPER), ('lite', LITE_PAPER)):
        for width, (p_params, p_macs) in table.items():
            model = build_rexnet_classifier(widen_factor=width, arch=arch).eval()
            params, macs = count_params(model), conv_fc_macs(model) / 1e9
            parity = '-'
            if arch == 'v1' and not args.no_parity:
                r = rexnet_timm_parity(width, seed=int(width * 10))
                parity = f"{r['logits']:.1e} / {max(r['taps']):.1e}"
                worst = max(worst, r['rel'])
            paper = '-' if p_params is None else (
                f'{p_params:,}' if p_params % 10000 else f'{p_params / 1e6:.2f}M')
            print(f'| ReXNet-{width:g} ({arch}) | {params:,} | {paper} | {macs:.3f}G | '
                  f'{p_macs:.3f}G | {100 * (macs / p_macs - 1):+.2f}% | {parity} |')
    if not args.no_parity:
        from rexnet_mm.analysis.parity import PARITY_RTOL
        print(f'\nlargest timm difference relative to the output scale: {worst:.1e} '
              f'(tests assert <= {PARITY_RTOL:g})')


if __name__ == '__main__':
    main()
