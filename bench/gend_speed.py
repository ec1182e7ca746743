"""``python bench/gend_speed.py`` runs ``tfdeepfake.bench.gend_speed`` (also
``python -m tfdeepfake.bench.gend_speed``); its docstring says what it measures."""

from tfdeepfake.bench.gend_speed import main

if __name__ == "__main__":
    raise SystemExit(main())
