/*
 * libscoord-fast.so: scoord's in-process fast path (docs/architecture.md, "The fast path").
 *
 * scoord preloads this library into every dynamically linked process of the traced tree. It
 * interposes the common file-mutating libc functions and journals them itself: it decodes the call
 * (paths, object, identity), decides what scoord would decide (journaled, passed, refused), captures
 * the undo data the ptrace path would capture, writes the INTENT with that data into this thread's
 * ring in the shared ring file (scoord-ring.h), makes the syscall from the stub page the seccomp
 * filter allows by address, and writes the DONE record (result and post-states) after it. The
 * coordinator drains the rings into the journal. Everything this library does not handle exactly,
 * it hands to the ptrace path: it makes the syscall from its own code, which the filter stops, and
 * the tracer does what it always did. So nothing escapes the journal and nothing is journaled twice.
 *
 * Rules of the hot path: no malloc, no stdio, no locks; every syscall is raw (the stub page for the
 * untraced ones, an inline `syscall` for the traced ones); errno comes from the raw return; a
 * per-thread busy flag in the thread's slot sends nested calls (signal handlers) the ptrace way.
 *
 * Ordering (docs/architecture.md): a call claims the objects it touches in the shared claim table
 * before it captures; a conflicting call goes the ptrace way, where the tracer parks it. A call
 * captures, then takes its sequence number, publishes its INTENT, and only then marks the epoch
 * table: so the capture with the lowest sequence number of an object is always its state at the
 * start of the epoch.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "scoord-ring.h"

#define EXPORT __attribute__((visibility("default")))
#define HIDDEN __attribute__((visibility("hidden")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Op codes (interceptors/Scoord.Interceptors/Syscalls/OpCode.cs). */
enum {
    OP_OPENAT = 17, OP_CREAT = 19, OP_MKDIR = 20, OP_MKDIRAT = 21, OP_LINK = 25, OP_LINKAT = 26, OP_SYMLINK = 27,
    OP_SYMLINKAT = 28, OP_WRITE = 40, OP_PWRITE64 = 41, OP_WRITEV = 42, OP_PWRITEV = 43,
    OP_COPY_FILE_RANGE = 45, OP_TRUNCATE = 48, OP_FTRUNCATE = 49, OP_IOCTL = 51, OP_UNLINK = 64,
    OP_UNLINKAT = 65, OP_RMDIR = 66, OP_RENAME = 67, OP_RENAMEAT = 68, OP_RENAMEAT2 = 69,
    OP_CHMOD = 80, OP_FCHMOD = 81, OP_FCHMODAT = 82, OP_FCHMODAT2 = 83, OP_CHOWN = 84, OP_FCHOWN = 85, OP_LCHOWN = 86,
    OP_FCHOWNAT = 87, OP_UTIMENSAT = 90, OP_SETXATTR = 92, OP_LSETXATTR = 93, OP_FSETXATTR = 94,
    OP_REMOVEXATTR = 95, OP_LREMOVEXATTR = 96, OP_FREMOVEXATTR = 97,
};

/* Object kinds (Decoding/ObjectKind.cs). */
enum { K_UNKNOWN = 0, K_ABSENT = 1, K_REGULAR = 2, K_DIRECTORY = 3, K_SYMLINK = 4, K_FIFO = 5, K_SOCKET = 6, K_CHR = 7, K_BLK = 8 };

/* Undo kinds, roles and flags (journal/Scoord.Journal/Undo/UndoItem.cs). */
enum { U_STATE = 1, U_BLOCKS = 2, U_CONTENT = 3, U_POST = 4 };
enum { R_OBJECT = 0, R_PARENT = 1, R_TARGET = 2, R_SECOND = 3 };
enum { UF_EXISTED = 1, UF_HOLE = 2, UF_CONTENT = 4 };

/* Intent flags (journal/Scoord.Journal/Model/OpRecords.cs). */
#define IF_DELETED 16

#define BLOCK 4096
#define PATH_BUF 4096
#define SCRATCH_SIZE (32u * 1024u)
/* The most a DONE record takes: its header, two post-states with their display paths, the alignments. */
#define DONE_ROOM ((uint32_t)(sizeof(struct fp_rec) + sizeof(struct fp_done) + 2u * (sizeof(struct fp_item) + PATH_BUF + 8u) + 64u))
#define FICLONE_REQ 0x40049409u
#define FICLONERANGE_REQ 0x4020940du
#define RWF_DSYNC_ 0x2
#define RWF_SYNC_ 0x4

/* The verdicts of a decode. */
enum { V_JOURNAL = 0, V_PASS = 1, V_PTRACE = 2 };

/* ---------------------------------------------------------------------------------------------- */
/* Raw syscalls                                                                                     */
/* ---------------------------------------------------------------------------------------------- */

/* Through the stub page: the filter lets it pass without a stop. Built with -mno-red-zone (the call
 * pushes a return address below the stack pointer). */
static inline long fp_sys6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    long ret;
    __asm__ volatile("call *%[stub]"
                     : "=a"(ret)
                     : "0"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9), [stub] "r"(FP_STUB_ADDR)
                     : "rcx", "r11", "memory");
    return ret;
}

/* From this library's own code: the filter stops what it always stopped (the ptrace way). */
static inline long fp_traced6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "0"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

#define S0(n) fp_sys6((n), 0, 0, 0, 0, 0, 0)
#define S1(n, a) fp_sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define S2(n, a, b) fp_sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define S3(n, a, b, c) fp_sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define S4(n, a, b, c, d) fp_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define S5(n, a, b, c, d, e) fp_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* glibc declares some pointer arguments nonnull; callers pass NULL anyway (utimensat(fd, NULL, ...)):
 * hide the pointer from the optimizer before comparing it. */
static inline const void *launder(const void *p)
{
    __asm__("" : "+r"(p));
    return p;
}

static long set_errno(long r)
{
    if (r < 0 && r > -4096) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

/* ---------------------------------------------------------------------------------------------- */
/* Small helpers (no libc calls that could be interposed)                                           */
/* ---------------------------------------------------------------------------------------------- */

static size_t fp_strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n] != 0)
        n++;
    return n;
}

static void fp_memcpy(void *d, const void *s, size_t n)
{
    __builtin_memcpy(d, s, n);
}

static int fp_memeq(const void *a, const void *b, size_t n)
{
    return __builtin_memcmp(a, b, n) == 0;
}

static int starts_with(const char *s, size_t n, const char *prefix)
{
    size_t p = fp_strnlen(prefix, 64);
    return n >= p && fp_memeq(s, prefix, p);
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t p = fp_strnlen(suffix, 64);
    return n >= p && fp_memeq(s + n - p, suffix, p);
}

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static int fmt_int(char *d, long v)
{
    char tmp[24];
    int i = 0, n = 0;
    if (v < 0) {
        d[n++] = '-';
        v = -v;
    }
    do {
        tmp[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (i > 0)
        d[n++] = tmp[--i];
    d[n] = 0;
    return n;
}

/* "/proc/self/fd/N", NUL-terminated; returns the length. */
static int proc_fd_path(char *d, int fd)
{
    static const char prefix[] = "/proc/self/fd/";
    fp_memcpy(d, prefix, sizeof prefix - 1);
    return (int)(sizeof prefix - 1) + fmt_int(d + sizeof prefix - 1, fd);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* the vDSO: no syscall */
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t ns_of(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static int kind_of(mode_t m)
{
    switch (m & S_IFMT) {
    case S_IFREG: return K_REGULAR;
    case S_IFDIR: return K_DIRECTORY;
    case S_IFLNK: return K_SYMLINK;
    case S_IFIFO: return K_FIFO;
    case S_IFSOCK: return K_SOCKET;
    case S_IFCHR: return K_CHR;
    case S_IFBLK: return K_BLK;
    default: return K_UNKNOWN;
    }
}

/* Lexical join of an absolute base and a path (PathNormalizer.Join): "//", "." and ".." collapsed,
 * no trailing "/". Returns the length or -1. */
static int append_components(const char *src, size_t len, char *dest, int n, int cap)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && src[i] == '/')
            i++;
        size_t start = i;
        while (i < len && src[i] != '/')
            i++;
        size_t c = i - start;
        if (c == 0 || (c == 1 && src[start] == '.'))
            continue;
        if (c == 2 && src[start] == '.' && src[start + 1] == '.') {
            int slash = n - 1;
            while (slash >= 0 && dest[slash] != '/')
                slash--;
            n = slash < 0 ? 0 : slash;
            continue;
        }
        if (n + 1 + (int)c > cap)
            return -1;
        dest[n++] = '/';
        fp_memcpy(dest + n, src + start, c);
        n += (int)c;
    }
    return n;
}

static int join_path(const char *base, int base_len, const char *path, size_t path_len, char *dest, int cap)
{
    int n = 0;
    if (path_len == 0 || path[0] != '/') {
        n = append_components(base, (size_t)base_len, dest, 0, cap);
        if (n < 0)
            return -1;
    }
    n = append_components(path, path_len, dest, n, cap);
    if (n < 0)
        return -1;
    if (n == 0) {
        dest[0] = '/';
        n = 1;
    }
    return n;
}

static int parent_length(const char *p, int n)
{
    int slash = n - 1;
    while (slash >= 0 && p[slash] != '/')
        slash--;
    return slash <= 0 ? 1 : slash;
}

static int is_under(const char *path, int n, const char *prefix, int pn)
{
    if (pn == 1 && prefix[0] == '/')
        return 1;
    return n >= pn && fp_memeq(path, prefix, (size_t)pn) && (n == pn || path[pn] == '/');
}

/* ---------------------------------------------------------------------------------------------- */
/* The ring file                                                                                    */
/* ---------------------------------------------------------------------------------------------- */

static char *g_base;                 /* the mapped ring file */
static struct fp_header *H;
static int g_ready;                  /* the ring is mapped and the stub page is ours */
static __thread struct fp_slot *t_slot __attribute__((tls_model("initial-exec")));

/* The policy, parsed once from the policy region (pointers into the mapping, read-only). */
struct id_list {
    uint64_t n;
    const uint64_t *pairs; /* dev, ino, dev, ino, ... */
};
struct str_list {
    uint64_t n;
    const char *items[64];
    int lens[64];
};
static const char *g_journal;
static int g_journal_len;
static struct id_list g_protected, g_ancestors, g_unjournaled;
static struct str_list g_only, g_exclude;

static struct fp_slot *slot_at(uint32_t i)
{
    return (struct fp_slot *)(g_base + FP_SLOT_OFFSET + (uint64_t)i * FP_SLOT_SIZE);
}

static uint32_t *claim_at(uint32_t i)
{
    return (uint32_t *)(g_base + FP_CLAIM_OFFSET) + i;
}

static struct fp_proc *proc_at(uint32_t i)
{
    return (struct fp_proc *)(g_base + FP_PROC_OFFSET) + i;
}

static struct fp_epoch_entry *epoch_at(uint32_t i)
{
    return (struct fp_epoch_entry *)(g_base + FP_EPOCH_OFFSET) + i;
}

static int id_in(const struct id_list *l, uint64_t dev, uint64_t ino)
{
    for (uint64_t i = 0; i < l->n; i++)
        if (l->pairs[2 * i] == dev && l->pairs[2 * i + 1] == ino)
            return 1;
    return 0;
}

static int in_journal(const char *p, int n)
{
    return g_journal_len > 0 && is_under(p, n, g_journal, g_journal_len);
}

/* --only / --exclude (DecodePolicy.InScope). */
static int in_scope(const char *p, int n)
{
    if (g_only.n > 0) {
        int inside = 0;
        for (uint64_t i = 0; i < g_only.n && !inside; i++)
            inside = is_under(p, n, g_only.items[i], g_only.lens[i]);
        if (!inside)
            return 0;
    }
    for (uint64_t i = 0; i < g_exclude.n; i++)
        if (is_under(p, n, g_exclude.items[i], g_exclude.lens[i]))
            return 0;
    return 1;
}

static int parse_ids(const char **at, const char *end, struct id_list *l)
{
    if (*at + 8 > end)
        return -1;
    fp_memcpy(&l->n, *at, 8);
    *at += 8;
    if (l->n > (uint64_t)(end - *at) / 16)
        return -1;
    l->pairs = (const uint64_t *)*at;
    *at += l->n * 16;
    return 0;
}

static int parse_strs(const char **at, const char *end, struct str_list *l)
{
    if (*at + 8 > end)
        return -1;
    fp_memcpy(&l->n, *at, 8);
    *at += 8;
    if (l->n > 64)
        return -1;
    for (uint64_t i = 0; i < l->n; i++) {
        uint64_t len;
        if (*at + 8 > end)
            return -1;
        fp_memcpy(&len, *at, 8);
        *at += 8;
        if (len > PATH_BUF || *at + len > end)
            return -1;
        l->items[i] = *at;
        l->lens[i] = (int)len;
        *at += (len + 7) & ~7ULL;
    }
    return 0;
}

/* The policy region: u64 len + journal path (8-aligned), then identity lists (protected, journal
 * ancestors, unjournaled) as u64 count + (dev, ino) pairs, then --only and --exclude as u64 count +
 * (u64 len + bytes, 8-aligned). */
static int parse_policy(void)
{
    const char *at = g_base + FP_POLICY_OFFSET;
    const char *end = at + (H->policy_len <= FP_POLICY_SIZE ? H->policy_len : FP_POLICY_SIZE);
    uint64_t len;
    if (at + 8 > end)
        return -1;
    fp_memcpy(&len, at, 8);
    at += 8;
    if (len > PATH_BUF || at + len > end)
        return -1;
    g_journal = at;
    g_journal_len = (int)len;
    at += (len + 7) & ~7ULL;
    if (parse_ids(&at, end, &g_protected) || parse_ids(&at, end, &g_ancestors) || parse_ids(&at, end, &g_unjournaled))
        return -1;
    if (parse_strs(&at, end, &g_only) || parse_strs(&at, end, &g_exclude))
        return -1;
    return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Per-process caches (validated before every use: they only save syscalls)                        */
/* ---------------------------------------------------------------------------------------------- */

/* Pseudo file systems by device (ObjectClassifier). Benign races: a verdict is written before its dev. */
#define FS_CACHE 64
static uint64_t g_fs_dev[FS_CACHE];
static uint8_t g_fs_pseudo[FS_CACHE];

static int is_pseudo_type(long t)
{
    static const long types[] = {
        0x9fa0, 0x62656572, 0x1cd1, 0x27e0eb, 0x63677270, 0x64626720, 0x74726163, 0x73636673,
        (long)0xcafe4a11, 0x6165676C, (long)0xde5e81e4, 0x62656570, 0x65735543, 0x19800202,
        (long)0xf97cff8c, 0x42494e4d, 0x6e736673, 0x50495045, 0x534F434B, 0x09041934, 0x0187,
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i] == t)
            return 1;
    return 0;
}

/* -1 when it cannot be told (the caller goes the ptrace way). */
static int pseudo_fs(uint64_t dev, int dirfd, const char *path, int fd)
{
    uint32_t h = (uint32_t)(mix64(dev) % FS_CACHE);
    if (__atomic_load_n(&g_fs_dev[h], __ATOMIC_ACQUIRE) == dev + 1)
        return g_fs_pseudo[h];
    struct statfs64_raw {
        long f_type;
        long rest[15];
    } sfs;
    long r;
    if (fd >= 0) {
        r = S2(SYS_fstatfs, fd, &sfs);
    } else {
        /* statfs has no *at form: open the object O_PATH and ask through the fd. */
        int o = (int)S4(SYS_openat, dirfd, path, O_PATH | O_CLOEXEC | O_NOFOLLOW, 0);
        if (o < 0)
            return -1;
        r = S2(SYS_fstatfs, o, &sfs);
        S1(SYS_close, o);
    }
    if (r != 0)
        return -1;
    int pseudo = is_pseudo_type(sfs.f_type);
    g_fs_pseudo[h] = (uint8_t)pseudo;
    __atomic_store_n(&g_fs_dev[h], dev + 1, __ATOMIC_RELEASE);
    return pseudo;
}

/* Paths by fd (for fd operations, and for dirfds): valid while the fd has the same identity and no
 * journaled name change happened since (names_gen). A seqlock with try-acquire: a writer that finds
 * it busy simply does not cache. */
#define FD_CACHE 1024
#define FD_PATH 496
struct fd_entry {
    uint32_t seq;
    uint32_t len;
    uint64_t dev, ino, gen;
    char path[FD_PATH];
};
static struct fd_entry g_fd_cache[FD_CACHE];
static struct fd_entry g_cwd_cache;

static int cache_get(struct fd_entry *e, uint64_t dev, uint64_t ino, char *dest, int cap)
{
    uint32_t s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
    if (s1 & 1)
        return -1;
    uint64_t gen = __atomic_load_n(&H->names_gen, __ATOMIC_ACQUIRE);
    if (e->dev != dev || e->ino != ino || e->gen != gen || e->len == 0 || (int)e->len > cap)
        return -1;
    int n = (int)e->len;
    fp_memcpy(dest, e->path, (size_t)n);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&e->seq, __ATOMIC_RELAXED) != s1)
        return -1;
    return n;
}

static void cache_put(struct fd_entry *e, uint64_t dev, uint64_t ino, uint64_t gen, const char *p, int n)
{
    if (n <= 0 || n > FD_PATH)
        return;
    uint32_t s = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
    if ((s & 1) || !__atomic_compare_exchange_n(&e->seq, &s, s + 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    e->dev = dev;
    e->ino = ino;
    e->gen = gen;
    e->len = (uint32_t)n;
    fp_memcpy(e->path, p, (size_t)n);
    __atomic_store_n(&e->seq, s + 2, __ATOMIC_RELEASE);
}

/* The kernel's name of an fd (readlink /proc/self/fd/N), through the cache. -1 when unreadable. */
static int fd_path(int fd, const struct stat *st, char *dest, int cap)
{
    struct fd_entry *e = fd >= 0 && fd < FD_CACHE ? &g_fd_cache[fd] : NULL;
    int n;
    if (e && (n = cache_get(e, st->st_dev, st->st_ino, dest, cap)) > 0)
        return n;
    uint64_t gen = __atomic_load_n(&H->names_gen, __ATOMIC_ACQUIRE);
    char proc[40];
    proc_fd_path(proc, fd);
    long r = S4(SYS_readlinkat, AT_FDCWD, proc, dest, cap);
    if (r < 0 || r >= cap)
        return -1;
    /* Never a removed file's name: its inode is freed with its last fd, and a file made next may get the
     * same fd number and the same inode number with no name change in between (seen: a write to a new
     * file journaled under the removed name, which rollback then found by identity outside the tree). */
    if (e && !ends_with(dest, (size_t)r, " (deleted)"))
        cache_put(e, st->st_dev, st->st_ino, gen, dest, (int)r);
    return (int)r;
}

/* The directory a relative path starts from: the cwd or a dirfd. -1 when it has no usable name. */
static int base_path(int dirfd, char *dest, int cap)
{
    struct stat st;
    long r = dirfd == AT_FDCWD ? S4(SYS_newfstatat, AT_FDCWD, ".", &st, 0) : S2(SYS_fstat, dirfd, &st);
    if (r != 0)
        return -1;
    int n;
    if (dirfd == AT_FDCWD) {
        if ((n = cache_get(&g_cwd_cache, st.st_dev, st.st_ino, dest, cap)) > 0)
            return n;
        uint64_t gen = __atomic_load_n(&H->names_gen, __ATOMIC_ACQUIRE);
        r = S4(SYS_readlinkat, AT_FDCWD, "/proc/self/cwd", dest, cap);
        if (r <= 0 || r >= cap)
            return -1;
        n = (int)r;
        if (dest[0] != '/' || ends_with(dest, (size_t)n, " (deleted)"))
            return -1;
        cache_put(&g_cwd_cache, st.st_dev, st.st_ino, gen, dest, n);
        return n;
    }
    n = fd_path(dirfd, &st, dest, cap);
    if (n <= 0 || dest[0] != '/' || ends_with(dest, (size_t)n, " (deleted)"))
        return -1;
    return n;
}

/* ---------------------------------------------------------------------------------------------- */
/* Slots and the per-thread state                                                                   */
/* ---------------------------------------------------------------------------------------------- */

static struct fp_proc *proc_entry(uint32_t tgid)
{
    uint32_t h = (uint32_t)(mix64(tgid) % FP_PROC_COUNT);
    for (uint32_t i = 0; i < 64; i++) {
        struct fp_proc *p = proc_at((h + i) % FP_PROC_COUNT);
        uint32_t cur = __atomic_load_n(&p->tgid, __ATOMIC_ACQUIRE);
        if (cur == tgid)
            return p;
        if (cur == 0) {
            uint32_t zero = 0;
            if (__atomic_compare_exchange_n(&p->tgid, &zero, tgid, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) || zero == tgid)
                return p;
        }
    }
    return NULL;
}

static struct fp_slot *claim_slot(uint32_t tid)
{
    uint32_t hwm = __atomic_load_n(&H->slot_hwm, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < hwm && i < FP_SLOT_COUNT; i++) {
        struct fp_slot *s = slot_at(i);
        if (__atomic_load_n(&s->owner, __ATOMIC_ACQUIRE) == tid && !(__atomic_load_n(&s->flags, __ATOMIC_ACQUIRE) & FP_S_DEAD))
            return s; /* this thread's slot (after an exec, or the TLS pointer was lost) */
    }
    uint32_t tgid = (uint32_t)S0(SYS_getpid);
    struct fp_proc *p = proc_entry(tgid);
    if (!p)
        return NULL;
    for (uint32_t i = 0; i < FP_SLOT_COUNT; i++) {
        struct fp_slot *s = slot_at(i);
        uint32_t zero = 0;
        if (__atomic_load_n(&s->owner, __ATOMIC_RELAXED) != 0 ||
            !__atomic_compare_exchange_n(&s->owner, &zero, tid, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            continue;
        if (!(__atomic_load_n(&s->flags, __ATOMIC_ACQUIRE) & FP_S_READY)) {
            /* First use of this slot: allocate its pages now, where a full file system is an error and
             * not a SIGBUS at the first record. */
            uintptr_t from = (uintptr_t)s & ~(uintptr_t)4095, to = ((uintptr_t)s + FP_SLOT_SIZE + 4095) & ~(uintptr_t)4095;
            if (S3(SYS_madvise, from, to - from, 23 /* MADV_POPULATE_WRITE */) != 0) {
                __atomic_store_n(&s->owner, 0, __ATOMIC_RELEASE);
                return NULL;
            }
        }
        s->tgid = tgid;
        s->state = FP_STATE_IDLE;
        s->call_seq = 0;
        s->nclaims = 0;
        s->dev_index = 0;
        s->dev_mark = 0;
        s->post_seq = 0;
        s->post_epoch = 0;
        s->proc_index = (uint32_t)(p - proc_at(0)) + 1;
        __atomic_store_n(&s->busy, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&s->flags, FP_S_READY, __ATOMIC_RELEASE);
        uint32_t want = i + 1, cur = __atomic_load_n(&H->slot_hwm, __ATOMIC_RELAXED);
        while (cur < want && !__atomic_compare_exchange_n(&H->slot_hwm, &cur, want, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            ;
        return s;
    }
    return NULL;
}

static uint32_t proc_flags(const struct fp_slot *s)
{
    return s->proc_index ? __atomic_load_n(&proc_at(s->proc_index - 1)->flags, __ATOMIC_ACQUIRE) : FP_P_OFF;
}

/*
 * The calling thread's id without a syscall per call: cached per thread, and valid while the process's
 * fork mark (a MADV_WIPEONFORK page, zeros again in a fork child whatever made the fork) is the one it
 * was cached with. A vfork child runs on its parent's thread-local storage: while this library's vfork
 * is in a child, scoord_vfork is raised and the id is asked every time.
 */
static volatile uint64_t *g_forkmark;
HIDDEN __thread int scoord_vfork __attribute__((tls_model("initial-exec")));
static __thread uint32_t t_tid __attribute__((tls_model("initial-exec")));
static __thread uint64_t t_mark __attribute__((tls_model("initial-exec")));

static uint32_t current_tid(void)
{
    uint64_t mark = g_forkmark ? *g_forkmark : 0;
    if (LIKELY(mark != 0 && mark == t_mark && !scoord_vfork))
        return t_tid;
    uint32_t tid = (uint32_t)S0(SYS_gettid);
    if (scoord_vfork || g_forkmark == NULL)
        return tid;
    if (mark == 0) {
        mark = ((uint64_t)tid << 1) | 1; /* the first call of the process, or of a fork child */
        *g_forkmark = mark;
    }
    t_tid = tid;
    t_mark = mark;
    return tid;
}

/* vfork as the kernel's, with scoord_vfork raised in the child (it shares the caller's stack and
 * thread-local storage until it execs or exits: the return address may not stay on the stack). */
HIDDEN long scoord_vfork_failed(long err);
__asm__(".text\n"
        ".globl vfork\n"
        ".type vfork,@function\n"
        "vfork:\n"
        "    pop %rdi\n"
        "    movq scoord_vfork@gottpoff(%rip), %rsi\n"
        "    addl $1, %fs:(%rsi)\n"
        "    mov $58, %eax\n"
        "    syscall\n"
        "    push %rdi\n"
        "    test %rax, %rax\n"
        "    jz 1f\n"
        "    movq scoord_vfork@gottpoff(%rip), %rsi\n"
        "    subl $1, %fs:(%rsi)\n"
        "    cmp $-4095, %rax\n"
        "    jae 2f\n"
        "1:  ret\n"
        "2:  mov %rax, %rdi\n"
        "    jmp scoord_vfork_failed\n"
        ".size vfork, .-vfork\n");

HIDDEN long scoord_vfork_failed(long err)
{
    errno = (int)-err;
    return -1;
}

/* The calling thread's slot with its busy flag taken, or NULL: the call goes the ptrace way. */
static struct fp_slot *enter(void)
{
    if (!g_ready || (__atomic_load_n(&H->flags, __ATOMIC_ACQUIRE) & (FP_F_OFF | FP_F_BARRIER)))
        return NULL;
    uint32_t tid = current_tid();
    struct fp_slot *s = t_slot;
    if (!s || __atomic_load_n(&s->owner, __ATOMIC_ACQUIRE) != tid || (__atomic_load_n(&s->flags, __ATOMIC_ACQUIRE) & FP_S_DEAD)) {
        s = claim_slot(tid);
        if (!s)
            return NULL;
        t_slot = s;
    }
    if (__atomic_exchange_n(&s->busy, 1, __ATOMIC_ACQUIRE) != 0)
        return NULL; /* nested: a signal handler interrupted a hook */
    if (proc_flags(s) & FP_P_OFF) {
        __atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
        return NULL;
    }
    return s;
}

static void leave(struct fp_slot *s)
{
    __atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
    if (UNLIKELY(__atomic_load_n(&H->flags, __ATOMIC_ACQUIRE) & FP_F_BARRIER))
        fp_traced6(SYS_seccomp, FP_NOTIFY_OP, 0, 0, 0, 0, 0); /* let the barrier hold us here, between calls */
}

/* ---------------------------------------------------------------------------------------------- */
/* Claims (ordering between operations in flight)                                                  */
/* ---------------------------------------------------------------------------------------------- */

static uint32_t claim_index(uint64_t dev, uint64_t ino)
{
    return (uint32_t)(mix64(dev * 0x9e3779b97f4a7c15ULL ^ ino) % FP_CLAIM_COUNT);
}

/* Claims (dev, ino) for this thread's call; 0 on success (or already ours), -1 on a conflict. */
static int claim(struct fp_slot *s, uint32_t tid, uint64_t dev, uint64_t ino)
{
    uint32_t i = claim_index(dev, ino);
    for (uint32_t k = 0; k < s->nclaims; k++)
        if (s->claims[k] == i)
            return 0;
    if (s->nclaims >= 8)
        return -1;
    /* Recorded first, so that the tracer can release it if this thread dies right after the CAS. */
    s->claims[s->nclaims] = i;
    __atomic_store_n(&s->nclaims, s->nclaims + 1, __ATOMIC_RELEASE);
    uint32_t zero = 0;
    if (__atomic_compare_exchange_n(claim_at(i), &zero, tid, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return 0;
    __atomic_store_n(&s->nclaims, s->nclaims - 1, __ATOMIC_RELEASE);
    return -1;
}

static int claim_free(uint64_t dev, uint64_t ino)
{
    return __atomic_load_n(claim_at(claim_index(dev, ino)), __ATOMIC_SEQ_CST) == 0;
}

static void release_claims(struct fp_slot *s, uint32_t tid)
{
    for (uint32_t k = 0; k < s->nclaims; k++) {
        uint32_t mine = tid;
        __atomic_compare_exchange_n(claim_at(s->claims[k]), &mine, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&s->nclaims, 0, __ATOMIC_RELEASE);
}

/* Pseudo inode numbers for "an inode may be allocated / freed on this device" (InFlightOps). */
#define KEY_ALLOC 0xffffffffffffffffULL
#define KEY_FREE 0xfffffffffffffffeULL
/* Device 0 (InFlightOps): "an op that can make a path appear is in flight" (rename, mkdir, symlink) and
 * "an op whose path did not resolve is": never both at once, or the first could make the second's path
 * appear between its decode and its syscall, which would then change a file without undo data. */
#define KEY_PATH_MAKER 0xfffffffffffffffdULL
#define KEY_UNRESOLVED 0xfffffffffffffffcULL

/* ---------------------------------------------------------------------------------------------- */
/* The epoch table: what was captured in the current undo epoch (EpochTracker)                     */
/* ---------------------------------------------------------------------------------------------- */

static uint32_t g_epoch; /* the epoch the current call captured in (per call; set by begin_capture) */

static struct fp_epoch_entry *epoch_lookup(uint64_t dev, uint64_t ino, uint32_t group, uint32_t stamp, int create)
{
    uint32_t h = (uint32_t)(mix64(dev ^ (ino * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)group << 40)) % FP_EPOCH_COUNT);
    for (uint32_t k = 0; k < FP_EPOCH_PROBE; k++) {
        struct fp_epoch_entry *e = epoch_at((h + k) % FP_EPOCH_COUNT);
        uint64_t eino = __atomic_load_n(&e->ino, __ATOMIC_ACQUIRE);
        if (eino == 0) {
            if (!create)
                return NULL;
            uint64_t zero = 0;
            if (!__atomic_compare_exchange_n(&e->ino, &zero, ino, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                continue; /* taken meanwhile: look at it again on the next probe round */
            __atomic_store_n(&e->epoch, FP_EPOCH_BUSY, __ATOMIC_RELAXED);
            e->dev = dev;
            e->group = group;
            __atomic_store_n(&e->bits, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&e->epoch, stamp, __ATOMIC_RELEASE);
            return e;
        }
        if (eino != ino || e->dev != dev || e->group != group)
            continue;
        uint32_t es = __atomic_load_n(&e->epoch, __ATOMIC_ACQUIRE);
        if (es == stamp)
            return e;
        if (!create || es == FP_EPOCH_BUSY)
            return NULL;
        /* A stale entry of this key: reset it for the current stamp (bits cleared before it is valid). */
        if (__atomic_compare_exchange_n(&e->epoch, &es, FP_EPOCH_BUSY, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            __atomic_store_n(&e->bits, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&e->epoch, stamp, __ATOMIC_RELEASE);
            return e;
        }
        return NULL;
    }
    return NULL;
}

/* Object entries carry their incarnation in bits 32-63: a forgotten identity (its inode number may be
 * reused) gets a new one, and block entries of an older incarnation stop counting. */
static uint64_t object_bits(uint64_t dev, uint64_t ino)
{
    struct fp_epoch_entry *e = epoch_lookup(dev, ino, FP_GROUP_OBJECT, g_epoch, 0);
    return e ? __atomic_load_n(&e->bits, __ATOMIC_ACQUIRE) : 0;
}

static uint32_t block_stamp(uint64_t dev, uint64_t ino)
{
    return (g_epoch << 12) | (uint32_t)((object_bits(dev, ino) >> 32) & 0xfff);
}

static int is_touched(uint64_t dev, uint64_t ino) { return (object_bits(dev, ino) & FP_E_TOUCHED) != 0; }
static int is_born(uint64_t dev, uint64_t ino) { return (object_bits(dev, ino) & FP_E_BORN) != 0; }

static void mark_object(uint64_t dev, uint64_t ino, uint64_t flags)
{
    struct fp_epoch_entry *e = epoch_lookup(dev, ino, FP_GROUP_OBJECT, g_epoch, 1);
    if (e)
        __atomic_fetch_or(&e->bits, flags, __ATOMIC_ACQ_REL);
}

static void forget_object(uint64_t dev, uint64_t ino)
{
    struct fp_epoch_entry *e = epoch_lookup(dev, ino, FP_GROUP_OBJECT, g_epoch, 1);
    if (!e)
        return;
    uint64_t old = __atomic_load_n(&e->bits, __ATOMIC_ACQUIRE);
    __atomic_store_n(&e->bits, ((old >> 32) + 1) << 32, __ATOMIC_RELEASE);
}

static int block_marked(uint64_t dev, uint64_t ino, uint32_t stamp, int64_t b)
{
    struct fp_epoch_entry *e = epoch_lookup(dev, ino, (uint32_t)(b / 64), stamp, 0);
    return e && (__atomic_load_n(&e->bits, __ATOMIC_ACQUIRE) & (1ULL << (b % 64))) != 0;
}

static void mark_blocks(uint64_t dev, uint64_t ino, int64_t first, int64_t last)
{
    uint32_t stamp = block_stamp(dev, ino);
    for (int64_t g = first / 64; g <= last / 64; g++) {
        struct fp_epoch_entry *e = epoch_lookup(dev, ino, (uint32_t)g, stamp, 1);
        if (!e)
            continue;
        uint64_t bits = 0;
        for (int64_t b = g * 64; b < g * 64 + 64; b++)
            if (b >= first && b <= last)
                bits |= 1ULL << (b % 64);
        __atomic_fetch_or(&e->bits, bits, __ATOMIC_ACQ_REL);
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* Fault points (SCOORD_FAULT=NAME[@N], as scoord's own): the N-th call to reach the point kills its  */
/* process with SIGKILL. hook-after-intent: the INTENT is published, the syscall not made;            */
/* hook-after-syscall: the syscall made, the DONE not published.                                      */
/* ---------------------------------------------------------------------------------------------- */

enum { FAULT_NONE = 0, FAULT_AFTER_INTENT = 1, FAULT_AFTER_SYSCALL = 2 };
static int g_fault;
static long g_fault_countdown;

static void fault(int point)
{
    if (UNLIKELY(g_fault == point) && __atomic_sub_fetch(&g_fault_countdown, 1, __ATOMIC_SEQ_CST) == 0)
        fp_sys6(SYS_kill, fp_sys6(SYS_getpid, 0, 0, 0, 0, 0, 0), 9 /* SIGKILL */, 0, 0, 0, 0);
}

static void parse_fault(void)
{
    const char *f = getenv("SCOORD_FAULT");
    if (f == NULL)
        return;
    size_t n = fp_strnlen(f, 64);
    size_t name = 0;
    while (name < n && f[name] != '@')
        name++;
    long count = 1;
    if (name < n) {
        count = 0;
        for (size_t i = name + 1; i < n && f[i] >= '0' && f[i] <= '9'; i++)
            count = count * 10 + (f[i] - '0');
    }
    if (name == 17 && fp_memeq(f, "hook-after-intent", 17))
        g_fault = FAULT_AFTER_INTENT;
    else if (name == 18 && fp_memeq(f, "hook-after-syscall", 18))
        g_fault = FAULT_AFTER_SYSCALL;
    g_fault_countdown = count > 0 ? count : 1;
}

/* ---------------------------------------------------------------------------------------------- */
/* Record building                                                                                  */
/* ---------------------------------------------------------------------------------------------- */

/* What to mark in the epoch table once the INTENT is published. */
struct mark {
    uint8_t what; /* 1 touched, 2 blocks, 3 forget */
    uint64_t dev, ino;
    int64_t first, last;
};

struct scratch;

struct rec {
    struct fp_slot *slot;
    char *ring;        /* the slot's ring memory */
    uint64_t at;       /* where this record starts (head position) */
    char *p;           /* the record */
    uint32_t len;      /* bytes used in the record */
    uint32_t cap;      /* contiguous bytes the record may use */
    uint8_t nitems;
    struct mark marks[16];
    int nmarks;
    int overflow;
    struct scratch *sc; /* decode buffers: the end of the reservation (never published) */
};

#define REC_ALIGN(n) (((n) + 15u) & ~15u)

/* Reserves FP_MAX_RECORD contiguous bytes at the ring's head (wrapping with a WRAP record when the
 * end is too near). -1 when the ring has no room: the drain is behind, the call goes the ptrace way. */
static int reserve(struct fp_slot *s, struct rec *r)
{
    uint64_t head = s->head;
    uint64_t tail = __atomic_load_n(&s->tail, __ATOMIC_ACQUIRE);
    uint64_t off = head % FP_RING_SIZE;
    uint64_t need = FP_MAX_RECORD;
    uint64_t skip = 0;
    if (off + need > FP_RING_SIZE)
        skip = FP_RING_SIZE - off;
    if (head + skip + need - tail > FP_RING_SIZE)
        return -1;
    char *ring = (char *)s + FP_SLOT_HEADER;
    if (skip > 0) {
        struct fp_rec *w = (struct fp_rec *)(ring + off);
        w->len = (uint32_t)skip;
        w->type = FP_R_WRAP;
        w->flags = 0;
        w->seq = 0;
        __atomic_store_n(&s->head, head + skip, __ATOMIC_RELEASE);
        head += skip;
        off = 0;
    }
    r->slot = s;
    r->ring = ring;
    r->at = head;
    r->p = ring + off;
    r->len = 0;
    r->cap = (uint32_t)need - SCRATCH_SIZE;
    r->sc = (struct scratch *)(r->p + r->cap);
    r->nitems = 0;
    r->nmarks = 0;
    r->overflow = 0;
    return 0;
}

static void *rec_take(struct rec *r, uint32_t n)
{
    n = (n + 7) & ~7u;
    if (r->overflow || r->len + n > r->cap) {
        r->overflow = 1;
        return NULL;
    }
    void *p = r->p + r->len;
    r->len += n;
    return p;
}

/* A first touch this record has already captured (marks apply only once it is published). */
static int pending_touch(const struct rec *r, uint64_t dev, uint64_t ino)
{
    for (int i = 0; i < r->nmarks; i++)
        if (r->marks[i].what == 1 && r->marks[i].dev == dev && r->marks[i].ino == ino)
            return 1;
    return 0;
}

/* A block this record has already captured (an open with O_TRUNC of a small file on its first touch
 * captures it whole as the first touch, then again as what the truncation drops: once is enough). */
static int pending_block(const struct rec *r, uint64_t dev, uint64_t ino, int64_t b)
{
    for (int i = 0; i < r->nmarks; i++)
        if (r->marks[i].what == 2 && r->marks[i].dev == dev && r->marks[i].ino == ino && r->marks[i].first <= b && b <= r->marks[i].last)
            return 1;
    return 0;
}

static void add_mark(struct rec *r, uint8_t what, uint64_t dev, uint64_t ino, int64_t first, int64_t last)
{
    if (r->nmarks >= 16) {
        r->overflow = 1;
        return;
    }
    struct mark *m = &r->marks[r->nmarks++];
    m->what = what;
    m->dev = dev;
    m->ino = ino;
    m->first = first;
    m->last = last;
}

/* An item header at the record's end; its path, data and xattrs follow (see item_end). */
static struct fp_item *item_begin(struct rec *r, int kind, int role, int flags)
{
    struct fp_item *it = rec_take(r, sizeof *it);
    if (!it)
        return NULL;
    __builtin_memset(it, 0, sizeof *it);
    it->kind = (uint8_t)kind;
    it->role = (uint8_t)role;
    it->flags = (uint16_t)flags;
    return it;
}

static void item_stat(struct fp_item *it, const struct stat *st)
{
    it->dev = st->st_dev;
    it->ino = st->st_ino;
    it->size = st->st_size;
    it->mode = st->st_mode;
    it->uid = st->st_uid;
    it->gid = st->st_gid;
    it->nlink = (uint32_t)st->st_nlink;
    it->atime_ns = ns_of(&st->st_atim);
    it->mtime_ns = ns_of(&st->st_mtim);
    it->ctime_ns = ns_of(&st->st_ctim);
}

/* Appends the item's variable part: path, then data, then xattrs (each length in the header). */
static int item_bytes(struct rec *r, struct fp_item *it, const char *path, uint32_t path_len, const void *data, uint32_t data_len)
{
    uint32_t need = path_len + data_len;
    char *p = rec_take(r, need);
    if (!p)
        return -1;
    it->path_len = path_len;
    it->data_len = data_len;
    if (path_len)
        fp_memcpy(p, path, path_len);
    if (data_len && data)
        fp_memcpy(p + path_len, data, data_len);
    r->nitems++;
    return 0;
}

/* The start of an item's variable part (its path goes there; *avail bytes fit after the path), for
 * reads straight into the record. */
static char *item_room(struct rec *r, uint32_t path_len, uint32_t *avail)
{
    uint32_t start = r->len + path_len;
    if (r->overflow || start + 8 >= r->cap) {
        r->overflow = 1;
        return NULL;
    }
    *avail = r->cap - start - 8;
    return r->p + r->len;
}

/* ---------------------------------------------------------------------------------------------- */
/* Undo capture (UndoCapture, in-process)                                                           */
/* ---------------------------------------------------------------------------------------------- */

static int64_t read_at(int fd, char *dst, int64_t off, int64_t len)
{
    int64_t done = 0;
    while (done < len) {
        long n = S4(SYS_pread64, fd, dst + done, len - done, off + done);
        if (n <= 0)
            break;
        done += n;
    }
    return done;
}

static int has_zero_block(const char *d, int64_t n)
{
    for (int64_t at = 0; at < n; at += BLOCK) {
        int64_t m = n - at < BLOCK ? n - at : BLOCK;
        int all = 1;
        for (int64_t i = 0; i < m; i++)
            if (d[at + i] != 0) {
                all = 0;
                break;
            }
        if (all)
            return 1;
    }
    return 0;
}

static void hole_item(struct rec *r, uint64_t dev, uint64_t ino, int64_t size, const char *disp, uint32_t dlen, int64_t at, int64_t len)
{
    struct fp_item *it = item_begin(r, U_BLOCKS, R_OBJECT, UF_HOLE);
    if (!it)
        return;
    it->dev = dev;
    it->ino = ino;
    it->size = size;
    it->offset = at;
    it->length = len;
    item_bytes(r, it, disp, dlen, NULL, 0);
}

static void data_item(struct rec *r, int kind, int fd, uint64_t dev, uint64_t ino, int64_t size, const char *disp, uint32_t dlen, int64_t at, int64_t len)
{
    struct fp_item *it = item_begin(r, kind, R_OBJECT, 0);
    if (!it)
        return;
    uint32_t avail;
    char *room = item_room(r, dlen, &avail);
    if (!room || (int64_t)avail < len) {
        r->overflow = 1;
        return;
    }
    int64_t n = read_at(fd, room + dlen, at, len);
    it->dev = dev;
    it->ino = ino;
    it->size = size;
    it->offset = at;
    it->length = n;
    /* The path goes first: move nothing, the data was read right after where the path goes. */
    if (dlen)
        fp_memcpy(room, disp, dlen);
    it->path_len = dlen;
    it->data_len = (uint32_t)n;
    r->len += (dlen + (uint32_t)n + 7) & ~7u;
    r->nitems++;
}

/* Pre-images of [from, to) (block-aligned from, to clipped to the size): holes stay holes. */
static void capture_range(struct rec *r, int fd, uint64_t dev, uint64_t ino, int64_t size, const char *disp, uint32_t dlen, int64_t from, int64_t to)
{
    int64_t whole = to - from;
    struct fp_item *it = item_begin(r, U_BLOCKS, R_OBJECT, 0);
    if (!it)
        return;
    uint32_t avail;
    char *room = item_room(r, dlen, &avail);
    if (!room || (int64_t)avail < whole) {
        r->overflow = 1;
        return;
    }
    if (read_at(fd, room + dlen, from, whole) == whole && !has_zero_block(room + dlen, whole)) {
        it->dev = dev;
        it->ino = ino;
        it->size = size;
        it->offset = from;
        it->length = whole;
        if (dlen)
            fp_memcpy(room, disp, dlen);
        it->path_len = dlen;
        it->data_len = (uint32_t)whole;
        r->len += (dlen + (uint32_t)whole + 7) & ~7u;
        r->nitems++;
        return;
    }
    r->len -= sizeof *it; /* take the item back: the range is written piece by piece */
    int64_t pos = from;
    while (pos < to && !r->overflow) {
        long data = S3(SYS_lseek, fd, pos, SEEK_DATA);
        if (data < 0 || data >= to) {
            hole_item(r, dev, ino, size, disp, dlen, pos, to - pos);
            return;
        }
        if (data > pos) {
            hole_item(r, dev, ino, size, disp, dlen, pos, data - pos);
            pos = data;
        }
        long hole = S3(SYS_lseek, fd, pos, SEEK_HOLE);
        int64_t end = hole < 0 ? to : (hole < to ? hole : to);
        data_item(r, U_BLOCKS, fd, dev, ino, size, disp, dlen, pos, end - pos);
        pos = end;
    }
}

/* CaptureBlocks: every block of [offset, offset + length) (to the end when length < 0) not yet
 * captured in the epoch; nothing for objects born in the epoch. */
/* Whether capture_blocks would capture anything: a block of the range not yet kept in the epoch (nor by
 * this record) of a file not born in it. Asked before the private reader is opened: a rewrite of blocks
 * already kept, or any write to a file born in the epoch, costs no open and close. */
static int blocks_wanted(const struct rec *r, uint64_t dev, uint64_t ino, int64_t size, int64_t offset, int64_t length)
{
    int64_t end = length < 0 ? size : (offset + length < size ? offset + length : size);
    if (offset < 0 || offset >= end || is_born(dev, ino))
        return 0;
    if ((end - 1) / BLOCK - offset / BLOCK + 1 > (int64_t)(FP_MAX_RECORD / BLOCK))
        return 1; /* more than a record holds: capture_blocks hands the call to the ptrace way */
    uint32_t stamp = block_stamp(dev, ino);
    for (int64_t b = offset / BLOCK, last = (end - 1) / BLOCK; b <= last; b++)
        if (!block_marked(dev, ino, stamp, b) && !pending_block(r, dev, ino, b))
            return 1;
    return 0;
}

static void capture_blocks(struct rec *r, int fd, uint64_t dev, uint64_t ino, int64_t size, const char *disp, uint32_t dlen, int64_t offset, int64_t length)
{
    int64_t end = length < 0 ? size : (offset + length < size ? offset + length : size);
    if (offset < 0 || offset >= end || is_born(dev, ino))
        return;
    uint32_t stamp = block_stamp(dev, ino);
    int64_t first = offset / BLOCK, last = (end - 1) / BLOCK;
    if ((last - first + 1) * BLOCK > (int64_t)FP_MAX_RECORD) {
        r->overflow = 1;
        return;
    }
    int64_t b = first;
    while (b <= last && !r->overflow) {
        if (block_marked(dev, ino, stamp, b) || pending_block(r, dev, ino, b)) {
            b++;
            continue;
        }
        int64_t run = b;
        while (b <= last && !block_marked(dev, ino, stamp, b) && !pending_block(r, dev, ino, b))
            b++;
        int64_t from = run * BLOCK, to = b * BLOCK < size ? b * BLOCK : size;
        capture_range(r, fd, dev, ino, size, disp, dlen, from, to);
        add_mark(r, 2, dev, ino, run, b - 1);
    }
}

/* The whole content as Content items (holes skipped). */
static void capture_content(struct rec *r, int fd, uint64_t dev, uint64_t ino, int64_t size)
{
    int64_t pos = 0;
    while (pos < size && !r->overflow) {
        long data = S3(SYS_lseek, fd, pos, SEEK_DATA);
        if (data < 0 || data >= size)
            return;
        long hole = S3(SYS_lseek, fd, data, SEEK_HOLE);
        int64_t end = hole < 0 ? size : (hole < size ? hole : size);
        data_item(r, U_CONTENT, fd, dev, ino, size, NULL, 0, data, end - data);
        pos = end;
    }
}

/* Encodes xattrs as UndoCodec does: u32 count, then (u32 len, name, u32 len, value) per attribute. */
static uint32_t read_xattrs(struct rec *r, uint32_t room_from, const char *xpath, int fd, int follow)
{
    uint32_t avail = r->cap > room_from + 64 ? r->cap - room_from - 64 : 0;
    if (avail < 1024)
        return 0;
    char *out = r->p + room_from;
    /* The name list goes into the upper half of the free space, values into the lower. */
    uint32_t half = avail / 2;
    char *names = out + half;
    long ln = fd >= 0 ? S3(SYS_flistxattr, fd, names, half) : S3(follow ? SYS_listxattr : SYS_llistxattr, xpath, names, half);
    if (ln <= 0)
        return 0;
    uint32_t at = 4, count = 0;
    long start = 0;
    for (long i = 0; i < ln; i++) {
        if (names[i] != 0)
            continue;
        uint32_t nl = (uint32_t)(i - start);
        if (nl > 0 && at + 8 + nl < half) {
            char *name = names + start;
            char nbuf[256];
            if (nl < sizeof nbuf) {
                fp_memcpy(nbuf, name, nl);
                nbuf[nl] = 0;
                long vl = fd >= 0 ? S4(SYS_fgetxattr, fd, nbuf, out + at + 4 + nl + 4, half - (at + 8 + nl))
                                  : S4(follow ? SYS_getxattr : SYS_lgetxattr, xpath, nbuf, out + at + 4 + nl + 4, half - (at + 8 + nl));
                if (vl >= 0) {
                    fp_memcpy(out + at, &nl, 4);
                    fp_memcpy(out + at + 4, name, nl);
                    uint32_t v = (uint32_t)vl;
                    fp_memcpy(out + at + 4 + nl, &v, 4);
                    at += 8 + nl + v;
                    count++;
                }
            }
        }
        start = i + 1;
    }
    if (count == 0)
        return 0;
    fp_memcpy(out, &count, 4);
    return at;
}

/* Where an object is, for the capture calls: a dirfd and a path relative to it (statting), and a
 * path the *xattr calls take (they have no *at form). */
struct where {
    int dirfd;
    const char *rel;
    const char *xpath;
    int fd; /* >= 0: the object is this fd (fd operations) */
    const struct stat *known; /* the object's stat when the caller has it already */
};

static int open_reader(const struct where *w, int follow)
{
    int flags = O_RDONLY | O_CLOEXEC | O_NOATIME | (follow ? 0 : O_NOFOLLOW);
    char proc[40];
    const char *p = w->rel;
    int dirfd = w->dirfd;
    if (w->fd >= 0) {
        proc_fd_path(proc, w->fd);
        p = proc;
        dirfd = AT_FDCWD;
    }
    long fd = S4(SYS_openat, dirfd, p, flags, 0);
    if (fd == -EPERM)
        fd = S4(SYS_openat, dirfd, p, flags & ~O_NOATIME, 0); /* O_NOATIME needs ownership */
    return (int)fd;
}

/* CaptureState. Returns 1 when the object exists, 0 when absent, -1 when it could not be captured. */
static int capture_state(struct rec *r, int role, const struct where *w, const char *disp, uint32_t dlen,
                         int follow, int whole, int first_touch_only, int record_absent)
{
    struct stat st;
    long rc = 0;
    if (w->known != NULL && first_touch_only && (is_touched(w->known->st_dev, w->known->st_ino) || pending_touch(r, w->known->st_dev, w->known->st_ino)))
        return 1; /* already recorded in the epoch: no syscall needed to know */
    if (w->known != NULL)
        st = *w->known;
    else
        rc = w->fd >= 0 ? S2(SYS_fstat, w->fd, &st) : S4(SYS_newfstatat, w->dirfd, w->rel, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW);
    if (rc != 0) {
        if (record_absent) {
            struct fp_item *it = item_begin(r, U_STATE, role, 0);
            if (it)
                item_bytes(r, it, disp, dlen, NULL, 0);
        }
        return 0;
    }
    if (first_touch_only && (is_touched(st.st_dev, st.st_ino) || pending_touch(r, st.st_dev, st.st_ino)))
        return 1;
    int regular = S_ISREG(st.st_mode);
    int content = whole && regular && !is_born(st.st_dev, st.st_ino);
    if (content && st.st_size > (int64_t)H->removed_limit)
        return -1; /* too big to keep whole in-process: the ptrace way keeps it */
    struct fp_item *it = item_begin(r, U_STATE, role, UF_EXISTED | (content ? UF_CONTENT : 0));
    if (!it)
        return -1;
    item_stat(it, &st);
    uint32_t link_len = 0;
    if (S_ISLNK(st.st_mode)) {
        uint32_t avail;
        char *room = item_room(r, dlen, &avail);
        if (!room)
            return -1;
        long n = S4(SYS_readlinkat, w->dirfd, w->rel, room + dlen, avail);
        link_len = n > 0 ? (uint32_t)n : 0;
    }
    /* path, link target (data), then xattrs after them */
    uint32_t before = r->len;
    uint32_t xfrom = before + ((dlen + link_len + 7) & ~7u);
    uint32_t xlen = read_xattrs(r, xfrom, w->xpath, w->fd, follow);
    char *p = r->p + before;
    if (dlen)
        fp_memcpy(p, disp, dlen); /* a link target was read after where the path goes */
    it->path_len = dlen;
    it->data_len = link_len;
    it->xattr_len = xlen;
    uint32_t total = dlen + link_len;
    if (xlen) {
        /* the xattrs were encoded at xfrom; bring them right after the data */
        __builtin_memmove(p + total, r->p + xfrom, xlen);
        total += xlen;
    }
    if (r->len + ((total + 7) & ~7u) > r->cap)
        return -1;
    r->len += (total + 7) & ~7u;
    r->nitems++;
    if (first_touch_only)
        add_mark(r, 1, st.st_dev, st.st_ino, 0, 0);
    if (content || (first_touch_only && regular && H->small_file > 0 && st.st_size > 0 &&
                    st.st_size <= (int64_t)H->small_file && !is_born(st.st_dev, st.st_ino))) {
        int fd = open_reader(w, follow);
        if (fd < 0)
            return r->overflow ? -1 : 1;
        if (content)
            capture_content(r, fd, st.st_dev, st.st_ino, st.st_size);
        else
            capture_blocks(r, fd, st.st_dev, st.st_ino, st.st_size, disp, dlen, 0, st.st_size);
        S1(SYS_close, fd);
    }
    return r->overflow ? -1 : 1;
}

/* ---------------------------------------------------------------------------------------------- */
/* Decoding (PathResolver / FdResolver, in-process)                                                 */
/* ---------------------------------------------------------------------------------------------- */

struct path_res {
    int dirfd;
    const char *rel;
    size_t rel_len;
    char xpath[PATH_BUF + 48];      /* rel, or /proc/self/fd/DIRFD/rel: for the *xattr calls */
    char parent_rel[PATH_BUF + 48]; /* the parent relative to dirfd */
    const char *disp;               /* the display path (in the record) */
    uint32_t disp_len;
    struct stat st;
    int exists;
    struct stat pst;
    int parent_ok;
    int follow;
};

/* Decode buffers, at the end of the thread's reservation (no large stack frames, no TLS). */
struct scratch {
    struct path_res pr1, pr2;
    char base[PATH_BUF];
    char named[PATH_BUF + 8];
    char xp[PATH_BUF + 48];
};

_Static_assert(sizeof(struct scratch) <= SCRATCH_SIZE, "scratch must fit its room");

static int build_xpath(char *dest, int dirfd, const char *rel, size_t n)
{
    if (n >= PATH_BUF)
        return -1;
    if (rel[0] == '/' || dirfd == AT_FDCWD) {
        fp_memcpy(dest, rel, n);
        dest[n] = 0;
        return (int)n;
    }
    int k = proc_fd_path(dest, dirfd);
    dest[k++] = '/';
    fp_memcpy(dest + k, rel, n);
    dest[k + n] = 0;
    return k + (int)n;
}

/*
 * Resolves a path argument (PathResolver.ResolveInto): its display form (written at disp_room), the
 * object (lstat) and its parent directory, and the verdict. V_PTRACE for everything this library does
 * not handle exactly: a bad pointer, /proc paths, a final symlink the call follows, the journal, a
 * path the kernel will refuse for a reason other than a missing last name.
 */
/* Whether pr's path still names what resolve_path found: the same object (or still nothing) and the
 * same parent directory (or still none). */
static int same_resolution(const struct path_res *pr)
{
    struct stat x;
    long rc = S4(SYS_newfstatat, pr->dirfd, pr->rel, &x, AT_SYMLINK_NOFOLLOW);
    if (pr->exists ? (rc != 0 || x.st_dev != pr->st.st_dev || x.st_ino != pr->st.st_ino) : rc != -ENOENT)
        return 0;
    rc = S4(SYS_newfstatat, pr->dirfd, pr->parent_rel, &x, 0);
    if (pr->parent_ok ? (rc != 0 || x.st_dev != pr->pst.st_dev || x.st_ino != pr->pst.st_ino) : rc == 0)
        return 0;
    return 1;
}

/* PathResolver.CanonicalParent, in-process: a path with a directory part is journaled under the kernel's
 * name of its parent directory (a symlinked directory on the way, or ".." after one, is walked by the
 * kernel), with its last name; a last name "." or ".." names that directory itself. Rewrites disp
 * (length dl, room bytes) and returns the new length, 0 to keep the lexical path (no parent), or -1 when
 * the parent's name is past PATH_MAX (the call goes the ptrace way). */
static int canonical_parent(struct scratch *sc, int dirfd, const char *rel, size_t n, char *disp, int dl, uint32_t room)
{
    size_t end = n;
    while (end > 1 && rel[end - 1] == '/')
        end--;
    long slash = (long)end - 1;
    while (slash >= 0 && rel[slash] != '/')
        slash--;
    if (slash < 0)
        return 0; /* no directory part */
    const char *last = rel + slash + 1;
    size_t last_len = end - (size_t)slash - 1;
    int self = (last_len == 1 && last[0] == '.') || (last_len == 2 && last[0] == '.' && last[1] == '.');
    size_t cut = self ? end : (slash == 0 ? 1 : (size_t)slash);
    if (cut + 1 > sizeof sc->xp)
        return 0;
    fp_memcpy(sc->xp, rel, cut);
    sc->xp[cut] = 0;
    long fd = S4(SYS_openat, dirfd, sc->xp, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    char proc[40];
    proc_fd_path(proc, (int)fd);
    long len = S4(SYS_readlinkat, AT_FDCWD, proc, sc->named, PATH_BUF);
    S1(SYS_close, fd);
    if (len <= 0 || len >= PATH_BUF)
        return -1; /* the directory's name is past PATH_MAX: the tracer walks it (LongPath) */
    if (sc->named[0] != '/' || ends_with(sc->named, (size_t)len, " (deleted)"))
        return 0;
    if (self) {
        if ((uint32_t)len > room)
            return 0;
        fp_memcpy(disp, sc->named, (size_t)len);
        return (int)len;
    }
    int at = dl - 1;
    while (at >= 0 && disp[at] != '/')
        at--;
    int name_len = dl - at - 1;
    int prefix = len == 1 ? 0 : (int)len;
    if (name_len <= 0 || (uint32_t)(prefix + 1 + name_len) > room)
        return 0;
    __builtin_memmove(disp + prefix + 1, disp + at + 1, (size_t)name_len);
    fp_memcpy(disp, sc->named, (size_t)prefix);
    disp[prefix] = '/';
    return prefix + 1 + name_len;
}

static int resolve_path(struct scratch *sc, struct path_res *pr, int dirfd, const char *rel, int follow, int content,
                        int second, int removes, char *disp_room, uint32_t room)
{
    pr->dirfd = dirfd;
    pr->rel = rel;
    pr->rel_len = 0;
    pr->follow = follow;
    pr->exists = 0;
    pr->parent_ok = 0;
    pr->disp = disp_room;
    pr->disp_len = 0;
    if (rel == NULL)
        return V_PTRACE;
    /* The kernel reads the path first: a bad pointer fails there with EFAULT, never in this library. */
    long rc = S4(SYS_newfstatat, dirfd, rel, &pr->st, AT_SYMLINK_NOFOLLOW);
    if (rc == -EFAULT || rc == -ENAMETOOLONG)
        return V_PTRACE;
    if (rc != 0 && rc != -ENOENT)
        return V_PTRACE; /* ENOTDIR, ELOOP, EACCES, EBADF...: the kernel fails the call; the ptrace way records it */
    pr->exists = rc == 0;
    size_t n = fp_strnlen(rel, PATH_BUF);
    if (n == 0 || n >= PATH_BUF)
        return V_PTRACE;
    pr->rel_len = n;
    if (starts_with(rel, n, "/proc"))
        return V_PTRACE;
    int base_len = 0;
    if (rel[0] != '/' && (base_len = base_path(dirfd, sc->base, PATH_BUF)) <= 0)
        return V_PTRACE;
    int dl = join_path(sc->base, base_len, rel, n, disp_room, (int)room);
    if (dl <= 0 || dl >= PATH_BUF - 1 || starts_with(disp_room, (size_t)dl, "/proc/") || (dl == 5 && starts_with(disp_room, 5, "/proc")))
        return V_PTRACE; /* an absolute name past PATH_MAX: the tracer walks it with directory fds */
    int canonical = canonical_parent(sc, dirfd, rel, n, disp_room, dl, room);
    if (canonical < 0)
        return V_PTRACE;
    if (canonical > 0)
        dl = canonical;
    pr->disp_len = (uint32_t)dl;
    if (in_journal(disp_room, dl))
        return V_PTRACE; /* refused (EACCES), and journaled as refused, by the tracer */
    if (build_xpath(pr->xpath, dirfd, rel, n) < 0)
        return V_PTRACE;
    if (pr->exists) {
        if (follow && S_ISLNK(pr->st.st_mode))
            return V_PTRACE; /* the journal names the symlink's target: the tracer resolves it */
        if (id_in(&g_protected, pr->st.st_dev, pr->st.st_ino) ||
            (!second && removes && id_in(&g_ancestors, pr->st.st_dev, pr->st.st_ino)))
            return V_PTRACE;
        int pseudo = pseudo_fs(pr->st.st_dev, dirfd, rel, -1);
        if (pseudo < 0)
            return V_PTRACE;
        if (pseudo)
            return V_PASS;
        int k = kind_of(pr->st.st_mode);
        if (content && k != K_REGULAR && k != K_DIRECTORY)
            return V_PASS; /* opening a device, FIFO or socket for writing changes no file */
    }
    /* The parent directory: "a/b" -> "a", "b" -> ".", "/b" -> "/" (trailing slashes dropped first). */
    size_t t = n;
    while (t > 1 && rel[t - 1] == '/')
        t--;
    long slash = (long)t - 1;
    while (slash >= 0 && rel[slash] != '/')
        slash--;
    if (slash < 0) {
        pr->parent_rel[0] = '.';
        pr->parent_rel[1] = 0;
    } else {
        size_t cut = slash == 0 ? 1 : (size_t)slash;
        fp_memcpy(pr->parent_rel, rel, cut);
        pr->parent_rel[cut] = 0;
    }
    if (S4(SYS_newfstatat, dirfd, pr->parent_rel, &pr->pst, 0) == 0) {
        pr->parent_ok = 1;
        if (id_in(&g_protected, pr->pst.st_dev, pr->pst.st_ino))
            return V_PTRACE;
        if (!pr->exists) {
            int pseudo = pseudo_fs(pr->pst.st_dev, dirfd, pr->parent_rel, -1);
            if (pseudo < 0)
                return V_PTRACE;
            if (pseudo)
                return V_PASS;
        }
    }
    if (pr->exists && id_in(&g_unjournaled, pr->st.st_dev, pr->st.st_ino))
        return V_PASS;
    return in_scope(disp_room, dl) ? V_JOURNAL : V_PASS;
}

struct fd_res {
    int fd;
    struct stat st;
    const char *disp;
    uint32_t disp_len;
    int deleted;
};

/* FdResolver.Classify, in-process. */
static int resolve_fd(struct scratch *sc, struct fd_res *fr, int fd, int content, char *disp_room, uint32_t room)
{
    fr->fd = fd;
    fr->deleted = 0;
    fr->disp = disp_room;
    fr->disp_len = 0;
    if (fd < 0 || S2(SYS_fstat, fd, &fr->st) != 0)
        return V_PASS; /* EBADF: the kernel refuses it, nothing can change */
    int k = kind_of(fr->st.st_mode);
    if (content ? k != K_REGULAR : (k != K_REGULAR && k != K_DIRECTORY && k != K_SYMLINK))
        return V_PASS;
    if (k == K_SYMLINK)
        return V_PTRACE;
    int pseudo = pseudo_fs(fr->st.st_dev, AT_FDCWD, NULL, fd);
    if (pseudo < 0)
        return V_PTRACE;
    if (pseudo)
        return V_PASS;
    int n = fd_path(fd, &fr->st, disp_room, (int)room);
    if (n < 0)
        n = 0;
    if (fr->st.st_nlink == 0 && (n == 0 || disp_room[0] != '/' || starts_with(disp_room, (size_t)n, "/memfd:") ||
                                 starts_with(disp_room, (size_t)n, "/SYSV")))
        return V_PASS; /* memfd, SysV shared memory: memory, not files of a file system */
    if (n == 0 || disp_room[0] != '/')
        return V_PTRACE;
    if (ends_with(disp_room, (size_t)n, " (deleted)")) {
        /* The kernel's "NAME (deleted)" when the name is gone, not a file really called so. */
        struct stat nst;
        fp_memcpy(sc->named, disp_room, (size_t)n);
        sc->named[n] = 0;
        if (S4(SYS_newfstatat, AT_FDCWD, sc->named, &nst, AT_SYMLINK_NOFOLLOW) != 0 || nst.st_dev != fr->st.st_dev ||
            nst.st_ino != fr->st.st_ino) {
            n -= 10;
            fr->deleted = 1;
        }
    }
    fr->disp_len = (uint32_t)n;
    if (id_in(&g_protected, fr->st.st_dev, fr->st.st_ino) || in_journal(disp_room, n))
        return V_PTRACE;
    if (id_in(&g_unjournaled, fr->st.st_dev, fr->st.st_ino))
        return V_PASS;
    return in_scope(disp_room, n) ? V_JOURNAL : V_PASS;
}

/* ---------------------------------------------------------------------------------------------- */
/* The journaled call                                                                               */
/* ---------------------------------------------------------------------------------------------- */

enum {
    P_FD_CONTENT = 1, /* write family, ftruncate, copy_file_range, FICLONE: FdState + blocks, post-state from the fd */
    P_FD_META,        /* fchmod, fchown, futimens: FdState, post-state from the fd */
    P_OPEN,           /* open with write flags */
    P_TRUNCATE,       /* truncate by path */
    P_CREATE,         /* mkdir, symlink */
    P_LINK,
    P_REMOVE,         /* unlink, rmdir */
    P_RENAME,
    P_META,           /* chmod, chown, utimensat by path */
};

/* A hooked call: the syscall to make, and what the journal's decoder would have made of it. */
struct call {
    long nr;
    long a[6];
    int plan;             /* P_* */
    /* the intent's fields (SyscallTable row semantics: Fd is the fd argument of fd ops, else -1) */
    uint16_t op;
    int fd;
    uint64_t op_flags;
    uint32_t mode;
    int64_t offset, length;
    uint32_t uid, gid;
    /* fd ops */
    int content;          /* changes content: the object must be a regular file (or a directory for opens) */
    int status_flags;     /* op_flags are the fd's status flags (the write family) */
    int flags_unread;     /* ... not read yet: only O_APPEND before a capture and O_DSYNC at sync points use them */
    int64_t out_offset;   /* copy_file_range: where the bytes land (-1: the fd's offset) */
    /* path ops */
    int dirfd, dirfd2;
    const char *path, *path2;
    int follow;
    int removes;          /* removes or renames a name */
    const char *symlink_target;
};

static long traced_call(const struct call *c)
{
    return fp_traced6(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
}

static long stub_call(const struct call *c)
{
    return fp_sys6(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
}

static int is_fd_plan(int plan) { return plan == P_FD_CONTENT || plan == P_FD_META; }

/* The byte range an fd op may overwrite or discard (UndoPlanner.ContentRange); 0 when it only extends. */
static int content_range(const struct call *c, int64_t *off, int64_t *len)
{
    *off = 0;
    *len = -1;
    switch (c->op) {
    case OP_WRITE: case OP_WRITEV: case OP_PWRITE64: case OP_PWRITEV:
        if (c->op_flags & O_APPEND)
            return 0; /* appends land at the end: the size before (first-touch state) undoes them */
        *off = c->offset;
        *len = c->length;
        return *len > 0;
    case OP_COPY_FILE_RANGE:
        *off = c->out_offset;
        *len = c->length;
        return *len > 0;
    case OP_FTRUNCATE:
        *off = c->length; /* bytes past the new size are lost */
        return 1;
    case OP_IOCTL:
        return (uint32_t)c->op_flags == FICLONE_REQ || (uint32_t)c->op_flags == FICLONERANGE_REQ;
    default:
        return 0;
    }
}

/* The parent's state, first touch in the epoch (JournalIngest.CaptureParent). */
static int capture_parent(struct rec *r, struct path_res *pr)
{
    if (!pr->parent_ok)
        return 0;
    size_t t = pr->rel_len;
    while (t > 1 && pr->rel[t - 1] == '/')
        t--;
    long slash = (long)t - 1;
    while (slash >= 0 && pr->rel[slash] != '/')
        slash--;
    const char *last = pr->rel + slash + 1;
    size_t ll = t - (size_t)(slash + 1);
    if ((ll == 1 && last[0] == '.') || (ll == 2 && last[0] == '.' && last[1] == '.'))
        return 0; /* no entry is named "." or "..": the directory above "dir/." is not the parent */
    if (is_touched(pr->pst.st_dev, pr->pst.st_ino) || pending_touch(r, pr->pst.st_dev, pr->pst.st_ino))
        return 0;
    if (build_xpath(r->sc->xp, pr->dirfd, pr->parent_rel, fp_strnlen(pr->parent_rel, PATH_BUF)) < 0)
        return -1;
    struct where w = { pr->dirfd, pr->parent_rel, r->sc->xp, -1, NULL };
    int dp = parent_length(pr->disp, (int)pr->disp_len);
    return capture_state(r, R_PARENT, &w, pr->disp, (uint32_t)dp, 1, 0, 1, 0) < 0 ? -1 : 0;
}

/* An object the call removes or replaces, kept whole (JournalIngest.CaptureRemoved). 1 present, 0 absent, -1 fallback. */
static int capture_removed(struct rec *r, struct path_res *pr, int absent_role, int record_absent)
{
    struct stat st;
    if (S4(SYS_newfstatat, pr->dirfd, pr->rel, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (record_absent) {
            struct fp_item *it = item_begin(r, U_STATE, absent_role, 0);
            if (it)
                item_bytes(r, it, pr->disp, pr->disp_len, NULL, 0);
        }
        return r->overflow ? -1 : 0;
    }
    struct where w = { pr->dirfd, pr->rel, pr->xpath, -1, NULL };
    if (capture_state(r, R_TARGET, &w, pr->disp, pr->disp_len, 0, 1, 0, 0) < 0)
        return -1;
    if (st.st_nlink <= 1)
        add_mark(r, 3, st.st_dev, st.st_ino, 0, 0); /* its inode number may be reused: capture that one afresh */
    return r->overflow ? -1 : 1;
}

static int same_object(const struct path_res *a, const struct path_res *b)
{
    struct stat x, y;
    return S4(SYS_newfstatat, a->dirfd, a->rel, &x, AT_SYMLINK_NOFOLLOW) == 0 &&
           S4(SYS_newfstatat, b->dirfd, b->rel, &y, AT_SYMLINK_NOFOLLOW) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* Makes the record visible to the drain: its header, then the head moves (release). */
static uint32_t publish(struct rec *r, uint16_t type, uint64_t seq)
{
    struct fp_rec *h = (struct fp_rec *)r->p;
    uint32_t len = REC_ALIGN(r->len);
    h->len = len;
    h->type = type;
    h->flags = 0;
    h->seq = seq;
    __atomic_store_n(&r->slot->head, r->at + len, __ATOMIC_RELEASE);
    return len;
}

static void apply_marks(struct rec *r)
{
    for (int i = 0; i < r->nmarks; i++) {
        struct mark *m = &r->marks[i];
        if (m->what == 1)
            mark_object(m->dev, m->ino, FP_E_TOUCHED);
        else if (m->what == 2)
            mark_blocks(m->dev, m->ino, m->first, m->last);
        else
            forget_object(m->dev, m->ino);
    }
}

static struct fp_item *post_item_path(struct rec *r, int role, const struct path_res *pr, int follow)
{
    struct stat st;
    struct fp_item *it = item_begin(r, U_POST, role, 0);
    if (!it)
        return NULL;
    int dirfd = pr->dirfd;
    const char *path = pr->rel;
    /* A path with a directory part is stat'ed by the kernel's name for it (the display path, whose parent is
     * canonical): the text may go through the very symlink the call moved (rename("l", "l/x") with l a
     * symlink to a directory moves l into its target, and "l/x" then names nothing; an exchange of "l/x"
     * with "l" puts another object at l). */
    int dir_part = 0;
    for (size_t i = 0; i < pr->rel_len && !dir_part; i++)
        dir_part = pr->rel[i] == '/';
    if (dir_part && pr->disp_len > 0 && pr->disp_len < sizeof r->sc->xp && pr->disp[0] == '/') {
        fp_memcpy(r->sc->xp, pr->disp, pr->disp_len);
        r->sc->xp[pr->disp_len] = 0;
        dirfd = AT_FDCWD;
        path = r->sc->xp;
    }
    if (S4(SYS_newfstatat, dirfd, path, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0) {
        item_stat(it, &st);
        it->flags = UF_EXISTED;
    }
    item_bytes(r, it, pr->disp, pr->disp_len, NULL, 0);
    return it;
}

/* The undo items of a path op (UndoPlanner.PlanPathOp). -1: the call goes the ptrace way. */
static int capture_path_op(struct rec *r, const struct call *c, struct path_res *pr1, struct path_res *pr2)
{
    struct where w1 = { pr1->dirfd, pr1->rel, pr1->xpath, -1, NULL };
    struct where w2 = { pr2->dirfd, pr2->rel, pr2->xpath, -1, NULL };
    switch (c->plan) {
    case P_OPEN:
        if (!pr1->exists) {
            if (capture_state(r, R_OBJECT, &w1, pr1->disp, pr1->disp_len, c->follow, 0, 0, 1) < 0 || capture_parent(r, pr1) < 0)
                return -1;
        } else {
            if (capture_state(r, R_OBJECT, &w1, pr1->disp, pr1->disp_len, c->follow, 0, 1, 0) < 0)
                return -1;
            if ((c->op_flags & O_TRUNC) && S_ISREG(pr1->st.st_mode)) {
                int rd = open_reader(&w1, c->follow);
                if (rd >= 0) {
                    struct stat st;
                    if (S2(SYS_fstat, rd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
                        capture_blocks(r, rd, st.st_dev, st.st_ino, st.st_size, pr1->disp, pr1->disp_len, 0, -1);
                    S1(SYS_close, rd);
                }
            }
        }
        break;
    case P_TRUNCATE:
        if (capture_state(r, R_OBJECT, &w1, pr1->disp, pr1->disp_len, 1, 0, 1, 0) < 0)
            return -1;
        {
            int rd = open_reader(&w1, 1);
            if (rd >= 0) {
                struct stat st;
                if (S2(SYS_fstat, rd, &st) == 0 && S_ISREG(st.st_mode) && c->length < st.st_size)
                    capture_blocks(r, rd, st.st_dev, st.st_ino, st.st_size, pr1->disp, pr1->disp_len, c->length, -1);
                S1(SYS_close, rd);
            }
        }
        break;
    case P_CREATE:
        if (capture_state(r, R_OBJECT, &w1, pr1->disp, pr1->disp_len, 0, 0, 0, 1) < 0 || capture_parent(r, pr1) < 0)
            return -1;
        break;
    case P_LINK:
        if (capture_state(r, R_OBJECT, &w1, pr1->disp, pr1->disp_len, c->follow, 0, 1, 0) < 0 ||
            capture_state(r, R_SECOND, &w2, pr2->disp, pr2->disp_len, 0, 0, 0, 1) < 0 || capture_parent(r, pr2) < 0)
            return -1;
        break;
    case P_REMOVE:
        if (capture_removed(r, pr1, R_OBJECT, 0) < 0 || capture_parent(r, pr1) < 0)
            return -1;
        break;
    case P_RENAME:
        if (capture_state(r, R_OBJECT, &w1, pr1->disp, pr1->disp_len, 0, 0, 1, 0) < 0)
            return -1;
        if ((c->op_flags & RENAME_EXCHANGE) || same_object(pr1, pr2)) {
            /* an exchange, or two names of one object: both names stay */
            if (capture_state(r, R_SECOND, &w2, pr2->disp, pr2->disp_len, 0, 0, 1, 0) < 0)
                return -1;
        } else if (capture_removed(r, pr2, R_SECOND, 1) < 0) {
            return -1;
        }
        if (capture_parent(r, pr1) < 0 || capture_parent(r, pr2) < 0)
            return -1;
        break;
    case P_META:
        if (capture_state(r, R_OBJECT, &w1, pr1->disp, pr1->disp_len, c->follow, 0, 1, 0) < 0)
            return -1;
        break;
    }
    return r->overflow ? -1 : 0;
}

/* Runs a hooked call on the fast path: decode, claims, captures, INTENT, syscall, DONE. Returns the
 * raw result with *handled = 1, or *handled = 0 when the call must go the ptrace way instead. */
static long run(struct fp_slot *s, struct call *c, int *handled)
{
    *handled = 0;
    uint32_t tid = s->owner;
    struct rec r;
    if (reserve(s, &r) != 0)
        return 0; /* the drain is behind: the tracer takes this one (and drains meanwhile) */
    /* The INTENT may not use the DONE's room: an undo capture that fills the record to its last byte
     * (a truncated file just under the record's size) would leave the DONE no place at all. */
    r.cap -= DONE_ROOM;
    struct scratch *sc = r.sc;
    struct path_res *pr1 = &sc->pr1, *pr2 = &sc->pr2;
    struct fd_res fr;
    __builtin_memset(&fr, 0, sizeof fr);
    rec_take(&r, sizeof(struct fp_rec));
    struct fp_intent *in = rec_take(&r, sizeof *in);
    __builtin_memset(in, 0, sizeof *in);
    /* The decode writes the display paths where the record keeps them: path at once, path2 after a
     * path-sized room (moved down once path's length is known). */
    char *room1 = r.p + r.len;
    char *room2 = room1 + PATH_BUF;
    uint32_t p1len = 0, p2len = 0;
    int v;

    if (is_fd_plan(c->plan)) {
        v = resolve_fd(sc, &fr, c->fd, c->content, room1, PATH_BUF);
        if (v == V_JOURNAL) {
            in->kind = (uint8_t)kind_of(fr.st.st_mode);
            in->dev = fr.st.st_dev;
            in->ino = fr.st.st_ino;
            p1len = fr.disp_len;
            if (fr.deleted)
                in->iflags |= IF_DELETED;
            /* The offset as the tracer journals it (the fd's position, an lseek), for every file: a file
             * born in this epoch needs no pre-images, but its records still say where each write went. */
            g_epoch = __atomic_load_n(&H->epoch, __ATOMIC_ACQUIRE);
            if (c->content && c->offset == -1)
                c->offset = S3(SYS_lseek, c->fd, 0, SEEK_CUR);
            if (c->op == OP_COPY_FILE_RANGE && c->out_offset == -1)
                c->out_offset = c->offset;
            if (c->status_flags && H->sync_points) {
                long fl = S2(SYS_fcntl, c->fd, F_GETFL);
                c->op_flags = fl < 0 ? 0 : (uint64_t)fl;
                if (c->op_flags & O_DSYNC)
                    return 0; /* a sync point: the tracer commits the journal with a WAL fsync first */
            } else if (c->status_flags) {
                /* Without sync points the flags decide only whether a write appends, which matters only
                 * where it would otherwise capture blocks: read there (a write in a loop, to a file born
                 * in the epoch or to blocks already kept, makes no F_GETFL). The write family's flags are
                 * journaled as 0 then; nothing reads them back (UndoPlanner runs on the tracer's calls). */
                c->flags_unread = 1;
            }
        }
    } else {
        int second = c->plan == P_RENAME || c->plan == P_LINK;
        v = resolve_path(sc, pr1, c->dirfd, c->path, c->follow, c->content, 0, c->removes, room1, PATH_BUF);
        if (v == V_PTRACE)
            return 0;
        p1len = pr1->disp_len;
        if (second) {
            int v2 = resolve_path(sc, pr2, c->dirfd2, c->path2, 0, 0, 1, c->removes, room2, PATH_BUF);
            if (v2 == V_PTRACE)
                return 0;
            p2len = pr2->disp_len;
            if (v2 == V_JOURNAL)
                v = V_JOURNAL;
        } else if (c->symlink_target) {
            /* symlink: path2 is the target text as written. The kernel reads it first (a bad pointer fails there). */
            struct stat tmp;
            long t = S4(SYS_newfstatat, AT_FDCWD, c->symlink_target, &tmp, AT_SYMLINK_NOFOLLOW);
            if (t == -EFAULT || t == -ENAMETOOLONG)
                return 0;
            p2len = (uint32_t)fp_strnlen(c->symlink_target, PATH_BUF);
            if (p2len == 0 || p2len >= PATH_BUF)
                return 0;
            fp_memcpy(room2, c->symlink_target, p2len);
        }
        if (v == V_JOURNAL) {
            in->kind = pr1->exists ? (uint8_t)kind_of(pr1->st.st_mode) : K_ABSENT;
            in->dev = pr1->exists ? pr1->st.st_dev : 0;
            in->ino = pr1->exists ? pr1->st.st_ino : 0;
            if (c->plan == P_OPEN && H->sync_points && (c->op_flags & O_DSYNC))
                return 0;
        }
    }
    if (v == V_PTRACE)
        return 0;
    if (v == V_PASS) {
        /* A removal out of the journal's scope frees inode numbers too: names cached by fd may go stale. */
        if (c->plan == P_REMOVE || c->plan == P_RENAME)
            __atomic_add_fetch(&H->names_gen, 1, __ATOMIC_SEQ_CST);
        *handled = 1;
        return stub_call(c); /* not journaled (a pipe, a tty, /proc, out of scope): as without scoord */
    }

    /* Ordering (InFlightOps): claim every object and parent it touches, and the device's inode mark. */
    if (is_fd_plan(c->plan)) {
        if (claim(s, tid, fr.st.st_dev, fr.st.st_ino) != 0)
            goto fallback;
    } else {
        if (pr1->exists && claim(s, tid, pr1->st.st_dev, pr1->st.st_ino) != 0)
            goto fallback;
        if (pr1->parent_ok && claim(s, tid, pr1->pst.st_dev, pr1->pst.st_ino) != 0)
            goto fallback;
        if (c->plan == P_RENAME || c->plan == P_LINK) {
            if (pr2->exists && claim(s, tid, pr2->st.st_dev, pr2->st.st_ino) != 0)
                goto fallback;
            if (pr2->parent_ok && claim(s, tid, pr2->pst.st_dev, pr2->pst.st_ino) != 0)
                goto fallback;
        }
        /* An op that may allocate an inode and one that may free one are never in flight together on a device. */
        int allocates = c->plan == P_CREATE || (c->plan == P_OPEN && !pr1->exists && (c->op_flags & O_CREAT));
        int frees = c->plan == P_REMOVE || c->plan == P_RENAME;
        if ((allocates || frees) && pr1->parent_ok) {
            uint64_t dev = pr1->pst.st_dev;
            if (claim(s, tid, dev, allocates ? KEY_ALLOC : KEY_FREE) != 0 || !claim_free(dev, allocates ? KEY_FREE : KEY_ALLOC))
                goto fallback;
        }
        int maker = c->plan == P_CREATE || c->plan == P_RENAME;
        int unresolved = !pr1->parent_ok || ((c->plan == P_RENAME || c->plan == P_LINK) && !pr2->parent_ok);
        if (maker && (claim(s, tid, 0, KEY_PATH_MAKER) != 0 || !claim_free(0, KEY_UNRESOLVED)))
            goto fallback;
        if (unresolved && (claim(s, tid, 0, KEY_UNRESOLVED) != 0 || !claim_free(0, KEY_PATH_MAKER)))
            goto fallback;
        /* The paths were resolved before the claims: a call of another process that finished in between
         * may have renamed or replaced what they name. With the claims held nothing can any more, so a
         * path that resolves differently now goes the ptrace way (as the tracer decodes and admits at once). */
        if (!same_resolution(pr1) || ((c->plan == P_RENAME || c->plan == P_LINK) && !same_resolution(pr2)))
            goto fallback;
    }

    /* The paths into the record, path2 right after path. */
    in->path_len = p1len;
    in->path2_len = p2len;
    if (p2len)
        __builtin_memmove(room1 + p1len, room2, p2len);
    r.len += (p1len + p2len + 7) & ~7u;
    uint32_t fixed_len = r.len;
    pr1->disp = room1;
    pr2->disp = room1 + p1len;
    fr.disp = room1;

    uint64_t seq;
    for (;;) {
        g_epoch = __atomic_load_n(&H->epoch, __ATOMIC_ACQUIRE);
        r.len = fixed_len;
        r.nitems = 0;
        r.nmarks = 0;
        r.overflow = 0;
        if (is_fd_plan(c->plan)) {
            if (fr.st.st_nlink != 0) {
                /* FdState, first touch in the epoch, then the blocks the call overwrites. */
                proc_fd_path(sc->xp, c->fd);
                struct where w = { AT_FDCWD, sc->xp, sc->xp, c->fd, &fr.st };
                if (capture_state(&r, R_OBJECT, &w, room1, p1len, 1, 0, 1, 0) < 0)
                    goto fallback;
                int64_t off, len;
                int wanted = content_range(c, &off, &len) && S_ISREG(fr.st.st_mode) && off < fr.st.st_size &&
                             blocks_wanted(&r, fr.st.st_dev, fr.st.st_ino, fr.st.st_size, off, len);
                if (wanted && c->flags_unread) {
                    long fl = S2(SYS_fcntl, c->fd, F_GETFL);
                    c->op_flags = fl < 0 ? 0 : (uint64_t)fl;
                    c->flags_unread = 0;
                    wanted = content_range(c, &off, &len); /* an append overwrites nothing */
                }
                if (wanted) {
                    int rd = open_reader(&w, 1);
                    if (rd >= 0) {
                        capture_blocks(&r, rd, fr.st.st_dev, fr.st.st_ino, fr.st.st_size, room1, p1len, off, len);
                        S1(SYS_close, rd);
                    }
                }
            }
        } else if (capture_path_op(&r, c, pr1, pr2) < 0) {
            goto fallback;
        }
        if (r.overflow)
            goto fallback;

        /* From here the call is in flight for the barrier: it waits for the DONE record. */
        __atomic_store_n(&s->state, FP_STATE_CALL, __ATOMIC_SEQ_CST);
        seq = __atomic_add_fetch(&H->seq, 1, __ATOMIC_SEQ_CST);
        /* A number taken with a barrier up may come after the checkpoint's, while the captures were made
         * in the epoch before it (the new epoch starts only after the record): such a call would undo
         * against the wrong state. The barrier raises its flag before it takes the checkpoint's number and
         * lowers it after the new epoch, so a number taken with the flag down is either before the
         * checkpoint or in the new epoch, which the epoch test then sees. */
        uint32_t hflags = __atomic_load_n(&H->flags, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&H->epoch, __ATOMIC_SEQ_CST) == g_epoch && !(hflags & FP_F_BARRIER))
            break;
        /* A checkpoint came between the captures and the number: capture again in the new epoch (the
         * number taken stays a gap, which the journal allows). */
        __atomic_store_n(&s->state, FP_STATE_IDLE, __ATOMIC_SEQ_CST);
        if (hflags & FP_F_BARRIER)
            goto fallback; /* the tracer takes it, after the barrier (the number stays a gap) */
    }
    s->call_seq = seq;
    in->time_ns = now_ns();
    in->pid = (int32_t)s->tgid;
    in->tid = (int32_t)tid;
    in->op = c->op;
    in->fd = c->fd;
    in->op_flags = c->op_flags;
    in->mode = c->mode;
    in->offset = c->offset;
    in->length = c->length;
    in->uid = c->uid;
    in->gid = c->gid;
    in->nitems = r.nitems;
    uint8_t first_part = r.nitems;
    uint64_t ops_now = is_fd_plan(c->plan) ? __atomic_load_n(&H->path_ops, __ATOMIC_SEQ_CST)
                                           : __atomic_add_fetch(&H->path_ops, 1, __ATOMIC_SEQ_CST);
    if (c->plan == P_REMOVE || c->plan == P_RENAME)
        __atomic_add_fetch(&H->names_gen, 1, __ATOMIC_SEQ_CST); /* fd names may have changed */
    uint32_t intent_len = publish(&r, FP_R_INTENT, seq);
    apply_marks(&r);
    fault(FAULT_AFTER_INTENT);

    long ret = stub_call(c);
    fault(FAULT_AFTER_SYSCALL);

    /* The DONE record right after the INTENT (no other record of this ring can come between). */
    struct rec d = r;
    d.at = r.at + intent_len;
    d.p = r.p + intent_len;
    d.cap = r.cap + DONE_ROOM - intent_len;
    d.len = 0;
    d.nitems = 0;
    d.nmarks = 0;
    d.overflow = 0;
    rec_take(&d, sizeof(struct fp_rec));
    struct fp_done *dn = rec_take(&d, sizeof *dn);
    __builtin_memset(dn, 0, sizeof *dn);
    dn->time_ns = now_ns();
    int failed = ret < 0 && ret > -4096;
    dn->result = failed ? -1 : ret;
    dn->err = failed ? (int32_t)-ret : 0;
    dn->first_part = first_part;
    uint64_t born_dev = 0, born_ino = 0;
    if (!failed) {
        if (is_fd_plan(c->plan)) {
            if (fr.st.st_nlink != 0) {
                struct stat st;
                struct fp_item *it = item_begin(&d, U_POST, R_OBJECT, 0);
                if (it) {
                    if (S2(SYS_fstat, c->fd, &st) == 0) {
                        item_stat(it, &st);
                        it->flags = UF_EXISTED;
                    }
                    /* A name that is gone is no name of the object: no path (JournalIngest.PostStates). */
                    uint32_t pl = fr.deleted ? 0 : p1len;
                    item_bytes(&d, it, room1, pl, NULL, 0);
                    /* This thread's previous fd post-state of the same object and path in the epoch,
                     * with no path op journaled since, is superseded (JournalIngest.SupersedeFdPostState). */
                    uint64_t ph = fnv1a(room1, pl);
                    if (pl > 0 && it->ino != 0) {
                        if (s->post_seq != 0 && s->post_dev == it->dev && s->post_ino == it->ino && s->post_epoch == g_epoch &&
                            s->post_ops == ops_now && s->post_path == ph && s->post_len == pl) {
                            dn->dflags |= FP_D_SUPERSEDE;
                            dn->super_seq = s->post_seq;
                            dn->super_part = s->post_part;
                        }
                        s->post_seq = seq;
                        s->post_part = first_part;
                        s->post_dev = it->dev;
                        s->post_ino = it->ino;
                        s->post_epoch = g_epoch;
                        s->post_ops = ops_now;
                        s->post_path = ph;
                        s->post_len = pl;
                    }
                }
            }
        } else {
            int follow1 = c->plan == P_OPEN || c->plan == P_TRUNCATE || c->plan == P_META || c->plan == P_LINK ? c->follow : 0;
            struct fp_item *p1 = post_item_path(&d, R_OBJECT, pr1, follow1);
            if (c->plan == P_LINK || c->plan == P_RENAME)
                post_item_path(&d, R_SECOND, pr2, 0);
            int creates = c->plan == P_CREATE || (c->plan == P_OPEN && !pr1->exists && (c->op_flags & O_CREAT));
            if (creates && p1 && p1->ino != 0) {
                born_dev = p1->dev;
                born_ino = p1->ino;
            }
        }
    }
    dn->nitems = d.nitems;
    if (d.overflow) {
        d.len = sizeof(struct fp_rec) + sizeof(struct fp_done); /* cannot happen: two post-states always fit */
        dn->nitems = 0;
    }
    publish(&d, FP_R_DONE, seq);
    if (born_ino != 0)
        mark_object(born_dev, born_ino, FP_E_BORN | FP_E_TOUCHED); /* no pre-images or graveyard copies needed */

    release_claims(s, tid);
    s->call_seq = 0;
    __atomic_store_n(&s->state, FP_STATE_IDLE, __ATOMIC_SEQ_CST);
    *handled = 1;
    return ret;

fallback:
    release_claims(s, tid);
    return 0;
}

/* A hook's whole life: enter, run (or hand to the ptrace way), leave. */
static long dispatch(struct call *c)
{
    struct fp_slot *s = enter();
    if (!s)
        return set_errno(traced_call(c));
    int handled = 0;
    long ret = run(s, c, &handled);
    leave(s);
    if (!handled)
        ret = traced_call(c);
    return set_errno(ret);
}

/* An open that returned fd 0-2 (they were closed): the tracer must guard stdio from now on
 * (StdioGuard). dup2(fd, fd) onto 0-2 stops in the filter; the tracer installs the guard there. */
static void guard_stdio(long fd)
{
    if (fd >= 0 && fd <= 2 && g_ready)
        fp_traced6(SYS_dup2, fd, fd, 0, 0, 0, 0);
}

/* ---------------------------------------------------------------------------------------------- */
/* The interposed functions (each makes the syscall glibc's own would make)                        */
/* ---------------------------------------------------------------------------------------------- */

static void init_call(struct call *c, long nr, uint16_t op, int plan)
{
    __builtin_memset(c, 0, sizeof *c);
    c->nr = nr;
    c->op = op;
    c->plan = plan;
    c->fd = -1;
    c->offset = -1;
    c->length = -1;
    c->out_offset = -1;
    c->dirfd = AT_FDCWD;
    c->dirfd2 = AT_FDCWD;
}

static void args(struct call *c, long a0, long a1, long a2, long a3, long a4, long a5)
{
    c->a[0] = a0;
    c->a[1] = a1;
    c->a[2] = a2;
    c->a[3] = a3;
    c->a[4] = a4;
    c->a[5] = a5;
}

#define OPEN_WRITE (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)

static long do_open(long nr, uint16_t op, int dirfd, const char *path, int flags, mode_t mode)
{
    struct call c;
    init_call(&c, nr, op, P_OPEN);
    if (nr == SYS_creat)
        args(&c, (long)path, mode, 0, 0, 0, 0);
    else
        args(&c, dirfd, (long)path, flags, mode, 0, 0);
    if (!(flags & OPEN_WRITE))
        return set_errno(g_ready ? stub_call(&c) : traced_call(&c)); /* read-only opens never stop */
    if ((flags & __O_TMPFILE) == __O_TMPFILE || (flags & O_PATH))
        return set_errno(traced_call(&c));
    c.op_flags = (uint64_t)(unsigned)flags;
    c.mode = mode;
    c.dirfd = dirfd;
    c.path = path;
    c.content = 1;
    /* O_CREAT|O_EXCL never follows a final symlink: it fails on one (EEXIST). */
    c.follow = !(flags & O_NOFOLLOW) && (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
    long fd = dispatch(&c);
    guard_stdio(fd);
    return fd;
}

static mode_t open_mode(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

#define OPEN_HOOK(name, dirfd_expr, ...)                                                                                     \
    EXPORT int name(__VA_ARGS__, int flags, ...)                                                                             \
    {                                                                                                                        \
        va_list ap;                                                                                                          \
        va_start(ap, flags);                                                                                                 \
        mode_t m = open_mode(flags, ap);                                                                                     \
        va_end(ap);                                                                                                          \
        return (int)do_open(SYS_openat, OP_OPENAT, dirfd_expr, path, flags, m);                                              \
    }

OPEN_HOOK(open, AT_FDCWD, const char *path)
OPEN_HOOK(open64, AT_FDCWD, const char *path)
OPEN_HOOK(openat, dirfd, int dirfd, const char *path)
OPEN_HOOK(openat64, dirfd, int dirfd, const char *path)

/* The fortified entries (_FORTIFY_SOURCE): open without a mode. */
EXPORT int __open_2(const char *path, int flags) { return (int)do_open(SYS_openat, OP_OPENAT, AT_FDCWD, path, flags, 0); }
EXPORT int __open64_2(const char *path, int flags) { return (int)do_open(SYS_openat, OP_OPENAT, AT_FDCWD, path, flags, 0); }
EXPORT int __openat_2(int dirfd, const char *path, int flags) { return (int)do_open(SYS_openat, OP_OPENAT, dirfd, path, flags, 0); }
EXPORT int __openat64_2(int dirfd, const char *path, int flags) { return (int)do_open(SYS_openat, OP_OPENAT, dirfd, path, flags, 0); }

EXPORT int creat(const char *path, mode_t mode) { return (int)do_open(SYS_creat, OP_CREAT, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode); }
EXPORT int creat64(const char *path, mode_t mode) __attribute__((alias("creat")));

/* Writes to fds 0-2 that were no regular files at launch pass in the filter while the process has no
 * stdio guard (FilterGenerator, StdioGuard): so do they here, without a look at the fd. */
static int stdio_fast(int fd)
{
    if (fd < 0 || fd > 2 || !g_ready || !(H->stdio_fast & (1u << fd)))
        return 0;
    struct fp_slot *s = t_slot;
    return s != NULL && !(proc_flags(s) & FP_P_GUARDED);
}

static long fd_call(struct call *c)
{
    c->fd = (int)c->a[0];
    if (c->plan == P_FD_CONTENT && stdio_fast(c->fd))
        return set_errno(stub_call(c));
    return dispatch(c);
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    struct call c;
    init_call(&c, SYS_write, OP_WRITE, P_FD_CONTENT);
    args(&c, fd, (long)buf, (long)n, 0, 0, 0);
    c.content = 1;
    c.status_flags = 1;
    c.length = (int64_t)n;
    return fd_call(&c);
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    struct call c;
    init_call(&c, SYS_pwrite64, OP_PWRITE64, P_FD_CONTENT);
    args(&c, fd, (long)buf, (long)n, off, 0, 0);
    c.content = 1;
    c.status_flags = 1;
    c.offset = off;
    c.length = (int64_t)n;
    return fd_call(&c);
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));

/* process_vm_readv on this process: reads that fail with EFAULT instead of crashing. */
static int safe_read(void *dst, const void *src, size_t n)
{
    struct iovec local = { dst, n };
    struct iovec remote = { (void *)src, n };
    return fp_sys6(SYS_process_vm_readv, S0(SYS_getpid), (long)&local, 1, (long)&remote, 1, 0) == (long)n ? 0 : -1;
}

/* Sum of the iovecs' lengths (TraceeMemory.IovecTotal); -1 when they cannot be read or are invalid. */
static int64_t iov_total(const struct iovec *iov, int cnt)
{
    if (cnt <= 0 || cnt > 1024)
        return -1;
    struct iovec copy[64];
    int64_t total = 0;
    for (int done = 0; done < cnt;) {
        int chunk = cnt - done < 64 ? cnt - done : 64;
        if (safe_read(copy, iov + done, (size_t)chunk * sizeof(struct iovec)) != 0)
            return -1;
        for (int i = 0; i < chunk; i++) {
            if ((int64_t)copy[i].iov_len < 0 || total > INT64_MAX - (int64_t)copy[i].iov_len)
                return -1;
            total += (int64_t)copy[i].iov_len;
        }
        done += chunk;
    }
    return total;
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    struct call c;
    init_call(&c, SYS_writev, OP_WRITEV, P_FD_CONTENT);
    args(&c, fd, (long)iov, cnt, 0, 0, 0);
    if (stdio_fast(fd))
        return set_errno(stub_call(&c));
    c.content = 1;
    c.status_flags = 1;
    c.length = g_ready ? iov_total(iov, cnt) : -1;
    return fd_call(&c);
}

EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    struct call c;
    init_call(&c, SYS_pwritev, OP_PWRITEV, P_FD_CONTENT);
    args(&c, fd, (long)iov, cnt, off, 0, 0);
    c.content = 1;
    c.status_flags = 1;
    c.offset = off;
    c.length = g_ready ? iov_total(iov, cnt) : -1;
    return fd_call(&c);
}

EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off) __attribute__((alias("pwritev")));

EXPORT int ftruncate(int fd, off_t len)
{
    struct call c;
    init_call(&c, SYS_ftruncate, OP_FTRUNCATE, P_FD_CONTENT);
    args(&c, fd, len, 0, 0, 0, 0);
    c.content = 1;
    c.length = len;
    return (int)fd_call(&c);
}

EXPORT int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

EXPORT ssize_t copy_file_range(int in, loff_t *off_in, int out, loff_t *off_out, size_t len, unsigned flags)
{
    struct call c;
    init_call(&c, SYS_copy_file_range, OP_COPY_FILE_RANGE, P_FD_CONTENT);
    args(&c, in, (long)off_in, out, (long)off_out, (long)len, flags);
    if (!g_ready)
        return set_errno(traced_call(&c));
    c.fd = out;
    c.content = 1;
    c.length = (int64_t)len;
    if (off_out != NULL) {
        loff_t v;
        c.out_offset = safe_read(&v, off_out, sizeof v) == 0 ? v : 0;
    }
    return dispatch(&c);
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    struct call c;
    init_call(&c, SYS_ioctl, OP_IOCTL, P_FD_CONTENT);
    args(&c, fd, (long)req, (long)arg, 0, 0, 0);
    if (!g_ready || ((uint32_t)req != FICLONE_REQ && (uint32_t)req != FICLONERANGE_REQ))
        return (int)set_errno(traced_call(&c)); /* every other request as libc makes it: the filter decides */
    c.content = 1;
    c.op_flags = (uint32_t)req;
    return (int)fd_call(&c);
}

EXPORT int fchmod(int fd, mode_t mode)
{
    struct call c;
    init_call(&c, SYS_fchmod, OP_FCHMOD, P_FD_META);
    args(&c, fd, mode, 0, 0, 0, 0);
    c.mode = mode;
    return (int)fd_call(&c);
}

EXPORT int fchown(int fd, uid_t u, gid_t g)
{
    struct call c;
    init_call(&c, SYS_fchown, OP_FCHOWN, P_FD_META);
    args(&c, fd, (long)u, (long)g, 0, 0, 0);
    c.uid = u;
    c.gid = g;
    return (int)fd_call(&c);
}

EXPORT int futimens(int fd, const struct timespec times[2])
{
    struct call c;
    init_call(&c, SYS_utimensat, OP_UTIMENSAT, P_FD_META);
    args(&c, fd, 0, (long)times, 0, 0, 0);
    return (int)fd_call(&c);
}

static long path_op(struct call *c, int dirfd, const char *path)
{
    c->dirfd = dirfd;
    c->path = path;
    return dispatch(c);
}

EXPORT int unlink(const char *path)
{
    struct call c;
    init_call(&c, SYS_unlink, OP_UNLINK, P_REMOVE);
    args(&c, (long)path, 0, 0, 0, 0, 0);
    c.removes = 1;
    return (int)path_op(&c, AT_FDCWD, path);
}

EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
    struct call c;
    init_call(&c, SYS_unlinkat, OP_UNLINKAT, P_REMOVE);
    args(&c, dirfd, (long)path, flags, 0, 0, 0);
    c.op_flags = (uint64_t)(unsigned)flags;
    c.removes = 1;
    return (int)path_op(&c, dirfd, path);
}

EXPORT int rmdir(const char *path)
{
    struct call c;
    init_call(&c, SYS_rmdir, OP_RMDIR, P_REMOVE);
    args(&c, (long)path, 0, 0, 0, 0, 0);
    c.removes = 1;
    return (int)path_op(&c, AT_FDCWD, path);
}

EXPORT int mkdir(const char *path, mode_t mode)
{
    struct call c;
    init_call(&c, SYS_mkdir, OP_MKDIR, P_CREATE);
    args(&c, (long)path, mode, 0, 0, 0, 0);
    c.mode = mode;
    return (int)path_op(&c, AT_FDCWD, path);
}

EXPORT int mkdirat(int dirfd, const char *path, mode_t mode)
{
    struct call c;
    init_call(&c, SYS_mkdirat, OP_MKDIRAT, P_CREATE);
    args(&c, dirfd, (long)path, mode, 0, 0, 0);
    c.mode = mode;
    return (int)path_op(&c, dirfd, path);
}

EXPORT int symlink(const char *target, const char *path)
{
    struct call c;
    init_call(&c, SYS_symlink, OP_SYMLINK, P_CREATE);
    args(&c, (long)target, (long)path, 0, 0, 0, 0);
    if (launder(target) == NULL)
        return (int)set_errno(traced_call(&c));
    c.symlink_target = target;
    return (int)path_op(&c, AT_FDCWD, path);
}

EXPORT int symlinkat(const char *target, int dirfd, const char *path)
{
    struct call c;
    init_call(&c, SYS_symlinkat, OP_SYMLINKAT, P_CREATE);
    args(&c, (long)target, dirfd, (long)path, 0, 0, 0);
    if (launder(target) == NULL)
        return (int)set_errno(traced_call(&c));
    c.symlink_target = target;
    return (int)path_op(&c, dirfd, path);
}

EXPORT int link(const char *old, const char *new_)
{
    struct call c;
    init_call(&c, SYS_link, OP_LINK, P_LINK);
    args(&c, (long)old, (long)new_, 0, 0, 0, 0);
    c.path2 = new_;
    return (int)path_op(&c, AT_FDCWD, old);
}

EXPORT int linkat(int olddir, const char *old, int newdir, const char *new_, int flags)
{
    struct call c;
    init_call(&c, SYS_linkat, OP_LINKAT, P_LINK);
    args(&c, olddir, (long)old, newdir, (long)new_, flags, 0);
    if (flags & AT_EMPTY_PATH)
        return (int)set_errno(traced_call(&c));
    c.op_flags = (uint64_t)(unsigned)flags;
    c.dirfd2 = newdir;
    c.path2 = new_;
    c.follow = (flags & AT_SYMLINK_FOLLOW) != 0;
    return (int)path_op(&c, olddir, old);
}

static int do_rename(long nr, uint16_t op, int olddir, const char *old, int newdir, const char *new_, unsigned flags)
{
    struct call c;
    init_call(&c, nr, op, P_RENAME);
    if (nr == SYS_rename)
        args(&c, (long)old, (long)new_, 0, 0, 0, 0);
    else
        args(&c, olddir, (long)old, newdir, (long)new_, flags, 0);
    if (flags & RENAME_WHITEOUT)
        return (int)set_errno(traced_call(&c));
    c.op_flags = flags;
    c.dirfd2 = newdir;
    c.path2 = new_;
    c.removes = 1;
    return (int)path_op(&c, olddir, old);
}

EXPORT int rename(const char *old, const char *new_) { return do_rename(SYS_rename, OP_RENAME, AT_FDCWD, old, AT_FDCWD, new_, 0); }
EXPORT int renameat(int od, const char *old, int nd, const char *new_) { return do_rename(SYS_renameat, OP_RENAMEAT, od, old, nd, new_, 0); }
EXPORT int renameat2(int od, const char *old, int nd, const char *new_, unsigned flags)
{
    return do_rename(SYS_renameat2, OP_RENAMEAT2, od, old, nd, new_, flags);
}

EXPORT int truncate(const char *path, off_t len)
{
    struct call c;
    init_call(&c, SYS_truncate, OP_TRUNCATE, P_TRUNCATE);
    args(&c, (long)path, len, 0, 0, 0, 0);
    c.length = len;
    c.content = 1;
    c.follow = 1;
    return (int)path_op(&c, AT_FDCWD, path);
}

EXPORT int truncate64(const char *path, off_t len) __attribute__((alias("truncate")));

static int meta(struct call *c, int dirfd, const char *path, int follow)
{
    c->follow = follow;
    return (int)path_op(c, dirfd, path);
}

EXPORT int chmod(const char *path, mode_t mode)
{
    struct call c;
    init_call(&c, SYS_chmod, OP_CHMOD, P_META);
    args(&c, (long)path, mode, 0, 0, 0, 0);
    c.mode = mode;
    return meta(&c, AT_FDCWD, path, 1);
}

static int (*real_fchmodat)(int, const char *, mode_t, int);
static int g_fchmodat2; /* the kernel has fchmodat2 (6.6 and later) */
#define SYS_FCHMODAT2 452

EXPORT int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
    if (flags == AT_SYMLINK_NOFOLLOW && g_fchmodat2) {
        /* glibc 2.36 emulates this with an O_PATH open and chmod("/proc/self/fd/N"), a call the hooks
         * cannot see (tar makes one per directory); the kernel's own fchmodat2 does the same in one call
         * (EOPNOTSUPP on a symlink, as the emulation), and newer glibc makes it itself. A symlink is refused
         * before any call, as the emulation refuses it after its fstatat: no failed call to journal. */
        struct stat st;
        if (g_ready && S4(SYS_newfstatat, dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
            return (int)set_errno(-EOPNOTSUPP);
        struct call c;
        init_call(&c, SYS_FCHMODAT2, OP_FCHMODAT2, P_META);
        args(&c, dirfd, (long)path, mode, flags, 0, 0);
        c.mode = mode;
        c.op_flags = (uint64_t)(unsigned)flags;
        return meta(&c, dirfd, path, 0);
    }
    if (flags != 0 && real_fchmodat != NULL)
        return real_fchmodat(dirfd, path, mode, flags); /* glibc emulates the flags with syscalls the filter sees */
    struct call c;
    init_call(&c, SYS_fchmodat, OP_FCHMODAT, P_META);
    args(&c, dirfd, (long)path, mode, 0, 0, 0);
    if (flags != 0)
        return (int)set_errno(-EINVAL);
    c.mode = mode;
    return meta(&c, dirfd, path, 1);
}

EXPORT int chown(const char *path, uid_t u, gid_t g)
{
    struct call c;
    init_call(&c, SYS_chown, OP_CHOWN, P_META);
    args(&c, (long)path, (long)u, (long)g, 0, 0, 0);
    c.uid = u;
    c.gid = g;
    return meta(&c, AT_FDCWD, path, 1);
}

EXPORT int lchown(const char *path, uid_t u, gid_t g)
{
    struct call c;
    init_call(&c, SYS_lchown, OP_LCHOWN, P_META);
    args(&c, (long)path, (long)u, (long)g, 0, 0, 0);
    c.uid = u;
    c.gid = g;
    return meta(&c, AT_FDCWD, path, 0);
}

EXPORT int fchownat(int dirfd, const char *path, uid_t u, gid_t g, int flags)
{
    struct call c;
    init_call(&c, SYS_fchownat, OP_FCHOWNAT, P_META);
    args(&c, dirfd, (long)path, (long)u, (long)g, flags, 0);
    if (flags & AT_EMPTY_PATH)
        return (int)set_errno(traced_call(&c));
    c.op_flags = (uint64_t)(unsigned)flags;
    c.uid = u;
    c.gid = g;
    return meta(&c, dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW));
}

EXPORT int utimensat(int dirfd, const char *path, const struct timespec times[2], int flags)
{
    struct call c;
    int by_fd = launder(path) == NULL;
    init_call(&c, SYS_utimensat, OP_UTIMENSAT, by_fd ? P_FD_META : P_META);
    args(&c, dirfd, (long)path, (long)times, flags, 0, 0);
    c.op_flags = (uint64_t)(unsigned)flags;
    if (by_fd)
        return (int)fd_call(&c); /* NULL: the dirfd itself (futimens) */
    return meta(&c, dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW));
}

/* Extended attributes: metadata ops like chmod (the first touch keeps every xattr of the object; the
 * post-state is taken after). The flags (XATTR_CREATE, XATTR_REPLACE) are the journal's op flags, as the
 * tracer's rows record them. cp -a, tar --xattrs and rsync -X make one call per file. */
EXPORT int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)
{
    struct call c;
    init_call(&c, SYS_fsetxattr, OP_FSETXATTR, P_FD_META);
    args(&c, fd, (long)name, (long)value, (long)size, flags, 0);
    c.op_flags = (uint64_t)(long)flags;
    return (int)fd_call(&c);
}

EXPORT int fremovexattr(int fd, const char *name)
{
    struct call c;
    init_call(&c, SYS_fremovexattr, OP_FREMOVEXATTR, P_FD_META);
    args(&c, fd, (long)name, 0, 0, 0, 0);
    return (int)fd_call(&c);
}

static int set_xattr(long nr, uint16_t op, const char *path, const char *name, const void *value, size_t size, int flags, int follow)
{
    struct call c;
    init_call(&c, nr, op, P_META);
    args(&c, (long)path, (long)name, (long)value, (long)size, flags, 0);
    c.op_flags = (uint64_t)(long)flags;
    return meta(&c, AT_FDCWD, path, follow);
}

EXPORT int setxattr(const char *path, const char *name, const void *value, size_t size, int flags)
{
    return set_xattr(SYS_setxattr, OP_SETXATTR, path, name, value, size, flags, 1);
}

EXPORT int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)
{
    return set_xattr(SYS_lsetxattr, OP_LSETXATTR, path, name, value, size, flags, 0);
}

static int remove_xattr(long nr, uint16_t op, const char *path, const char *name, int follow)
{
    struct call c;
    init_call(&c, nr, op, P_META);
    args(&c, (long)path, (long)name, 0, 0, 0, 0);
    return meta(&c, AT_FDCWD, path, follow);
}

EXPORT int removexattr(const char *path, const char *name) { return remove_xattr(SYS_removexattr, OP_REMOVEXATTR, path, name, 1); }
EXPORT int lremovexattr(const char *path, const char *name) { return remove_xattr(SYS_lremovexattr, OP_LREMOVEXATTR, path, name, 0); }

/* ---------------------------------------------------------------------------------------------- */
/* Start-up                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

static void after_fork_child(void)
{
    t_slot = NULL; /* the parent's slot is the parent's (the fork mark tells the tid cache too) */
}

/*
 * Detours. glibc's own code calls its entry points directly, not through the symbols a preloaded library
 * replaces: stdio's fopen and fwrite reach libc's open64 and write that way, so a compiler's output went
 * the ptrace way. Where the first bytes of libc's write and open64 are exactly the ones this library knows
 * (glibc 2.36 on x86-64: the internal __write and __open are the same functions), a 5-byte jmp to the
 * hook is written over them at start-up. The hooks never call the originals (their syscalls come from the
 * stub page), and no branch of the function lands in the bytes replaced. Anything else: left alone.
 */
struct known_entry {
    const char *name;
    void *hook;
    unsigned char bytes[8];
    unsigned char mask[8]; /* 0x00: any byte (a rel32 displacement) */
};

static int entry_matches(const unsigned char *code, const struct known_entry *k)
{
    for (int i = 0; i < 8; i++)
        if ((code[i] & k->mask[i]) != (k->bytes[i] & k->mask[i]))
            return 0;
    return 1;
}

static int g_detoured; /* how many libc entries jump to the hooks */

static void detour_libc(void)
{
    const char *off = getenv("SCOORD_NO_DETOUR");
    if (off != NULL && off[0] == '1')
        return;
    const struct known_entry known[] = {
        /* write: cmpb $0x0,rel32(%rip) (__libc_single_threaded); je rel8 */
        { "write", (void *)write, { 0x80, 0x3d, 0, 0, 0, 0, 0x00, 0x74 }, { 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff } },
        /* open64: push %rbp; mov %esi,%r10d; mov %rdi,%rbp; push %rbx */
        { "open64", (void *)open64, { 0x55, 0x41, 0x89, 0xf2, 0x48, 0x89, 0xfd, 0x53 }, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
    };
    for (unsigned i = 0; i < sizeof known / sizeof known[0]; i++) {
        unsigned char *target = (unsigned char *)dlsym(RTLD_NEXT, known[i].name);
        if (target == NULL || (void *)target == known[i].hook || !entry_matches(target, &known[i]))
            continue;
        int64_t rel = (int64_t)((unsigned char *)known[i].hook - (target + 5));
        if (rel != (int64_t)(int32_t)rel || ((uintptr_t)target & 7) != 0)
            continue;
        long page = (long)target & ~4095L;
        long len = (((long)target + 8 + 4095) & ~4095L) - page;
        if (fp_sys6(SYS_mprotect, page, len, PROT_READ | PROT_WRITE | PROT_EXEC, 0, 0, 0) != 0)
            continue; /* sealed or refused: the entry stays as it is */
        /* One aligned 8-byte store: the jmp and its displacement, then the 3 bytes that were there (a thread
         * that is already running, if a library before this one started one, sees the old entry or the new). */
        uint64_t word;
        fp_memcpy(&word, target, 8);
        int32_t r32 = (int32_t)rel;
        unsigned char *w = (unsigned char *)&word;
        w[0] = 0xe9;
        fp_memcpy(w + 1, &r32, 4);
        __atomic_store_n((uint64_t *)(void *)target, word, __ATOMIC_SEQ_CST);
        fp_sys6(SYS_mprotect, page, len, PROT_READ | PROT_EXEC, 0, 0, 0);
        g_detoured++;
    }
}

__attribute__((constructor)) static void fp_init(void)
{
    const char *dir = getenv("SCOORD_FASTPATH");
    if (dir == NULL || dir[0] != '/')
        return;
    size_t n = fp_strnlen(dir, PATH_BUF);
    char path[PATH_BUF + 16];
    if (n + 8 >= sizeof path)
        return;
    fp_memcpy(path, dir, n);
    fp_memcpy(path + n, "/stub", 6);
    /* The stub page: a read-only open passes; the mmap at the low address stops in the filter, and
     * the tracer lets it through for the stub file only, once per image. */
    long sfd = fp_traced6(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
    if (sfd < 0)
        return;
    long m = fp_traced6(SYS_mmap, FP_STUB_ADDR, FP_STUB_SIZE, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED_NOREPLACE, sfd, 0);
    fp_traced6(SYS_close, sfd, 0, 0, 0, 0, 0);
    if (m != (long)FP_STUB_ADDR)
        return;
    const unsigned char *code = (const unsigned char *)FP_STUB_ADDR;
    if (code[0] != 0x0f || code[1] != 0x05 || code[2] != 0xc3)
        return;
    /* The ring: opened and mapped through the stub (on the ptrace way the app may not write the journal). */
    fp_memcpy(path + n, "/ring", 6);
    long rfd = fp_sys6(SYS_openat, AT_FDCWD, (long)path, O_RDWR | O_CLOEXEC, 0, 0, 0);
    if (rfd < 0)
        return;
    struct stat st;
    if (fp_sys6(SYS_fstat, rfd, (long)&st, 0, 0, 0, 0) != 0 || (uint64_t)st.st_size < FP_FILE_SIZE) {
        fp_sys6(SYS_close, rfd, 0, 0, 0, 0, 0);
        return;
    }
    long base = fp_sys6(SYS_mmap, 0, (long)FP_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
    fp_sys6(SYS_close, rfd, 0, 0, 0, 0, 0);
    if (base < 0 && base > -4096)
        return;
    g_base = (char *)base;
    H = (struct fp_header *)g_base;
    if (H->magic != FP_MAGIC || H->version != FP_VERSION || H->slot_count != FP_SLOT_COUNT || H->ring_size != FP_RING_SIZE ||
        H->max_record != FP_MAX_RECORD || parse_policy() != 0) {
        fp_sys6(SYS_munmap, base, (long)FP_FILE_SIZE, 0, 0, 0, 0);
        g_base = NULL;
        H = NULL;
        return;
    }
    real_fchmodat = (int (*)(int, const char *, mode_t, int))dlsym(RTLD_NEXT, "fchmodat");
    /* Flags no kernel accepts: EINVAL where fchmodat2 exists, ENOSYS where it does not; nothing changes. */
    g_fchmodat2 = fp_sys6(SYS_FCHMODAT2, -1, (long)"", 0, 0x7fff0000, 0, 0) == -EINVAL;
    parse_fault();
    pthread_atfork(NULL, NULL, after_fork_child);
    long page = fp_sys6(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if ((page < 0 && page > -4096) || fp_sys6(SYS_madvise, page, 4096, 18 /* MADV_WIPEONFORK */, 0, 0, 0) != 0)
        g_forkmark = NULL; /* no fork mark (kernel < 4.14): the id is asked at every call */
    else
        g_forkmark = (volatile uint64_t *)page;
    __atomic_store_n(&g_ready, 1, __ATOMIC_RELEASE);
    detour_libc();
}
