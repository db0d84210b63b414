/* udp_chat_server the student way, in C. Mutants: MUTANT_ECHO_TO_SENDER, MUTANT_DUPLICATE_NICKS,
 * MUTANT_CRASH_ON_EMPTY. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_MEMBERS 64

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
#ifndef MUTANT_ECHO_TO_SENDER
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

static int good_nick(const char *n) {
  size_t len = strlen(n);
  if (len < 1 || len > 32) return 0;
  for (size_t i = 0; i < len; i++)
    if (n[i] <= ' ' || n[i] > '~') return 0;
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2 || atoi(argv[1]) < 1 || atoi(argv[1]) > 65535) {
    fprintf(stderr, "usage: udp_chat_server PORT\n");
    return 2;
  }
  s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(atoi(argv[1]));
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("udp_chat_server: bind");
    return 1;
  }
  printf("listening 0.0.0.0:%s\n", argv[1]);
  static char buf[65536], out[65600];
  for (;;) {
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &flen);
    if (n < 0) continue;
#ifdef MUTANT_CRASH_ON_EMPTY
    if (n == 0) abort(); /* mistake: buf[n - 1] on an empty datagram, as it were */
#endif
    buf[n] = 0;
    int me = find(&from);
    if (!strncmp(buf, "JOIN ", 5)) {
      char *nick = buf + 5;
      int taken = 0;
      for (int i = 0; i < count; i++)
        if (!strcmp(members[i].nick, nick)) taken = 1;
#ifdef MUTANT_DUPLICATE_NICKS
      taken = 0; /* mistake: nobody checks */
#endif
      if (!good_nick(nick)) say(&from, "ERR bad nickname");
      else if (me >= 0) {
        snprintf(out, sizeof out, strcmp(members[me].nick, nick) ? "ERR already joined" : "OK %s", nick);
        say(&from, out);
      } else if (taken) say(&from, "ERR nickname taken");
      else if (count == MAX_MEMBERS) say(&from, "ERR room full");
      else {
        strcpy(members[count].nick, nick);
        members[count++].addr = from;
        snprintf(out, sizeof out, "OK %s", nick);
        say(&from, out);
        snprintf(out, sizeof out, "JOINED %s", nick);
        tell_others(&from, out);
      }
    } else if (!strncmp(buf, "MSG ", 4) || !strcmp(buf, "MSG")) {
      if (me < 0) say(&from, "ERR not joined");
      else if (strchr(buf, '\n')) say(&from, "ERR bad message");
      else {
        snprintf(out, sizeof out, "FROM %s %s", members[me].nick, n > 4 ? buf + 4 : "");
        tell_others(&from, out);
      }
    } else if (!strcmp(buf, "LEAVE")) {
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
