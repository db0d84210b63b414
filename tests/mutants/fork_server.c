/* fork_server the student way, in C (see echo_server.c). Mutants: MUTANT_NO_REAP, MUTANT_NO_PARENT_CLOSE.
 * The echo protocol is included from echo_server.c's serve(), as a student would copy it. */
#include <sys/wait.h>

#define main echo_server_main
#include "echo_server.c"
#undef main

#ifndef MUTANT_NO_REAP
static void on_child(int sig) {
  (void)sig;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}
#endif

int main(int argc, char **argv) {
  int leak = argc == 3 && !strcmp(argv[2], "--no-parent-close");
  if (argc < 2 || atoi(argv[1]) < 1 || atoi(argv[1]) > 65535 || (argc == 3 && !leak) || argc > 3) {
    fprintf(stderr, "usage: fork_server PORT [--no-parent-close]\n");
    return 2;
  }
#ifdef MUTANT_NO_PARENT_CLOSE
  leak = 1; /* mistake: the parent keeps its copy of every connection */
#endif
  signal(SIGPIPE, SIG_IGN);
#ifndef MUTANT_NO_REAP
  struct sigaction sa = {0};
  sa.sa_handler = on_child;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGCHLD, &sa, NULL);
#endif
  int s = socket(AF_INET, SOCK_STREAM, 0), on = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(atoi(argv[1]));
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 5) < 0) {
    fprintf(stderr, "fork_server: bind: %s\n", strerror(errno));
    return 1;
  }
  printf("listening 0.0.0.0:%s\n", argv[1]);
  for (;;) {
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int c = accept(s, (struct sockaddr *)&peer, &plen);
    if (c < 0) continue;
    printf("connected %s:%d\n", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
    fflush(stdout); /* before fork: or the child inherits the buffered lines and prints them twice */
    pid_t pid = fork();
    if (pid == 0) {
      close(s);
      serve(c);
      close(c);
      printf("disconnected %s:%d\n", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
      exit(0);
    }
    printf("child %d serving %s:%d\n", pid, inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
    if (!leak) close(c);
  }
}
