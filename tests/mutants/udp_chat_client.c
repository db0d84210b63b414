/* udp_chat_client the student way, in C, with select(). Mutants: MUTANT_NO_NICK_CHECK, MUTANT_IGNORE_REFUSED,
 * MUTANT_RAW_DATAGRAMS, MUTANT_EXIT_CASE_SENSITIVE, MUTANT_UNCONNECTED, MUTANT_EOF_SPIN, MUTANT_NO_SIGNAL_LEAVE,
 * MUTANT_UDP_CLIENT_PORT_UNCHECKED. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

static int s;
static struct sockaddr_in a; /* the server */
#ifdef MUTANT_UNCONNECTED
/* mistake: the socket is never connect()ed (every send() is a sendto() to the server), and nothing has a timeout:
   the kernel's "port unreachable" never reaches an unconnected socket, so without a server it waits forever */
#define send(fd, data, len, flags) sendto(fd, data, len, flags, (struct sockaddr *)&a, sizeof a)
#endif

#ifndef MUTANT_NO_SIGNAL_LEAVE
/* SIGINT/SIGTERM: say goodbye and go; send() and _exit() are async-signal-safe */
static void leave_now(int sig) {
  (void)sig;
  send(s, "LEAVE", 5, 0);
  _exit(0);
}
#endif

int main(int argc, char **argv) {
  const char *host = "127.0.0.1", *nick = NULL;
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "-a")) host = argv[i + 1];
    else if (!strcmp(argv[i], "-p")) port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "-n")) nick = argv[i + 1];
  }
  int bad_nick = !nick || !*nick || strlen(nick) > 32;
  for (const char *c = nick; c && *c; c++)
    if (*c <= ' ' || *c > '~') bad_nick = 1; /* printable ASCII only: a signed char below 0 is not ASCII */
#ifdef MUTANT_NO_NICK_CHECK
  bad_nick = !nick; /* mistake: the nickname goes to the server unchecked */
#endif
  int bad_port = port < 1 || port > 65535;
#ifdef MUTANT_UDP_CLIENT_PORT_UNCHECKED
  bad_port = 0; /* mistake: the port as atoi() gives it: 70000 wraps to 4464, a missing -p is port 0 */
#endif
  if (bad_port || bad_nick) {
    fprintf(stderr, "usage: udp_chat_client -a ADDR -p PORT -n NICK\n");
    return 2;
  }
  s = socket(AF_INET, SOCK_DGRAM, 0);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, strcmp(host, "localhost") ? host : "127.0.0.1", &a.sin_addr);
  static char buf[65600], line[65536];
  snprintf(buf, sizeof buf, "JOIN %s", nick);
#ifndef MUTANT_UNCONNECTED
  connect(s, (struct sockaddr *)&a, sizeof a);
  struct timeval tv = {3, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
#endif
  send(s, buf, strlen(buf), 0);
  ssize_t n = recv(s, buf, sizeof buf - 1, 0);
  if (n < 0) {
    fprintf(stderr, "udp_chat_client: no server: %s\n", strerror(errno));
    return 1;
  }
  buf[n] = 0;
  if (strncmp(buf, "OK", 2)) {
    fprintf(stderr, "udp_chat_client: %s\n", buf);
    return 1;
  }
#ifndef MUTANT_NO_SIGNAL_LEAVE /* mistake: no handler: SIGINT/SIGTERM kill it, and the room is never told */
  signal(SIGINT, leave_now);
  signal(SIGTERM, leave_now);
#endif
  for (;;) {
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(0, &fds);
    FD_SET(s, &fds);
    if (select(s + 1, &fds, NULL, NULL, NULL) < 0) continue;
    if (FD_ISSET(s, &fds)) {
      n = recv(s, buf, sizeof buf - 1, 0);
#ifdef MUTANT_IGNORE_REFUSED
      if (n < 0) continue; /* mistake: ECONNREFUSED (the server is gone) is ignored */
#endif
      if (n < 0) {
        fprintf(stderr, "udp_chat_client: server gone: %s\n", strerror(errno));
        return 1;
      }
      buf[n] = 0;
#ifdef MUTANT_RAW_DATAGRAMS
      printf("%s\n", buf); /* mistake: the protocol as it came (JOINED bob, FROM alice hi) */
#else
      if (!strncmp(buf, "JOINED ", 7)) printf("* %s joined\n", buf + 7);
      else if (!strncmp(buf, "LEFT ", 5)) printf("* %s left\n", buf + 5);
      else if (!strncmp(buf, "FROM ", 5)) {
        char *sp = strchr(buf + 5, ' ');
        if (sp) *sp = 0;
        printf("%s: %s\n", buf + 5, sp ? sp + 1 : "");
      }
#endif
    }
    if (FD_ISSET(0, &fds)) {
      /* read(), not fgets(): stdio would swallow several lines and select() would not see them */
      static size_t have;
      ssize_t r = read(0, line + have, sizeof line - 1 - have);
#ifdef MUTANT_EOF_SPIN
      if (r < 0) break; /* mistake: read() == 0 (end of input) is not handled: select() says "readable" forever */
#else
      if (r <= 0) break;
#endif
      have += r;
      char *nl;
      int leave = 0;
      while (!leave && (nl = memchr(line, '\n', have))) {
        *nl = 0;
#ifdef MUTANT_EXIT_CASE_SENSITIVE
        if (!strcmp(line, "exit")) leave = 1; /* mistake: EXIT and Exit are sent as messages */
#else
        if (!strcasecmp(line, "exit")) leave = 1;
#endif
        else {
          snprintf(buf, sizeof buf, "MSG %s", line);
          send(s, buf, strlen(buf), 0);
        }
        have -= nl + 1 - line;
        memmove(line, nl + 1, have);
      }
      if (leave) break;
    }
  }
  send(s, "LEAVE", 5, 0);
  return 0;
}
