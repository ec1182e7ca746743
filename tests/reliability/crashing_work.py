"""A worker function for the pool tests: the process dies on any video named ``crash*``
(as when the OOM killer ends it) and hangs on any named ``hang*`` (as in a native call
that never returns); other videos give an empty result at once."""

import os
import time


def work(item, options):
    if item.path.name.startswith("crash"):
        os._exit(137)
    if item.path.name.startswith("hang"):
        time.sleep(3600)
    return [], []
