using System.Globalization;
using System.Text;
using Scoord.Coordinator.Tracing;
using Scoord.Interceptors;
using Scoord.Journal.Memory;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// Phase one of a memory dump, from /proc only (nothing is changed in any process): each process's place in
/// the tree, credentials, limits, mm fields, mappings and descriptors, and the tree's open file
/// descriptions, pipes and shared memory. Whatever a restore could not bring back is refused here, before
/// anything is injected: one line naming the process and the resource.
/// </summary>
internal sealed unsafe class TreeScanner
{
    private static readonly string[] s_namespaces = ["net", "uts", "ipc", "pid", "user", "cgroup", "time"];

    private readonly int _self = Environment.ProcessId;
    private readonly (ulong Dev, ulong Ino)[] _stdio = StdioIdentities();
    private readonly int _selfPgid = Interop.Libc.getpgid(0);
    private readonly int _selfSid = Interop.Libc.getsid(0);

    private readonly Dictionary<(ulong, ulong), List<(int Pid, int Fd, int Object)>> _descriptions = new();
    private readonly Dictionary<ulong, PipeImage> _pipes = new();
    private readonly Dictionary<ulong, (int Pid, int Fd)> _pipeReaders = new();
    private readonly Dictionary<ulong, string> _pipeHolders = new();
    private TreeScan _scan = new();

    /// <summary>scoord's own fds 0-2 (the caller's terminal, pipes or files): an fd of the tree on the same object is the restore's stdio.</summary>
    private static (ulong, ulong)[] StdioIdentities()
    {
        var ids = new (ulong, ulong)[3];
        for (int fd = 0; fd < 3; fd++)
        {
            Interop.Stat st;
            if (fstat(fd, &st) == 0)
            {
                ids[fd] = (st.st_dev, st.st_ino);
            }
        }

        return ids;
    }

    public TreeScan Scan(TraceeTable tracees)
    {
        _scan = new TreeScan();
        var byPid = new SortedDictionary<int, ScannedProcess>();
        foreach (TracedProcess p in tracees.Processes.Values)
        {
            string comm = (ProcFile.ReadText($"/proc/{p.Tgid}/comm") ?? "?").TrimEnd('\n');
            byPid[p.Tgid] = new ScannedProcess { Process = p, Comm = comm, Image = new ProcessImage { Pid = p.Tgid, App = p.App, StdioGuarded = p.StdioGuarded } };
        }

        foreach (Tracee t in tracees.Threads)
        {
            if (byPid.TryGetValue(t.Process.Tgid, out ScannedProcess? sp))
            {
                sp.Threads.Add(t);
            }
        }

        string mntNs = "";
        foreach (ScannedProcess sp in byPid.Values)
        {
            ScanProcess(sp, byPid, ref mntNs);
        }

        var images = new Dictionary<int, ProcessImage>();
        foreach (ScannedProcess sp in byPid.Values)
        {
            images[sp.Pid] = sp.Image;
        }

        foreach (ScannedProcess sp in byPid.Values)
        {
            if (RestoreSource.SessionRefusal(sp.Image, images) is not null)
            {
                string session = sp.Image.Sid == 0 ? "scoord's session" : $"session {sp.Image.Sid}";
                throw Refuse(sp, $"it is in {session} and its parent {sp.Image.Ppid} in another: a restore cannot put a process into a session it was not born in");
            }
        }

        foreach (ScannedProcess sp in byPid.Values)
        {
            ScanFds(sp, byPid);
        }

        ReadPipes(byPid);
        _scan.Processes.AddRange(byPid.Values);
        return _scan;
    }

    private void ScanProcess(ScannedProcess sp, SortedDictionary<int, ScannedProcess> tree, ref string mntNs)
    {
        int pid = sp.Pid;
        ProcessImage img = sp.Image;
        string? status = ProcFile.ReadText($"/proc/{pid}/status");
        string[]? stat = ProcFile.StatFields($"/proc/{pid}/stat");
        if (status is null || stat is null || stat.Length < 52)
        {
            throw Refuse(sp, "its /proc entry cannot be read (it is exiting)");
        }

        foreach (Tracee t in sp.Threads)
        {
            if (t.VforkChild != 0 || t.VforkParent is not null)
            {
                throw Refuse(sp, "it is between vfork() and exec() (the memory checkpoint cannot be taken now; try again)");
            }
        }

        int tracer = int.Parse(ProcFile.StatusField(status, "TracerPid") ?? "0", CultureInfo.InvariantCulture);
        if (tracer != _self && TgidOf(tracer) != _self) // TracerPid is the tracing thread (scoord's tracer thread)
        {
            throw Refuse(sp, $"it is traced by pid {tracer}, not by scoord");
        }

        int filters = int.Parse(ProcFile.StatusField(status, "Seccomp_filters") ?? "0", CultureInfo.InvariantCulture);
        if (filters != (sp.Process.StdioGuarded ? 2 : 1))
        {
            throw Refuse(sp, $"it has seccomp filters of its own ({filters} in all): they cannot be read back");
        }

        // Tree, process group and session.
        int ppid = int.Parse(stat[4], CultureInfo.InvariantCulture);
        img.Ppid = ppid == _self ? 0 : ppid;
        if (img.Ppid != 0 && !tree.ContainsKey(img.Ppid))
        {
            throw Refuse(sp, $"its parent pid {ppid} is not a process of the traced tree");
        }

        img.Pgid = TreeId(sp, tree, int.Parse(stat[5], CultureInfo.InvariantCulture), _selfPgid, "process group");
        img.Sid = TreeId(sp, tree, int.Parse(stat[6], CultureInfo.InvariantCulture), _selfSid, "session");

        // Namespaces: the coordinator's, but for the mount namespace (the launcher's private one), the same for all.
        foreach (string ns in s_namespaces)
        {
            byte[]? mine = ProcFile.ReadLink($"/proc/self/ns/{ns}");
            byte[]? theirs = ProcFile.ReadLink($"/proc/{pid}/ns/{ns}");
            if (mine is not null && theirs is not null && !mine.AsSpan().SequenceEqual(theirs))
            {
                throw Refuse(sp, $"it is in a {ns} namespace of its own ({ProcFile.Text(theirs)})");
            }
        }

        string mnt = ProcFile.Text(ProcFile.ReadLink($"/proc/{pid}/ns/mnt") ?? []);
        if (mntNs.Length == 0)
        {
            mntNs = mnt;
        }
        else if (mnt != mntNs)
        {
            throw Refuse(sp, $"it is in a mount namespace of its own ({mnt})");
        }

        string? timers = ProcFile.ReadText($"/proc/{pid}/timers");
        if (!string.IsNullOrWhiteSpace(timers))
        {
            throw Refuse(sp, "it has POSIX timers (timer_create), which cannot be restored");
        }

        // Credentials, umask, personality.
        ParseIds(ProcFile.StatusField(status, "Uid"), img.Uids);
        ParseIds(ProcFile.StatusField(status, "Gid"), img.Gids);
        img.Groups = (ProcFile.StatusField(status, "Groups") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(g => uint.Parse(g, CultureInfo.InvariantCulture)).ToArray();
        img.Umask = Convert.ToUInt32(ProcFile.StatusField(status, "Umask") ?? "022", 8);
        img.NoNewPrivs = ProcFile.StatusField(status, "NoNewPrivs") == "1";
        img.Personality = uint.Parse((ProcFile.ReadText($"/proc/{pid}/personality") ?? "0").Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

        // cwd, root, exe.
        byte[] cwd = ProcFile.ReadLink($"/proc/{pid}/cwd") ?? [];
        if (cwd.Length == 0 || cwd[0] != '/' || cwd.AsSpan().EndsWith(" (deleted)"u8))
        {
            throw Refuse(sp, $"its working directory {ProcFile.Text(cwd)} is gone");
        }

        img.Cwd = cwd;
        if (ProcFile.Text(ProcFile.ReadLink($"/proc/{pid}/root") ?? []) != "/")
        {
            throw Refuse(sp, "it has a root directory of its own (chroot)");
        }

        byte[] exe = ProcFile.ReadLink($"/proc/{pid}/exe") ?? [];
        if (exe.Length == 0 || exe.AsSpan().EndsWith(" (deleted)"u8))
        {
            throw Refuse(sp, $"its executable {ProcFile.Text(exe)} was removed or replaced");
        }

        img.Exe = FileRefOf(sp, exe, $"/proc/{pid}/exe", "its executable");

        // Limits, mm fields, auxv.
        for (int r = 0; r < ProcessImage.RlimitCount; r++)
        {
            Interop.RLimit lim;
            if (prlimit(pid, r, null, &lim) != 0)
            {
                throw Refuse(sp, $"prlimit({r}) failed: {Interop.LastErrno}");
            }

            img.RlimitCur[r] = lim.rlim_cur;
            img.RlimitMax[r] = lim.rlim_max;
        }

        // start_code end_code start_data end_data start_brk (brk below) start_stack arg_start arg_end env_start env_end
        img.Mm[0] = ProcFile.ULong(stat[26]);
        img.Mm[1] = ProcFile.ULong(stat[27]);
        img.Mm[2] = ProcFile.ULong(stat[45]);
        img.Mm[3] = ProcFile.ULong(stat[46]);
        img.Mm[4] = ProcFile.ULong(stat[47]);
        img.Mm[6] = ProcFile.ULong(stat[28]);
        img.Mm[7] = ProcFile.ULong(stat[48]);
        img.Mm[8] = ProcFile.ULong(stat[49]);
        img.Mm[9] = ProcFile.ULong(stat[50]);
        img.Mm[10] = ProcFile.ULong(stat[51]);
        img.Auxv = ProcFile.Read($"/proc/{pid}/auxv") ?? [];

        // Threads the table does not know yet (their first stop has not arrived).
        foreach (string dir in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            int tid = int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture);
            if (!sp.Threads.Exists(t => t.Tid == tid))
            {
                throw Refuse(sp, $"its thread {tid} is not traced yet (the memory checkpoint cannot be taken now; try again)");
            }

            ScanChildren(sp, tree, tid);
        }

        ScanMappings(sp);
    }

    private static int TgidOf(int tid)
    {
        string? status = ProcFile.ReadText($"/proc/{tid}/status");
        return status is not null && int.TryParse(ProcFile.StatusField(status, "Tgid"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int tgid) ? tgid : 0;
    }

    /// <summary>A process group or session id: 0 for the coordinator's own, else the pid of a process of the tree.</summary>
    private int TreeId(ScannedProcess sp, SortedDictionary<int, ScannedProcess> tree, int id, int coordinators, string what)
    {
        if (id == coordinators)
        {
            return 0;
        }

        if (!tree.ContainsKey(id))
        {
            throw Refuse(sp, $"its {what} {id} is led by a process outside the traced tree");
        }

        return id;
    }

    /// <summary>Children of the thread <paramref name="tid"/> that are not traced processes: zombies (recreated), or refused.</summary>
    private void ScanChildren(ScannedProcess sp, SortedDictionary<int, ScannedProcess> tree, int tid)
    {
        string? children = ProcFile.ReadText($"/proc/{sp.Pid}/task/{tid}/children");
        foreach (string c in (children ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int child = int.Parse(c, CultureInfo.InvariantCulture);
            if (tree.ContainsKey(child))
            {
                continue;
            }

            string[]? st = ProcFile.StatFields($"/proc/{child}/stat");
            if (st is not null && st.Length > 52 && st[3] == "Z")
            {
                throw Refuse(sp, $"its child {child} has ended and is not reaped yet (a zombie), which a restore cannot make again (try again)");
            }

            throw Refuse(sp, $"its child {child} is not traced yet (the memory checkpoint cannot be taken now; try again)");
        }
    }

    private void ScanMappings(ScannedProcess sp)
    {
        int pid = sp.Pid;
        byte[] smaps = ProcFile.Read($"/proc/{pid}/smaps") ?? throw Refuse(sp, "its mappings cannot be read");
        sp.Areas = MappedArea.ParseSmaps(smaps);
        foreach (MappedArea a in sp.Areas)
        {
            string name = a.PathText;
            var v = new VmaImage
            {
                Start = a.Start,
                End = a.End,
                Prot = (a.Read ? VmaImage.ProtRead : 0) | (a.Write ? VmaImage.ProtWrite : 0) | (a.Exec ? VmaImage.ProtExec : 0),
                Offset = a.Offset,
                Flags = VmFlagsOf(a),
            };
            if ((a.Has("io") || a.Has("pf")) && name is not ("[vvar]" or "[vvar_vclock]" or "[vdso]"))
            {
                throw Refuse(sp, $"it maps device memory at 0x{a.Start:x} ({name})");
            }

            if (a.IsPseudo)
            {
                switch (name)
                {
                    case "[vsyscall]":
                        continue; // at a fixed address in every process
                    case "[vdso]":
                    case "[vvar]":
                    case "[vvar_vclock]":
                        v.Kind = VmaKind.Special;
                        v.Name = name;
                        break;
                    case "[heap]":
                    case "[stack]":
                        v.Kind = VmaKind.Anonymous;
                        v.Name = name;
                        break;
                    default:
                        if (name.StartsWith("[anon:", StringComparison.Ordinal) || name.StartsWith("[stack:", StringComparison.Ordinal))
                        {
                            v.Kind = a.Shared ? VmaKind.SharedAnonymous : VmaKind.Anonymous;
                            break;
                        }

                        throw Refuse(sp, $"it has a mapping the kernel calls {name}, which cannot be restored");
                }
            }
            else if (a.Path.Length == 0)
            {
                v.Kind = VmaKind.Anonymous;
            }
            else if (a.Shared && a.Dev == 1 && (name == "/dev/zero (deleted)" || name.StartsWith("/dev/zero", StringComparison.Ordinal)))
            {
                v.Kind = VmaKind.SharedAnonymous;
            }
            else if (name.StartsWith("/SYSV", StringComparison.Ordinal))
            {
                throw Refuse(sp, $"it attaches SysV shared memory ({name}), which cannot be restored");
            }
            else if (name.StartsWith("/memfd:", StringComparison.Ordinal))
            {
                throw Refuse(sp, $"it maps a memfd ({name}), which cannot be restored");
            }
            else if (name.EndsWith(" (deleted)", StringComparison.Ordinal))
            {
                throw Refuse(sp, $"it maps {name}: the file was removed or replaced since");
            }
            else
            {
                v.Kind = a.Shared ? VmaKind.FileShared : VmaKind.FilePrivate;
                v.File = FileRefOf(sp, a.Path, $"/proc/{pid}/map_files/{a.Start:x}-{a.End:x}", $"its mapping of {name}");
                if (v.File.Dev != a.Dev || v.File.Ino != a.Ino)
                {
                    throw Refuse(sp, $"it maps {name}, which has been replaced on disk since it was mapped");
                }

                if (!IsRegularFile(v.File.Path))
                {
                    throw Refuse(sp, $"it maps {name}, which is not a regular file");
                }
            }

            if (v.Kind == VmaKind.SharedAnonymous)
            {
                // The image format can hold it (shared memory objects, dumped once), but a restore would have to map
                // one object into several processes again: refused, so that no checkpoint promises what restore cannot do.
                throw Refuse(sp, $"it has shared anonymous memory at 0x{a.Start:x} ({(name.Length == 0 ? "MAP_SHARED|MAP_ANONYMOUS" : name)}), which a restore cannot bring back");
            }

            sp.Image.Vmas.Add(v);
        }
    }

    private static bool IsRegularFile(byte[] path) => ProcFile.Stat(path, out Interop.Stat st) && (st.st_mode & 0xF000) == 0x8000;

    private static uint VmFlagsOf(MappedArea a)
    {
        uint f = 0;
        f |= a.Has("gd") ? VmaImage.GrowsDown : 0;
        f |= a.Has("dc") ? VmaImage.DontFork : 0;
        f |= a.Has("wf") ? VmaImage.WipeOnFork : 0;
        f |= a.Has("dd") ? VmaImage.DontDump : 0;
        f |= a.Has("hg") ? VmaImage.HugePage : 0;
        f |= a.Has("nh") ? VmaImage.NoHugePage : 0;
        f |= a.Has("mg") ? VmaImage.Mergeable : 0;
        f |= a.Has("lo") ? VmaImage.Locked : 0;
        f |= a.Has("sl") ? VmaImage.Sealed : 0;
        f |= a.Has("mw") ? VmaImage.MayWriteShared : 0;
        return f;
    }

    /// <summary>A file the image refers to: the object the process holds (through <paramref name="held"/>) must be the one its path names.</summary>
    private static FileRef FileRefOf(ScannedProcess sp, byte[] path, string held, string what)
    {
        if (!ProcFile.Stat(held, out Interop.Stat st))
        {
            throw Refuse(sp, $"{what} ({ProcFile.Text(path)}) cannot be examined: {Interop.LastErrno}");
        }

        if (!ProcFile.Stat(path, out Interop.Stat now) || now.st_dev != st.st_dev || now.st_ino != st.st_ino)
        {
            throw Refuse(sp, $"{what}: {ProcFile.Text(path)} names another file now (it was renamed or replaced)");
        }

        return new FileRef { Path = path, Dev = st.st_dev, Ino = st.st_ino, Size = st.st_size, MtimeNs = (st.st_mtime_sec * 1_000_000_000) + st.st_mtime_nsec };
    }

    private static void ParseIds(string? line, uint[] into)
    {
        string[] f = (line ?? "").Split('\t', ' ').Where(s => s.Length > 0).ToArray();
        for (int i = 0; i < 4 && i < f.Length; i++)
        {
            into[i] = uint.Parse(f[i], CultureInfo.InvariantCulture);
        }
    }

    // ------------------------------------------------------------------ descriptors

    private void ScanFds(ScannedProcess sp, SortedDictionary<int, ScannedProcess> tree)
    {
        int pid = sp.Pid;
        var fds = new List<int>();
        foreach (string entry in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            fds.Add(int.Parse(Path.GetFileName(entry), CultureInfo.InvariantCulture));
        }

        fds.Sort();
        foreach (int fd in fds)
        {
            byte[] link = ProcFile.ReadLink($"/proc/{pid}/fd/{fd}") ?? [];
            string text = ProcFile.Text(link);
            string? info = ProcFile.ReadText($"/proc/{pid}/fdinfo/{fd}");
            if (info is null || !ProcFile.Stat($"/proc/{pid}/fd/{fd}", out Interop.Stat st))
            {
                throw Refuse(sp, $"fd {fd} ({text}) cannot be examined");
            }

            int flags = Convert.ToInt32(FdInfoField(info, "flags") ?? "0", 8);
            long pos = long.Parse(FdInfoField(info, "pos") ?? "0", CultureInfo.InvariantCulture);
            var fdImage = new FdImage { Fd = fd, CloseOnExec = (flags & O_CLOEXEC) != 0 };
            flags &= ~O_CLOEXEC;
            uint type = st.st_mode & 0xF000;

            int stdio = Array.IndexOf(_stdio, (st.st_dev, st.st_ino));
            if (stdio >= 0 && st.st_ino != 0)
            {
                fdImage.Object = Describe(sp, fd, st, () => new FileObject { Kind = FileObjectKind.Stdio, StdioFd = stdio, Flags = flags });
            }
            else if (type is 0x8000 or 0x4000)
            {
                if (link.Length == 0 || link[0] != '/' || text.EndsWith(" (deleted)", StringComparison.Ordinal))
                {
                    throw Refuse(sp, $"fd {fd}: {text} was removed (an open file without a name cannot be restored)");
                }

                if (text.StartsWith("/proc/", StringComparison.Ordinal) || text.StartsWith("/sys/", StringComparison.Ordinal))
                {
                    throw Refuse(sp, $"fd {fd}: {text} is a kernel pseudo-file, which cannot be restored");
                }

                FileRef file = FileRefOf(sp, link, $"/proc/{pid}/fd/{fd}", $"fd {fd}");
                fdImage.Object = Describe(sp, fd, st, () => new FileObject { Kind = FileObjectKind.Path, Flags = flags, Offset = pos, File = file });
            }
            else if (type == 0x1000)
            {
                bool anonymous = text.StartsWith("pipe:", StringComparison.Ordinal);
                if (!_pipes.TryGetValue(st.st_ino, out PipeImage? pipe))
                {
                    pipe = new PipeImage { Id = _pipes.Count + 1, FifoPath = anonymous ? null : link };
                    _pipes[st.st_ino] = pipe;
                    _scan.Pipes.Add(pipe);
                }

                if ((flags & O_ACCMODE) != O_WRONLY)
                {
                    _pipeReaders.TryAdd(st.st_ino, (pid, fd));
                }

                _pipeHolders.TryAdd(st.st_ino, $"pid {pid} ({sp.Comm}): fd {fd}: {text}");

                int id = pipe.Id;
                fdImage.Object = Describe(sp, fd, st, () => new FileObject { Kind = FileObjectKind.Pipe, Flags = flags, Pipe = id });
            }
            else if (type == 0x2000)
            {
                ulong major = ((st.st_rdev >> 8) & 0xfff) | ((st.st_rdev >> 32) & ~0xfffUL);
                ulong minor = (st.st_rdev & 0xff) | ((st.st_rdev >> 12) & ~0xffUL);
                bool stateless = (major == 1 && minor is 3 or 5 or 7 or 8 or 9) || (major == 5 && minor is 0 or 1) || major == 4 || (major >= 136 && major <= 143);
                if (!stateless || link.Length == 0 || link[0] != '/')
                {
                    throw Refuse(sp, $"fd {fd}: the device {text} cannot be restored (only /dev/null, /dev/zero, /dev/full, /dev/[u]random and terminals can)");
                }

                var file = new FileRef { Path = link, Dev = st.st_dev, Ino = st.st_ino };
                fdImage.Object = Describe(sp, fd, st, () => new FileObject { Kind = FileObjectKind.Device, Flags = flags, File = file });
            }
            else if (type == 0xC000)
            {
                throw Refuse(sp, $"fd {fd}: {SocketDescription.Describe(pid, st.st_ino)} cannot be restored");
            }
            else
            {
                string what = text.Contains("io_uring", StringComparison.Ordinal) ? "an io_uring instance" : text;
                throw Refuse(sp, $"fd {fd}: {what} cannot be restored");
            }

            sp.Image.Fds.Add(fdImage);
        }
    }

    /// <summary>The object id of the description behind fd <paramref name="fd"/>: one already seen (kcmp says it is the same struct file), or a new one.</summary>
    private int Describe(ScannedProcess sp, int fd, Interop.Stat st, Func<FileObject> make)
    {
        if (!_descriptions.TryGetValue((st.st_dev, st.st_ino), out List<(int Pid, int Fd, int Object)>? seen))
        {
            seen = [];
            _descriptions[(st.st_dev, st.st_ino)] = seen;
        }

        foreach ((int opid, int ofd, int obj) in seen)
        {
            if (syscall(SYS_kcmp, sp.Pid, opid, KCMP_FILE, fd, ofd) == 0)
            {
                seen.Add((sp.Pid, fd, obj));
                return obj;
            }
        }

        FileObject o = make();
        o.Id = _scan.Objects.Count + 1;
        _scan.Objects.Add(o);
        seen.Add((sp.Pid, fd, o.Id));
        return o.Id;
    }

    private static string? FdInfoField(string info, string key)
    {
        foreach (string line in info.Split('\n'))
        {
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
            {
                return line[(key.Length + 1)..].Trim();
            }
        }

        return null;
    }

    // ------------------------------------------------------------------ pipes

    /// <summary>Pipes: nobody outside the tree may hold them; their capacity and unread bytes (copied with tee, not consumed).</summary>
    private void ReadPipes(SortedDictionary<int, ScannedProcess> tree)
    {
        var internalPipes = new Dictionary<ulong, PipeImage>();
        foreach ((ulong ino, PipeImage pipe) in _pipes)
        {
            if (pipe.FifoPath is null)
            {
                internalPipes[ino] = pipe;
            }
        }

        if (internalPipes.Count > 0)
        {
            CheckOutsideHolders(internalPipes, tree);
        }

        foreach ((ulong ino, PipeImage pipe) in _pipes)
        {
            if (!_pipeReaders.TryGetValue(ino, out (int Pid, int Fd) reader))
            {
                pipe.Capacity = 65536; // no read end left: whatever is in it can never be read
                continue;
            }

            int pidfd = pidfd_open(reader.Pid, 0);
            int fd = pidfd < 0 ? -1 : pidfd_getfd(pidfd, reader.Fd, 0);
            if (pidfd >= 0)
            {
                close(pidfd);
            }

            if (fd < 0)
            {
                throw new MemoryRefusedException($"pid {reader.Pid}: fd {reader.Fd}: the pipe cannot be read: {Interop.LastErrno}");
            }

            try
            {
                pipe.Capacity = fcntl(fd, F_GETPIPE_SZ, 0);
                pipe.Unread = Peek(fd, pipe.Capacity);
            }
            finally
            {
                close(fd);
            }
        }
    }

    private const int F_SETPIPE_SZ = 1031;
    private const int F_GETPIPE_SZ = 1032;
    private const ulong FIONREAD = 0x541B;

    /// <summary>The bytes in the pipe behind <paramref name="fd"/>, duplicated with tee(2) into a pipe of scoord's and read from there.</summary>
    private static byte[] Peek(int fd, int capacity)
    {
        int queued = 0;
        if (ioctl(fd, FIONREAD, &queued) != 0 || queued == 0)
        {
            return [];
        }

        int* p = stackalloc int[2];
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
        {
            throw new MemoryRefusedException($"cannot make a pipe to copy a pipe's content: {Interop.LastErrno}");
        }

        try
        {
            fcntl(p[1], F_SETPIPE_SZ, Math.Max(capacity, queued));
            nint n = tee(fd, p[1], (nuint)queued, SPLICE_F_NONBLOCK);
            if (n != queued)
            {
                throw new MemoryRefusedException($"copying a pipe's {queued} unread bytes gave {n}: {Interop.LastErrno}");
            }

            byte[] data = new byte[queued];
            fixed (byte* d = data)
            {
                int got = 0;
                while (got < queued)
                {
                    nint r = read(p[0], d + got, (nuint)(queued - got));
                    if (r <= 0)
                    {
                        throw new MemoryRefusedException($"reading a pipe's copy: {Interop.LastErrno}");
                    }

                    got += (int)r;
                }
            }

            return data;
        }
        finally
        {
            close(p[0]);
            close(p[1]);
        }
    }

    /// <summary>A pipe of the tree that a process outside it also holds cannot be restored (the other end would be lost).</summary>
    private void CheckOutsideHolders(Dictionary<ulong, PipeImage> pipes, SortedDictionary<int, ScannedProcess> tree)
    {
        var names = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (ulong ino in pipes.Keys)
        {
            names["pipe:[" + ino.ToString(CultureInfo.InvariantCulture) + "]"] = ino;
        }

        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid == _self || tree.ContainsKey(pid))
            {
                continue;
            }

            IEnumerable<string> fds;
            try
            {
                fds = Directory.EnumerateFileSystemEntries(dir + "/fd").ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (string fd in fds)
            {
                byte[]? link = ProcFile.ReadLink(fd);
                if (link is not null && link.Length > 5 && link[0] == 'p' && names.TryGetValue(Encoding.ASCII.GetString(link), out ulong ino) && !IsScoordHelper(pid))
                {
                    string comm = (ProcFile.ReadText($"/proc/{pid}/comm") ?? "?").TrimEnd('\n');
                    throw new MemoryRefusedException($"{_pipeHolders[ino]} is also held by pid {pid} ({comm}), outside the traced tree: it cannot be restored");
                }
            }
        }
    }

    /// <summary>scoord's own helpers (the doorbell) are children of scoord.</summary>
    private bool IsScoordHelper(int pid)
    {
        string[]? st = ProcFile.StatFields($"/proc/{pid}/stat");
        return st is not null && st.Length > 4 && st[4] == _self.ToString(CultureInfo.InvariantCulture);
    }

    private static MemoryRefusedException Refuse(ScannedProcess sp, string what) => MemoryRefusedException.For(sp.Pid, sp.Comm, what);
}
