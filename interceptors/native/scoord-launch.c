/*
 * scoord-launch: the first process of a traced tree.
 *
 * scoord starts this program with posix_spawn, seizes it with ptrace while it blocks reading
 * CTLFD, and only then writes the seccomp program to CTLFD. So no RET_TRACE syscall can run
 * without a tracer (it would fail with ENOSYS). Then the launcher restores what a normal
 * exec from a shell would give the program (SIGPIPE at its default, no blocked signals),
 * installs the filter and execs PROGRAM. Everything else scoord does is C#.
 *
 * usage: scoord-launch [--protect DIR] [--fastpath LIB RINGDIR] [--sigign HEXMASK] [--debug] CTLFD PROGRAM ARGV0 ARGS...
 *        scoord-launch [--protect DIR] [--debug] --restore PID CTLFD
 *        scoord-launch --doorbell FD
 * --restore PID (scoord restore of a memory image): instead of exec, once seized and filtered, create a
 * process with pid PID (clone3 with set_tid, root only) as a sibling of this one (CLONE_PARENT: its parent
 * is scoord), and exit. The new process inherits the filter and is traced from its first instruction
 * (the tracer follows forks); scoord then replaces its whole address space and state by the image's
 * with syscalls it runs inside it (src/Scoord.Coordinator/Memory/ProcessRestorer.cs). Exit status 0: the
 * process exists; 3: the pid is taken; 4: clone3 failed otherwise (the reason on stderr).
 * --protect DIR: before installing the filter, enter a private mount namespace (root only) in which
 * DIR (the journal directory) is a read-only bind mount of itself, so that the kernel refuses the
 * program every write there (EROFS) even if a path check in the tracer were raced. Host mounts still
 * propagate in (the root is made a slave, not private). The mount family is refused to tracees by
 * the filter, so the program cannot undo it. When this is not possible (not root, a container
 * without CAP_SYS_ADMIN) the launcher goes on without it: the tracer's path and identity checks
 * remain. --debug: say on stderr why the protection was not set up.
 * --sigign HEXMASK: a program joining the application group gets the joining `scoord run`'s ignored
 * signals (SigIgn of /proc/PID/status), not the coordinator's; every other signal at its default.
 * --fastpath LIB RINGDIR: the in-process fast path. LIB goes first into LD_PRELOAD and RINGDIR into
 * SCOORD_FASTPATH of the program's environment (set here, right before the exec, so that the launcher
 * itself never loads LIB). RINGDIR stays writable in the mount namespace of --protect: the hooks write
 * the ring there (the tracer still refuses the program every write to the journal on the ptrace way).
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
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/sched.h>

#define MAX_FILTER 4096 /* BPF_MAXINSNS */

/* --sigign MASK (a joined program): the signals the joining `scoord run` had ignored (bit N-1 for signal N,
 * as /proc/PID/status's SigIgn) are ignored, every other one is at its default, whatever the coordinator's
 * own dispositions are. SIGPIPE stays at its default (.NET ignores it in every scoord process). */
static void apply_ignored(unsigned long long mask)
{
    for (int sig = 1; sig <= 64; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || sig == SIGPIPE || sig == 32 || sig == 33)
            continue;
        struct sigaction now;
        if (sigaction(sig, NULL, &now) != 0)
            continue; /* the C library's own signals, numbers past SIGRTMAX */
        int ignore = (mask >> (sig - 1)) & 1;
        if (ignore && now.sa_handler != SIG_IGN)
            signal(sig, SIG_IGN);
        else if (!ignore && now.sa_handler == SIG_IGN)
            signal(sig, SIG_DFL);
    }
}

/* glibc's posix_spawn (which started this launcher) sets its two internal signals (32 and 33: thread
 * cancellation and setxid) to SIG_IGN in the child, and ignored signals survive exec. A program started from
 * a shell has them at their default; glibc's sigaction refuses them, so the raw system call does it. */
static void reset_internal_signals(void)
{
    struct {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)(void);
        unsigned long mask;
    } dfl = { SIG_DFL, 0, NULL, 0 };
    for (int sig = 32; sig <= 33; sig++)
        syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
}

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

/* The per-mount flags a read-only remount of a bind mount must keep (else EPERM when locked). */
static unsigned long kept_flags(const char *dir)
{
    struct statvfs sv;
    unsigned long flags = 0;
    if (statvfs(dir, &sv) != 0)
        return 0;
    if (sv.f_flag & ST_NOSUID)
        flags |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV)
        flags |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC)
        flags |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME)
        flags |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME)
        flags |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME)
        flags |= MS_RELATIME;
    return flags;
}

/* Returns 0 when DIR is read-only in this process's (new) mount namespace (RINGDIR, if any, writable). */
static int protect_journal(const char *dir, const char *ringdir, int debug)
{
    const char *step = "unshare(CLONE_NEWNS)";
    if (unshare(CLONE_NEWNS) != 0)
        goto fail;
    step = "making / a slave mount";
    if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) != 0)
        goto fail;
    /* The ring directory first, as a mount of its own: the recursive bind below takes it along and the
     * read-only remount (of the top mount only) leaves it writable. */
    step = "bind-mounting the fast path's ring directory";
    if (ringdir != NULL && mount(ringdir, ringdir, NULL, MS_BIND, NULL) != 0)
        goto fail;
    step = "bind-mounting the journal directory";
    if (mount(dir, dir, NULL, MS_BIND | (ringdir != NULL ? MS_REC : 0), NULL) != 0)
        goto fail;
    step = "remounting the journal directory read-only";
    if (mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | kept_flags(dir), NULL) != 0)
        goto fail;
    return 0;
fail:
    if (debug)
        fprintf(stderr, "scoord-launch: journal not protected by a mount namespace (%s: %s); path checks only\n",
                step, strerror(errno));
    return -1;
}

/* The process scoord restores into: pid PID, child of scoord, a copy of this one until scoord rebuilds it. */
static int restore_as(long pid)
{
    pid_t tid = (pid_t)pid;
    struct clone_args args;
    long r;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_PARENT;
    args.set_tid = (uint64_t)(uintptr_t)&tid;
    args.set_tid_size = 1;
    r = syscall(SYS_clone3, &args, sizeof args);
    if (r == 0) {
        for (;;)
            pause(); /* never runs: the tracer stops it at birth and replaces it */
    }
    if (r < 0) {
        int e = errno;
        fprintf(stderr, "scoord: restore: cannot create a process with pid %ld: %s\n", pid,
                e == EEXIST ? "that pid is in use by another process" : strerror(e));
        return e == EEXIST ? 3 : 4;
    }
    return 0;
}

/* LD_PRELOAD=LIB[:what the program had], SCOORD_FASTPATH=DIR. */
static int set_preload(const char *lib, const char *dir)
{
    const char *old = getenv("LD_PRELOAD");
    if (old != NULL && old[0] != '\0' && strstr(old, lib) == NULL) {
        size_t n = strlen(lib) + 1 + strlen(old) + 1;
        char *v = malloc(n);
        if (v == NULL)
            return -1;
        snprintf(v, n, "%s:%s", lib, old);
        if (setenv("LD_PRELOAD", v, 1) != 0)
            return -1;
    } else if (old == NULL || strstr(old, lib) == NULL) {
        if (setenv("LD_PRELOAD", lib, 1) != 0)
            return -1;
    }
    return setenv("SCOORD_FASTPATH", dir, 1);
}

int main(int argc, char **argv)
{
    const char *protect = NULL;
    const char *fastlib = NULL, *fastdir = NULL;
    int debug = 0;
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

    long restore_pid = 0;
    unsigned long long sigign = 0;
    int set_sigign = 0;
    while (argc > 1 && strncmp(argv[1], "--", 2) == 0) {
        if (strcmp(argv[1], "--restore") == 0 && argc > 2) {
            restore_pid = strtol(argv[2], &end, 10);
            if (*end != '\0' || restore_pid <= 0) {
                fprintf(stderr, "scoord-launch: bad pid to restore\n");
                return 127;
            }
            argc -= 2;
            argv += 2;
        } else if (strcmp(argv[1], "--protect") == 0 && argc > 2) {
            protect = argv[2];
            argc -= 2;
            argv += 2;
        } else if (strcmp(argv[1], "--fastpath") == 0 && argc > 3) {
            fastlib = argv[2];
            fastdir = argv[3];
            argc -= 3;
            argv += 3;
        } else if (strcmp(argv[1], "--sigign") == 0 && argc > 2) {
            sigign = strtoull(argv[2], &end, 16);
            if (*end != '\0') {
                fprintf(stderr, "scoord-launch: bad signal mask\n");
                return 127;
            }
            set_sigign = 1;
            argc -= 2;
            argv += 2;
        } else if (strcmp(argv[1], "--debug") == 0) {
            debug = 1;
            argc -= 1;
            argv += 1;
        } else {
            break;
        }
    }

    if (argc < (restore_pid ? 2 : 4)) {
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

    if (protect != NULL)
        protect_journal(protect, fastdir, debug);

    if (fastlib != NULL && set_preload(fastlib, fastdir) != 0) {
        fprintf(stderr, "scoord-launch: cannot set up the fast path's environment: %s\n", strerror(errno));
        return 127;
    }

    /* .NET ignores SIGPIPE and ignored signals survive exec: give the program the default. */
    signal(SIGPIPE, SIG_DFL);
    reset_internal_signals();
    if (set_sigign)
        apply_ignored(sigign);
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

    if (restore_pid)
        return restore_as(restore_pid);

    execv(argv[2], argv + 3);
    fprintf(stderr, "scoord: cannot execute %s: %s\n", argv[2], strerror(errno));
    return errno == ENOENT ? 127 : 126;
}
