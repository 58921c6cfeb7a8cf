"""ReXNet checkpoint layouts: the authors', timm's and ours.

The mapping is stated once, module by module, in :func:`module_map`; conversion in
either direction renames module prefixes with it and reshapes the classifier between
a 1x1 conv (authors) and a linear layer (timm, mmpretrain).

Authors' layout (``rexnetv1.py`` / ``rexnetv1_lite.py``)::

    features.0 / features.1          stem conv / BN            -> backbone.conv1.{conv,bn}
    features.{3+i}.out.{k}           block i (0..15)           -> backbone.layer{s}.{j}.*
    features.19 / features.20        head conv / BN            -> backbone.conv2.{conv,bn}
    output.1                         classifier (1x1 conv, v1) -> head.fc
    output.0 / output.1 / output.4   lite: conv, BN, conv      -> head.layers.0.fc/.0.norm/.1.fc

Inside block i the ``out`` Sequential holds, in order: [1x1 expand conv, BN, act]
(blocks 1..15), [3x3 depthwise conv, BN], [SE (v1 blocks 3..15): ``fc.0`` conv,
``fc.1`` BN, ``fc.3`` conv], act, [1x1 project conv, BN]. (Lite's depthwise act is
part of its conv unit; the positions are the same.)

timm's layout: ``stem.{conv,bn}``, ``features.i.{conv_exp,conv_dw,conv_pwl}.{conv,bn}``,
``features.i.se.{fc1,bn,fc2}``, ``features.16.{conv,bn}``, ``head.fc`` (Linear): the
block suffixes are ours.
"""
import re
from collections import OrderedDict

from ..models.backbones.rexnet import (PUBLISHED_WIDTHS, ReXNet, rexnet_block_widths,
                                       stage_depths)
from .base import CheckpointError, WeightsFamily, register_family, register_format

#: The authors' and timm's layouts number the blocks of the published plans
#: (depth_mult 1.0: 16 blocks) in one sequence; ours nests them in stages.
STAGE_DEPTHS = stage_depths(1.0)
NUM_BLOCKS = sum(STAGE_DEPTHS)
_SE_PARTS = (('fc.0', 'fc1'), ('fc.1', 'bn'), ('fc.3', 'fc2'))


def block_prefix(i):
    """Our module path of block ``i`` (0..15), e.g. ``layer2.1``."""
    for stage, num in enumerate(STAGE_DEPTHS, 1):
        if i < num:
            return f'layer{stage}.{i}'
        i -= num
    raise IndexError(f'the published ReXNets have {NUM_BLOCKS} blocks')


def _block_units(has_exp, has_se):
    """``[(our_suffix, authors_position)]`` of one block's modules, in order."""
    units, pos = [], 0
    if has_exp:
        units += [('conv_exp.conv', pos), ('conv_exp.bn', pos + 1)]
        pos += 3  # conv, BN, act
    units += [('conv_dw.conv', pos), ('conv_dw.bn', pos + 1)]
    pos += 2
    if has_se:
        units.append(('se', pos))
        pos += 1
    pos += 1  # ReLU6
    units += [('conv_pwl.conv', pos), ('conv_pwl.bn', pos + 1)]
    return units


def module_map(layout, se_blocks, lite=False):
    """``[(foreign_module, our_module)]`` for every module that holds tensors.

    Args:
        layout (str): ``'authors'`` or ``'timm'``.
        se_blocks (set[int]): blocks that have SE.
        lite (bool): ReXNet-lite classifier (authors' layout only).
    """
    pairs = []
    stem = ('features.0', 'features.1') if layout == 'authors' else ('stem.conv', 'stem.bn')
    pairs += [(stem[0], 'backbone.conv1.conv'), (stem[1], 'backbone.conv1.bn')]
    for i in range(NUM_BLOCKS):
        ours = f'backbone.{block_prefix(i)}'
        for suffix, pos in _block_units(i > 0, i in se_blocks):
            theirs = f'features.{i}' if layout == 'timm' else f'features.{3 + i}.out.{pos}'
            if suffix != 'se':
                pairs.append((theirs if layout == 'authors' else f'{theirs}.{suffix}',
                              f'{ours}.{suffix}'))
            elif layout == 'timm':
                pairs += [(f'{theirs}.se.{b}', f'{ours}.se.{b}') for _, b in _SE_PARTS]
            else:
                pairs += [(f'{theirs}.{a}', f'{ours}.se.{b}') for a, b in _SE_PARTS]
    if layout == 'timm':
        pairs += [(f'features.{NUM_BLOCKS}.conv', 'backbone.conv2.conv'),
                  (f'features.{NUM_BLOCKS}.bn', 'backbone.conv2.bn'),
                  ('head.fc', 'head.fc')]
    else:
        pairs += [('features.19', 'backbone.conv2.conv'), ('features.20', 'backbone.conv2.bn')]
        pairs += ([('output.0', 'head.layers.0.fc'), ('output.1', 'head.layers.0.norm'),
                   ('output.4', 'head.layers.1.fc')] if lite else [('output.1', 'head.fc')])
    return pairs


def _rename(state_dict, pairs, source):
    lookup = dict(pairs)
    out = OrderedDict()
    for key, value in state_dict.items():
        module, _, param = key.rpartition('.')
        if module not in lookup:
            raise CheckpointError(
                f'unexpected tensor {key!r} in a ReXNet {source}-layout checkpoint; '
                f'is it a checkpoint of another model family?')
        new_module = lookup[module]
        if new_module.startswith('head.') and value.dim() == 4:  # 1x1 conv -> linear
            value = value.reshape(value.shape[0], -1)
        out[f'{new_module}.{param}'] = value
    return out


def _se_blocks_from_keys(keys, pattern):
    return {int(m.group(1)) for m in map(re.compile(pattern).match, keys) if m}


class _AuthorsFormat:
    name, family = 'rexnet_authors', 'rexnet'

    @staticmethod
    def detect(sd):
        return any(re.match(r'features\.\d+\.out\.\d+\.', k) for k in sd)

    @staticmethod
    def convert(sd):
        se = {i - 3 for i in _se_blocks_from_keys(sd, r'features\.(\d+)\.out\.\d+\.fc\.')}
        return _rename(sd, module_map('authors', se, lite='output.4.weight' in sd), 'authors')


class _TimmFormat:
    name, family = 'rexnet_timm', 'rexnet'

    @staticmethod
    def detect(sd):
        return 'stem.conv.weight' in sd and any(
            re.match(r'features\.\d+\.conv_dw\.', k) for k in sd)

    @staticmethod
    def convert(sd):
        se = _se_blocks_from_keys(sd, r'features\.(\d+)\.se\.')
        return _rename(sd, module_map('timm', se), 'timm')


class _OwnFormat:
    """Ours: ``backbone.*`` (+ ``head.*``), or a bare backbone state dict."""
    name, family = 'rexnet_mm', 'rexnet'

    @staticmethod
    def detect(sd):
        return any(re.match(r'(backbone\.)?layer1\.0\.conv_dw\.conv\.weight$', k) for k in sd)

    @staticmethod
    def convert(sd):
        if any(k.startswith('backbone.') for k in sd):
            return OrderedDict(sd)
        return OrderedDict((f'backbone.{k}', v) for k, v in sd.items())


for _fmt in (_AuthorsFormat, _TimmFormat, _OwnFormat):
    register_format(_fmt)


def to_layout(state_dict, layout):
    """Our layout (``backbone.*`` + ``head.*``) -> the authors' or timm's layout.

    The inverse of the converters above; used to export checkpoints and by the
    tests. ``head.*`` is kept only if it is the layout's classifier.
    """
    se = {_block_index(k) for k in state_dict if '.se.' in k and k.startswith('backbone.')}
    lite = 'head.layers.1.fc.weight' in state_dict
    if layout == 'timm' and lite:
        raise CheckpointError('timm has no ReXNet-lite; export lite checkpoints with '
                              "layout='authors'")
    pairs = [(ours, foreign) for foreign, ours in module_map(layout, se, lite)]
    lookup = dict(pairs)
    out = OrderedDict()
    for key, value in state_dict.items():
        module, _, param = key.rpartition('.')
        if module not in lookup:
            raise CheckpointError(f'{key!r} has no place in the {layout} ReXNet layout')
        if key.startswith('head.') and layout == 'authors' and value.dim() == 2:
            value = value[:, :, None, None]  # linear -> 1x1 conv
        out[f'{lookup[module]}.{param}'] = value
    return out


def _block_index(key):
    stage, j = re.match(r'backbone\.layer(\d)\.(\d+)\.', key).groups()
    return sum(STAGE_DEPTHS[:int(stage) - 1]) + int(j)


# ------------------------------------------------------------------ which ReXNet a file holds
def checkpoint_block_channels(weights):
    """Output channels of every block, stage by stage, of our-layout backbone tensors."""
    found = {}
    for key, value in weights.items():
        m = re.fullmatch(r'layer(\d)\.(\d+)\.conv_pwl\.conv\.weight', key)
        if m:
            found[int(m.group(1)), int(m.group(2))] = int(value.shape[0])
    return tuple(found[k] for k in sorted(found))


def identify_rexnet(weights):
    """Name the published ReXNet whose blocks ``weights`` (our layout) hold."""
    block_channels = checkpoint_block_channels(weights)
    for arch, widths in PUBLISHED_WIDTHS.items():
        for w in widths:
            if tuple(rexnet_block_widths(w, arch)[1]) == block_channels:
                return f'ReXNet-{w:g} ({arch})'
    has_se = any('.se.' in k for k in weights)
    return (f'a ReXNet ({"v1" if has_se else "lite"}-like) with {len(block_channels)} '
            f'blocks of widths {list(block_channels)}')


class ReXNetFamily(WeightsFamily):
    name, model_class = 'rexnet', ReXNet

    def identify(self, weights):
        return identify_rexnet(weights)

    def describe(self, model):
        depth = f', depth_mult {model.depth_mult:g}' if model.depth_mult != 1 else ''
        return f'ReXNet-{model.widen_factor:g} ({model.arch}{depth})'

    def hint(self, model):
        return (f'set widen_factor/arch to the checkpoint\'s or use a checkpoint of '
                f'{self.describe(model)}')


register_family(ReXNetFamily())
