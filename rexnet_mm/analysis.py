"""Parameter and multiply-add counts as the papers report them."""
import torch


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def conv_fc_macs(model, size=224):
    """Multiply-adds of convolutions and fully connected layers (the papers' MACs/FLOPs),
    counted by mmengine's FlopAnalyzer on one ``size x size`` image."""
    from mmengine.analysis import FlopAnalyzer
    analyzer = FlopAnalyzer(model, torch.zeros(1, 3, size, size))
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return sum(v for k, v in analyzer.by_operator().items()
               if k in ('conv', 'linear', 'addmm', 'matmul'))
