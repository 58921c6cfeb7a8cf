"""The ReXNet paper's rank study (its section 3) and the feature rank of real models.

Rank study (``python tools/analysis/rank_study.py``): many random single-block networks
``f(WX)`` are built, each with a random output width ``d_out`` and an input width
``d_in = round(ratio * d_out)`` for dimension ratios 0.1 ... 1.0; each is fed a random
input and the numerical rank of its output, divided by ``d_out``, is averaged per ratio
and per nonlinearity. Block types (all built from mmcv's ``ConvModule``, conv -> BN ->
nonlinearity, BN normalising with the batch's statistics):

* ``conv1x1`` / ``conv3x3``: one layer ``d_in -> d_out``;
* ``ib_conv3x3`` / ``ib_dw3x3``: a MobileNetV2 inverted bottleneck ``d_in -> d_out``:
  1x1 expansion to ``6 d_in`` channels (BN, nonlinearity), a full / depthwise 3x3 layer
  (BN, nonlinearity), a linear 1x1 projection to ``d_out`` (BN, no nonlinearity).

**Numerical rank.** A ``C x N`` output matrix (channels x batch*pixels, ``N >= 4 C``,
float64 throughout) has numerical rank ``#{i: s_i > rtol * s_1}`` (``s_1`` the largest
singular value), ``rtol`` 0.05 by default. The tolerance decides the answer: at
``rtol <= 1e-2`` every nonlinearity gives a full-rank output at every ratio (an
elementwise nonlinearity lifts the rank generically; what differs is how far the added
singular values reach); docs/design.md shows what changes at 0.01 and 0.1. ``s_1`` is
mostly the output's mean direction, so a nonlinearity with a large output mean (ReLU:
half its outputs are 0, the rest positive) counts fewer of its other directions than
SiLU or ELU -- the measurement is uncentred like the paper's ``rank(f(WX))``.

Feature rank (``python tools/analysis/feature_rank.py CONFIG --images DIR``): the
backbone of any config (ours, mmdet's, mmpretrain's, mmseg's) is run on a folder of
images; per tap and image the ``C x HW`` feature matrix gives singular values ``s``; the
report lists the nuclear norm of ``s / s_1`` (``sum(s) / s_1``, a soft rank between 1 and
``min(C, HW)``) also divided by ``C``, and the cumulative distribution of ``s / s_1``,
as the paper compares MobileNetV2 with ReXNet.
"""
import math
import os
import os.path as osp
import sys

import numpy as np
import torch
import torch.nn as nn

from ..errors import InvalidValueError, MissingFileError, UserError
from ..images import list_images
from ..utils import progress_bar

#: nonlinearity name -> mmcv activation config (None: the linear case)
NONLINEARITIES = {
    'identity': None,
    'relu': dict(type='ReLU'),
    'relu6': dict(type='ReLU6'),
    'leaky_relu': dict(type='LeakyReLU'),
    'elu': dict(type='ELU'),
    'silu': dict(type='SiLU'),
    'gelu': dict(type='GELU'),
    'hswish': dict(type='HSwish'),
}
BLOCKS = ('conv1x1', 'conv3x3', 'ib_conv3x3', 'ib_dw3x3')
RATIOS = tuple(round(0.1 * k, 1) for k in range(1, 11))
DEFAULT_RTOL = 0.05
IB_EXPANSION = 6  # MobileNetV2's expansion ratio


def build_block(block, in_channels, out_channels, nonlinearity):
    """One random network of the study: a ``ConvModule`` stack (conv -> BN -> act)."""
    from mmcv.cnn import ConvModule
    if block not in BLOCKS:
        raise InvalidValueError(f'unknown block {block!r}: choose from {", ".join(BLOCKS)}')
    if nonlinearity not in NONLINEARITIES:
        raise InvalidValueError(f'unknown nonlinearity {nonlinearity!r}: choose from '
                         f'{", ".join(NONLINEARITIES)}')
    layer = dict(norm_cfg=dict(type='BN'), act_cfg=NONLINEARITIES[nonlinearity])
    if block == 'conv1x1':
        return ConvModule(in_channels, out_channels, 1, **layer)
    if block == 'conv3x3':
        return ConvModule(in_channels, out_channels, 3, padding=1, **layer)
    mid = IB_EXPANSION * in_channels
    return nn.Sequential(
        ConvModule(in_channels, mid, 1, **layer),
        ConvModule(mid, mid, 3, padding=1, groups=mid if block == 'ib_dw3x3' else 1, **layer),
        ConvModule(mid, out_channels, 1, norm_cfg=dict(type='BN'), act_cfg=None))


def rank_ratio(features, rtol=DEFAULT_RTOL):
    """Numerical rank of ``(B, C, H, W)`` features as a ``C x BHW`` matrix, over ``C``."""
    mat = features.transpose(0, 1).reshape(features.shape[1], -1).double()
    s = torch.linalg.svdvals(mat)
    return float((s > rtol * s[0]).sum()) / mat.shape[0]


def sample_widths(ratio, rng, widths=(64, 256)):
    """``(d_in, d_out)`` of one network: ``d_out`` uniform in ``widths``, ``d_in`` by ratio."""
    d_out = rng.randint(widths[0], widths[1])
    return max(1, round(ratio * d_out)), d_out


def run_study(blocks=BLOCKS, nonlinearities=tuple(NONLINEARITIES), ratios=RATIOS,
              networks=10, widths=(64, 256), size=8, rtol=DEFAULT_RTOL, seed=0,
              progress=True):
    """The rank study; returns rows ``dict(block, nonlinearity, ratio, rank_ratio, std,
    networks)``, one per (block, nonlinearity, ratio).

    Every nonlinearity sees the same networks (same widths, weights and inputs), so
    their differences are paired. Deterministic by ``seed`` (float64 throughout).
    """
    import random
    bar = progress_bar(len(blocks) * len(ratios) * networks, progress)
    values = {}
    rng = random.Random(seed)
    for block in blocks:
        for ratio in ratios:
            for net in range(networks):
                d_in, d_out = sample_widths(ratio, rng, widths)
                net_seed = rng.randrange(2**31)
                gen = torch.Generator().manual_seed(net_seed)
                batch = math.ceil(4 * d_out / (size * size))  # N >= 4 C columns
                x = torch.randn(batch, d_in, size, size, generator=gen, dtype=torch.float64)
                for name in nonlinearities:
                    torch.manual_seed(net_seed)  # same weights for every nonlinearity
                    model = build_block(block, d_in, d_out, name).double().train()
                    with torch.no_grad():
                        values.setdefault((block, name, ratio), []).append(
                            rank_ratio(model(x), rtol))
                bar.update()
    return [dict(block=b, nonlinearity=n, ratio=r, rank_ratio=float(np.mean(v)),
                 std=float(np.std(v)), networks=len(v))
            for (b, n, r), v in values.items()]


def _curve(rows, block, nonlinearity):
    return {r['ratio']: r['rank_ratio'] for r in rows
            if r['block'] == block and r['nonlinearity'] == nonlinearity}


def observations(rows, small=0.3):
    """The paper's three observations, checked on study rows; a list of
    ``(statement, holds, evidence)``. Needs ``identity``, ``relu``, ``silu`` and
    ``elu`` rows for ``conv1x1`` and rows for ``ib_dw3x3``.

    1. A nonlinearity raises the rank ratio above the linear case at small dimension
       ratios (``conv1x1``, every nonlinearity, every ratio <= ``small``).
    2. SiLU and ELU raise it more than ReLU at ratios <= ``small`` (``conv1x1``, the
       mean over those ratios).
    3. The depthwise inverted bottleneck's rank ratio falls as the dimension ratio
       falls (drastic expansion harms the rank): for every nonlinearity, its mean over
       the ratios <= ``small`` is below its mean over the ratios >= 0.7.
    """
    found = []
    linear = _curve(rows, 'conv1x1', 'identity')
    small_ratios = sorted(r for r in linear if r <= small + 1e-9)
    lows = []
    nonlin = sorted({r['nonlinearity'] for r in rows if r['block'] == 'conv1x1'}
                    - {'identity'})
    for name in nonlin:
        curve = _curve(rows, 'conv1x1', name)
        lows.append(min((curve[r] - linear[r], name, r) for r in small_ratios))
    worst = min(lows)
    found.append(('a nonlinearity raises the rank ratio above the linear case at '
                  f'dimension ratios <= {small} (1x1 conv)', worst[0] > 0,
                  f'smallest gain {worst[0]:+.3f} ({worst[1]} at {worst[2]})'))
    mean = lambda c: float(np.mean([c[r] for r in small_ratios]))  # noqa: E731
    relu = mean(_curve(rows, 'conv1x1', 'relu'))
    silu, elu = mean(_curve(rows, 'conv1x1', 'silu')), mean(_curve(rows, 'conv1x1', 'elu'))
    found.append((f'SiLU and ELU raise it more than ReLU at dimension ratios <= {small} '
                  '(1x1 conv, mean over those ratios)', silu > relu and elu > relu,
                  f'ReLU {relu:.3f}, SiLU {silu:.3f}, ELU {elu:.3f}'))
    falls = []
    for name in sorted({r['nonlinearity'] for r in rows if r['block'] == 'ib_dw3x3'}):
        curve = _curve(rows, 'ib_dw3x3', name)
        lo = float(np.mean([v for r, v in curve.items() if r <= small + 1e-9]))
        hi = float(np.mean([v for r, v in curve.items() if r >= 0.7 - 1e-9]))
        falls.append((hi - lo, name, lo, hi))
    least = min(falls)
    found.append(('the depthwise inverted bottleneck loses rank as the dimension ratio '
                  f'falls (mean over ratios <= {small} below mean over >= 0.7, every '
                  'nonlinearity)', least[0] > 0,
                  f'smallest drop {least[0]:.3f} ({least[1]}: {least[2]:.3f} vs '
                  f'{least[3]:.3f})'))
    return found


def write_csv(rows, path):
    import csv
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f'{v:.4f}' if isinstance(v, float) else v)
                             for k, v in row.items()})


def plot_study(rows, path, title=None):
    """The paper's figure: rank ratio vs dimension ratio, a panel per block type."""
    from .plots import _pyplot
    plt = _pyplot()
    blocks = [b for b in BLOCKS if any(r['block'] == b for r in rows)]
    names = [n for n in NONLINEARITIES if any(r['nonlinearity'] == n for r in rows)]
    fig, axes = plt.subplots(1, len(blocks), figsize=(4 * len(blocks), 3.8), squeeze=False)
    for ax, block in zip(axes[0], blocks):
        for name in names:
            curve = sorted(_curve(rows, block, name).items())
            ax.plot([c[0] for c in curve], [c[1] for c in curve], marker='o', ms=3,
                    lw=2.2 if name in ('relu', 'silu', 'elu') else 1.2,
                    ls='--' if name == 'identity' else '-', label=name)
        ax.set_title(block)
        ax.set_xlabel('dimension ratio d_in / d_out')
        ax.set_xlim(0, 1.05)
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel('rank ratio rank / d_out')
    axes[0][-1].legend(fontsize=8, loc='lower right')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def format_table(rows, block):
    names = [n for n in NONLINEARITIES if any(r['nonlinearity'] == n and r['block'] == block
                                              for r in rows)]
    ratios = sorted({r['ratio'] for r in rows if r['block'] == block})
    lines = [f'{block:<12}' + ''.join(f'{n:>11}' for n in names)]
    curves = {n: _curve(rows, block, n) for n in names}
    for ratio in ratios:
        lines.append(f'  ratio {ratio:<4}' + ''.join(f'{curves[n][ratio]:>11.3f}'
                                                    for n in names))
    return '\n'.join(lines)


def study_main(argv=None):
    """Command line of ``tools/analysis/rank_study.py``."""
    import argparse
    parser = argparse.ArgumentParser(
        description="The ReXNet paper's rank study: rank ratio of random blocks' outputs "
                    'vs dimension ratio, per nonlinearity (PNG + CSV).')
    parser.add_argument('--out-dir', default='work_dirs/rank_study')
    parser.add_argument('--networks', type=int, default=10,
                        help='random networks per (block, ratio) (default 10)')
    parser.add_argument('--blocks', nargs='+', default=list(BLOCKS), choices=BLOCKS)
    parser.add_argument('--nonlinearities', nargs='+', default=list(NONLINEARITIES),
                        choices=list(NONLINEARITIES))
    parser.add_argument('--widths', nargs=2, type=int, default=(64, 256),
                        metavar=('MIN', 'MAX'), help='range of d_out (default 64 256)')
    parser.add_argument('--rtol', type=float, default=DEFAULT_RTOL,
                        help='numerical rank: singular values above rtol * the largest '
                             f'(default {DEFAULT_RTOL})')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if args.networks < 1 or not 1 <= args.widths[0] <= args.widths[1]:
        parser.error('--networks must be >= 1 and --widths MIN MAX with 1 <= MIN <= MAX')
    if not 0 < args.rtol < 1:
        parser.error('--rtol must be in (0, 1), e.g. 0.1')
    rows = run_study(args.blocks, args.nonlinearities, networks=args.networks,
                     widths=tuple(args.widths), rtol=args.rtol, seed=args.seed)
    os.makedirs(args.out_dir, exist_ok=True)
    csv_path, png_path = (osp.join(args.out_dir, f'rank_study.{e}') for e in ('csv', 'png'))
    write_csv(rows, csv_path)
    plot_study(rows, png_path, title=f'rank ratio (numerical rank, rtol {args.rtol}); '
                                     f'{args.networks} networks per point, seed {args.seed}')
    for block in args.blocks:
        print(format_table(rows, block))
    needed = {'identity', 'relu', 'silu', 'elu'}
    if needed <= set(args.nonlinearities) and {'conv1x1', 'ib_dw3x3'} <= set(args.blocks):
        print("the paper's observations:")
        for statement, holds, evidence in observations(rows):
            print(f"  [{'holds' if holds else 'FAILS'}] {statement}: {evidence}")
    print(f'wrote {csv_path} and {png_path}')
    return 0


# --------------------------------------------------------------------------
# feature rank of real models
# --------------------------------------------------------------------------
CDF_POINTS = (0.1, 0.25, 0.5)


def _load_weights(model, checkpoint):
    """Load a full-model checkpoint, or a backbone-only one, into ``model``."""
    from mmengine.runner import CheckpointLoader

    from ..fixes.upstream import load_state_into
    if not osp.isfile(checkpoint):
        raise MissingFileError(f'checkpoint {checkpoint!r} does not exist: give a file '
                                'written by tools/train.py or tools/convert_checkpoint.py')
    state = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu', logger=None)
    state = state.get('state_dict', state)
    keys = set(model.backbone.state_dict())
    if any(k.startswith('backbone.') and k[9:] in keys for k in state):
        load_state_into(model, state, strict=False, logger='silent')
    elif any(k in keys for k in state):
        load_state_into(model.backbone, state, strict=False, logger='silent')
    else:
        raise InvalidValueError(f'{checkpoint!r} has no weights of this backbone '
                         f'({type(model.backbone).__name__}): is it the right config?')


def build_backbone(config, checkpoint=None, out_indices=None):
    """``(backbone, data_preprocessor_cfg)`` of any mmdet/mmseg/mmpretrain config
    (a file or ``'mmdet::folder/name.py'``), randomly initialised unless
    ``checkpoint`` is given; ``out_indices`` overrides the config's taps."""
    from ..apis.build import build_random_model

    model, cfg, _ = build_random_model(config, out_indices)
    if checkpoint:
        _load_weights(model, checkpoint)
    backbone = model.backbone
    backbone.eval()  # not chained: several toolboxes' train() overrides return None
    return backbone, cfg.model.get('data_preprocessor', {}) or {}


def _image_tensor(path, size, preprocessor):
    """``path`` resized to ``size`` x ``size`` and normalised as ``preprocessor`` (a
    config dict; ImageNet RGB statistics where it has none) normalises."""
    import mmcv

    from ..images import image_input
    from ..models.normalization import (IMAGENET_RGB, channel_stats, normalize,
                                        preprocessor_norm)
    img = mmcv.imread(path)  # BGR
    if img is None:
        raise InvalidValueError(f'{path!r} is not a readable image')
    mean, std, to_rgb = preprocessor_norm(preprocessor, default=IMAGENET_RGB)
    return normalize(torch.from_numpy(image_input(img, (size, size))), channel_stats(mean),
                     channel_stats(std), to_rgb)


def singular_spectrum(feature):
    """Normalised singular values ``s / s_1`` of one image's ``(C, H, W)`` feature."""
    mat = feature.reshape(feature.shape[0], -1).double()
    s = torch.linalg.svdvals(mat)
    return (s / s[0]).numpy() if s[0] > 0 else np.zeros_like(s.numpy())


def feature_rank(backbone, preprocessor, images, size=224, progress=True):
    """Per tap of ``backbone`` over ``images``: rows ``dict(tap, channels, spatial,
    nuclear_norm, nuclear_norm_per_dim, cdf@t ...)`` (means over images) and the pooled
    normalised singular values per tap (for the plot)."""
    bar = progress_bar(len(images), progress)
    spectra = {}
    shapes = {}
    with torch.no_grad():
        for path in images:
            feats = backbone(_image_tensor(path, size, preprocessor))
            feats = feats if isinstance(feats, (tuple, list)) else (feats, )
            for tap, feat in enumerate(feats):
                spectra.setdefault(tap, []).append(singular_spectrum(feat[0]))
                shapes[tap] = (feat.shape[1], feat.shape[2] * feat.shape[3])
            bar.update()
    rows = []
    for tap, per_image in spectra.items():
        channels, spatial = shapes[tap]
        nuclear = float(np.mean([s.sum() for s in per_image]))
        row = dict(tap=tap, channels=channels, spatial=spatial, nuclear_norm=nuclear,
                   nuclear_norm_per_dim=nuclear / min(channels, spatial))
        for t in CDF_POINTS:
            row[f'cdf@{t}'] = float(np.mean([(s <= t).mean() for s in per_image]))
        rows.append(row)
    return rows, {tap: np.concatenate(v) for tap, v in spectra.items()}


def plot_feature_rank(results, path):
    """Left: cumulative distribution of ``s / s_1`` at each model's last tap; right: the
    nuclear norm per dimension at every tap."""
    from .plots import _pyplot
    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    grid = np.linspace(0, 1, 201)
    for name, (rows, pooled) in results.items():
        last = max(pooled)
        s = np.sort(pooled[last])
        ax1.plot(grid, np.searchsorted(s, grid, side='right') / len(s),
                 label=f'{name} (tap {last}, {rows[-1]["channels"]} ch)')
        ax2.plot([r['tap'] for r in rows], [r['nuclear_norm_per_dim'] for r in rows],
                 marker='o', label=name)
    ax1.set_xlabel('normalised singular value s / s_1')
    ax1.set_ylabel('cumulative fraction')
    ax1.set_title('singular values of the last tap')
    ax2.set_xticks(sorted({r['tap'] for rows, _ in results.values() for r in rows}))
    ax2.set_xlabel('tap (out_indices order)')
    ax2.set_ylabel('sum(s / s_1) / min(C, HW)')
    ax2.set_title('normalised nuclear norm per tap')
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def feature_rank_main(argv=None):
    """Command line of ``tools/analysis/feature_rank.py``."""
    import argparse
    parser = argparse.ArgumentParser(
        description='Feature rank of backbones on a folder of images: per tap, the nuclear '
                    'norm and the cumulative distribution of normalised singular values.')
    parser.add_argument('configs', nargs='+',
                        help="configs (files or 'mmdet::folder/name.py') to compare")
    parser.add_argument('--images', required=True, help='folder of images')
    parser.add_argument('--checkpoints', nargs='+', default=None,
                        help="one per config ('-' for random initialisation)")
    parser.add_argument('--out-indices', nargs='+', type=int, default=None,
                        help="taps to report (default: each config's out_indices)")
    parser.add_argument('--size', type=int, default=224, help='square input size')
    parser.add_argument('--max-images', type=int, default=32)
    parser.add_argument('--out-dir', default='work_dirs/feature_rank')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random initialisation (models without checkpoint)')
    args = parser.parse_args(argv)
    checkpoints = args.checkpoints or ['-'] * len(args.configs)
    if len(checkpoints) != len(args.configs):
        parser.error(f'--checkpoints: give one per config ({len(args.configs)}), '
                     "'-' for random initialisation")
    try:
        images = list_images(args.images, args.max_images)
        results = {}
        for config, ckpt in zip(args.configs, checkpoints):
            name = osp.splitext(osp.basename(config.split('::')[-1]))[0]
            torch.manual_seed(args.seed)
            backbone, prep = build_backbone(config, None if ckpt == '-' else ckpt,
                                            args.out_indices)
            print(f'{name}: {type(backbone).__name__}, '
                  f"{'random init' if ckpt == '-' else ckpt}, {len(images)} images")
            results[name] = feature_rank(backbone, prep, images, args.size)
    except UserError as e:
        sys.exit(f'error: {e}')
    os.makedirs(args.out_dir, exist_ok=True)
    csv_rows = [dict(model=name, **row) for name, (rows, _) in results.items() for row in rows]
    csv_path, png_path = (osp.join(args.out_dir, f'feature_rank.{e}') for e in ('csv', 'png'))
    write_csv(csv_rows, csv_path)
    plot_feature_rank(results, png_path)
    header = (f'{"model":<36}{"tap":>4}{"C":>6}{"HW":>6}{"nuclear":>9}{"/dim":>7}'
              + ''.join(f'{"cdf@" + str(t):>9}' for t in CDF_POINTS))
    print(header)
    for r in csv_rows:
        print(f'{r["model"][:35]:<36}{r["tap"]:>4}{r["channels"]:>6}{r["spatial"]:>6}'
              f'{r["nuclear_norm"]:>9.2f}{r["nuclear_norm_per_dim"]:>7.3f}'
              + ''.join(f'{r[f"cdf@{t}"]:>9.3f}' for t in CDF_POINTS))
    print(f'wrote {csv_path} and {png_path}')
    return 0
