"""Tools for the tfdeepfake TFRecord shards: schema, sharded writer, reader, validator."""
