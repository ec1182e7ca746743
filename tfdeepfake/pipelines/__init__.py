"""Apache Beam pipelines over the one-machine code: extraction (``beam_extract``) and batch
scoring (``beam_score``) on the local runner, Dataflow, Flink or Spark (extra ``[beam]``)."""
