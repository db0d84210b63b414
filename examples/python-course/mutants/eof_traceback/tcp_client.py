#!/usr/bin/env python3
# Echo-prompt lab, a mutant: input() at the end of stdin raises EOFError, and nothing catches it: the client
# ends with a traceback and exit status 1.
import socket
import sys


def ask_port():
    text = input("Port: ")
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        print(f"tcp_client: bad port {text!r}: a port is a number from 1 to 65535", file=sys.stderr)
        sys.exit(2)
    return port


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
            line = input("> ")  # MUTANT: EOFError at the end of input is not caught
            if line == "quit":
                break
            sock.sendall((line + "\n").encode("utf-8"))
            reply = replies.readline()
            if not reply:
                print("tcp_client: the server closed the connection", file=sys.stderr)
                sys.exit(1)
            print(reply.rstrip(b"\n").decode("utf-8", errors="replace"))


main()
