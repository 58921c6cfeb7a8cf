#!/usr/bin/env python
"""ReXNet exactness report: timm parity per width, params and MACs against the paper.

    .venv/bin/python tools/analysis/rexnet_report.py [--no-parity]

Parity: timm's ReXNet with random weights (BN statistics included) -> converted ->
ours, max |diff| of logits and of the seven stage outputs on a 2x3x64x64 input (eval mode).
Params: 1000-class classifiers. MACs: conv + fc multiply-adds at 224x224
(mmengine's FlopAnalyzer). Paper numbers from docs/reference.md.
"""
import argparse


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--no-parity', action='store_true', help='skip the timm comparison')
    args = parser.parse_args()
    from rexnet_mm.analysis.complexity import conv_fc_macs, count_params
    from rexnet_mm.models.classifiers import build_rexnet_classifier
    from rexnet_mm.analysis.parity import REXNET_PAPER, rexnet_timm_parity

    print('| model | params | paper params | MACs@224 | paper MACs | MACs diff | '
          'timm max abs diff (logits / taps) |')
    print('|---|---|---|---|---|---|---|')
    worst = 0.0
    for (arch, width), (p_params, p_macs) in REXNET_PAPER.items():
        p_macs /= 1e9
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
