namespace Scoord.Tests.Load;

/// <summary>
/// The load generator: PROCS processes × THREADS threads, each looping until SECONDS have passed or it
/// has done MAX iterations. Iteration s of a thread (P, T) does one of:
/// <code>
/// s%4 == 0  create own/f&lt;s&gt; (openat O_CREAT|O_TRUNC), write "P T s", close
/// s%4 == 1  append "s" to own/log (openat O_APPEND|O_CREAT, write) — the log is shared by nobody
/// s%4 == 2  rename own/f&lt;s-2&gt; to shared/p&lt;P&gt;_&lt;T&gt;_&lt;s-2&gt;
/// s%4 == 3  s%8 == 3: truncate own/log to 0; else unlink shared/p&lt;P&gt;_&lt;T&gt;_&lt;s-3&gt;
/// </code>
/// At the end each thread prints "tid opens writes renames unlinks truncates" (its successful calls) on
/// stdout, a pipe, which scoord does not journal.
/// </summary>
internal static class LoadProgram
{
    public const string Source = """
        #define _GNU_SOURCE
        #include <fcntl.h>
        #include <pthread.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/stat.h>
        #include <sys/syscall.h>
        #include <sys/wait.h>
        #include <time.h>
        #include <unistd.h>

        static int P, THREADS, MAX;
        static double SECONDS;
        static pthread_mutex_t out = PTHREAD_MUTEX_INITIALIZER;

        static double now(void)
        {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            return ts.tv_sec + ts.tv_nsec / 1e9;
        }

        static void *thread(void *arg)
        {
            int T = (int)(long)arg;
            long opens = 0, writes = 0, renames = 0, unlinks = 0, truncs = 0;
            char own[64], path[128], path2[128], data[64];
            snprintf(own, sizeof own, "t%d_%d", P, T);
            mkdir(own, 0755);
            double end = now() + SECONDS;
            for (int s = 0; s < MAX && now() < end; s++) {
                int fd;
                switch (s % 4) {
                case 0:
                    snprintf(path, sizeof path, "%s/f%d", own, s);
                    fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
                    if (fd >= 0) {
                        opens++;
                        int n = snprintf(data, sizeof data, "%d %d %d\n", P, T, s);
                        if (write(fd, data, n) == n) writes++;
                        close(fd);
                    }
                    break;
                case 1:
                    snprintf(path, sizeof path, "%s/log", own);
                    fd = open(path, O_CREAT | O_WRONLY | O_APPEND, 0644);
                    if (fd >= 0) {
                        opens++;
                        int n = snprintf(data, sizeof data, "%d\n", s);
                        if (write(fd, data, n) == n) writes++;
                        close(fd);
                    }
                    break;
                case 2:
                    snprintf(path, sizeof path, "%s/f%d", own, s - 2);
                    snprintf(path2, sizeof path2, "shared/p%d_%d_%d", P, T, s - 2);
                    if (rename(path, path2) == 0) renames++;
                    break;
                case 3:
                    if (s % 8 == 3) {
                        snprintf(path, sizeof path, "%s/log", own);
                        if (truncate(path, 0) == 0) truncs++;
                    } else {
                        snprintf(path, sizeof path, "shared/p%d_%d_%d", P, T, s - 3);
                        if (unlink(path) == 0) unlinks++;
                    }
                    break;
                }
            }
            pthread_mutex_lock(&out);
            printf("%ld %ld %ld %ld %ld %ld\n", (long)syscall(SYS_gettid), opens, writes, renames, unlinks, truncs);
            fflush(stdout);
            pthread_mutex_unlock(&out);
            return NULL;
        }

        int main(int argc, char **argv)
        {
            if (argc != 5) { fprintf(stderr, "usage: load PROCS THREADS SECONDS MAX\n"); return 2; }
            int procs = atoi(argv[1]);
            THREADS = atoi(argv[2]);
            SECONDS = atof(argv[3]);
            MAX = atoi(argv[4]);
            mkdir("shared", 0755);
            for (int p = 0; p < procs; p++) {
                if (fork() == 0) {
                    P = p;
                    pthread_t t[64];
                    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, thread, (void *)(long)i);
                    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
                    _exit(0);
                }
            }
            int status, failed = 0;
            while (wait(&status) > 0)
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
            return failed ? 1 : 0;
        }
        """;

    /// <summary>
    /// A listing of a tree for exact comparison: type, mode and path of every entry, sorted, and the sha256 of every file
    /// (not directory sizes: ext4 directories do not shrink when entries go).
    /// The same script runs inside the checkpoint barrier (--on-checkpoint) and after a rollback.
    /// </summary>
    public const string SnapshotScript = """
        cd "$1" || exit 1
        find . -mindepth 1 -printf '%y %m %p\n' | LC_ALL=C sort
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
        """;
}
