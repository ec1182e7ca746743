"""``python bench/extract_speed.py`` runs ``tfdeepfake.bench.extract_speed`` (also
``python -m tfdeepfake.bench.extract_speed``); its docstring says what it measures."""

from tfdeepfake.bench.extract_speed import main

if __name__ == "__main__":
    raise SystemExit(main())
