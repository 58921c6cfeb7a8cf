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

from ..models.backbones.rexnet import (ARCH_SETTINGS, PUBLISHED_WIDTHS, ReXNet,
                                       depth_mult_for, rexnet_block_widths)
from .base import CheckpointError, WeightsFamily, register_family, register_format

_SE_PARTS = (('fc.0', 'fc1'), ('fc.1', 'bn'), ('fc.3', 'fc2'))


def block_prefix(i, depths):
    """Our module path of block ``i`` (0-based over all blocks), e.g. ``layer2.1``, for
    a net of ``depths`` blocks per stage."""
    for stage, num in enumerate(depths, 1):
        if i < num:
            return f'layer{stage}.{i}'
        i -= num
    raise IndexError(f'a ReXNet of stage depths {list(depths)} has {sum(depths)} blocks')


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


def module_map(layout, se_blocks, depths, lite=False):
    """``[(foreign_module, our_module)]`` for every module that holds tensors.

    Args:
        layout (str): ``'authors'`` or ``'timm'``.
        se_blocks (set[int]): blocks that have SE.
        depths (Sequence[int]): blocks per stage (16 blocks in 6 stages at
            ``depth_mult`` 1.0; both foreign layouts number blocks in one sequence).
        lite (bool): ReXNet-lite classifier (authors' layout only).
    """
    num_blocks = sum(depths)
    pairs = []
    stem = ('features.0', 'features.1') if layout == 'authors' else ('stem.conv', 'stem.bn')
    pairs += [(stem[0], 'backbone.conv1.conv'), (stem[1], 'backbone.conv1.bn')]
    for i in range(num_blocks):
        ours = f'backbone.{block_prefix(i, depths)}'
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
        pairs += [(f'features.{num_blocks}.conv', 'backbone.conv2.conv'),
                  (f'features.{num_blocks}.bn', 'backbone.conv2.bn'),
                  ('head.fc', 'head.fc')]
    else:  # stem conv, BN, act, the blocks, then the head conv and its BN
        pairs += [(f'features.{3 + num_blocks}', 'backbone.conv2.conv'),
                  (f'features.{4 + num_blocks}', 'backbone.conv2.bn')]
        pairs += ([('output.0', 'head.layers.0.fc'), ('output.1', 'head.layers.0.norm'),
                   ('output.4', 'head.layers.1.fc')] if lite else [('output.1', 'head.fc')])
    return pairs


def stage_depths_of(num_blocks):
    """Blocks per stage of a ReXNet with ``num_blocks`` blocks in all (the stage
    depths are ``ceil(n * depth_mult)``, each non-decreasing in ``depth_mult``, so the
    total decides them), or a :class:`CheckpointError`."""
    found = depth_mult_for(num_blocks)
    if found is None:
        raise CheckpointError(f'{num_blocks} ReXNet blocks: no depth_mult gives that many '
                              f'(blocks per stage are ceil(n * depth_mult), n = 1, 2, 2, '
                              f'3, 3, 5)')
    return found[1]


def _count(keys, pattern):
    return len(_se_blocks_from_keys(keys, pattern))


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
        depths = stage_depths_of(_count(sd, r'features\.(\d+)\.out\.\d+\.'))
        return _rename(sd, module_map('authors', se, depths, lite='output.4.weight' in sd),
                       'authors')


class _TimmFormat:
    name, family = 'rexnet_timm', 'rexnet'

    @staticmethod
    def detect(sd):
        return 'stem.conv.weight' in sd and any(
            re.match(r'features\.\d+\.conv_dw\.', k) for k in sd)

    @staticmethod
    def convert(sd):
        se = _se_blocks_from_keys(sd, r'features\.(\d+)\.se\.')
        depths = stage_depths_of(_count(sd, r'features\.(\d+)\.conv_dw\.'))
        return _rename(sd, module_map('timm', se, depths), 'timm')


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
    depths = checkpoint_stage_depths(state_dict, 'backbone.')
    se = {_block_index(k, depths) for k in state_dict
          if '.se.' in k and k.startswith('backbone.')}
    lite = 'head.layers.1.fc.weight' in state_dict
    if layout == 'timm' and lite:
        raise CheckpointError('timm has no ReXNet-lite; export lite checkpoints with '
                              "layout='authors'")
    pairs = [(ours, foreign) for foreign, ours in module_map(layout, se, depths, lite)]
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


def _block_index(key, depths):
    stage, j = re.match(r'backbone\.layer(\d)\.(\d+)\.', key).groups()
    return sum(depths[:int(stage) - 1]) + int(j)


def checkpoint_stage_depths(weights, prefix=''):
    """Blocks per stage (6 stages) of our-layout tensors (keys under ``prefix``)."""
    blocks = set()
    for key in weights:
        m = re.match(re.escape(prefix) + r'layer(\d)\.(\d+)\.conv_dw\.', key)
        if m:
            blocks.add((int(m.group(1)), int(m.group(2))))
    return [sum(1 for s, _ in blocks if s == stage) for stage in range(1, 7)]


# ------------------------------------------------------------------ which ReXNet a file holds
def checkpoint_block_channels(weights):
    """Output channels of every block, stage by stage, of our-layout backbone tensors."""
    found = {}
    for key, value in weights.items():
        m = re.fullmatch(r'layer(\d)\.(\d+)\.conv_pwl\.conv\.weight', key)
        if m:
            found[int(m.group(1)), int(m.group(2))] = int(value.shape[0])
    return tuple(found[k] for k in sorted(found))


def _width_candidates(arch, blocks, num_blocks):
    """Widths worth trying for ``blocks`` (final widths): the published ones and those
    near the estimates of the linear rule, above and below 1.0 (below 1.0 the rule keeps
    the first block at 16)."""
    setting = ARCH_SETTINGS[arch]
    step = setting['final_ch'] / (num_blocks + setting['spread_offset'])
    last, start = blocks[-1], setting['start_ch']
    estimates = [last / (start + (num_blocks - 1) * step)]
    if num_blocks > 1:
        estimates.append((last - start) / ((num_blocks - 1) * step))
    near = {round(e + k / 100, 2) for e in estimates for k in range(-6, 7)}
    return list(PUBLISHED_WIDTHS[arch]) + sorted(w for w in near if w > 0)


def rexnet_plan(weights):
    """The :class:`ReXNet` arguments that build exactly the net whose backbone tensors
    (our layout, no ``backbone.`` prefix) ``weights`` holds: ``widen_factor``, ``arch``
    ('v1' with SE, 'lite' without) and ``depth_mult``, or, for a channel plan the linear
    rule does not give at any width, ``arch`` as per-block widths."""
    blocks = checkpoint_block_channels(weights)
    depths = checkpoint_stage_depths(weights)
    found = depth_mult_for(len(blocks))
    if not blocks or found is None or found[1] != depths:
        raise CheckpointError(f'ReXNet tensors with blocks per stage {depths}: not a '
                              f'ReXNet stage plan (ceil(n * depth_mult), n = 1, 2, 2, 3, '
                              f'3, 5)')
    depth_mult = found[0]
    arch = 'v1' if any('.se.' in k for k in weights) else 'lite'
    plan = (int(weights['conv1.conv.weight'].shape[0]), list(blocks),
            int(weights['conv2.conv.weight'].shape[0]))
    for width in _width_candidates(arch, blocks, len(blocks)):
        if rexnet_block_widths(width, arch, depth_mult) == plan:
            return dict(widen_factor=width, arch=arch, depth_mult=depth_mult)
    stem, widths, head = plan
    return dict(widen_factor=1.0, depth_mult=depth_mult,
                arch=dict(block_widths=widths, stem_ch=stem, head_ch=head,
                          se=arch == 'v1', act_cfg=ARCH_SETTINGS[arch]['act_cfg']))


def describe_plan(widen_factor=1.0, arch='v1', depth_mult=1.0):
    """``ReXNet-1.3 (v1)``, ``ReXNet-1 (lite, depth_mult 0.67)`` or, for per-block
    widths, ``a ReXNet of per-block widths [...]``."""
    depth = f', depth_mult {depth_mult:g}' if depth_mult != 1 else ''
    if isinstance(arch, dict):
        if 'block_widths' in arch:
            return (f'a ReXNet ({"SE" if arch["se"] else "no SE"}{depth}) of per-block widths '
                    f'{list(arch["block_widths"])}')
        return f'a ReXNet of the channel rule {arch} at width {widen_factor:g}{depth}'
    return f'ReXNet-{widen_factor:g} ({arch}{depth})'


def plan_kwargs(plan):
    """``widen_factor=1.1, depth_mult=0.67``: the arguments of ``plan`` that differ from
    ReXNet's defaults, as one writes them in a config."""
    defaults = dict(widen_factor=1.0, arch='v1', depth_mult=1.0)
    return ', '.join(f'{k}={v!r}' for k, v in plan.items() if defaults.get(k) != v) \
        or 'widen_factor=1.0'


def identify_rexnet(weights):
    """Name the ReXNet whose blocks ``weights`` (our layout) hold."""
    try:
        return describe_plan(**rexnet_plan(weights))
    except CheckpointError as exc:
        return str(exc).split(':')[0]


class ReXNetFamily(WeightsFamily):
    name, model_class = 'rexnet', ReXNet

    def identify(self, weights):
        return identify_rexnet(weights)

    def plan(self, weights):
        return rexnet_plan(weights)

    def describe(self, model):
        return describe_plan(model.widen_factor, model.arch, model.depth_mult)

    def hint(self, model, weights=None):
        try:
            build = f'build the backbone as ReXNet({plan_kwargs(rexnet_plan(weights))})'
        except (CheckpointError, TypeError, KeyError):
            build = "set widen_factor/arch/depth_mult to the checkpoint's"
        return f'{build} or use a checkpoint of {self.describe(model)}'


register_family(ReXNetFamily())
