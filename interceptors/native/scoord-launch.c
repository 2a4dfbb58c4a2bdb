/*
 * scoord-launch: the first process of a traced tree.
 *
 * scoord starts this program with posix_spawn, seizes it with ptrace while it blocks reading
 * CTLFD, and only then writes the seccomp program to CTLFD. So no RET_TRACE syscall can run
 * without a tracer (it would fail with ENOSYS). Then the launcher restores what a normal
 * exec from a shell would give the program (SIGPIPE at its default, no blocked signals),
 * installs the filter and execs PROGRAM. Everything else scoord does is C#.
 *
 * usage: scoord-launch CTLFD PROGRAM ARGV0 ARGS...
 *        scoord-launch --doorbell FD
 * The doorbell is a second, filterless tracee: it blocks reading FD, and every byte scoord's
 * other threads write there makes it leave read(), which the tracer thread (blocked in waitpid)
 * sees as a syscall stop. That is how a checkpoint request wakes the tracer thread, the only
 * thread allowed to make ptrace calls.
 * wire format on CTLFD: u32 count (host order) followed by count struct sock_filter (8 bytes each).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_FILTER 4096 /* BPF_MAXINSNS */

static int read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int traced(void)
{
    char buf[4096];
    FILE *f = fopen("/proc/self/status", "re");
    int pid = 0;
    if (!f)
        return 0;
    while (fgets(buf, sizeof buf, f))
        if (sscanf(buf, "TracerPid: %d", &pid) == 1)
            break;
    fclose(f);
    return pid != 0;
}

int main(int argc, char **argv)
{
    static struct sock_filter insns[MAX_FILTER];
    struct sock_fprog prog;
    uint32_t count;
    sigset_t none;
    char *end;
    long ctl;

    if (argc == 3 && strcmp(argv[1], "--doorbell") == 0) {
        int fd = atoi(argv[2]);
        char c;
        for (;;) {
            ssize_t n = read(fd, &c, 1);
            if (n == 0 || (n < 0 && errno != EINTR))
                return 0;
        }
    }

    if (argc < 4) {
        fprintf(stderr, "scoord-launch: internal helper of scoord; not meant to be run by hand\n");
        return 127;
    }
    ctl = strtol(argv[1], &end, 10);
    if (*end != '\0' || ctl < 0) {
        fprintf(stderr, "scoord-launch: bad control fd\n");
        return 127;
    }

    /* Blocks until scoord has seized us; EOF means scoord went away first. */
    if (read_full((int)ctl, &count, sizeof count) != 0 || count == 0 || count > MAX_FILTER ||
        read_full((int)ctl, insns, count * sizeof insns[0]) != 0) {
        fprintf(stderr, "scoord-launch: scoord did not send the filter\n");
        return 127;
    }
    close((int)ctl);

    if (!traced()) {
        fprintf(stderr, "scoord-launch: not traced; refusing to run untraced\n");
        return 127;
    }

    /* .NET ignores SIGPIPE and ignored signals survive exec: give the program the default. */
    signal(SIGPIPE, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    prog.len = (unsigned short)count;
    prog.filter = insns;
    /* Root may install a filter without no_new_privs (and so keeps setuid programs working);
     * anyone else must set it first. */
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
        if (errno != EACCES || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
            fprintf(stderr, "scoord-launch: cannot install the seccomp filter: %s\n", strerror(errno));
            return 127;
        }
    }

    execv(argv[2], argv + 3);
    fprintf(stderr, "scoord: cannot execute %s: %s\n", argv[2], strerror(errno));
    return errno == ENOENT ? 127 : 126;
}
