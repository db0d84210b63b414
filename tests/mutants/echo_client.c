/* echo_client the student way, in C (see echo_server.c). Mutants: MUTANT_IGNORE_BYE, MUTANT_NO_EOF_REPORT,
 * MUTANT_BYE_CRLF_IGNORED, MUTANT_DROP_LAST_LINE, MUTANT_REPLIES_AT_EOF, MUTANT_CLIENT_PORT_UNCHECKED,
 * MUTANT_DROP_LAST_REPLY, MUTANT_RESET_AS_EOF, MUTANT_RECV_FAIL_BREAKS; lab 4 (--bind, --reuseaddr): MUTANT_IGNORE_BIND,
 * MUTANT_CLIENT_BIND_ERROR_IGNORED, MUTANT_BIND_NO_STRERROR, MUTANT_BIND_SERVER_PORT, MUTANT_REUSEADDR_AFTER_BIND,
 * MUTANT_REUSEADDR_ALONE, MUTANT_NO_SHUTDOWN. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char buf[4 * 1024 * 1024];
static size_t have;

static const char *host = "127.0.0.1";
static int port;

/* Reads one reply line into buf (without '\n'); returns its length, -1 on EOF, -2 on an error (errno set). */
static long read_reply(int s) {
  for (;;) {
    char *nl = memchr(buf, '\n', have);
    if (nl) return nl - buf;
    ssize_t r = recv(s, buf + have, sizeof buf - have, 0);
    if (r < 0 && errno == EINTR) continue;
#ifdef MUTANT_RESET_AS_EOF
    if (r <= 0) return -1; /* mistake: a reset looks like the server closing */
#else
    if (r < 0) return -2;
    if (r == 0) return -1;
#endif
    have += r;
  }
}

static int recv_failed(void) {
  fprintf(stderr, "echo_client: recv %s:%d: %s\n", host, port, strerror(errno));
  return 1;
}

int main(int argc, char **argv) {
  int lport = 0, reuse = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-a") && i + 1 < argc) host = argv[++i];
    else if (!strcmp(argv[i], "-p") && i + 1 < argc) port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--bind") && i + 1 < argc) lport = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--reuseaddr")) reuse = 1;
    else port = -1;
  }
#ifndef MUTANT_REUSEADDR_ALONE /* mistake: --reuseaddr without --bind is silently accepted */
  if (reuse && !lport) port = -1; /* --reuseaddr only means something for --bind */
#endif
#ifdef MUTANT_CLIENT_PORT_UNCHECKED
  if (port < 0 || lport < 0 || lport > 65535) { /* mistake: -p neither required nor range-checked: no -p connects to
                                                 * port 0, and 70000 wraps around to 4464 in htons() */
#else
  if (port < 1 || port > 65535 || lport < 0 || lport > 65535) {
#endif
    fprintf(stderr, "usage: echo_client -a ADDR -p PORT [--bind LPORT] [--reuseaddr]\n");
    return 2;
  }
  if (!strcmp(host, "localhost")) host = "127.0.0.1";
#ifndef MUTANT_NO_EOF_REPORT
  signal(SIGPIPE, SIG_IGN);
#endif
  int s = socket(AF_INET, SOCK_STREAM, 0);
#ifdef MUTANT_IGNORE_BIND
  if (0) { /* mistake: --bind is parsed, but the socket is never bound */
#else
  if (lport) {
#endif
    int on = 1;
#ifndef MUTANT_REUSEADDR_AFTER_BIND
    if (reuse) setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
#endif
    struct sockaddr_in l = {0};
    l.sin_family = AF_INET;
#ifdef MUTANT_BIND_SERVER_PORT
    l.sin_port = htons(port); /* mistake: the server's port, not LPORT */
#else
    l.sin_port = htons(lport);
#endif
    if (bind(s, (struct sockaddr *)&l, sizeof l) < 0) {
#if defined MUTANT_CLIENT_BIND_ERROR_IGNORED
      perror("echo_client: bind"); /* mistake: the error is printed, and the client carries on (connect() then
                                      picks an ephemeral port) */
#elif defined MUTANT_BIND_NO_STRERROR
      fprintf(stderr, "echo_client: cannot bind port %d\n", lport); /* mistake: the reason is not said */
      return 1;
#else
      fprintf(stderr, "echo_client: bind port %d: %s\n", lport, strerror(errno));
      return 1;
#endif
    }
#ifdef MUTANT_REUSEADDR_AFTER_BIND
    if (reuse) setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on); /* mistake: too late, bind() is done */
#endif
  }
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
    fprintf(stderr, "echo_client: bad address %s\n", host);
    return 2;
  }
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
    fprintf(stderr, "echo_client: connect: %s\n", strerror(errno));
    return 1;
  }
  static char in[4 * 1024 * 1024];
  while (fgets(in, sizeof in, stdin)) {
    size_t n = strlen(in);
#ifdef MUTANT_BYE_CRLF_IGNORED
    int bye = !strcmp(in, "bye\n") || in[0] == 27; /* mistake: "bye\r\n" is not bye */
#else
    int bye = !strcmp(in, "bye\n") || !strcmp(in, "bye\r\n") || in[0] == 27;
#endif
    if (bye) strcpy(in, "bye\n"), n = 4;
#ifdef MUTANT_DROP_LAST_LINE
    if (in[n - 1] != '\n') break; /* mistake: a last line without '\n' is never sent */
#endif
    if (n == 0 || in[n - 1] != '\n') in[n++] = '\n';
    if (send(s, in, n, 0) < 0) {
      fprintf(stderr, "echo_client: send: %s\n", strerror(errno));
      return 1;
    }
#ifdef MUTANT_REPLIES_AT_EOF
    if (!bye) continue; /* mistake: send everything first, read the replies after end of input */
#endif
    long len = read_reply(s);
#ifdef MUTANT_RECV_FAIL_BREAKS
    if (len < 0) break; /* mistake: no reply (EOF or reset) ends the session like the end of input: exit 0 */
#endif
    if (len == -2) return recv_failed();
    if (len < 0) {
#ifdef MUTANT_NO_EOF_REPORT
      continue; /* mistake: EOF from the server is ignored; the next send raises SIGPIPE */
#else
      fprintf(stderr, "echo_client: server closed the connection\n");
      return 1;
#endif
    }
    printf("%.*s\n", (int)len, buf);
    memmove(buf, buf + len + 1, have - len - 1);
    have -= len + 1;
#ifndef MUTANT_IGNORE_BYE
    if (bye) {
      close(s);
      return 0;
    }
#endif
  }
#ifndef MUTANT_NO_SHUTDOWN /* mistake: waits for the server's EOF, which never comes: the server waits for ours */
  shutdown(s, SHUT_WR);
#endif
  long len;
  while ((len = read_reply(s)) >= 0) {
    printf("%.*s\n", (int)len, buf);
    memmove(buf, buf + len + 1, have - len - 1);
    have -= len + 1;
  }
  if (len == -2) return recv_failed();
#ifndef MUTANT_DROP_LAST_REPLY /* mistake: only replies ended by '\n' are printed */
  if (have > 0) printf("%.*s\n", (int)have, buf); /* a last reply without '\n' */
#endif
  return 0;
}
