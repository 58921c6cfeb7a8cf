"""ReXNet backbone ("Rethinking Channel Dimensions for Efficient Model Design", CVPR 2021).

Two variants share one network definition and differ only in their channel rule and
activations:

* ``arch='v1'``: linear channel growth (``round``), SiLU after the stem and expansions,
  SE on stages 3-6, ReLU6 after the depthwise conv. The released ImageNet weights (the
  authors' and timm's ``rexnet_*``) load into it unchanged.
* ``arch='lite'``: widths made divisible by 8, ReLU6 everywhere, no SE.

Feature taps (``out_indices``):

==== ============ ======
 idx  after        stride
==== ============ ======
 0    block 0      2
 1    block 2      4
 2    block 4      8
 3    block 10     16
 4    block 15     32
 5    head conv    32 (1280*w channels)
==== ============ ======
"""
import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer

from ...registry import register_model
from .base import StagedBackbone

#: Blocks per stage and the stride of each stage's first block.
STAGE_BLOCKS = (1, 2, 2, 3, 3, 5)
STAGE_STRIDES = (1, 2, 2, 2, 1, 2)
#: Stage (1-based layer index) whose output each tap reads; 7 is the head conv.
TAP_LAYERS = (1, 2, 3, 5, 6, 7)
#: Widths with released ImageNet weights, by variant.
PUBLISHED_WIDTHS = {'v1': (0.9, 1.0, 1.3, 1.5, 2.0, 2.2, 3.0), 'lite': (1.0, 1.3, 1.5, 2.0)}

ARCH_SETTINGS = {
    # first block / later blocks expansion, SE from this block on, width
    # increment (final_ch), channel divisor, activation after stem/expansion/head
    'v1': dict(expand_ratio=6, se_from_block=3, se_ratio=12, final_ch=180,
               divisor=None, act_cfg=dict(type='SiLU')),
    'lite': dict(expand_ratio=6, se_from_block=None, se_ratio=None, final_ch=164,
                 divisor=8, act_cfg=dict(type='ReLU6')),
}


def make_divisible(value, divisor, min_value=None):
    """Round ``value`` to the nearest multiple of ``divisor`` (never below 90%)."""
    min_value = min_value or divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


def rexnet_channels(widen_factor=1.0, arch='v1'):
    """The channel plan of ReXNet: ``(stem, [(in, out) per block], head)``.

    v1: ``round(c*w)``, the increment is 180/16 per block and the first block
    starts from 16; lite: the same with 164/15 and every width divisible by 8.
    Widths below 1.0 keep the stem (32) and the first block (16) unscaled.
    """
    if arch not in ARCH_SETTINGS:
        raise KeyError(f'unknown ReXNet arch {arch!r}: use one of {sorted(ARCH_SETTINGS)}')
    divisor = ARCH_SETTINGS[arch]['divisor']
    num_blocks = sum(STAGE_BLOCKS)
    # v1 spreads 180 over 16 increments, lite 164 over 15 (its first block is fixed)
    step = ARCH_SETTINGS[arch]['final_ch'] / (num_blocks if arch == 'v1' else num_blocks - 1)

    def width(c):
        c = round(c * widen_factor)
        return make_divisible(c, divisor) if divisor else c

    stem = width(32 / widen_factor if widen_factor < 1.0 else 32)
    inplanes = 16 / widen_factor if widen_factor < 1.0 else 16
    blocks = [(stem, width(inplanes))]
    for _ in range(1, num_blocks):
        in_ch = width(inplanes)
        inplanes += step
        blocks.append((in_ch, width(inplanes)))
    if arch == 'v1':
        head = int(1280 * widen_factor)
    else:
        head = int(1280 * widen_factor) if widen_factor > 1.0 else 1280
    return stem, blocks, head


def block_strides():
    """Stride of each of the 16 blocks."""
    return [s if j == 0 else 1 for n, s in zip(STAGE_BLOCKS, STAGE_STRIDES) for j in range(n)]


class SqueezeExcite(nn.Module):
    """SE with a BN between the two 1x1 convs (pool -> fc1 -> BN -> ReLU -> fc2 -> sigmoid)."""

    def __init__(self, channels, ratio=12, norm_cfg=dict(type='BN')):
        super().__init__()
        mid = channels // ratio
        self.fc1 = nn.Conv2d(channels, mid, 1, bias=True)
        self.bn = build_norm_layer(norm_cfg, mid)[1]
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(mid, channels, 1, bias=True)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        s = self.fc2(self.act(self.bn(self.fc1(s))))
        return x * s.sigmoid()


class LinearBottleneck(nn.Module):
    """Inverted bottleneck with a partial shortcut (``out[:, :in] += x``).

    1x1 expand (norm, act) -> 3x3 depthwise (norm) -> SE -> ReLU6 -> 1x1 project (norm).
    """

    def __init__(self, in_channels, out_channels, stride, expand_ratio, se_ratio=None,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='SiLU'),
                 dw_act_cfg=dict(type='ReLU6'), with_cp=False):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.use_shortcut = stride == 1 and in_channels <= out_channels
        self.with_cp = with_cp
        mid = in_channels * expand_ratio
        self.conv_exp = ConvModule(in_channels, mid, 1, norm_cfg=norm_cfg,
                                   act_cfg=act_cfg) if expand_ratio != 1 else None
        self.conv_dw = ConvModule(mid, mid, 3, stride=stride, padding=1, groups=mid,
                                  norm_cfg=norm_cfg, act_cfg=None)
        self.se = SqueezeExcite(mid, se_ratio, norm_cfg) if se_ratio else None
        self.act_dw = build_activation_layer(dw_act_cfg)
        self.conv_pwl = ConvModule(mid, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)

    def _forward(self, x):
        out = x if self.conv_exp is None else self.conv_exp(x)
        out = self.conv_dw(out)
        if self.se is not None:
            out = self.se(out)
        out = self.conv_pwl(self.act_dw(out))
        if self.use_shortcut:
            c = self.in_channels
            out = torch.cat([out[:, :c] + x, out[:, c:]], dim=1)
        return out

    def forward(self, x):
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)


@register_model()
class ReXNet(StagedBackbone):
    """ReXNet V1 and ReXNet-lite backbone.

    Args:
        widen_factor (float): width multiplier; 0.9, 1.0, 1.3, 1.5, 2.0, 2.2 and
            3.0 have released V1 weights, 1.0-2.0 lite weights. Default: 1.0.
        arch (str): ``'v1'`` or ``'lite'``. Default: ``'v1'``.
        out_indices (Sequence[int]): taps to return, see the module docstring.
            Default: (1, 2, 3, 4), strides 4-32 for FPN-style necks.
        frozen_stages (int): -1 freezes nothing, 0 the stem, k (1-6) the stem and
            stages 1..k, 7 also the head conv. Default: -1.
        norm_cfg (dict): norm layers. Default: ``dict(type='BN')``.
        act_cfg (dict, optional): activation after the stem, expansions and head
            conv; default SiLU (v1) or ReLU6 (lite).
        dw_act_cfg (dict): activation after the depthwise conv (and SE).
            Default: ``dict(type='ReLU6')``.
        norm_eval (bool): keep BN layers in eval mode while training. Default: False.
        with_cp (bool): gradient checkpointing per block. Default: False.
        init_cfg (dict | list[dict], optional): ``dict(type='Pretrained',
            checkpoint=PATH)`` loads any supported checkpoint layout (authors',
            timm, rexnet_mm) through :mod:`rexnet_mm.converters`.

    Stages after the last requested tap are neither run nor trained.
    """

    weights_family = 'rexnet'

    def __init__(self, widen_factor=1.0, arch='v1', out_indices=(1, 2, 3, 4),
                 frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True),
                 act_cfg=None, dw_act_cfg=dict(type='ReLU6'), norm_eval=False,
                 with_cp=False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if arch not in ARCH_SETTINGS:
            raise KeyError(f'unknown ReXNet arch {arch!r}: use one of {sorted(ARCH_SETTINGS)}')
        if not widen_factor > 0:
            raise ValueError(f'widen_factor must be positive, got {widen_factor}')
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in range(len(TAP_LAYERS)) for i in out_indices):
            raise ValueError(f'out_indices {out_indices} must be a non-empty subset of 0..5')
        if frozen_stages not in range(-1, 8):
            raise ValueError(f'frozen_stages must be in -1..7, got {frozen_stages}')
        setting = ARCH_SETTINGS[arch]
        act_cfg = act_cfg if act_cfg is not None else setting['act_cfg']
        self.arch, self.widen_factor = arch, widen_factor
        self.out_indices, self.frozen_stages = out_indices, frozen_stages
        self.norm_eval, self.with_cp = norm_eval, with_cp

        stem, blocks, head = rexnet_channels(widen_factor, arch)
        self.conv1 = ConvModule(3, stem, 3, stride=2, padding=1, norm_cfg=norm_cfg,
                                act_cfg=act_cfg)
        strides, start = block_strides(), 0
        self.layers = []
        for stage, num in enumerate(STAGE_BLOCKS, 1):
            stage_blocks = []
            for i in range(start, start + num):
                use_se = setting['se_from_block'] is not None and i >= setting['se_from_block']
                stage_blocks.append(LinearBottleneck(
                    *blocks[i], stride=strides[i],
                    expand_ratio=1 if i == 0 else setting['expand_ratio'],
                    se_ratio=setting['se_ratio'] if use_se else None, norm_cfg=norm_cfg,
                    act_cfg=act_cfg, dw_act_cfg=dw_act_cfg, with_cp=with_cp))
            start += num
            self.add_module(f'layer{stage}', nn.Sequential(*stage_blocks))
            self.layers.append(f'layer{stage}')
        self.conv2 = ConvModule(blocks[-1][1], head, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.layers.append('conv2')

        tap_channels = [blocks[0][1], blocks[2][1], blocks[4][1], blocks[10][1],
                        blocks[15][1], head]
        self.out_channels = tuple(tap_channels[i] for i in out_indices)
        self.tap_channels = tuple(tap_channels)
        # modules after the last requested tap are skipped in forward
        self.num_used_layers = TAP_LAYERS[max(out_indices)]
        self._freeze_stages()

    def forward(self, x):
        x = self.conv1(x)
        taps = {layer: idx for idx, layer in enumerate(TAP_LAYERS)}
        outs = []
        for number, name in enumerate(self.layers[:self.num_used_layers], 1):
            x = getattr(self, name)(x)
            if taps.get(number) in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def stem_modules(self):
        return [self.conv1]

    def stage_names(self):
        return self.layers

    def num_used(self):
        return self.num_used_layers

    def describe(self):
        return f'ReXNet-{self.widen_factor:g} ({self.arch})'

    def describe_mismatch(self, weights):
        """Name the architecture a backbone state dict holds next to ours."""
        found = checkpoint_block_channels(weights)
        return (f'the checkpoint holds {identify_rexnet(found, weights)} but the model '
                f'is {self.describe()}: set widen_factor/arch to match the checkpoint '
                f'or use a {self.describe()} checkpoint')


def checkpoint_block_channels(weights):
    """Output channels of the 16 blocks as stored in our-layout backbone weights."""
    chans = []
    for stage, num in enumerate(STAGE_BLOCKS, 1):
        for j in range(num):
            w = weights.get(f'layer{stage}.{j}.conv_pwl.conv.weight')
            chans.append(int(w.shape[0]) if w is not None else None)
    return tuple(chans)


def identify_rexnet(block_channels, weights=()):
    """Name the published ReXNet whose blocks have these output channels."""
    for arch, widths in PUBLISHED_WIDTHS.items():
        for w in widths:
            if tuple(o for _, o in rexnet_channels(w, arch)[1]) == tuple(block_channels):
                return f'ReXNet-{w:g} ({arch})'
    has_se = any('.se.' in k for k in weights)
    return (f'a ReXNet ({"v1" if has_se else "lite"}-like) with block widths '
            f'{list(block_channels)}')
