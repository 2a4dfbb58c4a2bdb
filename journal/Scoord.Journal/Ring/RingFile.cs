using System.Runtime.InteropServices;
using Scoord.Interceptors;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Journal.Ring;

/// <summary>
/// The fast path's ring file, mapped MAP_SHARED (the coordinator's view; every process of the traced tree
/// maps the same file through libscoord-fast.so). Created by a run (<see cref="Create"/>), drained while it
/// runs, removed when it ends; one left by a crash is recovered at the next open for writing
/// (<see cref="RingRecovery"/>) and checked by fsck (<see cref="RingCheck"/>). The app can write this
/// file (it must: its hooks publish records here), so everything read from it is checked before use.
/// </summary>
public sealed unsafe class RingFile : IDisposable
{
    private readonly int _fd;
    private nint _base;

    private RingFile(string directory, int fd, nint mapping)
    {
        Directory = directory;
        _fd = fd;
        _base = mapping;
    }

    /// <summary>DIR/fastpath.</summary>
    public string Directory { get; }

    public string RingPath => Path.Combine(Directory, RingLayout.RingFileName);

    public string StubPath => Path.Combine(Directory, RingLayout.StubFileName);

    public ref RingHeader Header => ref *(RingHeader*)_base;

    public byte* Base => (byte*)_base;

    /// <summary>The journal's sequence counter while the ring is shared (the allocator uses it in place).</summary>
    public ulong* SeqCounter => &((RingHeader*)_base)->Seq;

    public ulong* PathOpsCounter => &((RingHeader*)_base)->PathOps;

    public ulong* NamesGenCounter => &((RingHeader*)_base)->NamesGen;

    public uint* FlagsWord => &((RingHeader*)_base)->Flags;

    public uint* EpochWord => &((RingHeader*)_base)->Epoch;

    public RingSlot* Slot(uint index) => (RingSlot*)(_base + (nint)RingLayout.SlotOffset + ((nint)index * (nint)RingLayout.SlotSize));

    /// <summary>The first byte of slot <paramref name="index"/>'s ring.</summary>
    public byte* RingOf(uint index) => (byte*)Slot(index) + RingLayout.SlotHeaderSize;

    public uint* Claims => (uint*)(_base + (nint)RingLayout.ClaimOffset);

    public uint* Procs => (uint*)(_base + (nint)RingLayout.ProcOffset);

    /// <summary>Slots [0, n) have ever been claimed (bounded by the slot count, whatever the file says).</summary>
    public uint SlotHighWater => Math.Min(Volatile.Read(ref Header.SlotHwm), RingLayout.SlotCount);

    /// <summary>True when DIR/fastpath/ring exists.</summary>
    public static bool Exists(string journalDirectory)
        => File.Exists(Path.Combine(journalDirectory, RingLayout.DirectoryName, RingLayout.RingFileName));

    /// <summary>
    /// Creates DIR/fastpath with a fresh ring (sparse, <see cref="RingLayout.FileSize"/> bytes) and the
    /// stub file, and writes the header and the policy. <paramref name="firstSeq"/>: the last sequence
    /// number the journal holds (the shared counter continues after it).
    /// </summary>
    public static RingFile Create(string journalDirectory, ReadOnlySpan<byte> policy, ulong lastSeq, uint stdioFast, bool syncPoints, uint smallFile)
    {
        if (policy.Length > RingLayout.PolicySize)
        {
            throw new ScoordException($"the fast path's policy is too large ({policy.Length} bytes; --only/--exclude lists too long)");
        }

        string dir = Path.Combine(journalDirectory, RingLayout.DirectoryName);
        System.IO.Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        WriteStub(Path.Combine(dir, RingLayout.StubFileName));
        string path = Path.Combine(dir, RingLayout.RingFileName);
        File.Delete(path);
        int fd = OpenFile(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0x180);
        if (ftruncate(fd, (long)RingLayout.FileSize) != 0)
        {
            Errno e = Interop.LastErrno;
            close(fd);
            throw new ScoordException($"cannot size the fast path's ring {path}: {e}");
        }

        var ring = new RingFile(dir, fd, Map(fd, path, writable: true));
        // Allocate everything before the slots now (a slot is allocated by its first thread): on a full
        // file system this fails here, where a write to an unallocated page of the mapping is a SIGBUS.
        // fallocate reserves the blocks without writing them (ext4: 0.02 ms for these 4.6 MiB, where
        // touching every page took 5 ms and left 4.6 MiB of dirty pages per run; tmpfs: 1 ms against 2.8);
        // a file system without it gets every page touched instead.
        Errno? failed = null;
        if (fallocate(fd, 0, 0, (long)RingLayout.SlotOffset) != 0)
        {
            Errno fe = Interop.LastErrno;
            failed = fe != Errno.EOPNOTSUPP ? fe
                : madvise(ring._base, RingLayout.SlotOffset, MADV_POPULATE_WRITE) != 0 ? Interop.LastErrno : null;
        }

        if (failed is Errno allocError)
        {
            ring.Dispose();
            File.Delete(path);
            throw new ScoordException($"cannot allocate the fast path's ring {path}: {allocError}");
        }

        ref RingHeader h = ref ring.Header;
        h.Version = RingLayout.Version;
        h.HeaderSize = RingLayout.HeaderSize;
        h.Seq = lastSeq;
        h.Epoch = 1;
        h.SlotCount = RingLayout.SlotCount;
        h.RingSize = RingLayout.RingSize;
        h.MaxRecord = RingLayout.MaxRecord;
        h.OwnerPid = (uint)Environment.ProcessId;
        h.StdioFast = stdioFast;
        h.SyncPoints = syncPoints ? 1u : 0u;
        h.PolicyLength = (uint)policy.Length;
        h.CreatedNs = DateTime.UtcNow.Ticks;
        h.SmallFile = smallFile;
        h.RemovedLimit = RingLayout.RemovedLimit;
        policy.CopyTo(new Span<byte>(ring.Base + RingLayout.PolicyOffset, policy.Length));
        Volatile.Write(ref h.Magic, RingLayout.Magic); // last: a half-written header is never taken for a ring
        return ring;
    }

    /// <summary>Maps an existing ring (recovery, fsck). Null when there is none; throws when it is not a ring of this version.</summary>
    public static RingFile? OpenExisting(string journalDirectory, bool writable)
    {
        string dir = Path.Combine(journalDirectory, RingLayout.DirectoryName);
        string path = Path.Combine(dir, RingLayout.RingFileName);
        if (!File.Exists(path))
        {
            return null;
        }

        int fd = OpenFile(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
        Interop.Stat st;
        if (fstat(fd, &st) != 0 || (ulong)st.st_size < RingLayout.FileSize)
        {
            close(fd);
            throw new JournalException($"journal {journalDirectory}: the fast path's ring {path} is damaged (size {st.st_size}, expected {RingLayout.FileSize})");
        }

        var ring = new RingFile(dir, fd, Map(fd, path, writable));
        ref RingHeader h = ref ring.Header;
        if (h.Magic == 0 && h.Version == 0)
        {
            return ring; // created but never initialised (the run died at once): nothing in it
        }

        if (h.Magic != RingLayout.Magic || h.Version != RingLayout.Version || h.SlotCount != RingLayout.SlotCount
            || h.RingSize != RingLayout.RingSize || h.MaxRecord != RingLayout.MaxRecord)
        {
            ring.Dispose();
            throw new JournalException($"journal {journalDirectory}: the fast path's ring {path} is damaged or of another version (magic {h.Magic:x16}, version {h.Version})");
        }

        return ring;
    }

    /// <summary>Removes DIR/fastpath/ring and the stub (after everything in the ring is in the journal).</summary>
    public static void Remove(string directory)
    {
        File.Delete(Path.Combine(directory, RingLayout.RingFileName));
        File.Delete(Path.Combine(directory, RingLayout.StubFileName));
        try
        {
            System.IO.Directory.Delete(directory);
        }
        catch (IOException)
        {
            // not empty (something else was put there): leave it
        }
    }

    /// <summary>Zeros the epoch table (its pages stay allocated): only while no hook can run (inside a barrier).</summary>
    public void ClearEpochTable()
        => new Span<byte>(Base + RingLayout.EpochOffset, (int)(RingLayout.EpochCount * RingLayout.EpochEntrySize)).Clear();

    public void Dispose()
    {
        if (_base != 0)
        {
            munmap(_base, (nuint)RingLayout.FileSize);
            _base = 0;
            close(_fd);
        }
    }

    private static void WriteStub(string path)
    {
        // `syscall; ret`, then int3 to the end of the page.
        byte[] page = new byte[RingLayout.StubSize];
        page.AsSpan().Fill(0xcc);
        page[0] = 0x0f;
        page[1] = 0x05;
        page[2] = 0xc3;
        File.Delete(path);
        File.WriteAllBytes(path, page);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    private static int OpenFile(string path, int flags, int mode)
    {
        byte[] p = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* pp = p)
        {
            int fd = open(pp, flags, mode);
            if (fd < 0)
            {
                throw new ScoordException($"cannot open the fast path's ring {path}: {Interop.LastErrno}");
            }

            return fd;
        }
    }

    private static nint Map(int fd, string path, bool writable)
    {
        nint m = mmap(0, (nuint)RingLayout.FileSize, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
        if (m == MapFailed)
        {
            Errno e = Interop.LastErrno;
            close(fd);
            throw new ScoordException($"cannot map the fast path's ring {path}: {e}");
        }

        return m;
    }

    /// <summary>The slot of thread <paramref name="tid"/> (not dead), or null.</summary>
    public RingSlot* FindSlot(uint tid)
    {
        uint hwm = SlotHighWater;
        for (uint i = 0; i < hwm; i++)
        {
            RingSlot* s = Slot(i);
            if (Volatile.Read(ref s->Owner) == tid && (Volatile.Read(ref s->Flags) & RingLayout.SlotDead) == 0)
            {
                return s;
            }
        }

        return null;
    }

    internal static int SizeOf<T>()
        where T : struct => Marshal.SizeOf<T>();
}
