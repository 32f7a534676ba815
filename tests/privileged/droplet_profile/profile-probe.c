/* profile-probe: a static helper copied into the test container. It tries clone(2) with one
 * namespace flag (or none), clone3(2), a thread, and an x32-ABI syscall, and prints
 * "MODE=OK|EPERM|ENOSYS|errno N" so a test can see what the seccomp filter lets through.
 * raind-probe's unshare probes cover unshare(2); this covers the clone path a filter must check
 * by argument and the x32 ABI a filter must not let in. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char* mode, long rc, int err) {
  if (rc >= 0)
    printf("%s=OK\n", mode);
  else if (err == EPERM)
    printf("%s=EPERM\n", mode);
  else if (err == ENOSYS)
    printf("%s=ENOSYS\n", mode);
  else
    printf("%s=errno %d\n", mode, err);
}

/* Raw clone without a new stack behaves like fork: the child returns 0 and exits at once. */
static int try_clone(const char* mode, unsigned long flags) {
  long pid = syscall(SYS_clone, flags | SIGCHLD, 0, NULL, NULL, 0);
  int err = errno;
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  report(mode, pid, err);
  return 0;
}

static int try_clone3(void) {
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  int err = errno;
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  report("clone3", pid, err);
  return 0;
}

static void* thread_main(void* arg) {
  return arg;
}

/* glibc tries clone3 first and falls back to clone when it gets ENOSYS. */
static int try_thread(void) {
  pthread_t t;
  int rc = pthread_create(&t, NULL, thread_main, NULL);
  if (rc == 0) pthread_join(t, NULL);
  report("thread", rc == 0 ? 0 : -1, rc);
  return 0;
}

/* getpid through the x32 ABI (syscall number with bit 30 set). A filter without SCMP_ARCH_X32
 * kills the process (SIGSYS); an unfiltered kernel without x32 support answers ENOSYS. */
static int try_x32(void) {
#if defined(__x86_64__)
  long rc = syscall(0x40000000L | SYS_getpid);
  report("x32-getpid", rc, errno);
#else
  printf("x32-getpid=unsupported\n");
#endif
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 1; i < argc; ++i) {
    const char* m = argv[i];
    if (!strcmp(m, "clone-plain"))
      try_clone(m, 0);
    else if (!strcmp(m, "clone-newuser"))
      try_clone(m, CLONE_NEWUSER);
    else if (!strcmp(m, "clone-newnet"))
      try_clone(m, CLONE_NEWNET);
    else if (!strcmp(m, "clone-newpid"))
      try_clone(m, CLONE_NEWPID);
    else if (!strcmp(m, "clone-newns"))
      try_clone(m, CLONE_NEWNS);
    else if (!strcmp(m, "clone3"))
      try_clone3();
    else if (!strcmp(m, "thread"))
      try_thread();
    else if (!strcmp(m, "x32-getpid"))
      try_x32();
    else {
      fprintf(stderr,
              "usage: profile-probe clone-plain|clone-newuser|clone-newnet|clone-newpid|"
              "clone-newns|clone3|thread|x32-getpid ...\n");
      return 2;
    }
  }
  return 0;
}
