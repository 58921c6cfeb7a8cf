"""RegNet checkpoint layouts: pycls, timm, mmdet/mmpretrain and ours.

Every layout names the same tensors; a layout is a table of key templates, one per
tensor role (``{s}`` stage 1-4, ``{b}`` block, ``{p}`` the parameter name):

* stem conv / norm: ours ``conv1`` / ``bn1``; pycls and timm ``stem.conv`` / ``stem.bn``
* 1x1, 3x3 group, 1x1 convs and norms: ours ``layer{s}.{b-1}.conv{1,2,3}`` /
  ``bn{1,2,3}``; pycls ``s{s}.b{b}.f.{a,b,c}`` / ``f.{a,b,c}_bn``; timm
  ``s{s}.b{b}.conv{1,2,3}.conv`` / ``.bn``
* SE (RegNetY): ours ``layer{s}.{b-1}.se.conv{1,2}.conv``; pycls ``s{s}.b{b}.f.se.f_ex.{0,2}``;
  timm ``s{s}.b{b}.se.fc{1,2}``
* shortcut conv / norm: ours ``layer{s}.{b-1}.downsample.{0,1}``; pycls ``s{s}.b{b}.proj`` /
  ``s{s}.b{b}.bn``; timm ``s{s}.b{b}.downsample.conv`` / ``.bn``
* classifier: ``head.fc`` everywhere; ours prefixes the backbone keys with ``backbone.``

mmdet's ``open-mmlab://regnetx_*`` files (and its own converter's output) use our names
without the ``backbone.`` prefix and ``fc`` for the classifier; mmpretrain's RegNet
classifiers and mmdet detectors with a RegNet backbone already use our layout.

Channel order (one convention): **every converted checkpoint expects BGR input**, as
pycls trained them and as mmdet/mmpretrain configs feed them (``mean=[103.53, 116.28,
123.675], std=[57.375, 57.12, 58.395]``, ``bgr_to_rgb=False`` / ``to_rgb=False``).
pycls, mmdet, mmpretrain and our files are copied unchanged; timm's copies, whose stem
was flipped to RGB, get their stem conv's input channels flipped back. A converted
timm model on BGR input therefore gives exactly timm's output on the same RGB image.
:func:`layout_meta` gives the ``meta`` entries (input order, mean, std) that describe
a file in each layout.
"""
import re
from collections import OrderedDict

from ..models.backbones.regnet import ARCH_SETTINGS, PyclsRegNet, arch_stages
from ..models.normalization import PYCLS_BGR, flipped
from .base import CheckpointError, WeightsFamily, register_family, register_format

_ROLES = ('stem_conv', 'stem_norm', 'conv1', 'norm1', 'conv2', 'norm2', 'conv3', 'norm3',
          'se1', 'se2', 'proj', 'proj_norm', 'fc')

#: mmdet's RegNet module names (also mmpretrain's and ours, under ``backbone.``)
_MMDET = dict(
    stem_conv='conv1.{p}', stem_norm='bn1.{p}',
    conv1='layer{s}.{b}.conv1.{p}', norm1='layer{s}.{b}.bn1.{p}',
    conv2='layer{s}.{b}.conv2.{p}', norm2='layer{s}.{b}.bn2.{p}',
    conv3='layer{s}.{b}.conv3.{p}', norm3='layer{s}.{b}.bn3.{p}',
    se1='layer{s}.{b}.se.conv1.conv.{p}', se2='layer{s}.{b}.se.conv2.conv.{p}',
    proj='layer{s}.{b}.downsample.0.{p}', proj_norm='layer{s}.{b}.downsample.1.{p}',
    fc='fc.{p}')

#: name -> (templates per role, first block index, input channel order)
LAYOUTS = {
    'ours': (dict({role: f'backbone.{t}' for role, t in _MMDET.items()}, fc='head.fc.{p}'),
             0, 'BGR'),
    'mmdet': (_MMDET, 0, 'BGR'),
    'pycls': (dict(
        stem_conv='stem.conv.{p}', stem_norm='stem.bn.{p}',
        conv1='s{s}.b{b}.f.a.{p}', norm1='s{s}.b{b}.f.a_bn.{p}',
        conv2='s{s}.b{b}.f.b.{p}', norm2='s{s}.b{b}.f.b_bn.{p}',
        conv3='s{s}.b{b}.f.c.{p}', norm3='s{s}.b{b}.f.c_bn.{p}',
        se1='s{s}.b{b}.f.se.f_ex.0.{p}', se2='s{s}.b{b}.f.se.f_ex.2.{p}',
        proj='s{s}.b{b}.proj.{p}', proj_norm='s{s}.b{b}.bn.{p}', fc='head.fc.{p}'), 1, 'BGR'),
    'timm': (dict(
        stem_conv='stem.conv.{p}', stem_norm='stem.bn.{p}',
        conv1='s{s}.b{b}.conv1.conv.{p}', norm1='s{s}.b{b}.conv1.bn.{p}',
        conv2='s{s}.b{b}.conv2.conv.{p}', norm2='s{s}.b{b}.conv2.bn.{p}',
        conv3='s{s}.b{b}.conv3.conv.{p}', norm3='s{s}.b{b}.conv3.bn.{p}',
        se1='s{s}.b{b}.se.fc1.{p}', se2='s{s}.b{b}.se.fc2.{p}',
        proj='s{s}.b{b}.downsample.conv.{p}', proj_norm='s{s}.b{b}.downsample.bn.{p}',
        fc='head.fc.{p}'), 1, 'RGB'),
}


def _pattern(template):
    regex = re.escape(template)
    for field, group in (('s', r'(?P<s>\d+)'), ('b', r'(?P<b>\d+)'),
                         ('p', r'(?P<p>[A-Za-z_]+)')):
        regex = regex.replace(re.escape('{' + field + '}'), group)
    return re.compile(regex)


_PATTERNS = {name: [(role, _pattern(t[role])) for role in _ROLES]
             for name, (t, _, _) in LAYOUTS.items()}


def parse_key(key, layout):
    """``(role, stage, block (0-based), param)`` of a key, or None if not in ``layout``."""
    base = LAYOUTS[layout][1]
    for role, pattern in _PATTERNS[layout]:
        m = pattern.fullmatch(key)
        if m:
            groups = m.groupdict()
            stage = int(groups['s']) if 's' in groups else None
            block = int(groups['b']) - base if 'b' in groups else None
            return role, stage, block, groups['p']
    return None


def convert_layout(state_dict, src, dst):
    """Rename every tensor from layout ``src`` to ``dst`` (names in :data:`LAYOUTS`).

    The stem conv's input channels are flipped when the two layouts expect different
    channel orders (timm: RGB, the others: BGR).
    """
    dst_templates, dst_base, dst_order = LAYOUTS[dst]
    flip = LAYOUTS[src][2] != dst_order
    out = OrderedDict()
    for key, value in state_dict.items():
        parsed = parse_key(key, src)
        if parsed is None:
            raise CheckpointError(
                f'{key!r} is not a tensor of a RegNet in the {src} layout; the file is '
                f'not a plain {src} RegNet checkpoint (see rexnet_mm.weights.regnet)')
        role, stage, block, param = parsed
        fields = dict(p=param)
        if stage is not None:
            fields.update(s=stage, b=block + dst_base)
        if flip and role == 'stem_conv' and param == 'weight':
            value = value.flip(1)
        out[dst_templates[role].format(**fields)] = value
    return out


def to_layout(state_dict, layout):
    """Our layout (``backbone.*``, ``head.*``) -> ``'pycls'``, ``'timm'`` or ``'mmdet'``.

    The inverse of the converters: pycls/mmdet files stay BGR, timm's get an RGB stem.
    Keys outside ``backbone.``/``head.`` (necks, detector heads) are left out.
    """
    if layout not in LAYOUTS or layout == 'ours':
        raise CheckpointError(f'RegNet exports to pycls, timm or mmdet, not {layout!r}')
    ours = OrderedDict((k, v) for k, v in state_dict.items()
                       if k.startswith(('backbone.', 'head.')))
    return convert_layout(ours, 'ours', layout)


def layout_meta(layout):
    """``meta`` entries describing a RegNet file in ``layout`` (its input channel order)."""
    return flipped(PYCLS_BGR) if LAYOUTS[layout][2] == 'RGB' else dict(PYCLS_BGR)


def _is_regnet_stem(state_dict, key):
    w = state_dict.get(key)
    return w is not None and w.ndim == 4 and tuple(w.shape[-2:]) == (3, 3)


class RegNetFormat:
    """A checkpoint layout that :mod:`rexnet_mm.weights.base` can detect and convert."""

    family = 'regnet'

    def __init__(self, name, layout, stem_key, probe_key, description):
        self.name, self.layout = name, layout
        self.stem_key, self.probe_key = stem_key, probe_key
        self.description = description

    def detect(self, state_dict):
        return (_is_regnet_stem(state_dict, self.stem_key)
                and any(k.startswith(self.probe_key) for k in state_dict))

    def convert(self, state_dict):
        if self.layout == 'ours':
            # detector/segmentor checkpoints: keep backbone and classifier only
            return OrderedDict((k, v) for k, v in state_dict.items()
                               if k.startswith(('backbone.', 'head.')))
        return convert_layout(state_dict, self.layout, 'ours')

    def __repr__(self):
        return f'RegNetFormat({self.name!r}: {self.description})'


register_format(RegNetFormat(
    'regnet_rexnet_mm', 'ours', 'backbone.conv1.weight', 'backbone.layer1.0.conv2.',
    'rexnet_mm / mmpretrain RegNet classifiers, mmdet/mmseg models with a RegNet backbone'))
register_format(RegNetFormat(
    'regnet_pycls', 'pycls', 'stem.conv.weight', 's1.b1.f.b.',
    'pycls model zoo (model_state), BGR'))
register_format(RegNetFormat(
    'regnet_timm', 'timm', 'stem.conv.weight', 's1.b1.conv2.conv.',
    'timm regnetx_*/regnety_* (RGB; the stem is flipped to BGR)'))
register_format(RegNetFormat(
    'regnet_mmdet', 'mmdet', 'conv1.weight', 'layer1.0.conv2.',
    "mmdet's open-mmlab://regnetx_* ImageNet weights (regnet2mmdet.py output), BGR"))


# ------------------------------------------------------------------ which RegNet a file holds
def describe_regnet(name, widths, depths, group_widths, has_se):
    """``regnetx_400mf (widths [...], depths [...], group widths [...], no SE)``."""
    detail = (f'widths {list(widths)}, depths {list(depths)}, group widths '
              f'{list(group_widths)}, {"SE" if has_se else "no SE"}')
    return f'{name} ({detail})' if name else f'a custom RegNet ({detail})'


def checkpoint_stages(weights):
    """Stage widths, depths, group widths and SE presence of our-layout backbone tensors."""
    widths, depths, groups = [], [], []
    for i in range(1, 5):
        j = 0
        while f'layer{i}.{j}.conv3.weight' in weights:
            j += 1
        if not j:
            break
        widths.append(int(weights[f'layer{i}.0.conv3.weight'].shape[0]))
        groups.append(int(weights[f'layer{i}.0.conv2.weight'].shape[1]))
        depths.append(j)
    has_se = any('.se.' in k for k in weights)
    return widths, depths, groups, has_se


def identify_regnet(weights):
    """Name (and describe) the RegNet that backbone tensors in our layout hold."""
    widths, depths, groups, has_se = checkpoint_stages(weights)
    if not widths:
        return f'no RegNet stages (first keys: {list(weights)[:3]})'
    found = None
    for name in ARCH_SETTINGS:
        plan = arch_stages(name)
        if ((plan['widths'], plan['depths'], plan['group_widths'], plan['se_ratio'] > 0)
                == (widths, depths, groups, has_se)):
            found = name
            break
    return describe_regnet(found, widths, depths, groups, has_se)


class RegNetFamily(WeightsFamily):
    name, model_class = 'regnet', PyclsRegNet

    def identify(self, weights):
        return identify_regnet(weights)

    def describe(self, model):
        return describe_regnet(model.arch_name, model.stage_widths, model.stage_depths,
                               model.group_widths, model.se_ratio > 0)

    def hint(self, model, weights=None):
        return (f"set arch to the checkpoint's or use a checkpoint of "
                f"{model.arch_name or 'this arch'}")


register_family(RegNetFamily())
