// The echo protocol of labs 1-3, shared by echo_server (iterative) and fork_server (one child per client).
//
// For every line the client sends, the server replies with the line reversed by UTF-8 character, then
// '\n'. On the line "bye" it replies "eyb" and waits for the client to close first (so that TIME-WAIT lands
// on the client's side). A line ending in "\r\n" (telnet, nc -C) is answered with "\r\n".
#pragma once

#include <string>
#include <string_view>

namespace socklab {

// The reply to one line, including its line end: "hello" -> "olleh\n".
std::string echo_reply(std::string_view line);

// Serves the client on the connected socket fd until it leaves (the caller closes fd).
// A reset, a failed send or an over-long line ends the session with a message on stderr; the caller goes
// on with the next client. Only StopRequested (SIGINT/SIGTERM) propagates.
// idle_timeout_ms >= 0 (--idle-timeout): a client that sends nothing for that long is let go — the event
// "idle IP:PORT" is printed and the function returns, so the caller closes first (TIME-WAIT on our side).
void serve_echo_client(int fd, const std::string& peer, int idle_timeout_ms = -1);

}  // namespace socklab
