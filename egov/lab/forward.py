"""`egov lab open`: make a lab front reachable from this machine's loopback, so a browser here
opens the applications' pages.

The listening socket is made in the machine's own network namespace; then the process moves
into the lab's controller namespace (where estate addresses are routed), so every connection to
the front is made from there. Nothing else of the lab changes, and the forward ends with the
command (Ctrl-C). Bytes are copied both ways unchanged: the front sees the controller as the client.
"""

from __future__ import annotations

import socket
import threading
from typing import Callable


def listen(port: int, host: str = "127.0.0.1") -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(64)
    return s


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass


def _serve_one(client: socket.socket, target: tuple[str, int], on_error: Callable[[str], None]) -> None:
    try:
        upstream = socket.create_connection(target, timeout=5)
    except OSError as e:
        on_error(f"cannot reach {target[0]}:{target[1]}: {e}")
        client.close()
        return
    upstream.settimeout(None)
    t = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
    t.start()
    _pipe(client, upstream)
    t.join()
    client.close()
    upstream.close()


def serve(listener: socket.socket, target: tuple[str, int], *, stop: threading.Event | None = None,
          on_error: Callable[[str], None] = lambda m: None) -> None:
    """Accept on `listener` and copy each connection to `target` until `stop` is set."""
    listener.settimeout(0.5)
    while not (stop and stop.is_set()):
        try:
            client, _ = listener.accept()
        except socket.timeout:
            continue
        except OSError:
            break
        client.settimeout(None)
        threading.Thread(target=_serve_one, args=(client, target, on_error), daemon=True).start()
    listener.close()
