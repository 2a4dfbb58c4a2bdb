using Scoord.Interceptors;
using Scoord.Interceptors.Decoding;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal.Undo;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Undo;

/// <summary>
/// The undo rules (DESIGN.md, "Undo rules"; docs/undo-model.md) as a function: a decoded call in, the
/// captures its INTENT must carry and the post-states to record at its exit out. It asks the file system
/// only what the rules depend on (where an fd write lands, whether two names are one object); the
/// captures themselves are made by the journal ingest. The epoch's first-touch checks are steps' gates,
/// evaluated when the captures run.
/// </summary>
internal static unsafe class UndoPlanner
{
    private const uint FICLONE = 0x40049409;
    private const uint FICLONERANGE = 0x4020940d;

    public static UndoPlan Plan(in DecodedCall call)
    {
        var plan = default(UndoPlan);
        if (call.DupFd >= 0)
        {
            PlanFdOp(call, ref plan);
        }
        else if (!call.Path.StatPath.IsEmpty)
        {
            PlanPathOp(call, ref plan);
        }

        return plan;
    }

    private static void PlanFdOp(in DecodedCall call, ref UndoPlan plan)
    {
        if (call.DupStat.st_nlink == 0)
        {
            // The file has no name any more (unlinked while open): nothing of the tree changes. Its
            // content at the unlink was kept whole by the unlink's own undo data.
            return;
        }

        plan.Add(new UndoStep { Kind = UndoStepKind.FdState, Role = UndoRole.Object, Follow = true, FirstTouchOnly = true, SkipIfTouched = (call.Dev, call.Ino) });
        plan.PostFromFd = true;
        plan.Mapping = call.Op == OpCode.Mmap;
        if (!ContentRange(call, out long offset, out long length))
        {
            return;
        }

        ref readonly Interop.Stat st = ref call.DupStat;
        if ((st.st_mode & S_IFMT) != S_IFREG || offset >= st.st_size)
        {
            return; // nothing existing is overwritten (e.g. writing at the end): the size before undoes it
        }

        plan.Add(new UndoStep { Kind = UndoStepKind.FdBlocks, Offset = offset, Length = length });
    }

    /// <summary>The byte range of the file an fd-based op may overwrite or discard; false when it only extends or changes metadata.</summary>
    private static bool ContentRange(in DecodedCall call, out long offset, out long length)
    {
        offset = 0;
        length = -1;
        switch (call.Op)
        {
            case OpCode.Write:
            case OpCode.Writev:
            case OpCode.Pwrite64:
            case OpCode.Pwritev:
            case OpCode.Pwritev2:
                if ((call.OpFlags & O_APPEND) != 0)
                {
                    return false; // appends land at the end: the size before (first-touch state) undoes them
                }

                offset = call.Offset >= 0 ? call.Offset : lseek(call.DupFd, 0, SEEK_CUR);
                length = call.Length;
                return length > 0;
            case OpCode.CopyFileRange:
            case OpCode.Splice:
                offset = call.OutOffset;
                length = call.Length;
                return length > 0;
            case OpCode.Sendfile:
                offset = lseek(call.DupFd, 0, SEEK_CUR);
                length = call.Length;
                return length > 0;
            case OpCode.Ftruncate:
                offset = call.Length; // bytes past the new size are lost
                return true;
            case OpCode.Fallocate:
            {
                long mode = (long)call.OpFlags;
                if ((mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) != 0)
                {
                    offset = call.Offset;
                    length = call.Length;
                    return true;
                }

                if ((mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) != 0)
                {
                    offset = call.Offset; // everything from here shifts
                    return true;
                }

                return false;
            }

            case OpCode.Mmap:
                offset = call.Offset;
                length = call.Length;
                return true;
            case OpCode.Ioctl:
                return (uint)call.OpFlags is FICLONE /* whole file */ or FICLONERANGE;
            default:
                return false;
        }
    }

    private static void PlanPathOp(in DecodedCall call, ref UndoPlan plan)
    {
        bool follow1 = call.Path.Follow;
        bool existed = call.Kind is not (ObjectKind.Absent or ObjectKind.Unknown);
        // The object of the call, recorded the first time it is touched in the epoch.
        (ulong, ulong) self = call.Ino != 0 ? (call.Dev, call.Ino) : default;
        switch (call.Op)
        {
            case OpCode.Open:
            case OpCode.Openat:
            case OpCode.Openat2:
            case OpCode.Creat:
                if (!existed)
                {
                    plan.Add(State(second: false, follow1, firstTouchOnly: false, recordAbsent: true, default));
                    plan.Add(Parent(second: false, call.Path.Parent));
                    plan.Creates = (call.OpFlags & O_CREAT) != 0;
                }
                else
                {
                    plan.Add(State(second: false, follow1, firstTouchOnly: true, recordAbsent: false, self));
                    if ((call.OpFlags & O_TRUNC) != 0 && call.Kind == ObjectKind.Regular)
                    {
                        plan.Add(new UndoStep { Kind = UndoStepKind.BlocksByPath, Offset = 0 });
                    }
                }

                PostFirst(ref plan, follow1);
                break;
            case OpCode.Truncate:
                plan.Add(State(second: false, follow: true, firstTouchOnly: true, recordAbsent: false, self));
                plan.Add(new UndoStep { Kind = UndoStepKind.BlocksByPath, Offset = call.Length });
                PostFirst(ref plan, follow: true);
                break;
            case OpCode.Mkdir:
            case OpCode.Mkdirat:
            case OpCode.Mknod:
            case OpCode.Mknodat:
            case OpCode.Symlink:
            case OpCode.Symlinkat:
            case OpCode.Bind:
                plan.Add(State(second: false, follow: false, firstTouchOnly: false, recordAbsent: true, default));
                plan.Add(Parent(second: false, call.Path.Parent));
                PostFirst(ref plan, follow: false);
                plan.Creates = true;
                break;
            case OpCode.Link:
            case OpCode.Linkat:
                plan.Add(State(second: false, follow1, firstTouchOnly: true, recordAbsent: false, self));
                plan.Add(State(second: true, follow: false, firstTouchOnly: false, recordAbsent: true, default));
                plan.Add(Parent(second: true, call.Path2.Parent));
                PostFirst(ref plan, follow1);
                plan.Post2 = true;
                break;
            case OpCode.Unlink:
            case OpCode.Unlinkat:
            case OpCode.Rmdir:
                plan.Add(new UndoStep { Kind = UndoStepKind.Removed, Role = UndoRole.Target });
                plan.Add(Parent(second: false, call.Path.Parent));
                PostFirst(ref plan, follow: false);
                break;
            case OpCode.Rename:
            case OpCode.Renameat:
            case OpCode.Renameat2:
                plan.Add(State(second: false, follow: false, firstTouchOnly: true, recordAbsent: false, self));
                if ((call.OpFlags & RENAME_EXCHANGE) != 0 || SameObject(call.Path.StatPath, call.Path2.StatPath))
                {
                    // RENAME_EXCHANGE: both names stay; exchanging again undoes it. Two names of one
                    // object (`mv d d`, hard links): the kernel does nothing, nothing is replaced.
                    plan.Add(State(second: true, follow: false, firstTouchOnly: true, recordAbsent: false, default));
                }
                else
                {
                    // The object replaced at the new name, kept whole; if there is none, the name was free.
                    plan.Add(new UndoStep { Kind = UndoStepKind.Removed, Role = UndoRole.Target, Second = true, RecordAbsent = true });
                }

                plan.Add(Parent(second: false, call.Path.Parent));
                plan.Add(Parent(second: true, call.Path2.Parent));
                PostFirst(ref plan, follow: false);
                plan.Post2 = true;
                break;
            default:
                // chmod, chown, utimes, xattrs by path: the old values, once per epoch.
                plan.Add(State(second: false, follow1, firstTouchOnly: true, recordAbsent: false, self));
                PostFirst(ref plan, follow1);
                break;
        }
    }

    private static UndoStep State(bool second, bool follow, bool firstTouchOnly, bool recordAbsent, (ulong, ulong) skipIfTouched) => new()
    {
        Kind = UndoStepKind.State,
        Role = second ? UndoRole.Second : UndoRole.Object,
        Second = second,
        Follow = follow,
        FirstTouchOnly = firstTouchOnly,
        RecordAbsent = recordAbsent,
        SkipIfTouched = skipIfTouched,
    };

    private static UndoStep Parent(bool second, (ulong Dev, ulong Ino) known) => new()
    {
        Kind = UndoStepKind.Parent,
        Role = UndoRole.Parent,
        Second = second,
        Follow = true,
        FirstTouchOnly = true,
        SkipIfTouched = known.Ino != 0 ? known : default,
    };

    private static void PostFirst(ref UndoPlan plan, bool follow)
    {
        plan.Post1 = true;
        plan.Post1Follow = follow;
    }

    /// <summary>True when both paths (not following a final symlink) name the same existing object.</summary>
    private static bool SameObject(ReadOnlySpan<byte> stat, ReadOnlySpan<byte> stat2)
    {
        if (stat.IsEmpty || stat2.IsEmpty)
        {
            return false;
        }

        Interop.Stat a, b;
        fixed (byte* p = stat)
        fixed (byte* q = stat2)
        {
            return fstatat(AT_FDCWD, p, &a, AT_SYMLINK_NOFOLLOW) == 0 && fstatat(AT_FDCWD, q, &b, AT_SYMLINK_NOFOLLOW) == 0
                && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
        }
    }
}
