from .regnet import PyclsRegNet
from .rexnet import ReXNet

__all__ = ['PyclsRegNet', 'ReXNet']
