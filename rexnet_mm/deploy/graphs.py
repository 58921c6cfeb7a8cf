"""The exported graphs of classifiers and segmentors, and the input normalisation every
exported graph starts with.

The graph takes what ``mmcv.imread`` gives, resized to the export shape: ``image``,
float32 ``N x 3 x H x W``, BGR, 0-255. The model's own input normalisation (mean/std,
BGR -> RGB) is the graph's first node, so running it needs no OpenMMLab code. Outputs:

* classifier (mmpretrain ``ImageClassifier``): ``scores``, ``N x classes``, softmax;
* segmentor (mmseg ``EncoderDecoder``): ``labels``, ``N x H x W`` int64: the argmax of
  the logits resized to the input (mmseg's predict without rescaling).

The detectors' graphs are in :mod:`rexnet_mm.deploy.detectors`.
"""
import torch.nn.functional as F
from torch import nn

from ..apis.config import ConfigError
from ..models.normalization import channel_stats, normalize, preprocessor_norm


class _Normalize(nn.Module):
    """The data preprocessor's normalisation as graph ops: BGR 0-255 in."""

    def __init__(self, preprocessor):
        super().__init__()
        mean, std, flip = preprocessor_norm(preprocessor)
        if mean is None or std is None:
            raise ConfigError('the model has no input mean/std (data_preprocessor): set '
                              'data_preprocessor=dict(mean=..., std=...) in the config')
        self.flip = flip
        self.register_buffer('mean', channel_stats(mean))
        self.register_buffer('std', channel_stats(std))

    def forward(self, image):
        return normalize(image, self.mean, self.std, self.flip)


class _Export(nn.Module):
    """A model with its normalisation in front; ``outputs`` names what forward returns."""
    outputs = ()

    def __init__(self, model):
        super().__init__()
        self.pre, self.model = _Normalize(model.data_preprocessor), model


class ClassifierExport(_Export):
    outputs = ('scores', )

    def forward(self, image):
        return self.model.head(self.model.extract_feat(self.pre(image))).softmax(-1)


class SegmentorExport(_Export):
    outputs = ('labels', )

    def forward(self, image):
        logits = self.model.forward(self.pre(image), mode='tensor')
        logits = F.interpolate(logits, size=image.shape[2:], mode='bilinear',
                               align_corners=self.model.decode_head.align_corners)
        return logits.argmax(1)
