/* echo_server written the way a student might write it in C: a different structure from the reference
 * (printf without fflush, a static line buffer, strtol for arguments), but a correct one: it must score full
 * marks. Built with -DMUTANT_xxx it becomes a mutant with one classic mistake (see mutants.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifdef MUTANT_NO_LINE_LIMIT
#define MAX_LINE (8 * 1024 * 1024) /* mistake: lines longer than the contract's 4 MiB are answered */
#else
#define MAX_LINE (4 * 1024 * 1024) /* bytes before the '\n', a '\r' included */
#endif

static char line[MAX_LINE + 1]; /* room for the '\n' of the longest line */
static char reply[MAX_LINE + 2];

#ifndef MUTANT_NO_REVERSE
static int char_len(const unsigned char *s, size_t left) {
  int n = s[0] < 0x80 ? 1 : (s[0] >= 0xC2 && s[0] <= 0xDF) ? 2 : (s[0] >= 0xE0 && s[0] <= 0xEF) ? 3
                          : (s[0] >= 0xF0 && s[0] <= 0xF4) ? 4 : 1;
  if ((size_t)n > left) return 1;
  for (int i = 1; i < n; i++)
    if ((s[i] & 0xC0) != 0x80) return 1;
  if (n == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F))) return 1;
  if (n == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))) return 1;
  return n;
}
#endif

static size_t make_reply(const char *in, size_t len) {
  int crlf = 0;
#ifndef MUTANT_CRLF_REVERSED /* mistake: the '\r' of "\r\n" is reversed with the rest, and lands in front */
  if (len > 0 && in[len - 1] == '\r') crlf = 1, len--;
#endif
#ifdef MUTANT_NO_REVERSE
  memcpy(reply, in, len); /* mistake: echoes the line as it came */
#else
  size_t out = len;
  for (size_t i = 0; i < len;) {
    int n = char_len((const unsigned char *)in + i, len - i);
    out -= n;
    memcpy(reply + out, in + i, n);
    i += n;
  }
#endif
  if (crlf) reply[len++] = '\r';
#ifdef MUTANT_NO_NEWLINE
  return len; /* mistake: the '\n' taken off the line is not put back: the reply never ends */
#else
  reply[len] = '\n';
  return len + 1;
#endif
}

static int is_bye(const char *in, size_t len) {
  if (len > 0 && in[len - 1] == '\r') len--; /* "bye\r\n" is bye too */
#ifdef MUTANT_BYE_ANY_CASE
  return len == 3 && strncasecmp(in, "bye", 3) == 0; /* mistake: "Bye" ends the session too */
#else
  return len == 3 && memcmp(in, "bye", 3) == 0;
#endif
}

/* After bye: let the client close first, but give up after 10 s. */
static void wait_for_close(int c) {
  char junk[512];
#ifndef MUTANT_BYE_WAITS_FOREVER /* mistake: a client that never closes holds the server for ever */
  time_t deadline = time(NULL) + 10;
  for (;;) {
    long left = deadline - time(NULL);
    if (left <= 0) return;
    struct timeval tv = {left, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (recv(c, junk, sizeof junk, 0) <= 0) return;
  }
#else
  while (recv(c, junk, sizeof junk, 0) > 0) {
  }
#endif
}

static int send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= w;
  }
  return 0;
}

static void serve(int c) {
  size_t used = 0;
  for (;;) {
    char *nl = memchr(line, '\n', used);
    if (nl) {
      size_t len = nl - line;
#ifdef MUTANT_SKIP_EMPTY
      if (len == 0) { /* mistake: "nothing to reverse", so nothing is sent; but an empty line is a line too */
        memmove(line, nl + 1, used - 1);
        used -= 1;
        continue;
      }
#endif
      size_t n = make_reply(line, len);
#ifdef MUTANT_WHOLE_BUFFER
      static char buf[255];
      if (n <= sizeof buf) { /* mistake: send(fd, buf, sizeof buf) instead of the reply's length */
        memset(buf, 0, sizeof buf);
        memcpy(buf, reply, n);
        send_all(c, buf, sizeof buf);
      } else {
        send_all(c, reply, n);
      }
#else
      if (send_all(c, reply, n) < 0) return;
#endif
      int bye = is_bye(line, len);
      memmove(line, nl + 1, used - len - 1);
      used -= len + 1;
      if (bye) {
        wait_for_close(c);
        return;
      }
      continue;
    }
    if (used == sizeof line) { /* no '\n' within MAX_LINE + 1 bytes: too long */
      fprintf(stderr, "echo_server: line longer than %d bytes, closing the connection\n", MAX_LINE);
      return;
    }
    ssize_t r = recv(c, line + used, sizeof line - used, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      perror("echo_server: recv");
#ifdef MUTANT_EXIT_ON_RESET
      exit(1); /* mistake: an error on one connection (here ECONNRESET) ends the whole server */
#endif
      return;
    }
    if (r == 0) {
#ifdef MUTANT_LOOP_ON_EOF
      continue; /* mistake: recv() == 0 means the peer closed, not "no data yet" */
#else
#ifndef MUTANT_EOF_LINE_LOST /* mistake: only lines ended by '\n' are answered; a last one without it is lost */
      if (used > 0) send_all(c, reply, make_reply(line, used)); /* a last line without '\n' */
#endif
      return;
#endif
    }
    used += r;
  }
}

#ifndef MUTANT_NO_SIGTERM
/* SIGTERM/SIGINT: exit 0 at once; the kernel closes the sockets (_exit is async-signal-safe, exit is not) */
static void on_stop(int sig) {
  (void)sig;
  _exit(0);
}
#endif

int main(int argc, char **argv) {
#ifdef MUTANT_SOMAXCONN_DEFAULT
  int backlog = SOMAXCONN; /* mistake: without --backlog the backlog must be 5, not the system's maximum */
#else
  int backlog = 5;
#endif
#ifdef MUTANT_PORT_UNCHECKED
  /* mistake: the arguments are not checked: without a port argv[1] is NULL (atoi crashes), and 70000 is taken
   * as it is (htons() wraps it around to 4464) */
  long port = atoi(argv[1]);
#else
  char *end;
  if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--backlog") == 0)) {
    fprintf(stderr, "usage: echo_server PORT [--backlog N]\n");
    return 2;
  }
  long port = strtol(argv[1], &end, 10);
  if (*end || port < 1 || port > 65535) {
    fprintf(stderr, "echo_server: bad port \"%s\"\n", argv[1]);
    return 2;
  }
#endif
  if (argc == 4) backlog = atoi(argv[3]);
#ifdef MUTANT_IGNORE_BACKLOG
  backlog = 16; /* mistake: --backlog is parsed but not used */
#endif
  signal(SIGPIPE, SIG_IGN);
#ifdef MUTANT_CONCURRENT
  signal(SIGCHLD, SIG_IGN); /* the children are reaped by the kernel */
#endif
#ifndef MUTANT_NO_SIGTERM /* mistake: no handler, so SIGTERM kills the server instead of ending it cleanly */
  signal(SIGTERM, on_stop);
  signal(SIGINT, on_stop);
#endif
  int s = socket(AF_INET, SOCK_STREAM, 0);
#ifndef MUTANT_NO_REUSEADDR
  int on = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
#endif
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = INADDR_ANY;
#if defined(MUTANT_BIND_ERROR_IGNORED)
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) /* mistake: reported, but the server carries on; listen() */
    perror("echo_server: bind");                    /* then binds it to some free port of the kernel's choice */
#elif defined(MUTANT_BIND_ERROR_STDOUT)
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
    printf("bind failed\n"); /* mistake: on stdout, and without the reason (strerror) */
    return 1;
  }
#else
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
    fprintf(stderr, "echo_server: bind: %s\n", strerror(errno));
    return 1;
  }
#endif
  listen(s, backlog);
  printf("listening 0.0.0.0:%ld\n", port); /* no fflush: the harness must cope */
  for (;;) {
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int c = accept(s, (struct sockaddr *)&peer, &plen);
#ifdef MUTANT_CLOSE_LISTENER
    if (c < 0) {
      perror("echo_server: accept");
      return 1;
    }
    close(s); /* mistake: the listening socket closed after accept(), as a fork server's child does: nobody else can
               * connect, and the next accept() fails */
#else
    if (c < 0) continue;
#endif
#ifndef MUTANT_SILENT /* mistake: the events are not reported on stdout */
    printf("connected %s:%d\n", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
#endif
#ifdef MUTANT_CONCURRENT
    fflush(stdout);
    if (fork() == 0) { /* mistake: a child per client, but lab 1 asks for an iterative server: one at a time */
      close(s);
      serve(c);
      close(c);
      printf("disconnected %s:%d\n", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
      exit(0);
    }
    close(c);
    continue;
#endif
    serve(c);
    close(c);
#ifndef MUTANT_SILENT
    printf("disconnected %s:%d\n", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
#endif
  }
}
