"""The package's version (layer 0: imports nothing of rexnet_mm); ``rexnet_mm.__version__``
and the producer of an exported ONNX file read it here."""
__version__ = '0.1.0'
