"""Test-wide guards: no traffic leaves the machine, Beam runs without downloading anything."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NEWSFLOW_SHARED", REPO.parent / "shared"))
# Beam's DirectRunner would try to download Prism (an outbound connection): use the FnApiRunner.
BEAM_TEST_ARGS = ["--runner=FnApiRunner"]
os.environ.setdefault("NO_GCE_CHECK", "True")  # google-auth must not probe the metadata server


class NonLoopbackConnection(AssertionError):
    """Raised when code under test tries to reach anything but 127.0.0.1 / ::1."""


def _is_loopback(address) -> bool:
    if isinstance(address, tuple):
        host = address[0]
    elif isinstance(address, str | bytes):  # AF_UNIX path
        return True
    else:
        return False
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name reaching connect() would bypass our resolver checks


@pytest.fixture(autouse=True)
def _only_loopback(monkeypatch):
    """Make any connect to a non-loopback address fail loudly, whatever library makes it."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise NonLoopbackConnection(f"test tried to connect to {address!r}")
        return real_connect(sock, address)

    def guarded_connect_ex(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise NonLoopbackConnection(f"test tried to connect to {address!r}")
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    yield


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the checkout (or $NEWSFLOW_SHARED); skip without it, fail under CI."""
    if not (SHARED / "seeds").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared data not found at {SHARED} (set NEWSFLOW_SHARED)")
        pytest.skip(f"shared data not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def seeds_dir(shared_dir) -> Path:
    return shared_dir / "seeds"


@pytest.fixture(scope="session")
def samples_dir(shared_dir) -> Path:
    return shared_dir / "samples"
