using System.Buffers.Binary;
using Scoord.Journal.Codec;

namespace Scoord.Journal.Memory;

/// <summary>
/// MEMORY_IMAGE (8), PROCESS_IMAGE (9) and PAGE_MAP (10) records of the "memory" column family
/// (docs/journal-format.md, "Memory images"). Same frame as every journal record (header, payload,
/// CRC32C); payload fields in the order the spec lists them. Decoders never throw: they report the first
/// check that fails, as the other codecs do.
/// </summary>
public static class ImageCodec
{
    // ------------------------------------------------------------ MEMORY_IMAGE

    public static byte[] Encode(MemoryImage m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var w = new ImageFieldWriter();
        w.I32(m.CheckpointId);
        w.I32(m.MainPid);
        w.I64(m.TimeNs);
        w.I64(m.DumpNs);
        w.U64(m.Xcr0);
        w.U32(m.XsaveSize);
        w.Bytes(m.VdsoHash);
        w.I64(m.NewPageBytes);
        w.I64(m.RecordBytes);
        w.Count(m.VdsoLayout.Count);
        foreach (SpecialArea a in m.VdsoLayout)
        {
            w.Text(a.Name);
            w.I64(a.Offset);
            w.U64(a.Size);
        }

        w.Count(m.Processes.Count);
        foreach (ProcessRef p in m.Processes)
        {
            w.I32(p.Pid);
            w.I32(p.BaseCheckpoint);
            w.U8((byte)p.Tracker);
            w.I64(p.ContentPages);
            w.I64(p.ListedPages);
        }

        w.Count(m.Objects.Count);
        foreach (FileObject o in m.Objects)
        {
            w.I32(o.Id);
            w.U8((byte)o.Kind);
            w.I32(o.Flags);
            w.I64(o.Offset);
            w.I32(o.Pipe);
            w.I32(o.StdioFd);
            WriteFileRef(w, o.File);
        }

        w.Count(m.Pipes.Count);
        foreach (PipeImage p in m.Pipes)
        {
            w.I32(p.Id);
            w.I32(p.Capacity);
            w.Bytes(p.Unread);
            w.U8(p.FifoPath is null ? (byte)0 : (byte)1);
            w.Bytes(p.FifoPath ?? []);
        }

        w.Count(m.SharedMemory.Count);
        foreach (SharedMemoryObject s in m.SharedMemory)
        {
            w.I32(s.Id);
            w.U64(s.Size);
        }

        return w.Seal(RecordType.MemoryImage);
    }

    public static bool TryDecode(ReadOnlySpan<byte> input, out MemoryImage? image, out DecodeError error)
    {
        image = null;
        if (!TryReadFrame(input, RecordType.MemoryImage, out ReadOnlySpan<byte> payload, out error))
        {
            return false;
        }

        var r = new ImageFieldReader(payload);
        var m = new MemoryImage
        {
            CheckpointId = r.I32(),
            MainPid = r.I32(),
            TimeNs = r.I64(),
            DumpNs = r.I64(),
            Xcr0 = r.U64(),
            XsaveSize = r.U32(),
            VdsoHash = r.Bytes(),
            NewPageBytes = r.I64(),
            RecordBytes = r.I64(),
        };
        r.Invalid(m.CheckpointId <= 0);
        int n = r.Count(4 + 16);
        for (int i = 0; i < n && r.Ok; i++)
        {
            m.VdsoLayout.Add(new SpecialArea { Name = r.Text(), Offset = r.I64(), Size = r.U64() });
        }

        n = r.Count(25);
        for (int i = 0; i < n && r.Ok; i++)
        {
            var p = new ProcessRef { Pid = r.I32(), BaseCheckpoint = r.I32(), Tracker = (PageTracker)r.U8(), ContentPages = r.I64(), ListedPages = r.I64() };
            r.Invalid(p.Pid <= 0 || !Enum.IsDefined(p.Tracker));
            m.Processes.Add(p);
        }

        n = r.Count(26);
        for (int i = 0; i < n && r.Ok; i++)
        {
            var o = new FileObject { Id = r.I32(), Kind = (FileObjectKind)r.U8(), Flags = r.I32(), Offset = r.I64(), Pipe = r.I32(), StdioFd = r.I32(), File = ReadFileRef(ref r) };
            r.Invalid(!Enum.IsDefined(o.Kind));
            m.Objects.Add(o);
        }

        n = r.Count(17);
        for (int i = 0; i < n && r.Ok; i++)
        {
            var p = new PipeImage { Id = r.I32(), Capacity = r.I32(), Unread = r.Bytes() };
            byte hasPath = r.U8();
            byte[] path = r.Bytes();
            r.Invalid(hasPath > 1);
            p.FifoPath = hasPath == 1 ? path : null;
            m.Pipes.Add(p);
        }

        n = r.Count(12);
        for (int i = 0; i < n && r.Ok; i++)
        {
            m.SharedMemory.Add(new SharedMemoryObject { Id = r.I32(), Size = r.U64() });
        }

        return Finish(ref r, m, out image, out error);
    }

    // ------------------------------------------------------------ PROCESS_IMAGE

    public static byte[] Encode(ProcessImage p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var w = new ImageFieldWriter();
        w.I32(p.Pid);
        w.I32(p.Ppid);
        w.I32(p.Pgid);
        w.I32(p.Sid);
        w.I32(p.App);
        w.I32(p.BaseCheckpoint);
        w.U8((byte)p.Tracker);
        w.U8((byte)((p.StdioGuarded ? 1 : 0) | (p.NoNewPrivs ? 2 : 0)));
        w.U32(p.Umask);
        w.U32(p.Personality);
        w.Bytes(p.Cwd);
        WriteFileRef(w, p.Exe);
        for (int i = 0; i < 4; i++)
        {
            w.U32(p.Uids[i]);
        }

        for (int i = 0; i < 4; i++)
        {
            w.U32(p.Gids[i]);
        }

        w.Count(p.Groups.Length);
        foreach (uint g in p.Groups)
        {
            w.U32(g);
        }

        for (int i = 0; i < ProcessImage.RlimitCount; i++)
        {
            w.U64(p.RlimitCur[i]);
            w.U64(p.RlimitMax[i]);
        }

        for (int i = 0; i < ProcessImage.MmFieldCount; i++)
        {
            w.U64(p.Mm[i]);
        }

        w.Bytes(p.Auxv);
        w.Count(p.Actions.Count);
        foreach (SignalAction a in p.Actions)
        {
            w.I32(a.Signal);
            w.U64(a.Handler);
            w.U64(a.Flags);
            w.U64(a.Restorer);
            w.U64(a.Mask);
        }

        foreach (long v in p.Itimers)
        {
            w.I64(v);
        }

        WritePending(w, p.Pending);
        w.Count(p.Threads.Count);
        foreach (ThreadImage t in p.Threads)
        {
            w.I32(t.Tid);
            w.Raw(t.Regs);
            w.Bytes(t.Xsave);
            w.U64(t.SigMask);
            w.U64(t.AltStackSp);
            w.I32(t.AltStackFlags);
            w.U64(t.AltStackSize);
            w.U64(t.ClearChildTid);
            w.U64(t.RseqAddress);
            w.U32(t.RseqLength);
            w.U32(t.RseqSignature);
            w.U8(t.JobStopped ? (byte)1 : (byte)0);
            w.Bytes(t.Comm);
            WritePending(w, t.Pending);
        }

        w.Count(p.Vmas.Count);
        foreach (VmaImage v in p.Vmas)
        {
            w.U64(v.Start);
            w.U64(v.End);
            w.U8((byte)v.Kind);
            w.U8((byte)v.Prot);
            w.U32(v.Flags);
            w.U64(v.Offset);
            w.I32(v.SharedId);
            w.Text(v.Name);
            WriteFileRef(w, v.File);
        }

        w.Count(p.Fds.Count);
        foreach (FdImage f in p.Fds)
        {
            w.I32(f.Fd);
            w.U8(f.CloseOnExec ? (byte)1 : (byte)0);
            w.I32(f.Object);
        }

        w.Count(p.Zombies.Count);
        foreach (ZombieImage z in p.Zombies)
        {
            w.I32(z.Pid);
            w.I32(z.Status);
        }

        return w.Seal(RecordType.ProcessImage);
    }

    public static bool TryDecode(ReadOnlySpan<byte> input, out ProcessImage? image, out DecodeError error)
    {
        image = null;
        if (!TryReadFrame(input, RecordType.ProcessImage, out ReadOnlySpan<byte> payload, out error))
        {
            return false;
        }

        var r = new ImageFieldReader(payload);
        var p = new ProcessImage
        {
            Pid = r.I32(),
            Ppid = r.I32(),
            Pgid = r.I32(),
            Sid = r.I32(),
            App = r.I32(),
            BaseCheckpoint = r.I32(),
            Tracker = (PageTracker)r.U8(),
        };
        byte flags = r.U8();
        p.StdioGuarded = (flags & 1) != 0;
        p.NoNewPrivs = (flags & 2) != 0;
        r.Invalid(p.Pid <= 0 || !Enum.IsDefined(p.Tracker) || flags > 3);
        p.Umask = r.U32();
        p.Personality = r.U32();
        p.Cwd = r.Bytes();
        p.Exe = ReadFileRef(ref r) ?? new FileRef();
        for (int i = 0; i < 4; i++)
        {
            p.Uids[i] = r.U32();
        }

        for (int i = 0; i < 4; i++)
        {
            p.Gids[i] = r.U32();
        }

        p.Groups = new uint[r.Count(4)];
        for (int i = 0; i < p.Groups.Length; i++)
        {
            p.Groups[i] = r.U32();
        }

        for (int i = 0; i < ProcessImage.RlimitCount; i++)
        {
            p.RlimitCur[i] = r.U64();
            p.RlimitMax[i] = r.U64();
        }

        for (int i = 0; i < ProcessImage.MmFieldCount; i++)
        {
            p.Mm[i] = r.U64();
        }

        p.Auxv = r.Bytes();
        int n = r.Count(36);
        for (int i = 0; i < n && r.Ok; i++)
        {
            var a = new SignalAction { Signal = r.I32(), Handler = r.U64(), Flags = r.U64(), Restorer = r.U64(), Mask = r.U64() };
            r.Invalid(a.Signal is < 1 or > 64);
            p.Actions.Add(a);
        }

        for (int i = 0; i < p.Itimers.Length; i++)
        {
            p.Itimers[i] = r.I64();
        }

        ReadPending(ref r, p.Pending);
        n = r.Count(4 + ThreadImage.UserRegsSize);
        for (int i = 0; i < n && r.Ok; i++)
        {
            var t = new ThreadImage
            {
                Tid = r.I32(),
                Regs = r.Raw(ThreadImage.UserRegsSize),
                Xsave = r.Bytes(),
                SigMask = r.U64(),
                AltStackSp = r.U64(),
                AltStackFlags = r.I32(),
                AltStackSize = r.U64(),
                ClearChildTid = r.U64(),
                RseqAddress = r.U64(),
                RseqLength = r.U32(),
                RseqSignature = r.U32(),
                JobStopped = r.U8() != 0,
                Comm = r.Bytes(),
            };
            r.Invalid(t.Tid <= 0);
            ReadPending(ref r, t.Pending);
            p.Threads.Add(t);
        }

        n = r.Count(35);
        for (int i = 0; i < n && r.Ok; i++)
        {
            var v = new VmaImage
            {
                Start = r.U64(),
                End = r.U64(),
                Kind = (VmaKind)r.U8(),
                Prot = r.U8(),
                Flags = r.U32(),
                Offset = r.U64(),
                SharedId = r.I32(),
                Name = r.Text(),
                File = ReadFileRef(ref r),
            };
            r.Invalid(v.End <= v.Start || (v.Start & (PageMapWindow.PageSize - 1)) != 0 || (v.End & (PageMapWindow.PageSize - 1)) != 0
                || !Enum.IsDefined(v.Kind) || v.Prot > 7);
            p.Vmas.Add(v);
        }

        n = r.Count(9);
        for (int i = 0; i < n && r.Ok; i++)
        {
            p.Fds.Add(new FdImage { Fd = r.I32(), CloseOnExec = r.U8() != 0, Object = r.I32() });
        }

        n = r.Count(8);
        for (int i = 0; i < n && r.Ok; i++)
        {
            p.Zombies.Add(new ZombieImage { Pid = r.I32(), Status = r.I32() });
        }

        return Finish(ref r, p, out image, out error);
    }

    // ------------------------------------------------------------ PAGE_MAP

    public static byte[] Encode(PageMapWindow window)
    {
        ArgumentNullException.ThrowIfNull(window);
        var w = new ImageFieldWriter();
        w.U64(window.Window);
        w.Count(window.Runs.Count);
        foreach ((int first, int count) in window.Runs)
        {
            w.I32(first);
            w.I32(count);
        }

        w.Count(window.Entries.Count);
        foreach ((int page, byte[] hash) in window.Entries)
        {
            w.I32(page);
            w.Raw(hash);
        }

        return w.Seal(RecordType.PageMap);
    }

    public static bool TryDecode(ReadOnlySpan<byte> input, out PageMapWindow? window, out DecodeError error)
    {
        window = null;
        if (!TryReadFrame(input, RecordType.PageMap, out ReadOnlySpan<byte> payload, out error))
        {
            return false;
        }

        var r = new ImageFieldReader(payload);
        var m = new PageMapWindow { Window = r.U64() };
        int n = r.Count(8);
        int end = 0;
        for (int i = 0; i < n && r.Ok; i++)
        {
            int first = r.I32();
            int count = r.I32();
            r.Invalid(first < end || count <= 0 || first + count > PageMapWindow.PagesPerWindow);
            end = first + count;
            m.Runs.Add((first, count));
        }

        n = r.Count(4 + PageMapWindow.HashSize);
        int last = -1;
        int run = 0;
        for (int i = 0; i < n && r.Ok; i++)
        {
            int page = r.I32();
            byte[] hash = r.Raw(PageMapWindow.HashSize);
            while (run < m.Runs.Count && page >= m.Runs[run].First + m.Runs[run].Count)
            {
                run++;
            }

            r.Invalid(page <= last || run >= m.Runs.Count || page < m.Runs[run].First);
            last = page;
            m.Entries.Add((page, hash));
        }

        return Finish(ref r, m, out window, out error);
    }

    // ------------------------------------------------------------ shared parts

    private static void WriteFileRef(ImageFieldWriter w, FileRef? f)
    {
        w.U8(f is null ? (byte)0 : (byte)1);
        if (f is null)
        {
            return;
        }

        w.Bytes(f.Path);
        w.U64(f.Dev);
        w.U64(f.Ino);
        w.I64(f.Size);
        w.I64(f.MtimeNs);
    }

    private static FileRef? ReadFileRef(ref ImageFieldReader r)
    {
        byte present = r.U8();
        r.Invalid(present > 1);
        if (present != 1 || !r.Ok)
        {
            return null;
        }

        return new FileRef { Path = r.Bytes(), Dev = r.U64(), Ino = r.U64(), Size = r.I64(), MtimeNs = r.I64() };
    }

    private static void WritePending(ImageFieldWriter w, List<PendingSignal> pending)
    {
        w.Count(pending.Count);
        foreach (PendingSignal s in pending)
        {
            w.I32(s.Signal);
            w.Raw(s.Siginfo);
        }
    }

    private static void ReadPending(ref ImageFieldReader r, List<PendingSignal> pending)
    {
        int n = r.Count(4 + PendingSignal.SiginfoSize);
        for (int i = 0; i < n && r.Ok; i++)
        {
            var s = new PendingSignal { Signal = r.I32(), Siginfo = r.Raw(PendingSignal.SiginfoSize) };
            r.Invalid(s.Signal is < 1 or > 64);
            pending.Add(s);
        }
    }

    private static bool Finish<T>(ref ImageFieldReader r, T value, out T? result, out DecodeError error)
        where T : class
    {
        r.End();
        error = r.Error;
        result = r.Ok ? value : null;
        return r.Ok;
    }

    /// <summary>The frame checks of <see cref="RecordCodec.TryReadFrame"/>, for the memory record types.</summary>
    internal static bool TryReadFrame(ReadOnlySpan<byte> input, RecordType expected, out ReadOnlySpan<byte> payload, out DecodeError error)
    {
        payload = default;
        if (input.Length < RecordLayout.FrameSize)
        {
            error = DecodeError.Truncated;
            return false;
        }

        uint payloadLength = BinaryPrimitives.ReadUInt32LittleEndian(input[4..]);
        if (payloadLength != (uint)(input.Length - RecordLayout.FrameSize))
        {
            error = DecodeError.LengthMismatch;
            return false;
        }

        int covered = RecordLayout.HeaderSize + (int)payloadLength;
        if (Crc32C.Compute(input[..covered]) != BinaryPrimitives.ReadUInt32LittleEndian(input[covered..]))
        {
            error = DecodeError.ChecksumMismatch;
            return false;
        }

        var type = (RecordType)input[0];
        if (type is < RecordType.MemoryImage or > RecordType.PageMap)
        {
            error = DecodeError.UnknownType;
            return false;
        }

        if (input[1] == 0)
        {
            error = DecodeError.InvalidVersion;
            return false;
        }

        if (input[1] > RecordLayout.Version)
        {
            error = DecodeError.NewerVersion;
            return false;
        }

        if (BinaryPrimitives.ReadUInt16LittleEndian(input[2..]) != 0)
        {
            error = DecodeError.UnknownFlags;
            return false;
        }

        if (type != expected)
        {
            error = DecodeError.WrongType;
            return false;
        }

        payload = input.Slice(RecordLayout.HeaderSize, (int)payloadLength);
        error = DecodeError.None;
        return true;
    }
}
