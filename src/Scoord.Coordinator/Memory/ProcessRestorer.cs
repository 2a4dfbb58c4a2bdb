using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Scoord.Interceptors;
using Scoord.Journal.Memory;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// Turns a freshly created process (a copy of scoord-launch, or of its bare parent, made with the image's pid and
/// stopped at birth by the tracer) into the image's process, with syscalls run inside it (<see cref="SyscallInjector"/>)
/// and its memory written through /proc/PID/mem, in three passes that <see cref="TreeRestorer"/> runs over the whole
/// tree (<see cref="Prepare"/>, <see cref="JoinGroup"/>, <see cref="Finish"/>). In order: the inherited rseq
/// registration is dropped; every mapping but the vDSO's is unmapped (the injected syscalls run from the vDSO, so
/// they need nothing else); [vvar]/[vdso] are moved to where the image had them; setsid if it led its session; its
/// children are made (clone3 set_tid) while it is bare; the image's mappings are made at their addresses (files mapped again,
/// anonymous memory fresh) and its pages written; the mm fields, auxv and /proc/PID/exe are set with
/// PR_SET_MM_MAP; the descriptors are opened again at their numbers and offsets; cwd, umask, signal
/// dispositions, interval timers, limits, the thread's alt stack, clear_child_tid, rseq, name, pending signals;
/// last the credentials, the XSAVE state, the signal mask and the registers. The process is then left in a
/// syscall-exit stop, ready to be resumed as an ordinary tracee.
/// </summary>
internal sealed unsafe partial class ProcessRestorer : IDisposable
{
    private const ulong TaskTop = 0x7ffffffff000;
    private const ulong ScratchSize = 64 * 1024;
    private const int ScratchStruct = 0, ScratchAuxv = 4096, ScratchPath = 8192;
    private const long MapPrivate = 0x02, MapShared = 0x01, MapFixed = 0x10, MapAnonymous = 0x20, MapGrowsDown = 0x100, MapFixedNoReplace = 0x100000;
    private const long MremapMayMove = 1, MremapFixed = 2;
    private const int PR_SET_NAME = 15, PR_SET_MM = 35, PR_SET_MM_MAP = 14, PR_SET_NO_NEW_PRIVS = 38;
    private const long RSEQ_FLAG_UNREGISTER = 1;
    private const long NrLseek = 8, NrDup3 = 292, NrFcntl = 72, NrChdir = 80, NrUmask = 95, NrSetpgid = 109, NrSetsid = 112, NrPidfdOpen = 434, NrCloseRange = 436, NrPidfdGetfd = 438;
    private const long CloneParent = 0x8000;
    private const int Sigchld = 17;

    private readonly RestoreSource _source;
    private readonly ProcessSource _me;
    private readonly RestoredPipes _pipes;
    private readonly ProcessImage _p;
    private readonly ILogger _logger;
    private readonly ProcessMemory _memory;
    private readonly InjectedThread _t;
    private ulong _scratch;

    public ProcessRestorer(int pid, RestoreSource source, ProcessSource me, RestoredPipes pipes, ILogger logger)
    {
        _source = source;
        _me = me;
        _pipes = pipes;
        _p = me.Image;
        _logger = logger;
        _memory = new ProcessMemory(pid);
        Interop.UserRegs regs;
        if (ptrace(PTRACE_GETREGS, pid, 0, (nint)(&regs)) != 0)
        {
            throw new InjectionException($"cannot read the registers of the new process {pid}: {Interop.LastErrno}");
        }

        _t = new InjectedThread { Tid = pid, Tgid = pid, Saved = regs };
    }

    /// <summary>The tids of the other threads it made (each in a ptrace stop, ready to run).</summary>
    public List<int> ThreadIds => _threads.ConvertAll(x => x.T.Tid);

    public int Pid => _t.Tid;

    private readonly List<(InjectedThread T, ThreadImage Image)> _threads = [];

    /// <summary>
    /// First pass, everything that needs root and the scratch page: the address space emptied, the session made
    /// (setsid), the processes it is the parent of made with their pids while it is still bare (they start as copies
    /// of it and are rebuilt in turn; <paramref name="siblings"/>: the other roots, made with CLONE_PARENT so that
    /// scoord is their parent), then its mappings, pages, descriptors, process-wide state, threads and per-thread
    /// state. Each process made is added to <paramref name="made"/> as soon as it exists. Throws
    /// <see cref="InjectionException"/> naming the step that failed.
    /// </summary>
    public void Prepare(IReadOnlyList<ProcessSource> siblings, List<int> made)
    {
        int pid = _t.Tid;
        List<MappedArea> current = MappedArea.ParseSmaps(ProcFile.Read($"/proc/{pid}/maps") ?? throw new InjectionException($"cannot read the mappings of the new process {pid}"));
        List<MappedArea> specials = current.FindAll(a => a.PathText is "[vdso]" or "[vvar]" or "[vvar_vclock]");
        MappedArea vdso = specials.Find(a => a.PathText == "[vdso]") ?? throw new InjectionException($"the new process {pid} has no [vdso]");
        _t.Gadget = SyscallInjector.Gadget(vdso.Start);

        // Nothing is delivered while the process is rebuilt (the image's mask is set at the end).
        ulong all = ~((1UL << 8) | (1UL << 18));
        ptrace(PTRACE_SETSIGMASK, pid, sizeof(ulong), (nint)(&all));

        DropInheritedRseq();
        UnmapAllBut(specials);
        MoveSpecials(specials);
        MapScratch();
        if (_p.Sid == _p.Pid)
        {
            Call("setsid", NrSetsid); // before its children are made: they are born in its session
        }

        foreach (ProcessSource s in siblings)
        {
            MakeProcess(s.Pid, CloneParent, made);
        }

        foreach (ProcessSource c in _me.Children)
        {
            MakeProcess(c.Pid, 0, made);
        }

        MapAreas();
        WritePages();
        SetMm();
        RestoreFds();
        ProcessWide();
        MakeThreads();
        ThreadState(_t, _p.Threads[0]);
        foreach ((InjectedThread t, ThreadImage image) in _threads)
        {
            ThreadState(t, image);
        }
    }

    /// <summary>
    /// Second pass, once every process exists: the process group (its leader may have been made after it). Group
    /// leaders are called first. 0 in the image is the coordinator's group: the restoring scoord's.
    /// </summary>
    public void JoinGroup()
    {
        int want = _p.Pgid == 0 ? getpgid(0) : _p.Pgid;
        if (getpgid(_t.Tid) != want)
        {
            Call(string.Create(CultureInfo.InvariantCulture, $"setpgid(0, {want})"), NrSetpgid, 0, want);
        }
    }

    /// <summary>Last pass: credentials (dropping root ends what may be done in it), limits, XSAVE state, signal masks, registers.</summary>
    public void Finish()
    {
        if (_p.StdioGuarded)
        {
            GuardStdio();
        }

        SetCredentials(_t);
        foreach ((InjectedThread t, ThreadImage _) in _threads)
        {
            SetCredentials(t);
        }

        Call("munmap(scratch)", Nr.Munmap, (long)_scratch, (long)ScratchSize);
        SetLimits();
        SetRegisters(_t, _p.Threads[0]);
        foreach ((InjectedThread t, ThreadImage image) in _threads)
        {
            SetRegisters(t, image);
        }

        Log.Restored(_logger, _t.Tid, _p.Vmas.Count, _me.Pages.Count, _p.Fds.Count);
    }

    /// <summary>
    /// scoord's stdio guard filter (<see cref="Tracing.StdioGuard"/>), which the process had (it had put a journaled
    /// file on fd 0-2: `cmd > out` in a shell): stacked again with seccomp(TSYNC) for all its threads, after its
    /// children were made (a child has it only if its image says so, then it installs its own).
    /// </summary>
    private void GuardStdio()
    {
        Interceptors.Interop.SockFilter[] filter = Interceptors.Seccomp.FilterGenerator.BuildStdioGuard();
        ReadOnlySpan<byte> insns = MemoryMarshal.AsBytes(filter.AsSpan());
        if (insns.Length > (int)ScratchSize - ScratchAuxv)
        {
            throw new InjectionException($"the stdio guard filter ({insns.Length} bytes) does not fit the scratch page");
        }

        Span<byte> fprog = stackalloc byte[16];
        fprog.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(fprog, (ushort)filter.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(fprog[8..], _scratch + ScratchAuxv);
        _memory.Write(_scratch + ScratchAuxv, insns);
        _memory.Write(_scratch + ScratchStruct, fprog);
        Call("seccomp(stdio guard)", Nr.Seccomp, 1 /* SET_MODE_FILTER */, 1 /* TSYNC */, (long)(_scratch + ScratchStruct));
    }

    /// <summary>
    /// A process with pid <paramref name="pid"/>, made by this one (still bare: its [vdso], [vvar] and the scratch
    /// page) with clone3 and set_tid; <paramref name="flags"/> CLONE_PARENT makes it scoord's child. Traced from
    /// birth (the tracer follows forks), it is held at its first stop until it is rebuilt.
    /// </summary>
    private void MakeProcess(int pid, long flags, List<int> made)
    {
        long r = Clone(string.Create(CultureInfo.InvariantCulture, $"clone3(process {pid})"), flags, (flags & CloneParent) != 0 ? 0 : Sigchld, pid);
        made.Add(pid);
        if (r != pid)
        {
            throw new InjectionException(string.Create(CultureInfo.InvariantCulture, $"clone3 made process {r}, not {pid}"));
        }

        WaitFirstStop(pid, "process");
    }

    /// <summary>clone3 with set_tid = <paramref name="tid"/>, run in the main thread; the new tid (or throws).</summary>
    private long Clone(string what, long flags, int exitSignal, int tid)
    {
        Span<byte> args = stackalloc byte[88];
        Span<byte> tidBytes = stackalloc byte[4];
        args.Clear();
        BinaryPrimitives.WriteInt64LittleEndian(args, flags);
        BinaryPrimitives.WriteInt64LittleEndian(args[32..], exitSignal);
        BinaryPrimitives.WriteUInt64LittleEndian(args[64..], _scratch + 128);
        BinaryPrimitives.WriteUInt64LittleEndian(args[72..], 1);
        _memory.Write(_scratch, args);
        BinaryPrimitives.WriteInt32LittleEndian(tidBytes, tid);
        _memory.Write(_scratch + 128, tidBytes);
        return Call(what, Nr.Clone3, (long)_scratch, 88);
    }

    private static void WaitFirstStop(int tid, string what)
    {
        int status;
        while (true)
        {
            int r = waitpid(tid, &status, __WALL);
            if (r < 0 && Interop.LastErrno == Errno.EINTR)
            {
                continue;
            }

            if (r < 0 || !WIFSTOPPED(status))
            {
                throw new InjectionException(string.Create(CultureInfo.InvariantCulture, $"{what} {tid} did not stop after its creation ({Interop.LastErrno})"));
            }

            return;
        }
    }

    /// <summary>The launcher's glibc registered an rseq area in memory about to go: the kernel would write to it at every return.</summary>
    private void DropInheritedRseq()
    {
        Rseq rseq;
        if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, _t.Tid, sizeof(Rseq), (nint)(&rseq)) > 0 && rseq.rseq_abi_pointer != 0)
        {
            Call("rseq(unregister)", Nr.Rseq, (long)rseq.rseq_abi_pointer, rseq.rseq_abi_size, RSEQ_FLAG_UNREGISTER, rseq.signature);
        }
    }

    private void UnmapAllBut(List<MappedArea> keep)
    {
        ulong at = 0;
        foreach (MappedArea k in keep)
        {
            if (k.Start > at)
            {
                Call("munmap", Nr.Munmap, (long)at, (long)(k.Start - at));
            }

            at = k.End;
        }

        if (at < TaskTop)
        {
            Call("munmap", Nr.Munmap, (long)at, (long)(TaskTop - at));
        }
    }

    /// <summary>[vvar], [vvar_vclock] and [vdso] go where the image had them (through a free place if the moves overlap).</summary>
    private void MoveSpecials(List<MappedArea> specials)
    {
        var targets = new List<(MappedArea From, ulong To)>();
        foreach (MappedArea a in specials)
        {
            VmaImage target = _p.Vmas.Find(v => v.Kind == VmaKind.Special && v.Name == a.PathText)
                ?? throw new InjectionException($"the image has no {a.PathText}, which this kernel maps into every process");
            if (target.End - target.Start != a.Length)
            {
                throw new InjectionException($"the image's {a.PathText} is {target.End - target.Start} bytes, this kernel's {a.Length}");
            }

            targets.Add((a, target.Start));
        }

        if (targets.TrueForAll(x => x.From.Start == x.To))
        {
            return;
        }

        ulong span = specials[^1].End - specials[0].Start;
        ulong temp = FreeRange(span, specials);
        foreach ((MappedArea from, ulong _) in targets)
        {
            Call("mremap(vdso)", Nr.Mremap, (long)from.Start, (long)from.Length, (long)from.Length, MremapMayMove | MremapFixed, (long)(temp + (from.Start - specials[0].Start)));
            if (from.PathText == "[vdso]")
            {
                _t.Gadget = SyscallInjector.Gadget(temp + (from.Start - specials[0].Start)); // the syscall instruction moved with it
            }
        }

        foreach ((MappedArea from, ulong to) in targets)
        {
            Call("mremap(vdso)", Nr.Mremap, (long)(temp + (from.Start - specials[0].Start)), (long)from.Length, (long)from.Length, MremapMayMove | MremapFixed, (long)to);
            if (from.PathText == "[vdso]")
            {
                _t.Gadget = SyscallInjector.Gadget(to);
            }
        }
    }

    /// <summary>A free range of <paramref name="size"/> bytes: outside every mapping of the image and of <paramref name="also"/>.</summary>
    private ulong FreeRange(ulong size, List<MappedArea> also)
    {
        for (ulong candidate = 0x100000000000; candidate < 0x700000000000; candidate += 0x10000000000)
        {
            ulong end = candidate + size;
            bool free = _p.Vmas.TrueForAll(v => end <= v.Start || candidate >= v.End) && also.TrueForAll(a => end <= a.Start || candidate >= a.End);
            if (free)
            {
                return candidate;
            }
        }

        throw new InjectionException("no free address range to work in");
    }

    private void MapScratch()
    {
        ulong at = FreeRange(ScratchSize, []);
        long r = Call("mmap(scratch)", Nr.Mmap, (long)at, (long)ScratchSize, 3, MapPrivate | MapAnonymous | MapFixedNoReplace, -1, 0);
        _scratch = (ulong)r;
    }

    private void MapAreas()
    {
        foreach (VmaImage v in _p.Vmas)
        {
            long length = (long)(v.End - v.Start);
            switch (v.Kind)
            {
                case VmaKind.Special:
                    continue;
                case VmaKind.Anonymous:
                    Call($"mmap(0x{v.Start:x}, anonymous)", Nr.Mmap, (long)v.Start, length, v.Prot,
                        MapPrivate | MapAnonymous | MapFixed | ((v.Flags & VmaImage.GrowsDown) != 0 ? MapGrowsDown : 0), -1, 0);
                    break;
                case VmaKind.FilePrivate:
                case VmaKind.FileShared:
                {
                    FileRef file = v.File ?? throw new InjectionException($"the mapping at 0x{v.Start:x} names no file");
                    CheckSameFile(file, $"the file mapped at 0x{v.Start:x}");
                    bool shared = v.Kind == VmaKind.FileShared;
                    int mode = shared && ((v.Prot & VmaImage.ProtWrite) != 0 || (v.Flags & VmaImage.MayWriteShared) != 0) ? O_RDWR : O_RDONLY;
                    long fd = OpenIn(file.Path, mode | O_CLOEXEC, $"open {ProcFile.Text(file.Path)} to map it");
                    try
                    {
                        Call($"mmap(0x{v.Start:x}, {ProcFile.Text(file.Path)})", Nr.Mmap, (long)v.Start, length, v.Prot,
                            (shared ? MapShared : MapPrivate) | MapFixed, fd, (long)v.Offset);
                    }
                    finally
                    {
                        Call("close", Nr.Close, fd);
                    }

                    break;
                }

                default:
                    throw new InjectionException($"the mapping at 0x{v.Start:x} is of a kind this version does not restore ({v.Kind})");
            }

            Advise(v);
        }
    }

    private void Advise(VmaImage v)
    {
        (uint Flag, int Advice)[] advices = [(VmaImage.DontFork, 10), (VmaImage.WipeOnFork, 18), (VmaImage.DontDump, 16), (VmaImage.HugePage, 14), (VmaImage.NoHugePage, 15), (VmaImage.Mergeable, 12)];
        foreach ((uint flag, int advice) in advices)
        {
            if ((v.Flags & flag) != 0)
            {
                SyscallInjector.Call(_t, Nr.Madvise, (long)v.Start, (long)(v.End - v.Start), advice); // best effort: a hint
            }
        }
    }

    /// <summary>A file the image refers to must be the one it was (same size and modification time; the rollback has put it back).</summary>
    private static void CheckSameFile(FileRef file, string what)
    {
        if (!ProcFile.Stat(file.Path, out Interop.Stat st))
        {
            throw new InjectionException($"{what}, {ProcFile.Text(file.Path)}, is gone: {Interop.LastErrno}");
        }

        long mtime = (st.st_mtime_sec * 1_000_000_000) + st.st_mtime_nsec;
        if (st.st_size != file.Size || mtime != file.MtimeNs)
        {
            throw new InjectionException($"{what}, {ProcFile.Text(file.Path)}, changed since the checkpoint (size or modification time differ), and it is not journaled");
        }
    }

    /// <summary>Page content from the journal (checked against its hash), written in runs through /proc/PID/mem (which reaches read-only pages).</summary>
    private void WritePages()
    {
        const int Run = 64;
        byte[] buffer = new byte[Run * PageMapWindow.PageSize];
        ulong runStart = 0;
        int n = 0;
        foreach ((ulong address, byte[] hash) in _me.Pages)
        {
            if (n > 0 && (n == Run || address != runStart + ((ulong)n * PageMapWindow.PageSize)))
            {
                Flush(runStart, buffer, n);
                n = 0;
            }

            if (n == 0)
            {
                runStart = address;
            }

            _source.Store.ReadPage(hash, buffer.AsSpan(n * PageMapWindow.PageSize, PageMapWindow.PageSize));
            n++;
        }

        if (n > 0)
        {
            Flush(runStart, buffer, n);
        }
    }

    private void Flush(ulong at, byte[] buffer, int pages)
    {
        if (!_memory.TryWrite(at, buffer.AsSpan(0, pages * PageMapWindow.PageSize)))
        {
            throw new InjectionException($"cannot write the pages at 0x{at:x}: {Interop.LastErrno}");
        }
    }

    /// <summary>start/end of code and data, brk, stack, arguments and environment, the auxv and /proc/PID/exe, in one PR_SET_MM_MAP.</summary>
    private void SetMm()
    {
        CheckSameFile(_p.Exe, "the executable");
        long exe = OpenIn(_p.Exe.Path, O_RDONLY | O_CLOEXEC, "open the executable");
        try
        {
            Span<byte> map = stackalloc byte[104];
            for (int i = 0; i < ProcessImage.MmFieldCount; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(map[(i * 8)..], _p.Mm[i]);
            }

            BinaryPrimitives.WriteUInt64LittleEndian(map[88..], _scratch + ScratchAuxv);
            BinaryPrimitives.WriteUInt32LittleEndian(map[96..], (uint)_p.Auxv.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(map[100..], (uint)exe);
            _memory.Write(_scratch + ScratchAuxv, _p.Auxv);
            _memory.Write(_scratch + ScratchStruct, map);
            Call("prctl(PR_SET_MM_MAP)", Nr.Prctl, PR_SET_MM, PR_SET_MM_MAP, (long)(_scratch + ScratchStruct), 104, 0);
        }
        finally
        {
            Call("close", Nr.Close, exe);
        }
    }

    /// <summary>
    /// The descriptors: the new process holds the restoring scoord's stdio on 0-2 (copied out of the way first),
    /// everything else is closed; each file description is opened once (at its offset) and dup'ed onto every
    /// fd that shared it.
    /// </summary>
    private void RestoreFds()
    {
        var objects = new Dictionary<int, FileObject>();
        foreach (FileObject o in _source.Image.Objects)
        {
            objects[o.Id] = o;
        }

        int top = 2;
        foreach (FdImage fd in _p.Fds)
        {
            top = Math.Max(top, fd.Fd);
        }

        long[] stdio = new long[3];
        for (int i = 0; i < 3; i++)
        {
            stdio[i] = SyscallInjector.Call(_t, NrFcntl, i, F_DUPFD_CLOEXEC, top + 1);
        }

        Call("close_range", NrCloseRange, 0, top, 0);
        long highest = Math.Max(top + 1, Math.Max(stdio[0], Math.Max(stdio[1], stdio[2])));
        SyscallInjector.Call(_t, NrCloseRange, highest + 1, uint.MaxValue, 0);

        var placed = new Dictionary<int, int>();
        long scoord = -1; // a pidfd of scoord, above every fd to place, to take pipe ends from
        foreach (FdImage fd in _p.Fds)
        {
            FileObject o = objects[fd.Object];
            int cloexec = fd.CloseOnExec ? O_CLOEXEC : 0;
            if (placed.TryGetValue(o.Id, out int first))
            {
                Call($"dup3 onto fd {fd.Fd}", NrDup3, first, fd.Fd, cloexec);
                continue;
            }

            long k;
            switch (o.Kind)
            {
                case FileObjectKind.Stdio:
                    k = stdio[o.StdioFd];
                    if (k < 0)
                    {
                        throw new InjectionException($"fd {fd.Fd} was scoord's fd {o.StdioFd}, which the restoring scoord does not have open");
                    }

                    Call($"dup3 onto fd {fd.Fd}", NrDup3, k, fd.Fd, cloexec);
                    placed[o.Id] = fd.Fd;
                    continue;
                case FileObjectKind.Path:
                    CheckExists(o.File!, fd.Fd);
                    k = OpenIn(o.File!.Path, (o.Flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_CLOEXEC, $"reopen fd {fd.Fd} ({ProcFile.Text(o.File.Path)})");
                    Call("lseek", NrLseek, k, o.Offset, 0);
                    break;
                case FileObjectKind.Device:
                    k = OpenIn(o.File!.Path, (o.Flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_NOCTTY | O_CLOEXEC, $"reopen fd {fd.Fd} ({ProcFile.Text(o.File.Path)})");
                    break;
                case FileObjectKind.Pipe:
                    if (scoord < 0)
                    {
                        long pidfd = Call("pidfd_open(scoord)", NrPidfdOpen, Environment.ProcessId, 0);
                        scoord = Call("fcntl(F_DUPFD_CLOEXEC)", NrFcntl, pidfd, F_DUPFD_CLOEXEC, highest + 1);
                        Call("close", Nr.Close, pidfd);
                    }

                    k = Call($"pidfd_getfd(fd {fd.Fd}, pipe {o.Pipe})", NrPidfdGetfd, scoord, _pipes.FdOf(o.Id), 0);
                    break;
                default:
                    throw new InjectionException($"fd {fd.Fd} is a {o.Kind}, which this version does not restore");
            }

            if (k != fd.Fd)
            {
                Call($"dup3 onto fd {fd.Fd}", NrDup3, k, fd.Fd, cloexec);
                Call("close", Nr.Close, k);
            }
            else if (cloexec == 0)
            {
                Call("fcntl(F_SETFD)", NrFcntl, k, F_SETFD, 0);
            }

            placed[o.Id] = fd.Fd;
        }

        foreach (long s in stdio)
        {
            if (s >= 0)
            {
                Call("close", Nr.Close, s);
            }
        }

        if (scoord >= 0)
        {
            Call("close", Nr.Close, scoord);
        }
    }

    /// <summary>A file reopened by path must be the one the journal knows (identity may differ after a rollback replaced it; the name must exist).</summary>
    private static void CheckExists(FileRef file, int fd)
    {
        if (!ProcFile.Stat(file.Path, out _))
        {
            throw new InjectionException($"fd {fd}: {ProcFile.Text(file.Path)} is gone: {Interop.LastErrno}");
        }
    }

    private void ProcessWide()
    {
        Span<byte> buf = stackalloc byte[64];
        long at = OpenPath(_p.Cwd);
        Call($"chdir {ProcFile.Text(_p.Cwd)}", NrChdir, at);
        Call("umask", NrUmask, _p.Umask);
        if (_p.Personality != 0)
        {
            Call("personality", Nr.Personality, _p.Personality);
        }

        var actions = new Dictionary<int, SignalAction>();
        foreach (SignalAction a in _p.Actions)
        {
            actions[a.Signal] = a;
        }

        for (int sig = 1; sig <= 64; sig++)
        {
            if (sig is 9 or 19)
            {
                continue;
            }

            buf.Clear();
            if (actions.TryGetValue(sig, out SignalAction? a))
            {
                BinaryPrimitives.WriteUInt64LittleEndian(buf, a.Handler);
                BinaryPrimitives.WriteUInt64LittleEndian(buf[8..], a.Flags);
                BinaryPrimitives.WriteUInt64LittleEndian(buf[16..], a.Restorer);
                BinaryPrimitives.WriteUInt64LittleEndian(buf[24..], a.Mask);
            }

            _memory.Write(_scratch, buf[..32]);
            Call(string.Create(CultureInfo.InvariantCulture, $"rt_sigaction({sig})"), Nr.RtSigaction, sig, (long)_scratch, 0, 8);
        }

        for (int which = 0; which < 3; which++)
        {
            bool any = false;
            buf.Clear();
            for (int i = 0; i < 4; i++)
            {
                long v = _p.Itimers[(which * 4) + i];
                any |= v != 0;
                BinaryPrimitives.WriteInt64LittleEndian(buf[(i * 8)..], v);
            }

            if (any)
            {
                _memory.Write(_scratch, buf[..32]);
                Call("setitimer", Nr.Setitimer, which, (long)_scratch, 0);
            }
        }

        if (_p.NoNewPrivs)
        {
            Call("prctl(PR_SET_NO_NEW_PRIVS)", Nr.Prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        }
    }

    /// <summary>
    /// The other threads, made by the first one with clone3 (set_tid: their own tids), sharing everything a
    /// pthread shares. Each is traced from birth (the tracer follows clones) and held at its first stop.
    /// </summary>
    private void MakeThreads()
    {
        const long flags = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000; // VM FS FILES SIGHAND THREAD SYSVSEM
        for (int i = 1; i < _p.Threads.Count; i++)
        {
            ThreadImage th = _p.Threads[i];
            long made = Clone(string.Create(CultureInfo.InvariantCulture, $"clone3(thread {th.Tid})"), flags, 0, th.Tid);
            if (made != th.Tid)
            {
                throw new InjectionException($"clone3 made thread {made}, not {th.Tid}");
            }

            WaitFirstStop(th.Tid, "thread");
            Interop.UserRegs regs;
            ptrace(PTRACE_GETREGS, th.Tid, 0, (nint)(&regs));
            _threads.Add((new InjectedThread { Tid = th.Tid, Tgid = _t.Tgid, Saved = regs, Gadget = _t.Gadget }, th));
        }
    }

    private void ThreadState(InjectedThread t, ThreadImage th)
    {
        Span<byte> buf = stackalloc byte[32];
        if ((th.AltStackFlags & 2) == 0 && th.AltStackSp != 0)
        {
            buf.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(buf, th.AltStackSp);
            BinaryPrimitives.WriteUInt64LittleEndian(buf[16..], th.AltStackSize);
            _memory.Write(_scratch, buf[..24]);
            CallIn(t, "sigaltstack", Nr.Sigaltstack, (long)_scratch, 0);
        }

        CallIn(t, "set_tid_address", Nr.SetTidAddress, (long)th.ClearChildTid);
        if (th.RseqAddress != 0)
        {
            CallIn(t, "rseq", Nr.Rseq, (long)th.RseqAddress, th.RseqLength, 0, th.RseqSignature);
        }

        if (th.Comm.Length > 0)
        {
            byte[] comm = new byte[Math.Min(th.Comm.Length, 15) + 1];
            th.Comm.AsSpan(0, comm.Length - 1).CopyTo(comm);
            _memory.Write(_scratch, comm);
            CallIn(t, "prctl(PR_SET_NAME)", Nr.Prctl, PR_SET_NAME, (long)_scratch, 0, 0, 0);
        }

        // Pending signals: blocked now, delivered as the image's mask allows once the process runs.
        foreach (PendingSignal s in th.Pending)
        {
            _memory.Write(_scratch, s.Siginfo);
            CallIn(t, "rt_tgsigqueueinfo", Nr.RtTgsigqueueinfo, t.Tgid, t.Tid, s.Signal, (long)_scratch);
        }

        foreach (PendingSignal s in t == _t ? _p.Pending : [])
        {
            _memory.Write(_scratch, s.Siginfo);
            CallIn(t, "rt_sigqueueinfo", Nr.RtSigqueueinfo, t.Tgid, s.Signal, (long)_scratch);
        }
    }

    /// <summary>Groups, gids and uids as the image had them (last: dropping root ends what the restore may do). Per thread: the kernel's credentials are.</summary>
    private void SetCredentials(InjectedThread t)
    {
        bool root = _p.Groups.Length == 0 && Array.TrueForAll(_p.Uids, u => u == 0) && Array.TrueForAll(_p.Gids, g => g == 0);
        if (root)
        {
            return;
        }

        byte[] groups = new byte[_p.Groups.Length * 4];
        for (int i = 0; i < _p.Groups.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(groups.AsSpan(i * 4), _p.Groups[i]);
        }

        _memory.Write(_scratch, groups);
        CallIn(t, "setgroups", Nr.Setgroups, _p.Groups.Length, (long)_scratch);
        CallIn(t, "setresgid", Nr.Setresgid, _p.Gids[0], _p.Gids[1], _p.Gids[2]);
        CallIn(t, "setresuid", Nr.Setresuid, _p.Uids[0], _p.Uids[1], _p.Uids[2]);
    }

    private void SetLimits()
    {
        for (int r = 0; r < ProcessImage.RlimitCount; r++)
        {
            var lim = new Interop.RLimit { rlim_cur = _p.RlimitCur[r], rlim_max = _p.RlimitMax[r] };
            if (prlimit(_t.Tid, r, &lim, null) != 0)
            {
                Log.LimitNotSet(_logger, r, Interop.LastErrno.ToString());
            }
        }
    }

    private static void SetRegisters(InjectedThread t, ThreadImage th)
    {
        if (th.Xsave.Length > 0)
        {
            fixed (byte* x = th.Xsave)
            {
                var iov = new Interop.IoVec { iov_base = x, iov_len = (nuint)th.Xsave.Length };
                if (ptrace(PTRACE_SETREGSET, t.Tid, NT_X86_XSTATE, (nint)(&iov)) != 0)
                {
                    throw new InjectionException($"cannot set the XSAVE state: {Interop.LastErrno}");
                }
            }
        }

        ulong mask = th.SigMask;
        if (ptrace(PTRACE_SETSIGMASK, t.Tid, sizeof(ulong), (nint)(&mask)) != 0)
        {
            throw new InjectionException($"cannot set the signal mask: {Interop.LastErrno}");
        }

        Interop.UserRegs regs = MemoryMarshal.Read<Interop.UserRegs>(th.Regs);
        if (ptrace(PTRACE_SETREGS, t.Tid, 0, (nint)(&regs)) != 0)
        {
            throw new InjectionException($"cannot set the registers: {Interop.LastErrno}");
        }
    }

    /// <summary>openat(AT_FDCWD, path, flags) inside the process; the new fd.</summary>
    private long OpenIn(byte[] path, int flags, string what)
    {
        long at = OpenPath(path);
        return Call(what, Nr.Openat, AT_FDCWD, at, flags, 0);
    }

    /// <summary>Puts <paramref name="path"/> (NUL-terminated) into the scratch page; its address in the process.</summary>
    private long OpenPath(byte[] path)
    {
        if (path.Length + 1 > (int)ScratchSize - ScratchPath)
        {
            throw new InjectionException($"path too long to restore: {ProcFile.Text(path)}");
        }

        byte[] z = new byte[path.Length + 1];
        path.CopyTo(z, 0);
        _memory.Write(_scratch + ScratchPath, z);
        return (long)(_scratch + ScratchPath);
    }

    private long Call(string what, long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0) => CallIn(_t, what, nr, a1, a2, a3, a4, a5, a6);

    private long CallIn(InjectedThread t, string what, long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0)
    {
        long r = SyscallInjector.Call(t, nr, a1, a2, a3, a4, a5, a6);
        Log.Injected(_logger, what, r);
        if (r < 0 && r > -4096)
        {
            throw new InjectionException($"{what} failed: {(Errno)(int)-r}");
        }

        return r;
    }

    public void Dispose() => _memory.Dispose();

    [StructLayout(LayoutKind.Sequential)]
    private struct Rseq
    {
        public ulong rseq_abi_pointer;
        public uint rseq_abi_size;
        public uint signature;
        public uint flags;
        public uint pad;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 310, Level = LogLevel.Information, Message = "restored pid {Pid}: {Mappings} mappings, {Pages} pages, {Fds} fds")]
        public static partial void Restored(ILogger logger, int pid, int mappings, int pages, int fds);

        [LoggerMessage(EventId = 312, Level = LogLevel.Debug, Message = "restore: {What} = {Result}")]
        public static partial void Injected(ILogger logger, string what, long result);

        [LoggerMessage(EventId = 311, Level = LogLevel.Warning, Message = "restore: resource limit {Resource} could not be set: {Error}")]
        public static partial void LimitNotSet(ILogger logger, int resource, string error);
    }
}
