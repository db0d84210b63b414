/* tcp_chat_client the student way, in C, with select(). Mutants: MUTANT_HALF_DUPLEX (fgets, send, one recv),
 * MUTANT_Q_AS_LINE (q sent like any line), MUTANT_DRAIN_SOCKET (a blocking recv() loop inside the select() loop),
 * MUTANT_STDIN_EOF_IGNORED (read() == 0 on stdin taken for "nothing typed yet"),
 * MUTANT_WHOLE_LINES_ONLY, MUTANT_CHAT_RESET_AS_EOF, MUTANT_CHAT_CLIENT_PORT_UNCHECKED,
 * MUTANT_CONNECT_EXIT_MINUS_ONE, MUTANT_CHAT_CLIENT_NO_SIGTERM, MUTANT_CHAT_LAST_LINE_DROPPED. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

/* SIGINT/SIGTERM: the kernel closes the socket as we go; _exit() is async-signal-safe */
static void on_stop(int sig) {
  (void)sig;
  _exit(0);
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-a") && i + 1 < argc) host = argv[++i];
    else if (!strcmp(argv[i], "-p") && i + 1 < argc) port = atoi(argv[++i]);
  }
  int bad_port = port < 1 || port > 65535;
#ifdef MUTANT_CHAT_CLIENT_PORT_UNCHECKED
  bad_port = 0; /* mistake: the port as atoi() gives it: 70000 wraps to 4464, a missing -p is port 0 */
#endif
  if (bad_port) {
    fprintf(stderr, "usage: tcp_chat_client [-a ADDR] -p PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, on_stop);
#ifndef MUTANT_CHAT_CLIENT_NO_SIGTERM /* mistake: only Ctrl-C handled; SIGTERM kills the client */
  signal(SIGTERM, on_stop);
#endif
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, strcmp(host, "localhost") ? host : "127.0.0.1", &a.sin_addr);
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
    fprintf(stderr, "tcp_chat_client: connect: %s\n", strerror(errno));
#ifdef MUTANT_CONNECT_EXIT_MINUS_ONE
    return -1; /* mistake: main() returning -1: the shell sees exit status 255, not 1 */
#endif
    return 1;
  }
  static char buf[70000], line[70000];
#ifdef MUTANT_HALF_DUPLEX
  /* mistake: one thing at a time, as without select() or threads */
  while (fgets(line, sizeof line, stdin)) {
    if (!strcmp(line, "q\n")) break;
    send(s, line, strlen(line), 0);
    ssize_t n = recv(s, buf, sizeof buf - 1, 0);
    if (n <= 0) {
      fprintf(stderr, "tcp_chat_client: server closed the connection\n");
      return 1;
    }
    fwrite(buf, 1, n, stdout);
    fflush(stdout);
  }
  send(s, "q\n", 2, 0);
  return 0;
#endif
  size_t have = 0;
  for (;;) {
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(0, &fds);
    FD_SET(s, &fds);
    if (select(s + 1, &fds, NULL, NULL, NULL) < 0) continue;
    if (FD_ISSET(s, &fds)) {
      /* the server's lines are printed as they come: no need to cut them into lines */
      ssize_t n = recv(s, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
#ifndef MUTANT_CHAT_RESET_AS_EOF /* mistake: a reset is reported as the server closing */
        fprintf(stderr, "tcp_chat_client: recv %s:%d: %s\n", host, port, strerror(errno));
        return 1;
#endif
      }
      if (n <= 0) {
        fprintf(stderr, "tcp_chat_client: server closed the connection\n");
        return 1;
      }
#ifdef MUTANT_WHOLE_LINES_ONLY /* mistake: prints only lines ended by '\n': a last one without it is lost */
      static char pending[140000];
      static size_t npending;
      memcpy(pending + npending, buf, n);
      npending += n;
      size_t whole = npending;
      while (whole > 0 && pending[whole - 1] != '\n') whole--;
      fwrite(pending, 1, whole, stdout);
      memmove(pending, pending + whole, npending - whole);
      npending -= whole;
#else
      fwrite(buf, 1, n, stdout);
#endif
      fflush(stdout);
#ifdef MUTANT_DRAIN_SOCKET
      /* mistake: "read everything the server has to say" with a blocking recv() loop: it only ends when the
         server closes, so after the first line from the server the keyboard is never read again */
      while ((n = recv(s, buf, sizeof buf, 0)) > 0) {
        fwrite(buf, 1, n, stdout);
        fflush(stdout);
      }
      fprintf(stderr, "tcp_chat_client: server closed the connection\n");
      return 1;
#endif
    }
    if (FD_ISSET(0, &fds)) {
      ssize_t r = read(0, line + have, sizeof line - 1 - have);
#ifdef MUTANT_STDIN_EOF_IGNORED
      if (r == 0) continue; /* mistake: 0 taken for "nothing typed yet"; select() reports stdin readable for ever */
#endif
      if (r <= 0) {
#ifndef MUTANT_CHAT_LAST_LINE_DROPPED /* mistake: the bytes typed after the last \n are forgotten at the end of input */
        if (have > 0) { /* a last line without \n is a line too: send it, with its \n, before the q */
          line[have++] = '\n';
          send(s, line, have, 0);
        }
#endif
        break;
      }
      have += r;
      char *nl;
      int leave = 0;
      while (!leave && (nl = memchr(line, '\n', have))) {
        size_t len = nl + 1 - line;
#ifdef MUTANT_Q_AS_LINE
        /* mistake: q is sent like any line; the client waits for the server to close, then exits 1 */
        send(s, line, len, 0);
#else
        if (len == 2 && line[0] == 'q') leave = 1;
        else send(s, line, len, 0);
#endif
        have -= len;
        memmove(line, nl + 1, have);
      }
      if (leave) break;
    }
  }
  send(s, "q\n", 2, 0);
  close(s);
  return 0;
}
