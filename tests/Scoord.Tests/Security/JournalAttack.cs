namespace Scoord.Tests.Security;

/// <summary>
/// A C program that tries to change the journal directory J through every syscall family and every
/// route (symlink, magic links, a hard link made before the run, renaming a parent). It prints one line
/// per attempt, "NAME RESULT ERRNO-NAME", and never stops early.
/// usage: journal-attack J OUTSIDE-DIR HARDLINK
/// (OUTSIDE-DIR: a writable directory outside the journal holding a file "victim"; HARDLINK: a name
/// outside the journal that was hard-linked to a journal file before the run, or "-").
/// </summary>
internal static class JournalAttack
{
    public const string Source = """
        #define _GNU_SOURCE
        #include <errno.h>
        #include <fcntl.h>
        #include <linux/openat2.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/socket.h>
        #include <sys/stat.h>
        #include <sys/syscall.h>
        #include <sys/time.h>
        #include <sys/un.h>
        #include <sys/xattr.h>
        #include <unistd.h>
        #include <utime.h>

        static const char *J, *O, *H;
        static char buf[8][4096];
        static int bi;

        static const char *P(const char *fmt, const char *a)
        {
            char *b = buf[bi++ % 8];
            snprintf(b, 4096, fmt, a);
            return b;
        }

        static void report(const char *name, long rc)
        {
            int e = errno;
            printf("%s %ld %s\n", name, rc < 0 ? -1L : 0L, rc < 0 ? strerrorname_np(e) : "OK");
            fflush(stdout);
        }

        #define TRY(name, expr) do { errno = 0; long _r = (long)(expr); report(name, _r); } while (0)
        #define TRYFD(name, expr) do { errno = 0; int _f = (expr); report(name, _f); if (_f >= 0) close(_f); } while (0)

        int main(int argc, char **argv)
        {
            if (argc != 4) { fprintf(stderr, "usage: journal-attack J OUTSIDE HARDLINK\n"); return 2; }
            J = argv[1]; O = argv[2]; H = argv[3];
            const char *cur = strdup(P("%s/db/CURRENT", J));
            const char *marker = strdup(P("%s/SCOORD", J));
            const char *victim = strdup(P("%s/victim", O));
            int jfd = open(J, O_RDONLY | O_DIRECTORY); /* reading is allowed */
            if (jfd < 0) { perror("open journal dir"); return 3; }

            /* open family */
            TRYFD("open-creat", open(P("%s/new-open", J), O_CREAT | O_WRONLY, 0644));
            TRYFD("open-wronly", open(cur, O_WRONLY));
            TRYFD("open-append", open(marker, O_RDWR | O_APPEND));
            TRYFD("open-trunc", open(marker, O_WRONLY | O_TRUNC));
            TRYFD("openat-creat", openat(jfd, "new-openat", O_CREAT | O_WRONLY, 0644));
            TRYFD("openat-wronly", openat(jfd, "db/CURRENT", O_WRONLY));
            struct open_how how = { .flags = O_CREAT | O_WRONLY, .mode = 0644 };
            TRYFD("openat2-creat", (int)syscall(SYS_openat2, AT_FDCWD, P("%s/new-openat2", J), &how, sizeof how));
            struct open_how how2 = { .flags = O_RDWR };
            TRYFD("openat2-rdwr", (int)syscall(SYS_openat2, jfd, "SCOORD", &how2, sizeof how2));
            TRYFD("creat", creat(P("%s/new-creat", J), 0644));
            TRY("truncate", truncate(marker, 0));
            /* names */
            TRY("rename-out", rename(marker, P("%s/stolen", O)));
            TRY("rename-in", rename(victim, P("%s/planted", J)));
            TRY("rename-over", rename(victim, cur));
            TRY("renameat-dir", renameat(jfd, "db", AT_FDCWD, P("%s/db-stolen", O)));
            TRY("renameat2-noreplace", syscall(SYS_renameat2, AT_FDCWD, cur, AT_FDCWD, P("%s/cur2", O), RENAME_NOREPLACE));
            TRY("renameat2-exchange", syscall(SYS_renameat2, AT_FDCWD, victim, AT_FDCWD, marker, RENAME_EXCHANGE));
            TRY("link-out", link(marker, P("%s/marker-link", O)));
            TRY("link-in", link(victim, P("%s/victim-link", J)));
            TRY("linkat-in", linkat(AT_FDCWD, victim, jfd, "victim-linkat", 0));
            TRY("symlink", symlink("/etc/passwd", P("%s/sl", J)));
            TRY("symlinkat", symlinkat("/etc/passwd", jfd, "slat"));
            TRY("unlink", unlink(marker));
            TRY("unlinkat", unlinkat(jfd, "scoord.lock", 0));
            TRY("unlinkat-dir", unlinkat(jfd, "db", AT_REMOVEDIR));
            TRY("rmdir", rmdir(P("%s/db", J)));
            TRY("mkdir", mkdir(P("%s/newdir", J), 0755));
            TRY("mkdirat", mkdirat(jfd, "newdirat", 0755));
            TRY("mknod-fifo", mknod(P("%s/fifo", J), S_IFIFO | 0644, 0));
            TRY("mknodat-reg", mknodat(jfd, "regnod", S_IFREG | 0644, 0));
            /* metadata */
            TRY("chmod-dir", chmod(J, 0777));
            TRY("chmod-file", chmod(cur, 0666));
            TRY("fchmodat", fchmodat(jfd, "SCOORD", 0666, 0));
            TRY("fchmod-dirfd", fchmod(jfd, 0777));
            TRY("chown", chown(marker, 65534, 65534));
            TRY("lchown", lchown(J, 65534, 65534));
            TRY("fchownat", fchownat(jfd, "db", 65534, 65534, 0));
            TRY("fchown-dirfd", fchown(jfd, 65534, 65534));
            TRY("setxattr", setxattr(marker, "user.attack", "x", 1, 0));
            TRY("lsetxattr-dir", lsetxattr(J, "user.attack", "x", 1, 0));
            TRY("fsetxattr-dirfd", fsetxattr(jfd, "user.attack", "x", 1, 0));
            TRY("removexattr", removexattr(marker, "user.none"));
            TRY("utimensat", utimensat(AT_FDCWD, marker, NULL, 0));
            TRY("utimensat-dirfd", utimensat(jfd, "db", NULL, 0));
            TRY("futimens-dirfd", futimens(jfd, NULL));
            TRY("utimes", utimes(cur, NULL));
            TRY("utime", utime(J, NULL));
            /* bind of an AF_UNIX path */
            int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            struct sockaddr_un sa = { .sun_family = AF_UNIX };
            snprintf(sa.sun_path, sizeof sa.sun_path, "%s/attack.sock", J);
            TRY("bind-unix", bind(s, (struct sockaddr *)&sa, sizeof sa));
            close(s);
            /* through a symlink pointing into the journal */
            const char *lnk = strdup(P("%s/journal-link", O));
            if (symlink(J, lnk) != 0) { perror("symlink (setup)"); return 3; }
            TRYFD("symlink-open-creat", open(P("%s/new-via-link", lnk), O_CREAT | O_WRONLY, 0644));
            TRYFD("symlink-open-wronly", open(P("%s/SCOORD", lnk), O_WRONLY));
            TRY("symlink-unlink", unlink(P("%s/scoord.lock", lnk)));
            TRY("symlink-chmod", chmod(lnk, 0777)); /* follows the link: the journal directory itself */
            /* magic links */
            int opath = open(J, O_PATH | O_DIRECTORY);
            char m[64];
            snprintf(m, sizeof m, "/proc/self/fd/%d/new-via-fd", opath);
            TRYFD("procfd-dir-creat", open(m, O_CREAT | O_WRONLY, 0644));
            int fpath = open(marker, O_PATH);
            snprintf(m, sizeof m, "/proc/self/fd/%d", fpath);
            TRYFD("procfd-reopen-wronly", open(m, O_WRONLY));
            TRY("procfd-truncate", truncate(m, 0));
            snprintf(m, sizeof m, "/proc/thread-self/fd/%d", fpath);
            TRYFD("proc-thread-self-reopen", open(m, O_RDWR));
            if (chdir(J) != 0) { perror("chdir"); return 3; }
            TRYFD("cwd-relative-creat", open("new-relative", O_CREAT | O_WRONLY, 0644));
            TRYFD("proc-cwd-creat", open("/proc/self/cwd/new-via-cwd", O_CREAT | O_WRONLY, 0644));
            TRY("proc-cwd-unlink", unlink("/proc/self/cwd/SCOORD"));
            TRY("cwd-rename-dot", rename(".", P("%s/cwd-stolen", O)));
            if (chdir("/") != 0) { perror("chdir /"); return 3; }
            /* a hard link made before the run */
            if (strcmp(H, "-") != 0) {
                TRYFD("hardlink-open-append", open(H, O_WRONLY | O_APPEND));
                TRY("hardlink-truncate", truncate(H, 0));
                TRY("hardlink-chmod", chmod(H, 0666));
                TRY("hardlink-utimensat", utimensat(AT_FDCWD, H, NULL, 0));
                TRY("hardlink-setxattr", setxattr(H, "user.attack", "x", 1, 0));
            }
            /* renaming or removing a parent of the journal */
            char parent[4096];
            snprintf(parent, sizeof parent, "%s", J);
            *strrchr(parent, '/') = 0;
            TRY("rename-parent", rename(parent, P("%s-moved", parent)));
            TRY("renameat2-parent-exchange", syscall(SYS_renameat2, AT_FDCWD, parent, AT_FDCWD, O, RENAME_EXCHANGE));
            TRY("rmdir-parent", rmdir(parent));
            printf("done\n");
            return 0;
        }
        """;
}
