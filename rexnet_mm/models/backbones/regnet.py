"""RegNetX / RegNetY backbone for the whole pycls model zoo ("Designing Network Design
Spaces", CVPR 2020).

Module names follow mmdet's ``RegNet`` (``conv1``/``bn1`` stem, ``layer{i}.{j}.conv1..3``,
``bn1..3``, ``downsample.0/1``), so mmdet's and mmpretrain's RegNet checkpoints load
tensor for tensor; RegNetY adds ``layer{i}.{j}.se.conv{1,2}.conv`` after the group conv.

Channel order: like pycls, mmdet and mmpretrain, the backbone expects **BGR** input
(``mean=[103.53, 116.28, 123.675], std=[57.375, 57.12, 58.395]``, no BGR->RGB swap).
The converters flip the stem of RGB checkpoints (timm's) once, see
:mod:`rexnet_mm.weights.regnet` and :mod:`rexnet_mm.models.normalization`.

``out_indices`` index the four stages (strides 4, 8, 16, 32 by default).
"""
import math

import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule, build_conv_layer, build_norm_layer
from mmengine.model.weight_init import constant_init

from ...registry import register_model
from .base import PooledConv2d, StagedBackbone, check_indices

#: (w0, wa, wm, depth, group width) of the pycls zoo; X has no SE, Y has se_ratio 0.25.
_ZOO = {
    '200mf': ((24, 36.44, 2.49, 13, 8), (24, 36.44, 2.49, 13, 8)),
    '400mf': ((24, 24.48, 2.54, 22, 16), (48, 27.89, 2.09, 16, 8)),
    '600mf': ((48, 36.97, 2.24, 16, 24), (48, 32.54, 2.32, 15, 16)),
    '800mf': ((56, 35.73, 2.28, 16, 16), (56, 38.84, 2.40, 14, 16)),
    '1.6gf': ((80, 34.01, 2.25, 18, 24), (48, 20.71, 2.65, 27, 24)),
    '3.2gf': ((88, 26.31, 2.25, 25, 48), (80, 42.63, 2.66, 21, 24)),
    '4.0gf': ((96, 38.65, 2.43, 23, 40), (96, 31.41, 2.24, 22, 64)),
    '6.4gf': ((184, 60.83, 2.07, 17, 56), (112, 33.22, 2.27, 25, 72)),
    '8.0gf': ((80, 49.56, 2.88, 23, 120), (192, 76.82, 2.19, 17, 56)),
    '12gf': ((168, 73.36, 2.37, 19, 112), (168, 73.36, 2.37, 19, 112)),
    '16gf': ((216, 55.59, 2.10, 22, 128), (200, 106.23, 2.48, 18, 112)),
    '32gf': ((320, 69.86, 2.00, 23, 168), (232, 115.89, 2.53, 20, 232)),
}


def _arch(w0, wa, wm, depth, group_w, se_ratio):
    return dict(w0=w0, wa=wa, wm=wm, depth=depth, group_w=group_w, bot_mul=1.0,
                se_ratio=se_ratio)


#: Named architectures, spelled like mmdet (``regnetx_3.2gf``, ``regnety_1.6gf``).
ARCH_SETTINGS = {f'regnetx_{size}': _arch(*x, se_ratio=0.0) for size, (x, _) in _ZOO.items()}
ARCH_SETTINGS.update(
    {f'regnety_{size}': _arch(*y, se_ratio=0.25) for size, (_, y) in _ZOO.items()})

_ARCH_KEYS = ('w0', 'wa', 'wm', 'depth', 'group_w', 'bot_mul', 'se_ratio')


def generate_regnet_widths(w0, wa, wm, depth, group_width, bottleneck_ratio=1.0,
                           divisor=8):
    """Stage widths, depths and group widths of a RegNet (pycls rule).

    Block ``j`` gets ``u_j = w0 + wa*j``, quantised in log space with base ``wm``:
    ``k_j = round(log(u_j / w0) / log(wm))``, ``w_j = round(w0 * wm**k_j / 8) * 8``.
    Runs of equal widths are stages. Per stage the group width is clipped to the
    bottleneck width and the bottleneck width rounded to a multiple of it.

    Returns:
        tuple[list[int], list[int], list[int]]: stage widths, stage depths and
        group widths.
    """
    if not (w0 > 0 and w0 % divisor == 0 and wa >= 0 and wm > 1 and depth >= 1
            and group_width >= 1 and bottleneck_ratio > 0):
        raise ValueError(
            f'invalid RegNet parameters w0={w0}, wa={wa}, wm={wm}, depth={depth}, '
            f'group_w={group_width}, bot_mul={bottleneck_ratio}: need w0 > 0 divisible '
            f'by {divisor}, wa >= 0, wm > 1, depth >= 1, group_w >= 1, bot_mul > 0')
    widths, depths = [], []
    for j in range(depth):
        k = round(math.log((w0 + wa * j) / w0) / math.log(wm))
        w = int(round(w0 * wm**k / divisor) * divisor)
        if widths and widths[-1] == w:
            depths[-1] += 1
        else:
            widths.append(w)
            depths.append(1)
    bottlenecks = [int(w * bottleneck_ratio) for w in widths]
    groups = [min(group_width, b) for b in bottlenecks]
    bottlenecks = [int(round(b / g) * g) for b, g in zip(bottlenecks, groups)]
    widths = [int(b / bottleneck_ratio) for b in bottlenecks]
    return widths, depths, groups


def resolve_arch(arch):
    """``(name or None, full arch dict)`` for an arch name or an explicit dict."""
    if isinstance(arch, str):
        arch = arch.lower().replace('-', '_')  # also pycls' spelling, 'RegNetY-1.6GF'
        if arch not in ARCH_SETTINGS:
            raise KeyError(f'unknown RegNet arch {arch!r}: use one of '
                           f'{", ".join(ARCH_SETTINGS)} or a dict with keys '
                           f'{", ".join(_ARCH_KEYS)}')
        return arch, dict(ARCH_SETTINGS[arch])
    if not isinstance(arch, dict):
        raise TypeError(f'RegNet arch must be a name or a dict, got {type(arch).__name__}')
    unknown = sorted(set(arch) - set(_ARCH_KEYS))
    missing = [k for k in ('w0', 'wa', 'wm', 'depth', 'group_w') if k not in arch]
    if unknown or missing:
        raise KeyError(f'RegNet arch dict: unknown keys {unknown}, missing keys {missing}; '
                       f'expected {", ".join(_ARCH_KEYS)} (bot_mul, se_ratio optional)')
    full = {'bot_mul': 1.0, 'se_ratio': 0.0, **arch}
    name = next((n for n, a in ARCH_SETTINGS.items() if a == full), None)
    return name, full


def arch_stages(arch):
    """Per-stage plan of an arch: dict of widths, depths, group widths, se_ratio, bot_mul."""
    _, cfg = resolve_arch(arch)
    widths, depths, groups = generate_regnet_widths(
        cfg['w0'], cfg['wa'], cfg['wm'], cfg['depth'], cfg['group_w'], cfg['bot_mul'])
    return dict(widths=widths, depths=depths, group_widths=groups,
                se_ratio=cfg['se_ratio'], bot_mul=cfg['bot_mul'])


def se_channels(in_channels, se_ratio):
    """SE squeeze width: ``round(se_ratio * block input width)`` (0 = no SE)."""
    return int(round(in_channels * se_ratio)) if se_ratio else 0


class SqueezeExcitation(nn.Module):
    """pool -> 1x1 conv (bias) -> ReLU -> 1x1 conv (bias) -> sigmoid, scales the input."""

    def __init__(self, channels, squeeze_channels):
        super().__init__()
        pooled = dict(type=PooledConv2d)  # 1x1 convs on pooled features, as matmuls
        self.conv1 = ConvModule(channels, squeeze_channels, 1, bias=True, conv_cfg=pooled,
                                act_cfg=dict(type='ReLU'))
        self.conv2 = ConvModule(squeeze_channels, channels, 1, bias=True, conv_cfg=pooled,
                                act_cfg=dict(type='Sigmoid'))

    def forward(self, x):
        return x * self.conv2(self.conv1(F.adaptive_avg_pool2d(x, 1)))


class RegNetBottleneck(nn.Module):
    """X block (Y with ``squeeze_channels``): 1x1 -> 3x3 group conv [-> SE] -> 1x1, residual.

    The shortcut is a strided 1x1 conv + norm when stride or width change.
    """

    def __init__(self, in_channels, out_channels, stride=1, dilation=1, next_dilation=None,
                 group_width=1,
                 bottleneck_ratio=1.0, squeeze_channels=0, conv_cfg=None,
                 norm_cfg=dict(type='BN'), with_cp=False):
        super().__init__()
        mid = int(round(out_channels * bottleneck_ratio))
        next_dilation = dilation if next_dilation is None else next_dilation
        self.with_cp = with_cp
        # registered in mmdet's/timm's state-dict order: conv1 bn1 conv2 bn2 [se] conv3 bn3
        self.norm_names = []
        self.conv1 = build_conv_layer(conv_cfg, in_channels, mid, 1, bias=False)
        self._add_norm(norm_cfg, mid)
        self.conv2 = build_conv_layer(conv_cfg, mid, mid, 3, stride=stride, padding=dilation,
                                      dilation=dilation, groups=mid // group_width,
                                      bias=False)
        self._add_norm(norm_cfg, mid)
        self.se = SqueezeExcitation(mid, squeeze_channels) if squeeze_channels else None
        self.conv3 = build_conv_layer(conv_cfg, mid, out_channels, 1, bias=False)
        self._add_norm(norm_cfg, out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out_channels or dilation != next_dilation:
            self.downsample = nn.Sequential(
                build_conv_layer(conv_cfg, in_channels, out_channels, 1, stride=stride,
                                 bias=False),
                build_norm_layer(norm_cfg, out_channels)[1])

    def _add_norm(self, norm_cfg, channels):
        name, norm = build_norm_layer(norm_cfg, channels, postfix=len(self.norm_names) + 1)
        self.add_module(name, norm)
        self.norm_names.append(name)

    @property
    def norm3(self):
        return getattr(self, self.norm_names[2])

    def _forward(self, x):
        n1, n2, n3 = (getattr(self, n) for n in self.norm_names)
        out = self.relu(n1(self.conv1(x)))
        out = self.relu(n2(self.conv2(out)))
        if self.se is not None:
            out = self.se(out)
        out = n3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)

    def forward(self, x):
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)


@register_model(name='PyclsRegNet', aliases=('RegNet',))
class PyclsRegNet(StagedBackbone):
    """RegNetX / RegNetY backbone covering the pycls zoo (200MF-32GF).

    Registered as ``PyclsRegNet`` in mmdet, mmseg and mmpretrain (whose own ``RegNet``
    stays theirs) and as ``rexnet_mm.RegNet`` / ``rexnet_mm.PyclsRegNet`` in our scope.

    Args:
        arch (str | dict): ``'regnetx_200mf'`` ... ``'regnety_32gf'`` (see
            ``ARCH_SETTINGS``) or ``dict(w0, wa, wm, depth, group_w[, bot_mul=1.0,
            se_ratio=0.0])``.
        in_channels (int): input channels. Default: 3.
        stem_channels (int): width of the 3x3 stride-2 stem. Default: 32.
        strides (Sequence[int]): stride of each stage's first block. Default: 2s.
        dilations (Sequence[int]): dilation of each stage. Default: 1s.
        contract_dilation (bool): the first block of a dilated stage uses half the
            stage's dilation (mmseg's ResNet option; what timm's
            ``output_stride`` does). ``strides=(2, 2, 1, 1), dilations=(1, 1, 2, 4),
            contract_dilation=True`` is output stride 8. Default: False.
        out_indices (Sequence[int]): stages to return (0-3). Default: (0, 1, 2, 3).
        frozen_stages (int): -1 freezes nothing, 0 the stem, k the stem and stages
            1..k. Default: -1.
        conv_cfg (dict, optional): conv layers. Default: None (Conv2d).
        norm_cfg (dict): norm layers. Default: ``dict(type='BN', requires_grad=True)``.
        norm_eval (bool): keep BN layers in eval mode while training. Default: False.
        with_cp (bool): gradient checkpointing per block. Default: False.
        channels_last (bool): run the stages channels-last (NHWC) on the CPU; faster
            there, same values (see :mod:`~rexnet_mm.models.backbones.base`).
            Default: True.
        nchw_outputs (bool): give the outputs back in NCHW layout, which every mmcv op
            reads correctly; False hands NHWC on (for plain-PyTorch necks and heads).
            Default: True.
        zero_init_residual (bool): zero the last norm of each block at random init.
            Default: True.
        style (str): only ``'pytorch'`` (accepted so that mmdet RegNet configs,
            which pass it, work unchanged).
        init_cfg (dict | list[dict], optional): ``dict(type='Pretrained',
            checkpoint=PATH)`` loads a pycls, timm, mmdet/mmpretrain or rexnet_mm
            checkpoint through :mod:`rexnet_mm.weights`.

    Stages after the last requested one are neither run nor trained.
    """

    arch_settings = ARCH_SETTINGS

    def __init__(self, arch, in_channels=3, stem_channels=32, strides=(2, 2, 2, 2),
                 dilations=(1, 1, 1, 1), contract_dilation=False, out_indices=(0, 1, 2, 3),
                 frozen_stages=-1,
                 conv_cfg=None, norm_cfg=dict(type='BN', requires_grad=True),
                 norm_eval=False, with_cp=False, zero_init_residual=True, style='pytorch',
                 channels_last=True, nchw_outputs=True, init_cfg=None):
        if style != 'pytorch':
            raise ValueError(f"PyclsRegNet has pycls' block (stride on the 3x3 conv, "
                             f"style='pytorch'); style={style!r} is not supported")
        super().__init__(init_cfg=init_cfg, channels_last=channels_last,
                         nchw_outputs=nchw_outputs)
        self.arch_name, self.arch = resolve_arch(arch)
        plan = arch_stages(self.arch)
        num_stages = len(plan['widths'])
        if num_stages > 4:
            raise ValueError(f'RegNet arch {arch} has {num_stages} stages; at most 4 are '
                             f'supported (lower wa or depth)')
        out_indices = check_indices('PyclsRegNet', out_indices, frozen_stages, num_stages)
        if len(strides) < num_stages or len(dilations) < num_stages:
            raise ValueError(f'strides and dilations need {num_stages} entries')
        self.stage_widths = plan['widths']
        self.stage_depths = plan['depths']
        self.group_widths = plan['group_widths']
        self.se_ratio, self.bottleneck_ratio = plan['se_ratio'], plan['bot_mul']
        self.stem_channels = stem_channels
        self.out_indices, self.frozen_stages = out_indices, frozen_stages
        self.norm_eval, self.with_cp = norm_eval, with_cp
        self.zero_init_residual = zero_init_residual

        self.conv1 = build_conv_layer(conv_cfg, in_channels, stem_channels, 3, stride=2,
                                      padding=1, bias=False)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, stem_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.relu = nn.ReLU(inplace=True)

        self.stage_names = []
        prev = stem_channels
        for i in range(num_stages):
            blocks = []
            for j in range(self.stage_depths[i]):
                block_in = prev if j == 0 else self.stage_widths[i]
                dilation = dilations[i]
                if j == 0 and contract_dilation and dilation > 1:
                    dilation //= 2
                blocks.append(RegNetBottleneck(
                    block_in, self.stage_widths[i], stride=strides[i] if j == 0 else 1,
                    dilation=dilation, next_dilation=dilations[i],
                    group_width=self.group_widths[i],
                    bottleneck_ratio=self.bottleneck_ratio,
                    squeeze_channels=se_channels(block_in, self.se_ratio),
                    conv_cfg=conv_cfg, norm_cfg=norm_cfg, with_cp=with_cp))
            prev = self.stage_widths[i]
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
            self.stage_names.append(f'layer{i + 1}')
        self.out_channels = tuple(self.stage_widths[i] for i in out_indices)
        self._freeze_stages()

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    def forward(self, x):
        return self.forward_stages(self.relu(self.norm1(self.conv1(self.memory_format(x)))))

    def stem_modules(self):
        return [self.conv1, self.norm1]

    def init_weights(self):
        super().init_weights()
        if self.pretrained_checkpoint is None and self.zero_init_residual:
            for name in self.stage_names:
                for block in getattr(self, name):
                    constant_init(block.norm3, 0)
