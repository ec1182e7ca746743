"""``python bench/detect_speed.py`` runs ``tfdeepfake.bench.detect_speed`` (also
``python -m tfdeepfake.bench.detect_speed``); its docstring says what it measures."""

from tfdeepfake.bench.detect_speed import main

if __name__ == "__main__":
    raise SystemExit(main())
