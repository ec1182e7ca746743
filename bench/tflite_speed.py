"""``python bench/tflite_speed.py`` runs ``tfdeepfake.bench.tflite_speed`` (also
``python -m tfdeepfake.bench.tflite_speed``); its docstring says what it measures."""

from tfdeepfake.bench.tflite_speed import main

if __name__ == "__main__":
    raise SystemExit(main())
