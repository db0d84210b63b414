#!/usr/bin/env python3
# Echo-prompt lab, a mutant: the port typed is used as int() gives it, unchecked: 70000 and http end in a
# traceback (exit 1), not in a message and exit 2.
import socket
import sys


def ask_port():
    return int(input("Port: "))  # MUTANT: no check


def serve(conn, addr):
    # makefile() gives us readline(): one recv() is not one line, TCP is a byte stream
    with conn, conn.makefile("rb") as lines:
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
