#!/usr/bin/env python3
# Echo-prompt lab, a mutant: quit is compared with the line and its newline, as read by sys.stdin.readline()
# in C habits, against input() which strips it: quit never matches, it is sent like any line and the client goes on.
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
            try:
                line = input("> ")
            except EOFError:
                break
            if line == "quit\n":  # MUTANT: input() has already taken the newline off
                break
            sock.sendall((line + "\n").encode("utf-8"))
            reply = replies.readline()
            if not reply:
                print("tcp_client: the server closed the connection", file=sys.stderr)
                sys.exit(1)
            print(reply.rstrip(b"\n").decode("utf-8", errors="replace"))


main()
