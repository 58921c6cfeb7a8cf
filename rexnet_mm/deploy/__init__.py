"""Deployment: a trained model BN-folded, exported to ONNX, checked under ONNX Runtime
and/or OpenVINO against the eager model, optionally quantized to INT8, and run from one's own code
(``tools/deploy.py``, docs/deploy.md). A layer above :mod:`rexnet_mm.apis` (configs,
checkpoints, evaluation), below :mod:`rexnet_mm.analysis` (the speed benchmark and the
operator profile export with it) and :mod:`rexnet_mm.tools`.

The exported graph takes what ``mmcv.imread`` gives, resized to the export shape:
``image``, float32 ``N x 3 x H x W``, BGR, 0-255, with the model's own normalisation as
its first node; its outputs by model kind are in :mod:`.graphs` (classifier, segmentor)
and :mod:`.detectors` (SSD/SSDLite, Faster R-CNN, Mask R-CNN; one image, or a batch
fixed at export), and in the file's metadata.

Modules, each importing only those listed before it:

* :mod:`.runtimes`: the CPU runtimes a file runs under, ONNX Runtime and OpenVINO, behind
  one interface (``session``: compiled once and cached, ``run``), and the faster per model
  kind (``DEFAULT_RUNTIME``);
* :mod:`.graphs`: the normalisation every graph starts with, the classifier and
  segmentor graphs (``ClassifierExport``, ``SegmentorExport``);
* :mod:`.detectors`: the SSD, Faster R-CNN and Mask R-CNN graphs (mmdet's ``predict``
  in ONNX ops: NMS as ``NonMaxSuppression``, RoIAlign as ``RoiAlign``), batched or not;
* :mod:`.masks`: ``paste_masks``, Mask R-CNN's paste and threshold (numpy, as mmdet's);
* :mod:`.kinds`: ``model_kind`` (which graph exports a built model) and ``EXPORTS``;
* :mod:`.metadata`: the file's contract (``metadata_props``: input, resize, outputs,
  frames, classes), written by ``export_metadata``, read by ``read_contract``;
  ``DETECTORS`` and ``OUTPUTS``;
* :mod:`.loading`: the model (a config and a checkpoint: ``load_model``), the export
  size (``default_shape``) and an image as the graph's input (``as_input``,
  ``read_image``, ``det_inputs``);
* :mod:`.export`: ``export_onnx`` (tracing, opset 17), ``ort_session`` (an ONNX
  Runtime session) and ``run_onnx`` (outputs under either runtime);
* :mod:`.compare`: the eager reference and the parity check with its bounds;
* :mod:`.quantize`: INT8 static quantization (QDQ), its calibration images and its
  agreement with float;
* :mod:`.evaluation`: COCO bbox AP of an exported detector under ONNX Runtime;
* :mod:`.pipeline`: ``deploy``, all of the above as ``tools/deploy.py`` runs it;
* :mod:`.predictor`: ``OnnxPredictor``, an exported file on an image of any size,
  results in the original image's frame (numpy, OpenCV and ONNX Runtime or OpenVINO).
"""
