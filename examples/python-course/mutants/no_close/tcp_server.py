#!/usr/bin/env python3
# Echo-prompt lab, a mutant: the server never closes a connection its client has left. The socket stays open
# until the next accept() rebinds conn: meanwhile the server's side waits in CLOSE-WAIT and the client's in FIN-WAIT-2
# (never TIME-WAIT: the server never sends its FIN).
import socket
import sys


def ask_port():
    text = input("Port: ")
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        print(f"tcp_server: bad port {text!r}: a port is a number from 1 to 65535", file=sys.stderr)
        sys.exit(2)
    return port


def serve(conn, addr):
    # makefile() gives us readline(): one recv() is not one line, TCP is a byte stream
    with conn.makefile("rb") as lines:  # MUTANT: conn is never closed
        for raw in lines:  # ends when the client closes (recv() returns b'')
            text = raw.rstrip(b"\n").decode("utf-8", errors="replace")
            conn.sendall((text.upper() + "\n").encode("utf-8"))
    print(f"client {addr[0]}:{addr[1]} left")


def main():
    host = input("Server address: ")
    port = ask_port()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart at once, even with TIME-WAITs left
    listener.bind((host, port))
    listener.listen(5)
    print(f"listening on {host}:{port}")
    try:
        while True:  # one client at a time, then back to accept() for the next
            conn, addr = listener.accept()
            print(f"client {addr[0]}:{addr[1]} connected")
            try:
                serve(conn, addr)
            except OSError as e:  # a client that resets must not stop the server
                print(f"tcp_server: client {addr[0]}:{addr[1]}: {e.strerror}", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()


main()
