"""`egov lab open`'s forwarder: bytes both ways, one connection per client, errors named."""

import socket
import threading

from egov.lab import forward


def _echo_server():
    s = forward.listen(0)

    def run():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            with c:
                while data := c.recv(1024):
                    c.sendall(data.upper())

    threading.Thread(target=run, daemon=True).start()
    return s


def test_forwards_both_ways_until_stopped():
    echo = _echo_server()
    listener = forward.listen(0)
    port = listener.getsockname()[1]
    stop = threading.Event()
    t = threading.Thread(target=forward.serve, args=(listener, echo.getsockname()), kwargs={"stop": stop}, daemon=True)
    t.start()
    for word in (b"hello", b"world"):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(word)
            c.shutdown(socket.SHUT_WR)
            assert c.recv(1024) == word.upper()
    stop.set()
    t.join(timeout=5)
    assert not t.is_alive()
    echo.close()


def test_an_unreachable_front_is_named():
    dead = forward.listen(0)
    target = dead.getsockname()
    dead.close()
    listener = forward.listen(0)
    errors, stop = [], threading.Event()
    t = threading.Thread(target=forward.serve, args=(listener, target),
                         kwargs={"stop": stop, "on_error": errors.append}, daemon=True)
    t.start()
    with socket.create_connection(listener.getsockname(), timeout=5) as c:
        assert c.recv(10) == b""
    stop.set()
    t.join(timeout=5)
    assert errors and f"cannot reach 127.0.0.1:{target[1]}" in errors[0]
