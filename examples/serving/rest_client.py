"""Score face crops with a tfdeepfake model served by TF Serving's REST API (stdlib only).

Usage:
    python examples/serving/rest_client.py face1.jpg face2.png \
        --model autoatt_b4 --url http://localhost:8501

Sends the encoded image files to the ``predict_encoded`` signature (the server decodes,
resizes and normalises them) and prints one line per file: logit, probability (1 = fake).
Sequence models (resnet_lstm, ensemble) take one clip: pass its frames in order with --clip.
"""

import argparse
import base64
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path


def predict_request(files: list[Path], clip: bool) -> dict:
    """The JSON body: encoded bytes as {"b64": ...} (binary strings in TF Serving's REST API)."""
    encoded = [{"b64": base64.b64encode(f.read_bytes()).decode("ascii")} for f in files]
    instances = [encoded] if clip else encoded
    return {"signature_name": "predict_encoded", "instances": instances}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+", type=Path, help="JPEG/PNG face crops")
    parser.add_argument("--model", default="autoatt_b4")
    parser.add_argument("--version", help="a model version (default: the latest)")
    parser.add_argument("--url", default="http://localhost:8501")
    parser.add_argument("--clip", action="store_true", help="the images are one clip's frames")
    args = parser.parse_args()
    missing = [str(f) for f in args.images if not f.is_file()]
    if missing:
        print(f"error: no such file(s): {', '.join(missing)}", file=sys.stderr)
        return 2
    version = f"/versions/{args.version}" if args.version else ""
    url = f"{args.url}/v1/models/{args.model}{version}:predict"
    body = json.dumps(predict_request(args.images, args.clip)).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            predictions = json.load(response)["predictions"]
    except urllib.error.HTTPError as err:
        print(f"error: {url} answered {err.code}: {err.read().decode()[:500]}", file=sys.stderr)
        return 1
    except urllib.error.URLError as err:
        print(f"error: cannot reach {url} ({err.reason}); is the server running?", file=sys.stderr)
        return 1
    names = ["clip"] if args.clip else [str(f) for f in args.images]
    for name, p in zip(names, predictions):
        print(f"{name}\tlogit={p['logit'][0]:+.4f}\tprobability={p['probability'][0]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
