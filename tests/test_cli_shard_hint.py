"""The fix an error message gives names a flag the command really has: `extract --shard-mb`
for fewer shards than input pipelines."""

import re

import pytest
import tensorflow as tf

from tfdeepfake.cli import build_parser
from tfrecords_tools.reader import shard_files


def test_fewer_shards_than_workers_names_a_real_extract_flag(capsys):
    context = tf.distribute.InputContext(num_input_pipelines=3, input_pipeline_id=0)
    with pytest.raises(ValueError, match="2 shard") as caught:
        shard_files(["a.tfrecord", "b.tfrecord"], context)
    flag = re.search(r"`tfdeepfake extract (--[\w-]+)`", str(caught.value)).group(1)
    assert flag == "--shard-mb"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["extract", "--help"])
    assert f" {flag} " in capsys.readouterr().out
