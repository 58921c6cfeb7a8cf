"""Export a classifier, segmentor, SSD/SSDLite, Faster R-CNN or Mask R-CNN detector to ONNX (BN
folded) and check it under ONNX Runtime or OpenVINO against the eager model.

    python tools/deploy.py CONFIG CHECKPOINT --out model.onnx [--shape H W] [--dynamic]
                           [--batch N] [--force] [--image PATH] [--int8 CALIB_DIR]
                           [--runtime ort|openvino|both]

The graph's input is ``image``: float32 N x 3 x H x W, BGR, 0-255 (what ``mmcv.imread``
gives, resized); normalisation is inside. Parity is checked on ``--image`` (default: a
generated shapes image) and, with ``--dynamic``, again on a batch of 2 at another size
(detectors: on its mirror; with ``--batch N``, on N images made from it, then their mirrors);
the command fails (exit status 1) if it does not hold. ``--runtime``: the runtime it is
checked under (default: the one docs/deploy.md measured fastest for the model's kind,
``rexnet_mm.deploy.runtimes.DEFAULT_RUNTIME``; ``both``: each). docs/deploy.md has the
outputs.
"""
import argparse
import sys

from . import add_debug_flag, config_arg, console, one_line_errors, prog


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=prog(__spec__),
        description='Export to ONNX (BN folded) and check parity under ONNX Runtime or '
                    'OpenVINO.')
    config_arg(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='input size (default: 224 x 224 for classifiers, else the '
                             'size the config tests at: the crop size, the test resize)')
    parser.add_argument('--dynamic', action='store_true',
                        help='dynamic batch and image size (not for detectors: anchors '
                             'are constants of the shape)')
    parser.add_argument('--batch', type=int, metavar='N',
                        help='detectors: a fixed batch of N images, outputs padded as '
                             "mmdeploy's (dets N x K x 5, labels N x K; docs/deploy.md)")
    parser.add_argument('--force', action='store_true', help='overwrite --out')
    parser.add_argument('--image', help='image for the parity check (default: a '
                        'generated shapes image)')
    parser.add_argument('--int8', metavar='DIR', help='also write OUT.int8.onnx, '
                        'statically quantized by ONNX Runtime, calibrated on images of DIR')
    parser.add_argument('--calib-images', type=int, default=300,
                        help='how many images of --int8 DIR calibrate (default 300)')
    parser.add_argument('--runtime', choices=('ort', 'openvino', 'both'),
                        help='check parity under ONNX Runtime, OpenVINO or both (default: '
                             'the faster for the model kind, docs/deploy.md)')
    return add_debug_flag(parser).parse_args(argv)


def print_contract(meta, dynamic=False):
    """What a user's own code feeds the file and reads from it (its metadata)."""
    import json
    h, w = json.loads(meta['input_size'])
    batch = 'N' if dynamic else meta.get('batch', '1')
    print(f"input: {meta['input_name']}, float32 {batch} x 3 x {h} x {w} (NCHW"
          f"{', any N, H, W' if dynamic else ''}), {meta['color_order']} 0-255 "
          f"(mean/std inside); resize: {json.loads(meta['resize'])['how']}")
    outputs = json.loads(meta['outputs'])
    print('outputs: ' + '; '.join(f"{o['name']} {o['shape']} ({o['meaning']})"
                                  for o in outputs))
    if 'box_frame' in meta:
        print(f"boxes: {meta['box_frame']}; score_thr {json.loads(meta['score_thr'])}"
              + (f"; mask_thr_binary {meta['mask_thr_binary']}"
                 if 'mask_thr_binary' in meta else ''))
    classes = json.loads(meta['classes'])
    if classes:
        shown = ', '.join(classes[:8]) + (', ...' if len(classes) > 8 else '')
        print(f'classes ({len(classes)}): {shown}')
    print('this contract is in the file\'s metadata (ONNX Runtime: '
          'session.get_modelmeta().custom_metadata_map; OpenVINO: '
          "model.get_rt_info()['framework']); "
          'rexnet_mm.deploy.predictor.OnnxPredictor(FILE)(image) applies it')


@one_line_errors
def main(argv=None):
    from ..deploy.pipeline import deploy
    from ..deploy.runtimes import RUNTIME_NAMES
    args = parse_args(argv)
    result = deploy(args.config, args.checkpoint, args.out, shape=args.shape,
                    dynamic=args.dynamic, force=args.force, image=args.image,
                    int8_calib=args.int8, calib_images=args.calib_images,
                    runtime=args.runtime, batch=args.batch)
    h, w = result['shape']
    print(f"wrote {result['out']}: {result['kind']} at {h}x{w}"
          f"{', dynamic batch and size' if args.dynamic else ''}"
          f"{f', batch {args.batch}' if args.batch else ''}, "
          f"{result['folded']} BN folded")
    if 'note' in result:
        print(f"note: {result['note']}")
    for name, check in result['checks'].items():
        print(f"{RUNTIME_NAMES[name]} vs eager PyTorch: {check['parity']}")
        if 'second' in check:
            print(f"  and {check['second']}")
    print_contract(result['metadata'], args.dynamic)
    if 'int8' in result:
        q = result['int8']
        what = {'segmentor': 'pixels with the label float gives',
                'classifier': 'correlation of the scores with float',
                'ssd': "float's confident detections (score >= 0.3) found again"}
        what['rcnn'] = what['maskrcnn'] = what['ssd']
        print(f"wrote {q['out']}: {q['quantized']} tensors quantized to int8, calibrated on "
              f"{q['images']} images; on the parity image, {what[result['kind']]}: "
              f"{q['agreement']:.4f}")
    return result


cli = console(main)

if __name__ == '__main__':
    sys.exit(cli())
