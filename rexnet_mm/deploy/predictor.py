"""Run a file written by ``tools/deploy.py`` on an image of any size, without OpenMMLab.

    from rexnet_mm.deploy.predictor import OnnxPredictor
    predictor = OnnxPredictor('model.onnx')
    result = predictor('photo.jpg')          # or an H x W x 3 uint8 BGR array (cv2.imread)

The file's metadata (``tools/deploy.py`` writes it; :mod:`rexnet_mm.deploy.metadata`
reads it) says how an image goes in: BGR, 0-255, float32 ``1 x 3 x H x W``, the whole
image resized to the export size with OpenCV's bilinear interpolation (no keep-ratio, no
padding). The predictor does exactly that (:func:`rexnet_mm.images.image_input`), runs
ONNX Runtime or OpenVINO (CPU, :mod:`rexnet_mm.deploy.runtimes`) and maps the outputs back to the original image, in the shape of the
toolbox's own inferencer's result for one image:

* detector (mmdet ``DetInferencer``): ``{'bboxes': K x 4, 'scores': K, 'labels': K,
  'label_names': [K]}``, boxes x1 y1 x2 y2 in the original image's pixels, every detection
  the model keeps (score >= its ``score_thr``), best first; Mask R-CNN adds ``masks``
  (``K x H0 x W0`` bool: the file's mask probabilities pasted into the original image
  over those boxes, as mmdet's ``rescale=True`` pastes them, :mod:`.masks`);
* segmentor (mmseg ``MMSegInferencer``): ``{'predictions': H0 x W0 labels}``, the label
  map of the resized input resized back with nearest neighbour;
* classifier (mmpretrain ``ImageClassificationInferencer``): ``{'pred_scores',
  'pred_label', 'pred_score', 'pred_class'}``.

Needs numpy, OpenCV (``cv2``) and onnxruntime or openvino only.
"""
import numpy as np

from ..images import image_input
from .metadata import DETECTORS, read_contract
from .runtimes import RUNTIMES, compiling_default, default_runtime, session


def _installed(runtime):
    import importlib.util
    return importlib.util.find_spec({'ort': 'onnxruntime'}.get(runtime, runtime)) is not None


class OnnxPredictor:
    """An exported classifier, segmentor or detector (``tools/deploy.py``) under ONNX
    Runtime or OpenVINO: ``predictor(image)`` -> one result dict (module docstring).
    ``runtime``: 'ort' or 'openvino'; default: the faster for the file's model kind
    (:data:`.runtimes.DEFAULT_RUNTIME`) where it is installed, else the other one."""

    def __init__(self, path, threads=None, runtime=None):
        chosen = runtime or next((r for r in RUNTIMES if _installed(r)), 'ort')
        self.session = session(path, chosen, threads)
        self.meta = read_contract(self.session)
        best = default_runtime(self.meta['model_kind'])
        #: why the default runtime was not used (it did not compile the file), or None
        self.note = None
        if runtime is None and best != chosen and _installed(best):
            best, self.note = compiling_default(path, self.meta['model_kind'], threads)
            self.session = session(path, best, threads)
        self.runtime = self.session.runtime
        self.kind = self.meta['model_kind']
        if self.meta.get('batch'):
            from ..errors import InvalidValueError
            raise InvalidValueError(f"{path}: a batch of {self.meta['batch']} images "
                                    f'(tools/deploy.py --batch); OnnxPredictor runs one '
                                    f'image: export without --batch')
        self.classes = self.meta.get('classes')
        self.size = tuple(self.meta['input_size'])  # (H, W)

    @staticmethod
    def read(image):
        """``image``: a path (read as OpenCV reads it: BGR) or an ``H x W x 3`` uint8 BGR
        array, returned as the array."""
        import cv2
        if isinstance(image, np.ndarray):
            if image.ndim != 3 or image.shape[2] != 3:
                from ..errors import InvalidValueError
                raise InvalidValueError(f'expected an H x W x 3 BGR image, got shape '
                                        f'{image.shape}')
            return image
        img = cv2.imread(str(image), cv2.IMREAD_COLOR)
        if img is None:
            from ..errors import MissingFileError
            raise MissingFileError(f'cannot read image {image!r}')
        return img

    def preprocess(self, img):
        """The graph's input for a BGR image: resized as the file's ``resize`` says
        (:func:`rexnet_mm.images.image_input`)."""
        return image_input(img, self.size)

    def __call__(self, image):
        img = self.read(image)
        h0, w0 = img.shape[:2]
        outputs = self.session.run({self.meta['input_name']: self.preprocess(img)})
        h, w = self.size
        if self.kind in DETECTORS:
            boxes, scores, labels = outputs[:3]
            # the factors mmdet divides by (mmcv.imresize's w_scale, h_scale), in float32
            # as mmdet divides its float32 boxes
            scale = np.array([w / w0, h / h0, w / w0, h / h0], np.float32)
            result = dict(bboxes=boxes.astype(np.float32) / scale, scores=scores,
                          labels=labels, label_names=self._names(labels))
            if self.kind == 'maskrcnn':
                from .masks import paste_masks
                result['masks'] = paste_masks(outputs[3], result['bboxes'], (h0, w0),
                                              self.meta['mask_thr_binary'])
            return result
        if self.kind == 'segmentor':
            import cv2
            labels = outputs[0][0]
            return dict(predictions=cv2.resize(labels.astype(np.int32), (w0, h0),
                                               interpolation=cv2.INTER_NEAREST))
        scores = outputs[0][0]
        label = int(scores.argmax())
        return dict(pred_scores=scores, pred_label=label, pred_score=float(scores[label]),
                    pred_class=self._names([label])[0])

    def _names(self, labels):
        if not self.classes:
            return [str(int(i)) for i in labels]
        return [self.classes[int(i)] for i in labels]
