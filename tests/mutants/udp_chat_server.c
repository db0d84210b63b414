/* udp_chat_server the student way, in C. Mutants: MUTANT_ECHO_TO_SENDER, MUTANT_DUPLICATE_NICKS,
 * MUTANT_CRASH_ON_EMPTY, MUTANT_REJOIN_REFUSED, MUTANT_COMMANDS_ANY_CASE, MUTANT_BAD_JOIN_IGNORED,
 * MUTANT_LEAVE_PREFIX, MUTANT_REFUSE_EMPTY_MSG, MUTANT_NO_LENGTH_CHECK, MUTANT_NO_JOIN_NOTICE,
 * MUTANT_BREAK_NOT_CONTINUE, MUTANT_GUESTS_SPEAK, MUTANT_TCP_LEFTOVER, MUTANT_CONNECTS_TO_CLIENT,
 * MUTANT_JOIN_TWICE, MUTANT_UDP_PORT_UNCHECKED, MUTANT_UDP_NO_SIGTERM. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_MEMBERS 64
#define MAX_DATAGRAM 65507

#ifdef MUTANT_COMMANDS_ANY_CASE
#define strncmp strncasecmp /* mistake: "join bob" is taken for JOIN */
#define strcmp strcasecmp
#endif

struct member {
  char nick[33];
  struct sockaddr_in addr;
} members[MAX_MEMBERS];
int count;
int s;

static int same(struct sockaddr_in *a, struct sockaddr_in *b) {
  return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

static void say(struct sockaddr_in *to, const char *text) {
  sendto(s, text, strlen(text), 0, (struct sockaddr *)to, sizeof *to);
}

static void tell_others(struct sockaddr_in *from, const char *text) {
  (void)from;
  for (int i = 0; i < count; i++) {
#if defined MUTANT_BREAK_NOT_CONTINUE
    if (same(&members[i].addr, from)) break; /* mistake: break for continue: nobody after the sender hears it */
#elif !defined MUTANT_ECHO_TO_SENDER
    if (same(&members[i].addr, from)) continue;
#endif
    say(&members[i].addr, text);
  }
}

static int find(struct sockaddr_in *a) {
  for (int i = 0; i < count; i++)
    if (same(&members[i].addr, a)) return i;
  return -1;
}

/* SIGINT/SIGTERM: the kernel closes the socket as we go; _exit() is async-signal-safe */
static void on_stop(int sig) {
  (void)sig;
  _exit(0);
}

static int good_nick(const char *n) {
  size_t len = strlen(n);
  if (len < 1 || len > 32) return 0;
  for (size_t i = 0; i < len; i++)
    if (n[i] <= ' ' || n[i] > '~') return 0;
  return 1;
}

int main(int argc, char **argv) {
#ifndef MUTANT_UDP_PORT_UNCHECKED /* mistake: no checks: without a port atoi(NULL) crashes, 70000 wraps to 4464 */
  if (argc != 2 || atoi(argv[1]) < 1 || atoi(argv[1]) > 65535) {
    fprintf(stderr, "usage: udp_chat_server PORT\n");
    return 2;
  }
#else
  (void)argc;
#endif
  signal(SIGINT, on_stop);
#ifndef MUTANT_UDP_NO_SIGTERM /* mistake: only Ctrl-C handled; SIGTERM kills the server */
  signal(SIGTERM, on_stop);
#endif
  s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(atoi(argv[1]));
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("udp_chat_server: bind");
    return 1;
  }
#ifdef MUTANT_TCP_LEFTOVER
  /* mistake: the lab-1 server's listening socket, copied along and never used */
  int t = socket(AF_INET, SOCK_STREAM, 0);
  bind(t, (struct sockaddr *)&a, sizeof a);
  listen(t, 5);
#endif
  printf("listening 0.0.0.0:%s\n", argv[1]);
  static char buf[65536], out[2 * 65536]; /* room for any relay: "FROM nick " and a whole datagram */
  for (;;) {
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &flen);
    if (n < 0) continue;
#ifdef MUTANT_CRASH_ON_EMPTY
    if (n == 0) abort(); /* mistake: buf[n - 1] on an empty datagram, as it were */
#endif
    buf[n] = 0;
#ifdef MUTANT_CONNECTS_TO_CLIENT
    static int connected; /* mistake: connect() to the first client "to talk to it": the socket now hears only that
                             address, and everyone else's datagrams are refused by the kernel (ICMP) */
    if (!connected++) connect(s, (struct sockaddr *)&from, sizeof from);
#endif
    int me = find(&from);
    if (!strncmp(buf, "JOIN ", 5) || !strcmp(buf, "JOIN")) {
      char *nick = buf[4] ? buf + 5 : buf + 4; /* bare JOIN: an empty nickname */
      int taken = 0;
      for (int i = 0; i < count; i++)
        if (!strcmp(members[i].nick, nick)) taken = 1;
#ifdef MUTANT_DUPLICATE_NICKS
      taken = 0; /* mistake: nobody checks */
#endif
      if (!good_nick(nick)) {
#ifndef MUTANT_BAD_JOIN_IGNORED /* mistake: a bad nickname gets no answer at all */
        say(&from, "ERR bad nickname");
#endif
#ifndef MUTANT_JOIN_TWICE /* mistake: only the nickname is checked, never whether this address already joined */
      } else if (me >= 0) {
#ifdef MUTANT_REJOIN_REFUSED
        snprintf(out, sizeof out, "ERR already joined"); /* mistake: a resent JOIN is refused */
#else
        if (strcmp(members[me].nick, nick)) snprintf(out, sizeof out, "ERR already joined as %s", members[me].nick);
        else snprintf(out, sizeof out, "OK %s", nick);
#endif
        say(&from, out);
#endif
      } else if (taken) say(&from, "ERR nickname taken");
      else if (count == MAX_MEMBERS) say(&from, "ERR room full");
      else {
        strcpy(members[count].nick, nick);
        members[count++].addr = from;
        snprintf(out, sizeof out, "OK %s", nick);
        say(&from, out);
#ifndef MUTANT_NO_JOIN_NOTICE /* mistake: OK to the newcomer, but the others are never told */
        snprintf(out, sizeof out, "JOINED %s", nick);
        tell_others(&from, out);
#endif
      }
    } else if (!strncmp(buf, "MSG ", 4) || !strcmp(buf, "MSG")) {
      const char *text = n > 4 ? buf + 4 : "";
#ifdef MUTANT_GUESTS_SPEAK
      /* mistake: a stranger may speak too, under its address */
      char guest[40];
      snprintf(guest, sizeof guest, "%s:%d", inet_ntoa(from.sin_addr), ntohs(from.sin_port));
      if (me < 0) {
        snprintf(out, sizeof out, "FROM %s %s", guest, text);
        tell_others(&from, out);
      }
#else
      if (me < 0) say(&from, "ERR not joined");
#endif
      else if (strchr(buf, '\n') || strchr(buf, '\r')) say(&from, "ERR bad message");
#ifdef MUTANT_REFUSE_EMPTY_MSG
      else if (!*text) say(&from, "ERR empty message"); /* mistake: an empty MSG is relayed as an empty line */
#endif
#ifndef MUTANT_NO_LENGTH_CHECK /* mistake: "FROM nick text" too long for a datagram: sendto fails, silently */
      else if (5 + strlen(members[me].nick) + 1 + strlen(text) > MAX_DATAGRAM) say(&from, "ERR message too long");
#endif
      else {
        snprintf(out, sizeof out, "FROM %s %s", members[me].nick, text);
        tell_others(&from, out);
      }
#ifdef MUTANT_LEAVE_PREFIX
    } else if (!strncmp(buf, "LEAVE", 5)) { /* mistake: "LEAVE now" leaves too */
#else
    } else if (!strcmp(buf, "LEAVE")) {
#endif
      if (me < 0) say(&from, "ERR not joined");
      else {
        snprintf(out, sizeof out, "LEFT %s", members[me].nick);
        members[me] = members[--count];
        tell_others(&from, out);
      }
    } else {
      say(&from, "ERR unknown command");
    }
  }
}
