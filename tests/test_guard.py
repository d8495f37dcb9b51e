"""The autouse guard itself must work, or every network test proves nothing."""

import socket

import pytest

from tests.conftest import NonLoopbackConnection


def test_non_loopback_connect_fails_loudly():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(NonLoopbackConnection):
            sock.connect(("169.254.169.254", 80))
        with pytest.raises(NonLoopbackConnection):
            sock.connect_ex(("10.0.0.1", 80))
    finally:
        sock.close()


def test_loopback_connect_is_allowed():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        client.connect(server.getsockname())
    finally:
        client.close()
        server.close()
