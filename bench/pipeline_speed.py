"""``python bench/pipeline_speed.py`` runs ``tfdeepfake.bench.pipeline_speed`` (also
``python -m tfdeepfake.bench.pipeline_speed``); its docstring says what it measures."""

from tfdeepfake.bench.pipeline_speed import main

if __name__ == "__main__":
    raise SystemExit(main())
