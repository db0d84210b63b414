#!/usr/bin/env python3
# Echo-prompt lab, a mutant: the client uses the port typed as int() gives it, unchecked: 70000 and 0 are
# tried, the connection fails, and the client exits 1 instead of 2.
import socket
import sys


def ask_port():
    return int(input("Port: "))  # MUTANT: no check


def main():
    host = input("Server address: ")
    port = ask_port()
    try:
        sock = socket.create_connection((host, port))
    except OSError as e:
        print(f"tcp_client: connect {host}:{port}: {e.strerror}", file=sys.stderr)
        sys.exit(1)
    with sock, sock.makefile("rb") as replies:  # leaving the with closes the socket: we close first
        while True:
            try:
                line = input("> ")
            except EOFError:
                break
            if line == "quit":
                break
            sock.sendall((line + "\n").encode("utf-8"))
            reply = replies.readline()
            if not reply:
                print("tcp_client: the server closed the connection", file=sys.stderr)
                sys.exit(1)
            print(reply.rstrip(b"\n").decode("utf-8", errors="replace"))


main()
