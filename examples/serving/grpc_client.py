"""Score face crops with a tfdeepfake model over TF Serving's gRPC API.

Needs ``pip install tensorflow-serving-api`` (the ``serving`` extra: ``pip install
tfdeepfake[serving]``).

Usage:
    python examples/serving/grpc_client.py face1.jpg face2.jpg \
        --model autoatt_b4 --target localhost:8500

Decodes the images here and sends uint8 pixels of any size to ``serving_default`` (the
server resizes and normalises), or with ``--encoded`` the raw bytes to ``predict_encoded``.
Prints logit and probability (1 = fake) per image, and the attention map's shape if any.
"""

import argparse
import sys
from pathlib import Path

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc


def predict_request(files: list[Path], model: str, encoded: bool) -> predict_pb2.PredictRequest:
    """A PredictRequest for ``files``: uint8 pixels (same-size images) or encoded bytes."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    if encoded:
        request.model_spec.signature_name = "predict_encoded"
        data = [f.read_bytes() for f in files]
        request.inputs["encoded"].CopyFrom(tf.make_tensor_proto(data, dtype=tf.string))
    else:
        request.model_spec.signature_name = "serving_default"
        images = [tf.io.decode_image(f.read_bytes(), channels=3).numpy() for f in files]
        if len({im.shape for im in images}) > 1:
            raise ValueError("images of different sizes: use --encoded, or send one at a time")
        pixels = np.stack(images).astype(np.uint8)
        request.inputs["images"].CopyFrom(tf.make_tensor_proto(pixels, dtype=tf.uint8))
    return request


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+", type=Path, help="JPEG/PNG face crops")
    parser.add_argument("--model", default="autoatt_b4")
    parser.add_argument("--target", default="localhost:8500")
    parser.add_argument("--encoded", action="store_true", help="send the file bytes")
    args = parser.parse_args()
    missing = [str(f) for f in args.images if not f.is_file()]
    if missing:
        print(f"error: no such file(s): {', '.join(missing)}", file=sys.stderr)
        return 2
    request = predict_request(args.images, args.model, args.encoded)
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(args.target))
    try:
        response = stub.Predict(request, timeout=60.0)
    except grpc.RpcError as err:
        print(f"error: {args.target}: {err.code().name}: {err.details()}", file=sys.stderr)
        return 1
    logits = tf.make_ndarray(response.outputs["logit"]).reshape(-1)
    probabilities = tf.make_ndarray(response.outputs["probability"]).reshape(-1)
    for f, z, p in zip(args.images, logits, probabilities):
        print(f"{f}\tlogit={z:+.4f}\tprobability={p:.4f}")
    if "attention" in response.outputs:
        print(f"attention maps: {tf.make_ndarray(response.outputs['attention']).shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
