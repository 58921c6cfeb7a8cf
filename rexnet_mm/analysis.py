"""Parameter and multiply-add counts as the papers report them."""
import torch
import torch.nn as nn


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def flop_analyzer(model, size=224):
    """mmengine's FlopAnalyzer of ``model`` on one ``size x size`` image, quiet."""
    from mmengine.analysis import FlopAnalyzer
    analyzer = FlopAnalyzer(model, torch.zeros(1, 3, size, size))
    return analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)


def conv_fc_macs(model, size=224):
    """Multiply-adds of convolutions and fully connected layers (the papers' MACs/FLOPs),
    counted by mmengine's FlopAnalyzer on one ``size x size`` image."""
    return sum(v for k, v in flop_analyzer(model, size).by_operator().items()
               if k in ('conv', 'linear', 'addmm', 'matmul'))


def pycls_flops(model):
    """Conv + FC multiply-adds of one of our RegNet classifiers at 224x224, as pycls
    counts them (BN is not counted); equal to ``conv_fc_macs(model)``, but fast.

    The analysis runs at 32x32: every feature map at 224 is exactly 7x7 times larger
    (112..7 vs 16..1), so the spatial convs scale by 49; the SE convs (``.se.``) and the
    classifier (``head.``) act on pooled 1x1 features and do not scale.
    """
    counts = flop_analyzer(model, 32).by_module_and_operator()
    total = 0
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            flops = sum(counts.get(name, {}).get(op, 0) for op in ('conv', 'linear'))
            total += flops if ('.se.' in name or name.startswith('head.')) else 49 * flops
    return total
