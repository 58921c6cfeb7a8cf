"""ReXNet backbone ("Rethinking Channel Dimensions for Efficient Model Design", CVPR 2021).

Two variants share one network definition and differ in their channel rule and
activations (docs/reference.md, "ReXNet"):

* ``arch='v1'``: linear channel growth rounded to integers, SiLU after the stem and
  expansions, SE on stages 3-6, ReLU6 after the depthwise conv. The released ImageNet
  weights (the authors' and timm's ``rexnet_*``) load into it unchanged.
* ``arch='lite'``: widths made divisible by 8, ReLU6 everywhere, no SE.

Everything else is derived from one per-block table (:func:`rexnet_blocks`): the stage
table below, the channel rule (:func:`rexnet_block_widths`) and the output stride. The
stages are ``layer1`` .. ``layer6`` and the 1280*w head conv ``conv2``; ``out_indices``
and ``frozen_stages`` count them like mmdet's MobileNetV2:

===== ========== ====== =================
 idx   module     stride channels at w=1.0
===== ========== ====== =================
 0     layer1     2      16
 1     layer2     4      38
 2     layer3     8      61
 3     layer4     16     95
 4     layer5     16     128
 5     layer6     32     185
 6     conv2      32     1280
===== ========== ====== =================
"""
import math
from collections import namedtuple

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer

from ...registry import register_model
from .base import PooledConv2d, StagedBackbone, check_indices

#: The six stages (mmdet MobileNetV2 style): expand ratio, blocks, first-block stride,
#: SE (where the arch has SE at all).
STAGE_SETTINGS = [[1, 1, 1, False],
                  [6, 2, 2, False],
                  [6, 2, 2, True],
                  [6, 3, 2, True],
                  [6, 3, 1, True],
                  [6, 5, 2, True]]

#: The linear channel rule, and the two published variants as named instances of it.
#: Block i (0-based over all blocks) outputs ``(start_ch + i * final_ch / spread) *
#: widen_factor`` channels, ``spread`` being the number of blocks plus ``spread_offset``
#: (v1: 0, the rule steps on every block; lite: -1, the last block reaches start + final);
#: ``divisor`` rounds to multiples of it (lite: 8) or to integers (None). ``stem_ch`` and
#: ``head_ch`` are the stem's and head conv's widths at 1.0; the head scales with widths
#: above ``head_min_mult`` (v1: 0, always scaled; lite: 1.0, 1280 up to width 1.0).
#: ``arch`` may also be such a dict (every key below), for a plan of one's own, or a dict
#: of per-block widths: ``dict(block_widths=[...], stem_ch=, head_ch=, se=, act_cfg=)``
#: (final widths, one per block: ``widen_factor`` must stay 1.0).
ARCH_SETTINGS = {
    'v1': dict(start_ch=16, final_ch=180, spread_offset=0, divisor=None, se=True,
               stem_ch=32, head_ch=1280, head_min_mult=0.0, act_cfg=dict(type='SiLU')),
    'lite': dict(start_ch=16, final_ch=164, spread_offset=-1, divisor=8, se=False,
                 stem_ch=32, head_ch=1280, head_min_mult=1.0, act_cfg=dict(type='ReLU6')),
}
#: Widths with released ImageNet weights, by variant.
PUBLISHED_WIDTHS = {'v1': (0.9, 1.0, 1.3, 1.5, 2.0, 2.2, 3.0), 'lite': (1.0, 1.3, 1.5, 2.0)}

#: One block: input/output channels, expand ratio, stride, dilation of its depthwise
#: conv, dilation after it, SE, and the stage (0-5) it belongs to.
BlockCfg = namedtuple('BlockCfg', 'in_channels out_channels expand_ratio stride dilation '
                                  'next_dilation se stage')


def make_divisible(value, divisor, min_value=None):
    """Round ``value`` to the nearest multiple of ``divisor`` (never below 90%)."""
    min_value = min_value or divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


_WIDTHS_KEYS = ('block_widths', 'stem_ch', 'head_ch', 'se', 'act_cfg')


def _arch(arch):
    """The rule's settings of a named arch, or of an explicit dict (checked)."""
    if isinstance(arch, dict):
        expected = set(_WIDTHS_KEYS) if 'block_widths' in arch else set(ARCH_SETTINGS['v1'])
        missing = sorted(expected - set(arch))
        unknown = sorted(set(arch) - expected)
        if missing or unknown:
            raise KeyError(f'ReXNet arch dict: missing keys {missing}, unknown keys {unknown}; '
                           f'expected {", ".join(sorted(expected))} (see ARCH_SETTINGS)')
        return arch
    if arch not in ARCH_SETTINGS:
        raise KeyError(f'unknown ReXNet arch {arch!r}: use one of {sorted(ARCH_SETTINGS)} '
                       f'or a dict of the channel rule (ARCH_SETTINGS)')
    return ARCH_SETTINGS[arch]


def stage_depths(depth_mult=1.0):
    """Blocks per stage: ``ceil(n * depth_mult)`` (the authors' and timm's rule)."""
    if not depth_mult > 0:
        raise ValueError(f'depth_mult must be positive, got {depth_mult}')
    return [math.ceil(n * depth_mult) for _, n, _, _ in STAGE_SETTINGS]


def depth_mult_for(num_blocks, max_mult=4.0):
    """``(depth_mult, stage depths)`` of a ``depth_mult`` that gives ``num_blocks`` blocks
    in all (1.0 where it does, else the smallest two-decimal one), or None. Each stage
    depth is non-decreasing in ``depth_mult``, so the total fixes every stage's depth and
    every ``depth_mult`` that gives it builds the same net."""
    if sum(stage_depths(1.0)) == num_blocks:
        return 1.0, stage_depths(1.0)
    for step in range(1, int(max_mult * 100) + 1):
        depths = stage_depths(step / 100)
        if sum(depths) == num_blocks:
            return step / 100, depths
        if sum(depths) > num_blocks:
            return None
    return None


def _width(value, widen_factor, divisor):
    value = round(value * widen_factor)
    return make_divisible(value, divisor) if divisor else value


def rexnet_block_widths(widen_factor=1.0, arch='v1', depth_mult=1.0):
    """``(stem, [output channels of every block], head)`` of a ReXNet.

    Block i has ``start_ch + i * final_ch / spread`` channels before the width
    multiplier (see :data:`ARCH_SETTINGS`). Widths below 1.0 keep the stem (32) and the
    first block (16) unscaled, as the authors' code does.
    """
    setting = _arch(arch)
    if not widen_factor > 0:
        raise ValueError(f'widen_factor must be positive, got {widen_factor}')
    num_blocks = sum(stage_depths(depth_mult))
    if 'block_widths' in setting:
        widths = [int(w) for w in setting['block_widths']]
        if widen_factor != 1.0 or len(widths) != num_blocks or min(widths) < 1:
            raise ValueError(
                f'block_widths: {len(widths)} positive final widths at widen_factor 1.0 '
                f'expected, one per block ({num_blocks} at depth_mult {depth_mult}); got '
                f'{len(widths)} at widen_factor {widen_factor}')
        return int(setting['stem_ch']), widths, int(setting['head_ch'])
    step = setting['final_ch'] / (num_blocks + setting['spread_offset'])
    small = widen_factor < 1.0
    start = setting['start_ch'] / widen_factor if small else setting['start_ch']
    stem = setting['stem_ch'] / widen_factor if small else setting['stem_ch']
    divisor = setting['divisor']
    widths = [_width(start + i * step, widen_factor, divisor) for i in range(num_blocks)]
    head = int(setting['head_ch'] * max(widen_factor, setting['head_min_mult']))
    return _width(stem, widen_factor, divisor), widths, head


def rexnet_blocks(widen_factor=1.0, arch='v1', depth_mult=1.0, output_stride=32):
    """The per-block table of a ReXNet: a list of :data:`BlockCfg`.

    ``output_stride`` 16 or 8 removes the stride of the stages past it and dilates the
    depthwise convs after it instead (each removed stride doubles the dilation of the
    following blocks), as timm's ``RexNet(output_stride=...)`` does.
    """
    if output_stride not in (8, 16, 32):
        raise ValueError(f'output_stride must be 8, 16 or 32, got {output_stride}')
    setting = _arch(arch)
    stem, widths, _ = rexnet_block_widths(widen_factor, arch, depth_mult)
    blocks, in_ch, i = [], stem, 0
    current_stride, dilation = 2, 1  # after the stem
    for stage, ((expand, _, stride, se), depth) in enumerate(
            zip(STAGE_SETTINGS, stage_depths(depth_mult))):
        for j in range(depth):
            block_stride, next_dilation = (stride if j == 0 else 1), dilation
            if block_stride > 1 and current_stride >= output_stride:
                block_stride, next_dilation = 1, dilation * block_stride
            blocks.append(BlockCfg(in_ch, widths[i], expand, block_stride, dilation,
                                   next_dilation, se and setting['se'], stage))
            current_stride *= block_stride
            dilation = next_dilation
            in_ch, i = widths[i], i + 1
    return blocks


def rexnet_feature_info(widen_factor=1.0, arch='v1', depth_mult=1.0, output_stride=32):
    """``[(channels, stride)]`` of the seven stages (``out_indices`` 0-6)."""
    blocks = rexnet_blocks(widen_factor, arch, depth_mult, output_stride)
    info, stride = [], 2
    for stage in range(len(STAGE_SETTINGS)):
        stage_blocks = [b for b in blocks if b.stage == stage]
        for b in stage_blocks:
            stride *= b.stride
        info.append((stage_blocks[-1].out_channels, stride))
    info.append((rexnet_block_widths(widen_factor, arch, depth_mult)[2], stride))
    return info


class SqueezeExcite(nn.Module):
    """SE with a BN between the two 1x1 convs (pool -> fc1 -> BN -> ReLU -> fc2 -> sigmoid).

    ``channels // reduction`` squeeze channels (the authors' ``se_ratio=12``).
    """

    def __init__(self, channels, reduction=12, norm_cfg=dict(type='BN')):
        super().__init__()
        mid = channels // reduction
        self.fc1 = PooledConv2d(channels, mid, 1, bias=True)
        self.bn = build_norm_layer(norm_cfg, mid)[1]
        self.act = nn.ReLU(inplace=True)
        self.fc2 = PooledConv2d(mid, channels, 1, bias=True)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        s = self.fc2(self.act(self.bn(self.fc1(s))))
        return x * s.sigmoid()


class LinearBottleneck(nn.Module):
    """Inverted bottleneck with a partial shortcut (``out[:, :in] += x``).

    1x1 expand (norm, act) -> 3x3 depthwise (norm) -> SE -> ReLU6 -> 1x1 project (norm).
    The shortcut exists when the block keeps the resolution (stride 1, unchanged
    dilation) and does not shrink the channels.
    """

    def __init__(self, cfg, se_reduction=12, conv_cfg=None, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='SiLU'), dw_act_cfg=dict(type='ReLU6'), with_cp=False):
        super().__init__()
        self.in_channels, self.out_channels = cfg.in_channels, cfg.out_channels
        self.use_shortcut = (cfg.stride == 1 and cfg.dilation == cfg.next_dilation
                             and cfg.in_channels <= cfg.out_channels)
        self.with_cp = with_cp
        mid = cfg.in_channels * cfg.expand_ratio
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.conv_exp = ConvModule(cfg.in_channels, mid, 1, act_cfg=act_cfg, **common) \
            if cfg.expand_ratio != 1 else None
        self.conv_dw = ConvModule(mid, mid, 3, stride=cfg.stride, padding=cfg.dilation,
                                  dilation=cfg.dilation, groups=mid, act_cfg=None, **common)
        self.se = SqueezeExcite(mid, se_reduction, norm_cfg) if cfg.se else None
        self.act_dw = build_activation_layer(dw_act_cfg)
        self.conv_pwl = ConvModule(mid, cfg.out_channels, 1, act_cfg=None, **common)

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
        arch (str | dict): ``'v1'`` or ``'lite'``, or an explicit channel plan: the
            linear rule's parameters or per-block widths (see :data:`ARCH_SETTINGS`).
            Default: ``'v1'``.
        depth_mult (float): blocks per stage ``ceil(n * depth_mult)``; the channel rule
            spreads over the new block count (authors' code, timm). Default: 1.0.
        in_channels (int): input channels. Default: 3.
        output_stride (int): 32, or 16 / 8 for dilated stages (segmentation).
            Default: 32.
        out_indices (Sequence[int]): stages to return, 0-6 (see the module docstring).
            Default: (1, 2, 4, 5), strides 4-32 for FPN-style necks.
        frozen_stages (int): -1 freezes nothing, 0 the stem, k (1-7) the stem and
            stages 0..k-1 (7: also the head conv). Default: -1.
        se_reduction (int): SE squeeze channels are ``channels // se_reduction``.
            Default: 12.
        conv_cfg (dict, optional): conv layers. Default: None (Conv2d).
        norm_cfg (dict): norm layers. Default: ``dict(type='BN')``.
        act_cfg (dict, optional): activation after the stem, expansions and head
            conv; default SiLU (v1) or ReLU6 (lite).
        dw_act_cfg (dict): activation after the depthwise conv (and SE).
            Default: ``dict(type='ReLU6')``.
        norm_eval (bool): keep BN layers in eval mode while training. Default: False.
        with_cp (bool): gradient checkpointing per block. Default: False.
        channels_last (bool): run the stages channels-last (NHWC) on the CPU; faster
            there, same values (see :mod:`~rexnet_mm.models.backbones.base`).
            Default: True.
        nchw_outputs (bool): give the outputs back in NCHW layout, which every mmcv op
            reads correctly; False hands NHWC on (for plain-PyTorch necks and heads).
            Default: True.
        init_cfg (dict | list[dict], optional): ``dict(type='Pretrained',
            checkpoint=PATH)`` loads any supported checkpoint layout (authors',
            timm, rexnet_mm) through :mod:`rexnet_mm.weights`.

    ``feature_info`` lists ``(channels, stride)`` of the seven stages and
    ``out_channels`` the channels of the requested ones. Stages after the last
    requested one are neither run nor trained.
    """

    def __init__(self, widen_factor=1.0, arch='v1', depth_mult=1.0, in_channels=3,
                 output_stride=32, out_indices=(1, 2, 4, 5), frozen_stages=-1,
                 se_reduction=12, conv_cfg=None,
                 norm_cfg=dict(type='BN', requires_grad=True), act_cfg=None,
                 dw_act_cfg=dict(type='ReLU6'), norm_eval=False, with_cp=False,
                 channels_last=True, nchw_outputs=True, init_cfg=None):
        super().__init__(init_cfg=init_cfg, channels_last=channels_last,
                         nchw_outputs=nchw_outputs)
        setting = _arch(arch)
        blocks = rexnet_blocks(widen_factor, arch, depth_mult, output_stride)
        self.arch, self.widen_factor, self.depth_mult = arch, widen_factor, depth_mult
        self.output_stride = output_stride
        self.feature_info = rexnet_feature_info(widen_factor, arch, depth_mult,
                                                output_stride)
        self.stage_names = [f'layer{i + 1}' for i in range(len(STAGE_SETTINGS))] + ['conv2']
        self.out_indices = check_indices('ReXNet', out_indices, frozen_stages,
                                         len(self.stage_names))
        self.frozen_stages, self.norm_eval, self.with_cp = frozen_stages, norm_eval, with_cp
        act_cfg = act_cfg if act_cfg is not None else setting['act_cfg']
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)

        self.conv1 = ConvModule(in_channels, blocks[0].in_channels, 3, stride=2, padding=1,
                                act_cfg=act_cfg, **common)
        for stage, name in enumerate(self.stage_names[:-1]):
            self.add_module(name, nn.Sequential(*[
                LinearBottleneck(b, se_reduction, act_cfg=act_cfg, dw_act_cfg=dw_act_cfg,
                                 with_cp=with_cp, **common)
                for b in blocks if b.stage == stage]))
        self.conv2 = ConvModule(blocks[-1].out_channels, self.feature_info[-1][0], 1,
                                act_cfg=act_cfg, **common)
        self.out_channels = tuple(self.feature_info[i][0] for i in self.out_indices)
        self._freeze_stages()

    def forward(self, x):
        return self.forward_stages(self.conv1(self.memory_format(x)))

    def stem_modules(self):
        return [self.conv1]
