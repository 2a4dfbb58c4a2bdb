using Scoord.Interceptors;
using Scoord.Journal;
using Scoord.Journal.Undo;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Undo;

/// <summary>
/// Captures undo data before an operation runs and writes it into the journal batch of that
/// operation's intent (same seq), so intent and undo become durable together. Used by the tracer
/// for the app's operations and by the rollback engine for its own (a rollback is journaled with
/// undo data like any change). Single-threaded; reuses its buffers.
/// </summary>
public sealed unsafe class UndoCapture
{
    public const int BlockSize = 4096;
    private const int ChunkSize = 1 << 20;

    private readonly JournalWriter _writer;
    private readonly byte[] _data = new byte[ChunkSize];
    private readonly byte[] _names = new byte[64 * 1024];
    private readonly byte[] _xattrs = new byte[256 * 1024];
    private readonly byte[] _proc = new byte[64];

    public UndoCapture(JournalWriter writer) => _writer = writer;

    public EpochTracker Epoch { get; } = new();

    /// <summary>Undo bytes appended through this capture (for stats and tests).</summary>
    public long CapturedBytes { get; private set; }

    /// <summary>
    /// Records the state of the object at <paramref name="statPath"/> (NUL-terminated, resolvable by
    /// scoord) under role <paramref name="role"/>: existence, type, mode, owner, size, times, nlink,
    /// symlink target and xattrs; with <paramref name="wholeContent"/> the whole content of a
    /// regular file follows as Content items (a graveyard copy that changes nothing the app can
    /// observe: read with O_NOATIME, no link made). With <paramref name="firstTouchOnly"/> an
    /// existing object is recorded only the first time in the epoch. Returns false when the object
    /// does not exist (and records it as absent when <paramref name="recordAbsent"/>).
    /// </summary>
    /// <summary>
    /// As <see cref="CaptureState"/> (not following, no whole content) for an object named by a directory fd
    /// and a NUL-terminated name, empty for the directory itself: the two common answers, nothing there and
    /// a first touch already taken, come from one fstatat relative to the fd instead of a walk through
    /// /proc; anything else is captured through <paramref name="statPath"/> as before.
    /// </summary>
    public bool CaptureStateAt(ulong seq, ref uint part, UndoRole role, int dirFd, ReadOnlySpan<byte> name, ReadOnlySpan<byte> statPath,
        ReadOnlySpan<byte> displayPath, bool firstTouchOnly, bool recordAbsent)
    {
        Interop.Stat st;
        int rc;
        bool self = name.IsEmpty || name[0] == 0;
        fixed (byte* n = self ? "\0"u8 : name)
        {
            rc = fstatat(dirFd, n, &st, AT_SYMLINK_NOFOLLOW | (self ? AT_EMPTY_PATH : 0));
        }

        if (rc != 0 && Interop.LastErrno == Errno.ENOENT)
        {
            if (recordAbsent)
            {
                var absent = new UndoCodec.Header { Kind = UndoKind.ObjectState, Role = role };
                Append(seq, ref part, absent, displayPath, default, default);
            }

            return false;
        }

        if (rc == 0 && firstTouchOnly && Epoch.IsTouched(st.st_dev, st.st_ino))
        {
            return true;
        }

        return CaptureState(seq, ref part, role, statPath, displayPath, follow: false, wholeContent: false, firstTouchOnly, recordAbsent);
    }

    public bool CaptureState(ulong seq, ref uint part, UndoRole role, ReadOnlySpan<byte> statPath, ReadOnlySpan<byte> displayPath,
        bool follow, bool wholeContent, bool firstTouchOnly, bool recordAbsent)
    {
        Interop.Stat st;
        int rc;
        fixed (byte* p = statPath)
        {
            rc = fstatat(AT_FDCWD, p, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW);
        }

        if (rc != 0)
        {
            if (recordAbsent)
            {
                var absent = new UndoCodec.Header { Kind = UndoKind.ObjectState, Role = role };
                Append(seq, ref part, absent, displayPath, default, default);
            }

            return false;
        }

        if (firstTouchOnly && !Epoch.FirstTouch(st.st_dev, st.st_ino))
        {
            return true;
        }

        bool regular = (st.st_mode & S_IFMT) == S_IFREG;
        bool content = wholeContent && regular && !Epoch.IsBorn(st.st_dev, st.st_ino);
        UndoCodec.Header h = HeaderOf(st, UndoKind.ObjectState, role);
        h.Flags = UndoFlags.Existed | (content ? UndoFlags.HasContent : UndoFlags.None);
        ReadOnlySpan<byte> link = default;
        if ((st.st_mode & S_IFMT) == S_IFLNK)
        {
            int n;
            fixed (byte* p = statPath)
            fixed (byte* d = _data)
            {
                n = (int)readlink(p, d, (nuint)_data.Length);
            }

            link = n > 0 ? _data.AsSpan(0, n) : default;
        }

        int xlen = ReadXattrs(statPath, follow);
        Append(seq, ref part, h, displayPath, link, _xattrs.AsSpan(0, xlen));
        if (content)
        {
            int fd = OpenForReading(statPath, follow);
            if (fd >= 0)
            {
                CaptureContent(seq, ref part, fd, st.st_dev, st.st_ino, st.st_size);
                close(fd);
            }
        }
        else if (firstTouchOnly && regular && st.st_size > 0 && st.st_size <= SmallFileBytes && !Epoch.IsBorn(st.st_dev, st.st_ino))
        {
            // A small file's whole content at its first touch in the epoch (as block pre-images, so later
            // writes in the epoch capture nothing more): rollback can then give its checkpoint bytes back
            // exactly even after a change outside the journal (--force), and at most 64 KiB per file.
            int fd = OpenForReading(statPath, follow);
            if (fd >= 0)
            {
                CaptureBlocks(seq, ref part, fd, st.st_dev, st.st_ino, st.st_size, displayPath, 0, st.st_size);
                close(fd);
            }
        }

        return true;
    }

    /// <summary>Regular files up to this size are kept whole at their first touch in an epoch.</summary>
    public const long SmallFileBytes = 64 * 1024;

    /// <summary>
    /// Pre-images of [offset, offset + length) of a regular file, clipped to <paramref name="size"/>,
    /// for every block not yet captured in the epoch. <paramref name="readFd"/> must be a private,
    /// readable description (the app's offset must not move): see <see cref="OpenPrivateReader"/>.
    /// Holes are recorded as holes, so that they stay holes on restore.
    /// </summary>
    public void CaptureBlocks(ulong seq, ref uint part, int readFd, ulong dev, ulong ino, long size, ReadOnlySpan<byte> displayPath, long offset, long length)
    {
        long end = length < 0 ? size : Math.Min(size, offset + length);
        if (offset < 0 || offset >= end || Epoch.IsBorn(dev, ino))
        {
            return; // nothing existing is overwritten, or the file did not exist at the checkpoint
        }

        BlockBitmap captured = Epoch.Blocks(dev, ino);
        long first = offset / BlockSize, last = (end - 1) / BlockSize;
        long b = first;
        while (b <= last)
        {
            if (captured.Contains(b))
            {
                b++;
                continue;
            }

            long runStart = b;
            while (b <= last && !captured.Contains(b) && b - runStart < ChunkSize / BlockSize)
            {
                captured.Add(b);
                b++;
            }

            long from = runStart * BlockSize, to = Math.Min(b * BlockSize, size);
            CaptureRange(seq, ref part, readFd, dev, ino, size, displayPath, from, to);
        }
    }

    private void CaptureRange(ulong seq, ref uint part, int fd, ulong dev, ulong ino, long size, ReadOnlySpan<byte> displayPath, long from, long to)
    {
        // A block that reads back with a byte other than zero is data, never a hole, so the range is
        // read first and the file system is asked about holes only when some block reads as zeros.
        // On tmpfs SEEK_HOLE walks the page cache up to the next hole, i.e. to the end of a file
        // without holes: 0.2-0.4 ms per call in a 64 MiB file, most of the time of random 4 KiB
        // overwrites (docs/performance.md, fio).
        int whole = (int)(to - from);
        if (ReadAt(fd, from, whole) == whole && !HasZeroBlock(_data.AsSpan(0, whole)))
        {
            var d = new UndoCodec.Header { Kind = UndoKind.Blocks, Dev = dev, Ino = ino, Size = size, Offset = from, Length = whole };
            Append(seq, ref part, d, displayPath, _data.AsSpan(0, whole), default);
            return;
        }

        long pos = from;
        while (pos < to)
        {
            long data = lseek(fd, pos, SEEK_DATA);
            if (data < 0 || data >= to)
            {
                AppendHole(seq, ref part, dev, ino, size, displayPath, pos, to - pos);
                return;
            }

            if (data > pos)
            {
                AppendHole(seq, ref part, dev, ino, size, displayPath, pos, data - pos);
                pos = data;
            }

            long hole = lseek(fd, pos, SEEK_HOLE);
            long dataEnd = hole < 0 ? to : Math.Min(hole, to);
            int n = ReadAt(fd, pos, (int)(dataEnd - pos));
            var h = new UndoCodec.Header { Kind = UndoKind.Blocks, Dev = dev, Ino = ino, Size = size, Offset = pos, Length = n };
            Append(seq, ref part, h, displayPath, _data.AsSpan(0, n), default);
            pos = dataEnd;
        }
    }

    /// <summary>True when a <see cref="BlockSize"/> block of <paramref name="data"/> (block-aligned in the file) is all zeros.</summary>
    private static bool HasZeroBlock(ReadOnlySpan<byte> data)
    {
        for (int at = 0; at < data.Length; at += BlockSize)
        {
            if (data.Slice(at, Math.Min(BlockSize, data.Length - at)).IndexOfAnyExcept((byte)0) < 0)
            {
                return true;
            }
        }

        return false;
    }

    private void AppendHole(ulong seq, ref uint part, ulong dev, ulong ino, long size, ReadOnlySpan<byte> displayPath, long at, long len)
    {
        var h = new UndoCodec.Header { Kind = UndoKind.Blocks, Flags = UndoFlags.Hole, Dev = dev, Ino = ino, Size = size, Offset = at, Length = len };
        Append(seq, ref part, h, displayPath, default, default);
    }

    /// <summary>The whole content of a regular file as Content items (holes skipped: a Content gap is a hole).</summary>
    public void CaptureContent(ulong seq, ref uint part, int readFd, ulong dev, ulong ino, long size)
    {
        long pos = 0;
        while (pos < size)
        {
            long data = lseek(readFd, pos, SEEK_DATA);
            if (data < 0 || data >= size)
            {
                return;
            }

            long hole = lseek(readFd, data, SEEK_HOLE);
            long end = hole < 0 ? size : Math.Min(hole, size);
            for (long at = data; at < end;)
            {
                int n = ReadAt(readFd, at, (int)Math.Min(ChunkSize, end - at));
                if (n <= 0)
                {
                    return;
                }

                var h = new UndoCodec.Header { Kind = UndoKind.Content, Dev = dev, Ino = ino, Size = size, Offset = at, Length = n };
                Append(seq, ref part, h, default, _data.AsSpan(0, n), default);
                at += n;
            }

            pos = end;
        }
    }

    /// <summary>The state an operation left, recorded at its exit stop: what a later rollback compares with.</summary>
    public void CapturePostState(ulong seq, ref uint part, UndoRole role, ReadOnlySpan<byte> statPath, ReadOnlySpan<byte> displayPath, bool follow)
        => CapturePostState(seq, ref part, role, statPath, displayPath, follow, out _, out _);

    /// <summary>As the other overload; also returns the identity the op left (0 when absent).</summary>
    public void CapturePostState(ulong seq, ref uint part, UndoRole role, ReadOnlySpan<byte> statPath, ReadOnlySpan<byte> displayPath, bool follow, out ulong dev, out ulong ino)
    {
        Interop.Stat st;
        int rc;
        fixed (byte* p = statPath)
        {
            rc = fstatat(AT_FDCWD, p, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW);
        }

        UndoCodec.Header h = rc == 0 ? HeaderOf(st, UndoKind.PostState, role) : new UndoCodec.Header { Kind = UndoKind.PostState, Role = role };
        if (rc == 0)
        {
            h.Flags = UndoFlags.Existed;
        }

        dev = h.Dev;
        ino = h.Ino;
        Append(seq, ref part, h, displayPath, default, default);
    }

    /// <summary>As <see cref="CapturePostState(ulong, ref uint, UndoRole, ReadOnlySpan{byte}, ReadOnlySpan{byte}, bool)"/>, for an open fd.</summary>
    public void CapturePostState(ulong seq, ref uint part, UndoRole role, int fd, ReadOnlySpan<byte> displayPath)
        => CapturePostState(seq, ref part, role, fd, displayPath, out _, out _);

    /// <summary>As the other fd overload; also returns the identity recorded (0 when fstat failed).</summary>
    public void CapturePostState(ulong seq, ref uint part, UndoRole role, int fd, ReadOnlySpan<byte> displayPath, out ulong dev, out ulong ino)
    {
        Interop.Stat st;
        UndoCodec.Header h = fstat(fd, &st) == 0 ? HeaderOf(st, UndoKind.PostState, role) : new UndoCodec.Header { Kind = UndoKind.PostState, Role = role };
        if (h.Ino != 0)
        {
            h.Flags = UndoFlags.Existed;
        }

        dev = h.Dev;
        ino = h.Ino;
        Append(seq, ref part, h, displayPath, default, default);
    }

    /// <summary>
    /// A new open file description of the file behind <paramref name="fd"/>, read-only and without
    /// atime updates where allowed: reading through the app's own description would move its offset.
    /// </summary>
    public int OpenPrivateReader(int fd)
    {
        int n = FormatSelfFd(fd);
        return OpenForReading(_proc.AsSpan(0, n + 1), follow: true);
    }

    private int FormatSelfFd(int fd)
    {
        ReadOnlySpan<byte> prefix = "/proc/self/fd/"u8;
        prefix.CopyTo(_proc);
        int n = prefix.Length;
        Span<byte> digits = stackalloc byte[12];
        int i = digits.Length;
        int v = fd;
        do
        {
            digits[--i] = (byte)('0' + (v % 10));
            v /= 10;
        }
        while (v != 0);
        digits[i..].CopyTo(_proc.AsSpan(n));
        n += digits.Length - i;
        _proc[n] = 0;
        return n;
    }

    private static int OpenForReading(ReadOnlySpan<byte> statPath, bool follow)
    {
        int flags = O_RDONLY | O_CLOEXEC | O_NOATIME | (follow ? 0 : O_NOFOLLOW);
        fixed (byte* p = statPath)
        {
            int fd = open(p, flags, 0);
            if (fd < 0 && Interop.LastErrno == Errno.EPERM)
            {
                fd = open(p, flags & ~O_NOATIME, 0); // O_NOATIME needs ownership or CAP_FOWNER
            }

            return fd;
        }
    }

    private int ReadAt(int fd, long offset, int count)
    {
        int done = 0;
        fixed (byte* d = _data)
        {
            while (done < count)
            {
                nint n = pread(fd, d + done, (nuint)(count - done), offset + done);
                if (n <= 0)
                {
                    break;
                }

                done += (int)n;
            }
        }

        return done;
    }

    /// <summary>Encodes the object's xattrs (no-follow) as "u32 count, (name, value)*" into _xattrs; 0 when none.</summary>
    private int ReadXattrs(ReadOnlySpan<byte> statPath, bool follow)
    {
        nint listLen;
        fixed (byte* p = statPath)
        fixed (byte* names = _names)
        {
            listLen = follow ? listxattr(p, names, (nuint)_names.Length) : llistxattr(p, names, (nuint)_names.Length);
        }

        if (listLen <= 0)
        {
            return 0;
        }

        int at = 4;
        uint count = 0;
        int start = 0;
        for (int i = 0; i < listLen; i++)
        {
            if (_names[i] != 0)
            {
                continue;
            }

            int nameLen = i - start;
            if (nameLen > 0 && at + 8 + nameLen < _xattrs.Length)
            {
                nint valueLen;
                fixed (byte* p = statPath)
                fixed (byte* name = &_names[start])
                fixed (byte* value = &_xattrs[at + 4 + nameLen + 4])
                {
                    valueLen = follow
                        ? getxattr(p, name, value, (nuint)(_xattrs.Length - (at + 8 + nameLen)))
                        : lgetxattr(p, name, value, (nuint)(_xattrs.Length - (at + 8 + nameLen)));
                }

                if (valueLen >= 0)
                {
                    BitConverter.TryWriteBytes(_xattrs.AsSpan(at), nameLen);
                    _names.AsSpan(start, nameLen).CopyTo(_xattrs.AsSpan(at + 4));
                    BitConverter.TryWriteBytes(_xattrs.AsSpan(at + 4 + nameLen), (int)valueLen);
                    at += 8 + nameLen + (int)valueLen;
                    count++;
                }
            }

            start = i + 1;
        }

        if (count == 0)
        {
            return 0;
        }

        BitConverter.TryWriteBytes(_xattrs.AsSpan(0), count);
        return at;
    }

    private static UndoCodec.Header HeaderOf(in Interop.Stat st, UndoKind kind, UndoRole role) => new()
    {
        Kind = kind,
        Role = role,
        Dev = st.st_dev,
        Ino = st.st_ino,
        Size = st.st_size,
        Mode = st.st_mode,
        Uid = st.st_uid,
        Gid = st.st_gid,
        Nlink = (uint)st.st_nlink,
        AtimeNs = (st.st_atime_sec * 1_000_000_000) + st.st_atime_nsec,
        MtimeNs = (st.st_mtime_sec * 1_000_000_000) + st.st_mtime_nsec,
        CtimeNs = (st.st_ctime_sec * 1_000_000_000) + st.st_ctime_nsec,
    };

    private void Append(ulong seq, ref uint part, in UndoCodec.Header h, ReadOnlySpan<byte> path, ReadOnlySpan<byte> data, ReadOnlySpan<byte> xattrs)
    {
        _writer.AppendUndo(seq, part++, h, path, data, xattrs);
        CapturedBytes += UndoCodec.Size(path.Length, data.Length, xattrs.Length);
    }
}
