"""`tfdeepfake serve` set-up errors: a bad or taken --port exits 2 with the fix, before the
models load or --data-dir is made."""

import socket

import pytest

from tfdeepfake.cli import main


def _exit_code(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exit:  # refused by the argument parser
        return exit.code


@pytest.mark.parametrize("port", ["99999", "-1", "65536", "http"])
def test_a_port_out_of_range_exits_2(port, tmp_path, capsys):
    data = tmp_path / "data"
    assert _exit_code(["serve", "--port", port, "--data-dir", str(data)]) == 2
    assert f"argument --port: must be a port number from 0 to 65535, got '{port}'" in (
        capsys.readouterr().err)
    assert not data.exists()


def test_a_port_in_use_exits_2_before_the_models_load(tmp_path, capsys):
    data = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # No weights anywhere: were the models loaded first, that error would come instead.
        code = _exit_code(["serve", "--port", str(port), "--data-dir", str(data),
                           "--weights", str(tmp_path / "no_runs")])
    assert code == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "Give another --port" in err
    assert not data.exists()
