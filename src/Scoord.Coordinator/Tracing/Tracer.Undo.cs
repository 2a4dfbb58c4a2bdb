using Scoord.Interceptors;
using Scoord.Journal.Model;
using Scoord.Journal.Undo;
using Scoord.Interceptors.Syscalls;
using Scoord.Interceptors.Decoding;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// Undo capture at the seccomp-stop, after the intent is appended and before the tracee resumes
/// (DESIGN.md, "Undo rules"; docs/undo-model.md): the items go into the same batch as the intent.
/// </summary>
internal sealed unsafe partial class Tracer
{
    private void CaptureUndo(Tracee t, ulong seq, ref OpIntent intent, int pathLen, int path2Len)
    {
        uint part = 0;
        ReadOnlySpan<byte> display = _path.AsSpan(0, pathLen);
        t.PostFd = -1;
        t.Post1.Active = false;
        t.Post2.Active = false;
        if (_dupFd >= 0)
        {
            CaptureFdOp(t, seq, ref part, ref intent, display);
        }
        else
        {
            _pathOps++; // may change what a name means: fd post-states before it are not superseded
        }

        if (_dupFd < 0 && _statLen > 0)
        {
            CapturePathOp(t, seq, ref part, ref intent, display, _path2.AsSpan(0, path2Len));
        }

        t.NextPart = part;
    }

    private void CaptureFdOp(Tracee t, ulong seq, ref uint part, ref OpIntent intent, ReadOnlySpan<byte> display)
    {
        int dup = _dupFd;
        if (_dupStat.st_nlink == 0)
        {
            // The file has no name any more (unlinked while open): nothing of the tree changes. Its
            // content at the unlink was kept whole by the unlink's own undo data.
            return;
        }

        if (!_capture.Epoch.IsTouched(intent.Dev, intent.Ino))
        {
            int n = ProcPath.FormatFd(_parentStat, Environment.ProcessId, dup);
            _capture.CaptureState(seq, ref part, UndoRole.Object, _parentStat.AsSpan(0, n + 1), display, follow: true, wholeContent: false, firstTouchOnly: true, recordAbsent: false);
        }

        t.PostFd = intent.Fd;
        t.PostDup = dup; // the exit stop reads the post-state through it, then closes it
        _dupFd = -1;
        t.Post1.Set(default, display, true);
        t.Post1.Active = false; // the post-state comes from the fd; only the display path is kept
        if (intent.Op == OpCode.Mmap)
        {
            t.MapPending = true;
            t.MapLength = intent.Length;
            t.MapOffset = intent.Offset;
            t.MapDev = intent.Dev;
            t.MapIno = intent.Ino;
        }

        if (!ContentRange(t, ref intent, dup, out long offset, out long length))
        {
            return;
        }

        ref readonly Interop.Stat st = ref _dupStat;
        if ((st.st_mode & S_IFMT) != S_IFREG || offset >= st.st_size)
        {
            return; // nothing existing is overwritten (e.g. writing at the end): the size before undoes it
        }

        int reader = _capture.OpenPrivateReader(dup);
        if (reader >= 0)
        {
            _capture.CaptureBlocks(seq, ref part, reader, st.st_dev, st.st_ino, st.st_size, display, offset, length);
            close(reader);
        }
    }

    /// <summary>The byte range of the file an fd-based op may overwrite or discard; false when it only extends or changes metadata.</summary>
    private bool ContentRange(Tracee t, ref OpIntent intent, int dup, out long offset, out long length)
    {
        offset = 0;
        length = -1;
        switch (intent.Op)
        {
            case OpCode.Write:
            case OpCode.Writev:
            case OpCode.Pwrite64:
            case OpCode.Pwritev:
            case OpCode.Pwritev2:
                if ((intent.OpFlags & O_APPEND) != 0)
                {
                    return false; // appends land at the end: the size before (first-touch state) undoes them
                }

                offset = intent.Offset >= 0 ? intent.Offset : lseek(dup, 0, SEEK_CUR);
                length = intent.Length;
                return length > 0;
            case OpCode.CopyFileRange:
            case OpCode.Splice:
                offset = ReadOffsetPointer(t, _info.args[3], dup);
                length = intent.Length;
                return length > 0;
            case OpCode.Sendfile:
                offset = lseek(dup, 0, SEEK_CUR);
                length = intent.Length;
                return length > 0;
            case OpCode.Ftruncate:
                offset = intent.Length; // bytes past the new size are lost
                return true;
            case OpCode.Fallocate:
            {
                long mode = (long)intent.OpFlags;
                if ((mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) != 0)
                {
                    offset = intent.Offset;
                    length = intent.Length;
                    return true;
                }

                if ((mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) != 0)
                {
                    offset = intent.Offset; // everything from here shifts
                    return true;
                }

                return false;
            }

            case OpCode.Mmap:
                offset = intent.Offset;
                length = intent.Length;
                return true;
            case OpCode.Ioctl:
                return (uint)intent.OpFlags is 0x40049409 /* FICLONE: whole file */ or 0x4020940d /* FICLONERANGE */;
            default:
                return false;
        }
    }

    private long ReadOffsetPointer(Tracee t, ulong pointer, int dup)
    {
        if (pointer == 0)
        {
            return lseek(dup, 0, SEEK_CUR);
        }

        Span<byte> v = stackalloc byte[8];
        return TraceeMemory.Read(t.Tid, pointer, v) ? BitConverter.ToInt64(v) : 0;
    }

    private void CapturePathOp(Tracee t, ulong seq, ref uint part, ref OpIntent intent, ReadOnlySpan<byte> display, ReadOnlySpan<byte> display2)
    {
        ReadOnlySpan<byte> stat = _statPath.AsSpan(0, _statLen + 1);
        ReadOnlySpan<byte> stat2 = _statPath2.AsSpan(0, _statLen2 + 1);
        bool existed = intent.Kind is not (ObjectKind.Absent or ObjectKind.Unknown);
        switch (intent.Op)
        {
            case OpCode.Open:
            case OpCode.Openat:
            case OpCode.Openat2:
            case OpCode.Creat:
                if (!existed)
                {
                    _capture.CaptureState(seq, ref part, UndoRole.Object, stat, display, _follow1, false, false, recordAbsent: true);
                    CaptureParent(seq, ref part, stat, display, _parent1);
                    t.Creates = (intent.OpFlags & O_CREAT) != 0;
                }
                else
                {
                    if (!Touched(intent))
                    {
                        _capture.CaptureState(seq, ref part, UndoRole.Object, stat, display, _follow1, false, firstTouchOnly: true, recordAbsent: false);
                    }

                    if ((intent.OpFlags & O_TRUNC) != 0 && intent.Kind == ObjectKind.Regular)
                    {
                        CaptureBlocksByPath(seq, ref part, stat, display, 0);
                    }
                }

                t.Post1.Set(stat[..^1], display, _follow1);
                break;
            case OpCode.Truncate:
                if (!Touched(intent))
                {
                    _capture.CaptureState(seq, ref part, UndoRole.Object, stat, display, true, false, firstTouchOnly: true, recordAbsent: false);
                }
                CaptureBlocksByPath(seq, ref part, stat, display, intent.Length);
                t.Post1.Set(stat[..^1], display, true);
                break;
            case OpCode.Mkdir:
            case OpCode.Mkdirat:
            case OpCode.Mknod:
            case OpCode.Mknodat:
            case OpCode.Symlink:
            case OpCode.Symlinkat:
            case OpCode.Bind:
                _capture.CaptureState(seq, ref part, UndoRole.Object, stat, display, false, false, false, recordAbsent: true);
                CaptureParent(seq, ref part, stat, display, _parent1);
                t.Post1.Set(stat[..^1], display, false);
                t.Creates = true;
                break;
            case OpCode.Link:
            case OpCode.Linkat:
                if (!Touched(intent))
                {
                    _capture.CaptureState(seq, ref part, UndoRole.Object, stat, display, _follow1, false, firstTouchOnly: true, recordAbsent: false);
                }
                _capture.CaptureState(seq, ref part, UndoRole.Second, stat2, display2, false, false, false, recordAbsent: true);
                CaptureParent(seq, ref part, stat2, display2, _parent2);
                t.Post1.Set(stat[..^1], display, _follow1);
                t.Post2.Set(stat2[..^1], display2, false);
                break;
            case OpCode.Unlink:
            case OpCode.Unlinkat:
            case OpCode.Rmdir:
                CaptureRemoved(seq, ref part, stat, display);
                CaptureParent(seq, ref part, stat, display, _parent1);
                t.Post1.Set(stat[..^1], display, false);
                break;
            case OpCode.Rename:
            case OpCode.Renameat:
            case OpCode.Renameat2:
                if (!Touched(intent))
                {
                    _capture.CaptureState(seq, ref part, UndoRole.Object, stat, display, false, false, firstTouchOnly: true, recordAbsent: false);
                }
                if ((intent.OpFlags & 2) != 0 || SameObject(stat, stat2))
                {
                    // RENAME_EXCHANGE: both names stay; exchanging again undoes it. Two names of one
                    // object (`mv d d`, hard links): the kernel does nothing, nothing is replaced.
                    _capture.CaptureState(seq, ref part, UndoRole.Second, stat2, display2, false, false, firstTouchOnly: true, recordAbsent: false);
                }
                else if (!CaptureRemoved(seq, ref part, stat2, display2))
                {
                    _capture.CaptureState(seq, ref part, UndoRole.Second, stat2, display2, false, false, false, recordAbsent: true);
                }

                CaptureParent(seq, ref part, stat, display, _parent1);
                CaptureParent(seq, ref part, stat2, display2, _parent2);
                t.Post1.Set(stat[..^1], display, false);
                t.Post2.Set(stat2[..^1], display2, false);
                break;
            default:
                // chmod, chown, utimes, xattrs by path: the old values, once per epoch.
                if (!Touched(intent))
                {
                    _capture.CaptureState(seq, ref part, UndoRole.Object, stat, display, _follow1, false, firstTouchOnly: true, recordAbsent: false);
                }
                t.Post1.Set(stat[..^1], display, _follow1);
                break;
        }
    }

    /// <summary>True when both paths (not following a final symlink) name the same existing object.</summary>
    private static bool SameObject(ReadOnlySpan<byte> stat, ReadOnlySpan<byte> stat2)
    {
        Interop.Stat a, b;
        fixed (byte* p = stat)
        fixed (byte* q = stat2)
        {
            return fstatat(AT_FDCWD, p, &a, AT_SYMLINK_NOFOLLOW) == 0 && fstatat(AT_FDCWD, q, &b, AT_SYMLINK_NOFOLLOW) == 0
                && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
        }
    }

    /// <summary>An object the op removes or replaces: its whole state and content (the graveyard copy). False if absent.</summary>
    private bool CaptureRemoved(ulong seq, ref uint part, ReadOnlySpan<byte> stat, ReadOnlySpan<byte> display)
    {
        Interop.Stat st;
        fixed (byte* p = stat)
        {
            if (fstatat(AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW) != 0)
            {
                return false;
            }
        }

        _capture.CaptureState(seq, ref part, UndoRole.Target, stat, display, false, wholeContent: true, firstTouchOnly: false, recordAbsent: false);
        if (st.st_nlink <= 1)
        {
            // The inode number may be reused by a new file in this epoch: capture that one afresh.
            _capture.Epoch.Forget(st.st_dev, st.st_ino);
        }

        return true;
    }

    /// <summary>The object of the op (its identity known from the decode) was already recorded in this epoch.</summary>
    private bool Touched(in OpIntent intent) => intent.Ino != 0 && _capture.Epoch.IsTouched(intent.Dev, intent.Ino);

    private void CaptureParent(ulong seq, ref uint part, ReadOnlySpan<byte> stat, ReadOnlySpan<byte> display, (ulong Dev, ulong Ino) known)
    {
        if (known.Ino != 0 && _capture.Epoch.IsTouched(known.Dev, known.Ino))
        {
            return; // already recorded in this epoch: no stat needed
        }

        ReadOnlySpan<byte> s = stat[..^1];
        int slash = s.LastIndexOf((byte)'/');
        if (slash < 0)
        {
            return;
        }

        int cut = slash == 0 ? 1 : slash;
        s[..cut].CopyTo(_parentStat);
        _parentStat[cut] = 0;
        int dparent = PathNormalizer.ParentLength(display);
        _capture.CaptureState(seq, ref part, UndoRole.Parent, _parentStat.AsSpan(0, cut + 1), display[..dparent], true, false, firstTouchOnly: true, recordAbsent: false);
    }

    private void CaptureBlocksByPath(ulong seq, ref uint part, ReadOnlySpan<byte> stat, ReadOnlySpan<byte> display, long from)
    {
        int fd;
        fixed (byte* p = stat)
        {
            fd = open(p, O_RDONLY | O_CLOEXEC | O_NOATIME, 0);
            if (fd < 0)
            {
                fd = open(p, O_RDONLY | O_CLOEXEC, 0);
            }
        }

        if (fd < 0)
        {
            return;
        }

        Interop.Stat st;
        if (fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && from < st.st_size)
        {
            _capture.CaptureBlocks(seq, ref part, fd, st.st_dev, st.st_ino, st.st_size, display, from, -1);
        }

        close(fd);
    }

    private readonly byte[] _unlinkedCheck = new byte[PathMax + 1];

    /// <summary>
    /// True when <paramref name="display"/> is the kernel's "PATH (deleted)" for an fd whose name was
    /// unlinked, not a file really called so (then PATH-with-suffix would be this very object).
    /// </summary>
    private bool IsUnlinkedName(ReadOnlySpan<byte> display, int fd)
    {
        if (!display.EndsWith(" (deleted)"u8) || display.Length >= _unlinkedCheck.Length)
        {
            return false;
        }

        display.CopyTo(_unlinkedCheck);
        _unlinkedCheck[display.Length] = 0;
        Interop.Stat named, open;
        fixed (byte* p = _unlinkedCheck)
        {
            if (fstat(fd, &open) != 0)
            {
                return true;
            }

            return fstatat(AT_FDCWD, p, &named, AT_SYMLINK_NOFOLLOW) != 0 || named.st_dev != open.st_dev || named.st_ino != open.st_ino;
        }
    }

    /// <summary>At the exit stop of a journaled op: the state it left (rollback compares with it).</summary>
    private void CapturePostState(Tracee t, ulong seq)
    {
        uint part = t.NextPart;
        if (t.PostFd >= 0 && t.PostDup >= 0)
        {
            uint at = part;
            ReadOnlySpan<byte> display = t.Post1.Display.AsSpan(0, t.Post1.DisplayLen);
            // An fd whose name was unlinked reads back as "NAME (deleted)": that is no name of the object,
            // and rollback must not expect anything there (the post-state keeps the object's state).
            if (IsUnlinkedName(display, t.PostDup))
            {
                display = default;
            }

            _capture.CapturePostState(seq, ref part, UndoRole.Object, t.PostDup, display, out ulong fdDev, out ulong fdIno);
            if (!t.MapPending && !display.IsEmpty)
            {
                SupersedeFdPostState(fdDev, fdIno, seq, at, display);
            }
        }

        if (t.Post1.Active)
        {
            _capture.CapturePostState(seq, ref part, UndoRole.Object, t.Post1.Stat.AsSpan(0, t.Post1.StatLen + 1), t.Post1.Display.AsSpan(0, t.Post1.DisplayLen), t.Post1.Follow, out ulong dev, out ulong ino);
            if (t.Creates && ino != 0)
            {
                _capture.Epoch.MarkBorn(dev, ino); // created in this epoch: no pre-images or graveyard copy needed
            }
        }

        if (t.Post2.Active)
        {
            _capture.CapturePostState(seq, ref part, UndoRole.Second, t.Post2.Stat.AsSpan(0, t.Post2.StatLen + 1), t.Post2.Display.AsSpan(0, t.Post2.DisplayLen), t.Post2.Follow);
        }

        t.Creates = false;

        t.PostFd = -1;
        t.Post1.Active = false;
        t.Post2.Active = false;
    }

    /// <summary>
    /// Rollback reads only the last post-state of each object at each path (its conflict check and
    /// history; docs/undo-model.md), so when an fd op's post-state follows another fd op's
    /// post-state of the same object at the same path in the same epoch, with no path-based op
    /// journaled in between (none could have renamed, removed or recreated anything), the earlier
    /// one is deleted in the batch that adds the new one. A program rewriting one region keeps one
    /// post-state instead of one per write. No allocation per stop once an object is known.
    /// </summary>
    private void SupersedeFdPostState(ulong dev, ulong ino, ulong seq, uint part, ReadOnlySpan<byte> display)
    {
        if (ino == 0)
        {
            return;
        }

        ref FdPostState last = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_lastFdPost, (dev, ino), out bool known);
        if (known && last.Epoch == _capture.Epoch.Epoch && last.PathOps == _pathOps
            && last.Path.AsSpan(0, last.PathLen).SequenceEqual(display))
        {
            _writer.DeleteUndo(last.Seq, last.Part);
        }

        if (last.Path is null || last.Path.Length < display.Length)
        {
            last.Path = new byte[Math.Max(display.Length, 64)];
        }

        display.CopyTo(last.Path);
        last.PathLen = display.Length;
        last.Epoch = _capture.Epoch.Epoch;
        last.PathOps = _pathOps;
        last.Seq = seq;
        last.Part = part;
    }

    private readonly Dictionary<(ulong Dev, ulong Ino), FdPostState> _lastFdPost = new();
    private ulong _pathOps;

    private struct FdPostState
    {
        public ulong Epoch;
        public ulong PathOps;
        public ulong Seq;
        public uint Part;
        public byte[] Path;
        public int PathLen;
    }
}
