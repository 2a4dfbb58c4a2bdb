using System.Runtime.InteropServices;
using System.Text;
using Scoord.Interceptors;
using Scoord.Journal;

namespace Scoord.Coordinator.Launch;

/// <summary>
/// Starts scoord-launch (interceptors/native) with posix_spawn. The child blocks reading its
/// control pipe until the tracer has seized it and written the seccomp filter (see
/// <see cref="SendFilter"/>), so no traced syscall ever runs without a tracer.
/// System.Diagnostics.Process is not used: it would install its own SIGCHLD reaping.
/// </summary>
internal sealed unsafe class Launcher : IDisposable
{
    private int _ctlWrite = -1;

    public int Pid { get; private set; }

    /// <summary>Finds the launcher next to scoord's assemblies.</summary>
    public static string LocateLauncher()
    {
        string dir = AppContext.BaseDirectory;
        string path = Path.Combine(dir, "scoord-launch");
        if (!File.Exists(path))
        {
            throw new ScoordException($"scoord-launch is missing next to scoord in {dir}: rebuild scoord (it needs a C compiler)");
        }

        return path;
    }

    /// <summary>Resolves PROG the way execvp would: with a slash as is, else the first executable match on PATH.</summary>
    public static string ResolveProgram(string program, string? pathEnv)
    {
        if (program.Length == 0)
        {
            throw new ScoordException("no program given: use `scoord run -- PROGRAM ARGS`");
        }

        if (program.Contains('/', StringComparison.Ordinal))
        {
            string full = Path.GetFullPath(program);
            if (Directory.Exists(full))
            {
                throw new ScoordException($"cannot run {program}: it is a directory");
            }

            if (!File.Exists(full))
            {
                throw new ScoordException($"program not found: {program}");
            }

            return full;
        }

        foreach (string dir in (pathEnv ?? "/usr/local/bin:/usr/bin:/bin").Split(':'))
        {
            string candidate = Path.Combine(dir.Length == 0 ? "." : dir, program);
            if (File.Exists(candidate) && IsExecutable(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        throw new ScoordException($"program not found on PATH: {program}");
    }

    private static bool IsExecutable(string path)
        => (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;

    /// <summary>Spawns the launcher; it waits for <see cref="SendFilter"/>.</summary>
    /// <param name="protectDirectory">
    /// The journal directory, to be made read-only for the program in a private mount namespace
    /// (`--protect DIR`; root only, else the launcher goes on without it); null for none.
    /// </param>
    /// <param name="debug">Lets the launcher say on stderr why the mount protection could not be set up.</param>
    /// <param name="joined">
    /// For a program joining the application group: its stdin/stdout/stderr (dup2'd onto 0-2), its cwd;
    /// it also gets a process group of its own (the joining `scoord run` forwards its terminal's
    /// signals to that group). Null for the first program, which shares scoord's.
    /// </param>
    /// <param name="fastPath">The fast path's library and ring directory (`--fastpath LIB DIR`), or null for ptrace only.</param>
    /// <param name="restorePid">
    /// scoord restore of a memory image: the launcher makes the process with this pid (`--restore PID`) instead
    /// of an exec; 0 for a program. A restore never gets the fast path (its image has no ring to reattach).
    /// </param>
    public void Spawn(string launcherPath, string programPath, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> environment,
        string? protectDirectory = null, bool debug = false, JoinedStdio? joined = null, (string Library, string Directory)? fastPath = null,
        int restorePid = 0)
    {
        if (restorePid > 0 && fastPath is not null)
        {
            throw new ArgumentException("a memory image's restore runs ptrace only (no fast path)", nameof(fastPath));
        }

        int* fds = stackalloc int[2];
        if (Interop.Libc.pipe2(fds, Interop.Libc.O_CLOEXEC) != 0)
        {
            throw new ScoordException($"cannot create the launcher's control pipe: {Interop.LastErrno}");
        }

        _ctlWrite = fds[1];
        // The child's copy must survive exec of the launcher: duplicate without O_CLOEXEC. Nothing
        // else in scoord spawns processes, so the descriptor cannot leak elsewhere.
        int childFd = Interop.Libc.fcntl(fds[0], Interop.Libc.F_DUPFD, 3);
        Interop.Libc.close(fds[0]);
        if (childFd < 0)
        {
            throw new ScoordException($"cannot prepare the launcher's control pipe: {Interop.LastErrno}");
        }

        var args = new List<string>(argv.Count + 6) { launcherPath };
        if (protectDirectory is not null)
        {
            args.Add("--protect");
            args.Add(protectDirectory);
        }

        if (fastPath is { } fp)
        {
            args.Add("--fastpath");
            args.Add(fp.Library);
            args.Add(fp.Directory);
        }

        if (joined?.IgnoredSignals is { } ignored)
        {
            args.Add("--sigign");
            args.Add(ignored.ToString("x", System.Globalization.CultureInfo.InvariantCulture));
        }

        if (debug)
        {
            args.Add("--debug");
        }

        if (restorePid > 0)
        {
            // A memory image's restore: the launcher makes the process with that pid instead of an exec.
            args.Add("--restore");
            args.Add(restorePid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            args.Add(childFd.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            args.Add(childFd.ToString(System.Globalization.CultureInfo.InvariantCulture));
            args.Add(programPath);
            args.AddRange(argv);
        }
        var env = new List<string>(environment.Count);
        foreach (KeyValuePair<string, string> kv in environment)
        {
            env.Add(kv.Key + "=" + kv.Value);
        }

        using var nativeArgs = new NativeStringArray(args);
        using var nativeEnv = new NativeStringArray(env);
        using var nativePath = new NativeStringArray([launcherPath]);
        int pid;
        int rc;
        using (CoordinatorPriority.AtBase())
        {
            rc = joined is null
                ? Interop.Libc.posix_spawn(&pid, nativePath.Pointers[0], null, null, nativeArgs.Pointers, nativeEnv.Pointers)
                : SpawnJoined(&pid, nativePath.Pointers[0], nativeArgs.Pointers, nativeEnv.Pointers, joined);
        }

        Interop.Libc.close(childFd);
        if (rc != 0)
        {
            throw new ScoordException($"cannot start {programPath}: {(Errno)rc}");
        }

        Pid = pid;
    }

    private static int SpawnJoined(int* pid, byte* path, byte** argv, byte** envp, JoinedStdio joined)
    {
        void* actions = NativeMemory.AllocZeroed(Interop.Libc.SpawnFileActionsSize);
        void* attr = NativeMemory.AllocZeroed(Interop.Libc.SpawnAttrSize);
        using var cwd = new NativeStringArray([joined.Cwd]);
        try
        {
            Interop.Libc.posix_spawn_file_actions_init(actions);
            Interop.Libc.posix_spawnattr_init(attr);
            for (int i = 0; i < 3; i++)
            {
                // The received descriptors are close-on-exec; dup2 gives the child plain copies on 0-2.
                int rc = Interop.Libc.posix_spawn_file_actions_adddup2(actions, joined.Fds[i], i);
                if (rc != 0)
                {
                    return rc;
                }
            }

            int chdir = Interop.Libc.posix_spawn_file_actions_addchdir_np(actions, cwd.Pointers[0]);
            if (chdir != 0)
            {
                return chdir;
            }

            Interop.Libc.posix_spawnattr_setflags(attr, Interop.Libc.POSIX_SPAWN_SETPGROUP);
            Interop.Libc.posix_spawnattr_setpgroup(attr, 0);
            return Interop.Libc.posix_spawn(pid, path, actions, attr, argv, envp);
        }
        finally
        {
            Interop.Libc.posix_spawn_file_actions_destroy(actions);
            Interop.Libc.posix_spawnattr_destroy(attr);
            NativeMemory.Free(actions);
            NativeMemory.Free(attr);
        }
    }

    /// <summary>posix_spawn of a helper (the doorbell) with scoord's environment; returns its pid or -1.</summary>
    public static int SpawnPlain(string path, IReadOnlyList<string> argv)
    {
        var env = new List<string>();
        foreach (System.Collections.DictionaryEntry kv in Environment.GetEnvironmentVariables())
        {
            env.Add((string)kv.Key + "=" + (string?)kv.Value);
        }

        return SpawnPlainWithEnv(path, argv, env);
    }

    /// <summary>posix_spawn of a helper with the given environment ("K=V" strings); returns its pid or -1.</summary>
    public static int SpawnPlainWithEnv(string path, IReadOnlyList<string> argv, IReadOnlyList<string> env)
    {
        using var nativeArgs = new NativeStringArray(argv);
        using var nativeEnv = new NativeStringArray(env);
        using var nativePath = new NativeStringArray([path]);
        int pid;
        int rc;
        using (CoordinatorPriority.AtBase())
        {
            rc = Interop.Libc.posix_spawn(&pid, nativePath.Pointers[0], null, null, nativeArgs.Pointers, nativeEnv.Pointers);
        }

        return rc == 0 ? pid : -1;
    }

    /// <summary>Sends the filter; call only after the launcher has been seized.</summary>
    public void SendFilter(ReadOnlySpan<Interop.SockFilter> filter)
    {
        int bytes = 4 + (filter.Length * sizeof(Interop.SockFilter));
        byte[] buffer = new byte[bytes];
        BitConverter.TryWriteBytes(buffer, (uint)filter.Length);
        MemoryMarshal.AsBytes(filter).CopyTo(buffer.AsSpan(4));
        fixed (byte* p = buffer)
        {
            int done = 0;
            while (done < bytes)
            {
                nint n = Interop.Libc.write(_ctlWrite, p + done, (nuint)(bytes - done));
                if (n < 0 && Interop.LastErrno == Errno.EINTR)
                {
                    continue;
                }

                if (n <= 0)
                {
                    throw new ScoordException($"cannot send the seccomp filter to the launcher: {Interop.LastErrno}");
                }

                done += (int)n;
            }
        }

        Interop.Libc.close(_ctlWrite);
        _ctlWrite = -1;
    }

    public void Dispose()
    {
        if (_ctlWrite >= 0)
        {
            Interop.Libc.close(_ctlWrite);
            _ctlWrite = -1;
        }
    }

    /// <summary>A NULL-terminated char*[] of UTF-8 strings in unmanaged memory.</summary>
    private sealed class NativeStringArray : IDisposable
    {
        public byte** Pointers { get; }
        private readonly int _count;

        public NativeStringArray(IReadOnlyList<string> strings)
        {
            _count = strings.Count;
            Pointers = (byte**)NativeMemory.AllocZeroed((nuint)(_count + 1), (nuint)sizeof(byte*));
            for (int i = 0; i < _count; i++)
            {
                int len = Encoding.UTF8.GetByteCount(strings[i]);
                byte* s = (byte*)NativeMemory.Alloc((nuint)len + 1);
                Encoding.UTF8.GetBytes(strings[i], new Span<byte>(s, len));
                s[len] = 0;
                Pointers[i] = s;
            }
        }

        public void Dispose()
        {
            for (int i = 0; i < _count; i++)
            {
                NativeMemory.Free(Pointers[i]);
            }

            NativeMemory.Free(Pointers);
        }
    }
}

/// <summary>Stdio (three descriptors), working directory and ignored signals (as --sigign) of a program joining the application group.</summary>
internal sealed record JoinedStdio(int[] Fds, string Cwd, ulong? IgnoredSignals = null);
