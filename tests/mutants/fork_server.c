/* fork_server the student way, in C (see echo_server.c). Mutants: MUTANT_NO_REAP, MUTANT_NO_PARENT_CLOSE,
 * MUTANT_WAIT_CHILD, MUTANT_CHILD_CLOSES_CONN, MUTANT_ACCEPT_EINTR, MUTANT_FORK_PORT_UNCHECKED.
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
#ifndef MUTANT_FORK_PORT_UNCHECKED /* mistake: no checks: without a port atoi(NULL) crashes, 70000 wraps to 4464 */
  if (argc < 2 || atoi(argv[1]) < 1 || atoi(argv[1]) > 65535 || (argc == 3 && !leak) || argc > 3) {
    fprintf(stderr, "usage: fork_server PORT [--no-parent-close]\n");
    return 2;
  }
#endif
#ifdef MUTANT_NO_PARENT_CLOSE
  leak = 1; /* mistake: the parent keeps its copy of every connection */
#endif
  signal(SIGPIPE, SIG_IGN);
#ifndef MUTANT_NO_REAP
  struct sigaction sa = {0};
  sa.sa_handler = on_child;
#ifndef MUTANT_ACCEPT_EINTR /* mistake: without SA_RESTART a SIGCHLD interrupts accept() (EINTR) */
  sa.sa_flags = SA_RESTART;
#endif
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
#ifdef MUTANT_ACCEPT_EINTR
    if (c < 0) { /* mistake: EINTR is not an error to give up on: retry accept() */
      perror("fork_server: accept");
      return 1;
    }
#else
    if (c < 0) continue;
#endif
    printf("connected %s:%d\n", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
    fflush(stdout); /* before fork: or the child inherits the buffered lines and prints them twice */
    pid_t pid = fork();
    if (pid == 0) {
#ifdef MUTANT_CHILD_CLOSES_CONN
      s = c; /* mistake, as if close(c) were written below: the child closes the connection it is to serve, not the
              * listening socket */
#endif
      close(s);
      serve(c);
      close(c);
      printf("disconnected %s:%d\n", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
      exit(0);
    }
    printf("child %d serving %s:%d\n", pid, inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
    if (!leak) close(c);
#ifdef MUTANT_WAIT_CHILD
    waitpid(pid, NULL, 0); /* mistake: waits for the child to finish before the next accept(): one client at a time */
#endif
  }
}
