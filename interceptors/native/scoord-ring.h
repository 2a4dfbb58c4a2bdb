/*
 * scoord-ring.h: the in-process fast path's shared ring file (DIR/fastpath/ring), version 1.
 *
 * The normative description is docs/journal-format.md, section 9; this header and
 * journal/Scoord.Journal/Ring/RingLayout.cs must agree (tests/Scoord.Tests/FastPath/RingAbiTests
 * compiles this header and compares every offset and constant).
 *
 * One file, mapped MAP_SHARED by the coordinator and by every process of the traced tree that
 * loaded libscoord-fast.so. All integers little-endian (x86_64), all offsets from the file start.
 *
 *   header      4 KiB at 0: magic, version, the journal's sequence counter, the undo epoch, ...
 *   policy      FP_POLICY_SIZE at FP_POLICY_OFFSET: what is journaled (written once by the coordinator)
 *   processes   FP_PROC_COUNT x {u32 tgid, u32 flags}: per-process switches set by the tracer
 *   claims      FP_CLAIM_COUNT x u32 owner: objects an operation in flight touches (ordering)
 *   devices     FP_DEV_COUNT x {u64 dev, u64 marks}: inode allocations/frees in flight per device
 *   epoch       FP_EPOCH_COUNT x 32-byte entries: what was captured in the current undo epoch
 *   slots       FP_SLOT_COUNT x (256-byte slot header + FP_RING_SIZE ring): one per thread
 *
 * The file is sparse. Everything before the slots is allocated when the ring is made, a slot when a
 * thread first claims it (MADV_POPULATE_WRITE): on a full file system that fails with an error, where
 * writing an unallocated page of a shared mapping would kill the writer with SIGBUS.
 */
#ifndef SCOORD_RING_H
#define SCOORD_RING_H

#include <stdint.h>

#define FP_MAGIC 0x474e495244524353ULL /* "SCRDRING" */
#define FP_VERSION 1u

/* The stub page: `syscall; ret` at FP_STUB_ADDR; the filter allows syscalls whose return address
 * (seccomp_data.instruction_pointer) is FP_STUB_ADDR + 2, both 32-bit halves checked. */
#define FP_STUB_ADDR 0x70000000UL
#define FP_STUB_SIZE 4096u

#define FP_HEADER_SIZE 4096u
#define FP_POLICY_OFFSET 4096u
#define FP_POLICY_SIZE (256u * 1024u)
#define FP_PROC_OFFSET (FP_POLICY_OFFSET + FP_POLICY_SIZE)
#define FP_PROC_COUNT 8192u
#define FP_CLAIM_OFFSET (FP_PROC_OFFSET + FP_PROC_COUNT * 8u)
#define FP_CLAIM_COUNT 65536u
#define FP_DEV_OFFSET (FP_CLAIM_OFFSET + FP_CLAIM_COUNT * 4u)
#define FP_DEV_COUNT 256u
#define FP_EPOCH_OFFSET (FP_DEV_OFFSET + FP_DEV_COUNT * 16u)
#define FP_EPOCH_COUNT (1u << 17)
#define FP_EPOCH_PROBE 32u
#define FP_SLOT_OFFSET (FP_EPOCH_OFFSET + FP_EPOCH_COUNT * 32u)
#define FP_SLOT_COUNT 512u
#define FP_SLOT_HEADER 256u
#define FP_RING_SIZE (1024u * 1024u)
#define FP_SLOT_SIZE (FP_SLOT_HEADER + FP_RING_SIZE)
#define FP_FILE_SIZE ((uint64_t)FP_SLOT_OFFSET + (uint64_t)FP_SLOT_COUNT * FP_SLOT_SIZE)
/* The largest INTENT + DONE pair a call may need; a call that needs more goes the ptrace way. */
#define FP_MAX_RECORD (160u * 1024u)

/* Header flags. */
#define FP_F_BARRIER 1u /* a checkpoint barrier is up: a call that ends makes the notify syscall */
#define FP_F_OFF 2u     /* everything goes the ptrace way (set by the coordinator) */

/* The notify syscall: seccomp(FP_NOTIFY_OP, 0, 0), always stopped by the filter under the fast path. */
#define FP_NOTIFY_OP 0x53434f44u

/* Process flags. */
#define FP_P_OFF 1u     /* the process stacked a seccomp filter of its own: it goes the ptrace way */
#define FP_P_GUARDED 2u /* the stdio guard is installed: writes to fds 0-2 are classified too */

/* Slot flags and states. */
#define FP_S_DEAD 1u    /* the thread has exited; the drain frees the slot once it is empty */
#define FP_S_READY 2u   /* the slot's pages are allocated in the file (MADV_POPULATE_WRITE): writing them cannot SIGBUS */
#define FP_STATE_IDLE 0u
#define FP_STATE_CALL 1u /* between taking a sequence number and publishing the DONE record */

/* Claims: an owner tid; the tracer's own ops set the top bit. */
#define FP_CLAIM_TRACER 0x80000000u

/* Epoch entries: group FP_GROUP_OBJECT holds object flags, other groups 64 block bits each. */
#define FP_GROUP_OBJECT 0xffffffffu
#define FP_E_TOUCHED 1u
#define FP_E_BORN 2u
#define FP_EPOCH_BUSY 0xffffffffu

/* Record types. */
#define FP_R_INTENT 1u
#define FP_R_DONE 2u
#define FP_R_WRAP 3u /* skip to the start of the ring */

/* DONE flags. */
#define FP_D_SUPERSEDE 1u /* delete the undo item (super_seq, super_part): an fd post-state this one replaces */

struct fp_header {
    uint64_t magic;          /*   0 */
    uint32_t version;        /*   8 */
    uint32_t header_size;    /*  12 */
    uint64_t seq;            /*  16 the journal's sequence counter: the last number handed out */
    uint32_t epoch;          /*  24 the current undo epoch (changes only inside a checkpoint barrier) */
    uint32_t flags;          /*  28 FP_F_* */
    uint64_t names_gen;      /*  32 +1 for every journaled unlink, rmdir and rename (fd path caches) */
    uint64_t path_ops;       /*  40 +1 for every journaled path operation (post-state superseding) */
    uint32_t slot_count;     /*  48 */
    uint32_t ring_size;      /*  52 */
    uint32_t max_record;     /*  56 */
    uint32_t slot_hwm;       /*  60 slots [0, slot_hwm) have ever been claimed */
    uint8_t journal_id[16];  /*  64 the journal this ring belongs to */
    uint32_t owner_pid;      /*  80 the coordinator */
    uint32_t stdio_fast;     /*  84 bit N: fd N (0-2) was not a regular file at launch */
    uint32_t sync_points;    /*  88 durability sync-points: O_SYNC/O_DSYNC writes go the ptrace way */
    uint32_t policy_len;     /*  92 bytes used in the policy region */
    int64_t created_ns;      /*  96 */
    uint32_t small_file;     /* 104 regular files up to this size get their whole content at first touch (0: off) */
    uint32_t removed_limit;  /* 108 largest file the fast path keeps whole when it is removed */
    uint64_t drained;        /* 112 records drained so far (statistics) */
};

struct fp_proc {
    uint32_t tgid;
    uint32_t flags;
};

struct fp_dev {
    uint64_t dev;
    uint64_t marks; /* low 32 bits: inode allocations in flight, high 32: frees in flight */
};

struct fp_epoch_entry {
    uint64_t dev;
    uint64_t ino;    /* 0: empty */
    uint32_t group;  /* FP_GROUP_OBJECT or block / 64 */
    uint32_t epoch;  /* valid only when equal to the header's epoch; FP_EPOCH_BUSY while being reset */
    uint64_t bits;   /* FP_E_* for the object entry; block bits otherwise */
};

struct fp_slot {
    uint32_t owner;       /*   0 the thread's tid; 0 = free */
    uint32_t tgid;        /*   4 */
    uint32_t state;       /*   8 FP_STATE_* */
    uint32_t flags;       /*  12 FP_S_* */
    uint64_t head;        /*  16 bytes published (monotonic; the ring offset is head % ring_size) */
    uint64_t tail;        /*  24 bytes drained into the journal (monotonic) */
    uint64_t call_seq;    /*  32 the call in flight (state FP_STATE_CALL) */
    uint32_t busy;        /*  40 inside a hook: a nested call (signal handler) goes the ptrace way */
    uint32_t nclaims;     /*  44 */
    uint32_t claims[8];   /*  48 claim indices held by the call in flight */
    uint32_t dev_index;   /*  80 device entry of an inode mark held, + 1 (0: none) */
    uint32_t dev_mark;    /*  84 1: allocation, 2: free */
    uint32_t proc_index;  /*  88 process entry + 1 */
    uint32_t post_part;   /*  92 the last fd post-state this thread recorded: its undo part */
    uint64_t post_seq;    /*  96 ... its seq */
    uint64_t post_dev;    /* 104 */
    uint64_t post_ino;    /* 112 */
    uint64_t post_path;   /* 120 FNV-1a of its path */
    uint64_t post_ops;    /* 128 path_ops when it was recorded */
    uint32_t post_epoch;  /* 136 */
    uint32_t post_len;    /* 140 path length */
    uint8_t reserved[FP_SLOT_HEADER - 144];
};

struct fp_rec {
    uint32_t len;   /* whole record, a multiple of 8 */
    uint16_t type;  /* FP_R_* */
    uint16_t flags;
    uint64_t seq;
};

/* INTENT: the fields of the journal's INTENT record, then path, path2, then nitems undo items. */
struct fp_intent {
    int64_t time_ns;     /*  0 */
    int32_t pid;         /*  8 */
    int32_t tid;         /* 12 */
    uint16_t op;         /* 16 op code (interceptors/Scoord.Interceptors/Syscalls/OpCode.cs) */
    uint16_t iflags;     /* 18 intent flags */
    int32_t fd;          /* 20 */
    uint64_t op_flags;   /* 24 */
    uint32_t mode;       /* 32 */
    int32_t reserved0;   /* 36 */
    int64_t offset;      /* 40 */
    int64_t length;      /* 48 */
    uint32_t uid;        /* 56 */
    uint32_t gid;        /* 60 */
    uint64_t dev;        /* 64 */
    uint64_t ino;        /* 72 */
    uint8_t kind;        /* 80 */
    uint8_t nitems;      /* 81 */
    uint16_t reserved1;  /* 82 */
    uint32_t path_len;   /* 84 */
    uint32_t path2_len;  /* 88 */
    uint32_t reserved2;  /* 92 */
};

/* An undo item: the fields of the journal's undo item, then path, data, encoded xattrs (8-aligned). */
struct fp_item {
    uint8_t kind;        /*  0 */
    uint8_t role;        /*  1 */
    uint16_t flags;      /*  2 */
    uint32_t path_len;   /*  4 */
    uint64_t dev;        /*  8 */
    uint64_t ino;        /* 16 */
    int64_t size;        /* 24 */
    int64_t offset;      /* 32 */
    int64_t length;      /* 40 */
    uint32_t mode;       /* 48 */
    uint32_t uid;        /* 52 */
    uint32_t gid;        /* 56 */
    uint32_t nlink;      /* 60 */
    int64_t atime_ns;    /* 64 */
    int64_t mtime_ns;    /* 72 */
    int64_t ctime_ns;    /* 80 */
    uint32_t data_len;   /* 88 */
    uint32_t xattr_len;  /* 92 */
};

/* DONE: the kernel's answer and the post-states (nitems items, numbered from first_part). */
struct fp_done {
    int64_t time_ns;     /*  0 */
    int64_t result;      /*  8 */
    int32_t err;         /* 16 */
    uint32_t first_part; /* 20 */
    uint8_t nitems;      /* 24 */
    uint8_t dflags;      /* 25 FP_D_* */
    uint16_t reserved0;  /* 26 */
    uint32_t super_part; /* 28 */
    uint64_t super_seq;  /* 32 */
};

#endif
