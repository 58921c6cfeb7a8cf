from .rexnet import ReXNet

__all__ = ['ReXNet']

try:
    from .regnet import PyclsRegNet  # noqa: F401
    __all__.append('PyclsRegNet')
except ImportError as exc:  # pragma: no cover - only while regnet.py is missing
    if 'regnet' not in str(exc):
        raise
