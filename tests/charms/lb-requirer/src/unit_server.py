"""A tiny TCP/HTTP server that names the unit it runs on.

Usage: unit_server.py <address> <lifetime-seconds> <unit-name> <port> [<port> ...]

For an HTTP request line it answers `200` with the body `<unit> <port> <path>` (so `/livez` and
`/healthz` pass health checks); for any other first line it answers `<unit> <port> <line>` and
closes. It exits by itself after <lifetime-seconds>, so a crashed test never leaks it.
"""

import socketserver
import sys
import threading
import time

HTTP_METHODS = (b"GET ", b"HEAD ", b"POST ", b"PUT ", b"DELETE ", b"OPTIONS ")


def make_handler(unit, port):
    class Handler(socketserver.StreamRequestHandler):
        timeout = 5

        def handle(self):
            try:
                line = self.rfile.readline(4096)
            except OSError:
                return
            if not line:
                return
            if line.startswith(HTTP_METHODS):
                parts = line.split()
                path = parts[1].decode("ascii", "replace") if len(parts) > 1 else "/"
                while True:
                    header = self.rfile.readline(4096)
                    if header in (b"\r\n", b"\n", b""):
                        break
                body = "{} {} {}\n".format(unit, port, path).encode()
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                    "Content-Length: {}\r\nConnection: close\r\n\r\n".format(len(body))
                ).encode()
                self.wfile.write(head if line.startswith(b"HEAD ") else head + body)
            else:
                text = line.decode("utf-8", "replace").strip()
                self.wfile.write("{} {} {}\n".format(unit, port, text).encode())

    return Handler


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    address, lifetime, unit = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    ports = [int(p) for p in sys.argv[4:]]
    servers = []
    for port in ports:
        server = Server((address, port), make_handler(unit, port))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    time.sleep(lifetime)
    for server in servers:
        server.shutdown()


if __name__ == "__main__":
    main()
