"""Write a TF Serving models.config for the models exported under a folder (no TF needed).

Usage:
    python examples/serving/make_models_config.py saved_models > saved_models/models.config

Every sub-folder with at least one numbered version folder (what `tfdeepfake export` writes)
becomes one entry; base paths point at /models/<name>, where the docker recipe mounts the
folder.
"""

import argparse
import sys
from pathlib import Path


def exported_models(base: Path) -> list[str]:
    """Names of the sub-folders of ``base`` that hold at least one numeric version folder."""
    return sorted(
        d.name
        for d in base.iterdir()
        if d.is_dir() and any(v.is_dir() and v.name.isdigit() for v in d.iterdir())
    )


def models_config(names: list[str], mount: str = "/models") -> str:
    """The text-format ModelServerConfig for ``names``."""
    entries = [
        f'  config {{ name: "{n}" base_path: "{mount}/{n}" model_platform: "tensorflow" }}'
        for n in names
    ]
    return "model_config_list {\n" + "\n".join(entries) + "\n}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the --out folder of `tfdeepfake export`")
    parser.add_argument("--mount", default="/models", help="where the server sees that folder")
    args = parser.parse_args()
    if not args.base.is_dir():
        print(
            f"error: {args.base} is not a folder; export a model first: "
            "tfdeepfake export --model NAME --out saved_models",
            file=sys.stderr,
        )
        return 2
    names = exported_models(args.base)
    if not names:
        print(
            f"error: no exported models (NAME/VERSION/ folders) under {args.base}", file=sys.stderr
        )
        return 2
    sys.stdout.write(models_config(names, args.mount))
    return 0


if __name__ == "__main__":
    sys.exit(main())
