/* tcp_chat_server the student way, in C: select(), non-blocking sockets, an output buffer per client.
 * Mutants: MUTANT_OWN_LINE_BACK, MUTANT_BLOCKING_HUB, MUTANT_STALE_MEMBER, MUTANT_FD_LEAK, MUTANT_IGNORE_MAX_CLIENTS,
 * MUTANT_CHAT_SILENT, MUTANT_CHAT_NO_JOIN_NOTICE, MUTANT_NO_LEAVE_NOTICE, MUTANT_NO_SENDER_PREFIX, MUTANT_EOF_AS_NO_DATA,
 * MUTANT_DIE_ON_ERROR, MUTANT_HALF_LINE_ON_RESET, MUTANT_CHAT_NO_SIGTERM, MUTANT_KEEPS_CR, MUTANT_CHAT_SKIP_EMPTY,
 * MUTANT_LONG_LINE_SPLIT, MUTANT_MAX_CLIENTS_UNCHECKED, MUTANT_HALF_LINE_DROPPED, MUTANT_CHAT_PORT_UNCHECKED,
 * MUTANT_P2P_FIRST_ONLY, MUTANT_OPERATOR_EOF_IGNORED. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXC 1000
#define MAXLINE 65536
#define LIMIT (1024 * 1024)

struct client {
  int fd, gone;
  char name[32];
  char in[MAXLINE + 2];
  size_t inlen;
  char *out;
  size_t outlen, outcap;
};

static struct client *cl[MAXC];
static int ncl, p2p, maxc = 100;
static volatile sig_atomic_t stop;

static void on_stop(int sig) {
  (void)sig;
  stop = 1;
}

static void flush_out(struct client *c) {
  while (c->outlen > 0) {
    ssize_t n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL);
#ifdef MUTANT_DIE_ON_ERROR
    /* mistake: the one-client programs' error handling: every failed call ends the program, EAGAIN too */
    if (n < 0) {
      perror("tcp_chat_server: send");
      exit(1);
    }
#endif
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      c->gone = 1;
      c->outlen = 0;
      return;
    }
    memmove(c->out, c->out + n, c->outlen - n);
    c->outlen -= n;
  }
}

static void deliver(struct client *c, const char *text) {
  if (c->gone) return;
  size_t len = strlen(text);
#ifdef MUTANT_BLOCKING_HUB
  /* mistake: a plain blocking send loop, straight to the socket */
  size_t done = 0;
  while (done < len) {
    ssize_t n = send(c->fd, text + done, len - done, MSG_NOSIGNAL);
    if (n <= 0) {
      c->gone = 1;
      return;
    }
    done += n;
  }
  return;
#endif
  if (c->outlen + len > c->outcap) {
    c->outcap = (c->outlen + len) * 2;
    c->out = realloc(c->out, c->outcap);
  }
  memcpy(c->out + c->outlen, text, len);
  c->outlen += len;
  flush_out(c);
  if (c->outlen > LIMIT) {
    printf("dropped %s: not reading (over %d bytes queued)\n", c->name, LIMIT);
    c->gone = 1;
  }
}

static void broadcast(struct client *from, const char *text) {
  (void)from;
  for (int i = 0; i < ncl; i++) {
#ifndef MUTANT_OWN_LINE_BACK
    if (cl[i] == from) continue;
#endif
    deliver(cl[i], text);
  }
}

/* close the ones that left and tell the others; telling may drop someone else, so start over */
static void sweep(void) {
  char msg[64];
  for (int i = 0; i < ncl; i++) {
    if (!cl[i]->gone || cl[i]->fd < 0) continue;
    struct client *c = cl[i];
#ifndef MUTANT_FD_LEAK
    close(c->fd);
#endif
    c->fd = -1;
#ifndef MUTANT_CHAT_SILENT
    printf("disconnected %s\n", c->name);
#endif
#ifndef MUTANT_STALE_MEMBER
    cl[i] = cl[--ncl];
#endif
#ifdef MUTANT_NO_LEAVE_NOTICE
    if (0) { /* mistake: the member is removed, the others are never told */
#else
    if (!p2p) {
#endif
      snprintf(msg, sizeof msg, "%s left\n", c->name);
      broadcast(c, msg);
    }
#ifndef MUTANT_STALE_MEMBER
    free(c->out);
    free(c);
#endif
    i = -1;
  }
}

static void got_line(struct client *c, char *line) {
  static char msg[MAXLINE + 64];
#ifndef MUTANT_KEEPS_CR /* mistake: the \r of a \r\n line (telnet, nc -C) is relayed with the text */
  size_t len = strlen(line);
  if (len > 0 && line[len - 1] == '\r') line[len - 1] = 0;
#endif
#ifdef MUTANT_CHAT_SKIP_EMPTY
  if (line[0] == 0) return; /* mistake: an empty line is taken for nothing to say */
#endif
  if (!strcmp(line, "q")) {
    c->gone = 1;
  } else if (p2p) {
#ifdef MUTANT_NO_SENDER_PREFIX
    printf("%s\n", line); /* mistake: the line as it came, without who said it */
#else
    printf("%s: %s\n", c->name, line);
#endif
  } else {
#ifdef MUTANT_NO_SENDER_PREFIX
    snprintf(msg, sizeof msg, "%s\n", line);
#else
    snprintf(msg, sizeof msg, "%s: %s\n", c->name, line);
#endif
    broadcast(c, msg);
  }
}

static void read_client(struct client *c) {
  ssize_t n = recv(c->fd, c->in + c->inlen, MAXLINE + 1 - c->inlen, 0);
#ifdef MUTANT_DIE_ON_ERROR
  if (n < 0) {
    perror("tcp_chat_server: recv");
    exit(1);
  }
#endif
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
#ifdef MUTANT_EOF_AS_NO_DATA
  if (n == 0) return; /* mistake: 0 taken for "nothing yet"; select() reports the closed socket readable for ever */
#endif
#ifdef MUTANT_HALF_LINE_ON_RESET
  if (n < 0 && c->inlen > 0) { /* mistake: a reset's half line said to the room too (only EOF's is a line) */
    c->in[c->inlen] = 0;
    got_line(c, c->in);
  }
#endif
  if (n < 0) { /* a reset: a partial line is thrown away */
    c->gone = 1;
    return;
  }
  if (n == 0) { /* EOF: a partial line is still a line */
#ifndef MUTANT_HALF_LINE_DROPPED /* mistake: the half line before EOF is thrown away like a reset's */
    if (c->inlen > 0) {
      c->in[c->inlen] = 0;
      got_line(c, c->in);
    }
#endif
    c->gone = 1;
    return;
  }
  c->inlen += n;
  char *start = c->in, *nl;
  while (!c->gone && (nl = memchr(start, '\n', c->inlen - (start - c->in)))) {
    *nl = 0;
    got_line(c, start);
    start = nl + 1;
  }
  c->inlen -= start - c->in;
  memmove(c->in, start, c->inlen);
#ifdef MUTANT_LONG_LINE_SPLIT
  if (c->inlen > MAXLINE) { /* mistake: a full buffer taken for a line: a line too long is relayed in pieces */
    c->in[c->inlen] = 0;
    got_line(c, c->in);
    c->inlen = 0;
  }
#else
  if (c->inlen > MAXLINE) c->gone = 1; /* line too long */
#endif
}

int main(int argc, char **argv) {
  int port = 0, mode = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
      i++;
      if (!strcmp(argv[i], "p2p")) mode = 1, p2p = 1;
      else if (!strcmp(argv[i], "hub")) mode = 2;
    } else if (!strcmp(argv[i], "--max-clients") && i + 1 < argc) {
      maxc = atoi(argv[++i]);
    } else {
      port = atoi(argv[i]);
    }
  }
  int bad_port = port < 1 || port > 65535;
#ifdef MUTANT_CHAT_PORT_UNCHECKED
  bad_port = 0; /* mistake: the port as atoi() gives it: 70000 wraps to 4464, a missing one is 0 (the kernel picks) */
#endif
#ifdef MUTANT_MAX_CLIENTS_UNCHECKED
  if (bad_port || !mode) { /* mistake: --max-clients taken as atoi() gives it, unchecked */
#else
  if (bad_port || !mode || maxc < 1 || maxc > MAXC) {
#endif
    fprintf(stderr, "usage: tcp_chat_server PORT --mode p2p|hub [--max-clients N]\n");
    return 2;
  }
#ifdef MUTANT_IGNORE_MAX_CLIENTS
  maxc = MAXC; /* mistake: the option is parsed, then forgotten */
#endif
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {0};
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, NULL);
#ifndef MUTANT_CHAT_NO_SIGTERM /* mistake: only Ctrl-C (SIGINT) handled; SIGTERM kills the server */
  sigaction(SIGTERM, &sa, NULL);
#endif

  int ls = socket(AF_INET, SOCK_STREAM, 0), on = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("tcp_chat_server: bind");
    return 1;
  }
  listen(ls, 16);
  printf("listening 0.0.0.0:%d\n", port);
  fflush(stdout);

  static char kbd[MAXLINE + 2];
  size_t kbdlen = 0;
  while (!stop) {
    fflush(stdout);
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(ls, &rd);
    int maxfd = ls;
    if (p2p) FD_SET(0, &rd);
    for (int i = 0; i < ncl; i++) {
      if (cl[i]->fd < 0) continue;
      FD_SET(cl[i]->fd, &rd);
      if (cl[i]->outlen) FD_SET(cl[i]->fd, &wr);
      if (cl[i]->fd > maxfd) maxfd = cl[i]->fd;
    }
    if (select(maxfd + 1, &rd, &wr, NULL, NULL) < 0) continue; /* EINTR: the loop checks stop */
    for (int i = 0; i < ncl; i++) {
      struct client *c = cl[i];
      if (c->fd < 0 || c->gone) continue;
      if (FD_ISSET(c->fd, &wr)) flush_out(c);
      if (!c->gone && FD_ISSET(c->fd, &rd)) read_client(c);
    }
    if (p2p && FD_ISSET(0, &rd)) {
      ssize_t n = read(0, kbd + kbdlen, MAXLINE - kbdlen);
#ifdef MUTANT_OPERATOR_EOF_IGNORED
      if (n < 0) break; /* mistake: read() == 0, the operator's end of input, taken for "nothing typed yet" */
#else
      if (n <= 0) break;
#endif
      kbdlen += n;
      char *start = kbd, *nl;
      int quit = 0;
      while ((nl = memchr(start, '\n', kbdlen - (start - kbd)))) {
        *nl = 0;
        if (!strcmp(start, "q")) quit = 1;
        else if (ncl > 0) {
          static char msg[MAXLINE + 4];
          snprintf(msg, sizeof msg, "%s\n", start);
          deliver(cl[0], msg);
        }
        start = nl + 1;
      }
      if (quit) break;
      kbdlen -= start - kbd;
      memmove(kbd, start, kbdlen);
    }
    sweep();
    if (FD_ISSET(ls, &rd)) {
      struct sockaddr_in from;
      socklen_t flen = sizeof from;
      int fd = accept(ls, (struct sockaddr *)&from, &flen);
      if (fd < 0) continue;
      char name[32];
      snprintf(name, sizeof name, "%s:%d", inet_ntoa(from.sin_addr), ntohs(from.sin_port));
      int full = ncl >= (p2p ? 1 : maxc);
#ifdef MUTANT_P2P_FIRST_ONLY
      static int served; /* mistake: p2p counts the clients ever accepted, not those connected: after the first, busy */
      if (p2p && served) full = 1;
      served = !full || served;
#endif
      if (full) {
        const char *no = p2p ? "busy" : "room full";
        dprintf(fd, "%s\n", no);
        printf("refused %s %s\n", name, no);
        close(fd);
        continue;
      }
#ifndef MUTANT_BLOCKING_HUB
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
#endif
      struct client *c = calloc(1, sizeof *c);
      c->fd = fd;
      strcpy(c->name, name);
      cl[ncl++] = c;
#ifndef MUTANT_CHAT_SILENT
      printf("connected %s\n", name);
#endif
#ifdef MUTANT_CHAT_NO_JOIN_NOTICE
      if (0) { /* mistake: the newcomer is added, the others are never told */
#else
      if (!p2p) {
#endif
        char msg[64];
        snprintf(msg, sizeof msg, "%s joined\n", name);
        broadcast(c, msg);
      }
      sweep();
    }
  }
  return 0;
}
