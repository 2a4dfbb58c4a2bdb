using System.Text;
using Microsoft.Extensions.Logging;
using Scoord.Interceptors;
using Scoord.Interceptors.Decoding;
using Scoord.Journal;
using Scoord.Journal.Ring;

namespace Scoord.Coordinator.FastPath;

/// <summary>
/// The in-process fast path of one run (docs/architecture.md, "The fast path"): the ring file every
/// process of the tree maps, the drain that moves its records into the journal, and what the tracer
/// does with the ring: it shares the journal's sequence counter (one order for both producers), takes
/// claims for its own calls in flight and parks calls behind the hooks' claims, bumps the counters the
/// hooks' caches depend on, switches the fast path off for processes that stack a seccomp filter of their
/// own, raises the barrier flag, starts new undo epochs, and frees the slots of threads that exited.
/// Tracer-side members run on the tracer thread only.
/// </summary>
internal sealed unsafe partial class FastPathSession : IDisposable
{
    private readonly JournalStore _store;
    private readonly RingDrain _drain;
    private readonly ILogger _logger;
    /// <summary>Claims the tracer holds (claim index -> calls in flight that hold it).</summary>
    private readonly Dictionary<uint, int> _tracerClaims = new();
    private bool _disposed;

    private readonly (ulong Dev, ulong Ino) _stub;

    private FastPathSession(JournalStore store, RingFile ring, RingDrain drain, string library, ILogger logger)
    {
        _store = store;
        Ring = ring;
        _drain = drain;
        LibraryPath = library;
        _logger = logger;
        _stub = Identity(ring.StubPath);
    }

    /// <summary>True for the stub file of this run (the one file the library may map at the stub page).</summary>
    public bool IsStubFile(ulong dev, ulong ino) => _stub.Ino != 0 && (dev, ino) == _stub;

    private static (ulong, ulong) Identity(string path)
    {
        byte[] p = Utf8(path + "\0");
        Interop.Stat st;
        fixed (byte* pp = p)
        {
            return Interop.Libc.fstatat(Interop.Libc.AT_FDCWD, pp, &st, 0) == 0 ? (st.st_dev, st.st_ino) : default;
        }
    }

    public RingFile Ring { get; }

    /// <summary>DIR/fastpath (the launcher puts it into SCOORD_FASTPATH).</summary>
    public string Directory => Ring.Directory;

    /// <summary>libscoord-fast.so, next to scoord (the launcher puts it into LD_PRELOAD).</summary>
    public string LibraryPath { get; }

    public long DrainedRecords => _drain.Records;

    /// <summary>Finds libscoord-fast.so next to scoord's assemblies; null when it is missing.</summary>
    public static string? LocateLibrary()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "libscoord-fast.so");
        return File.Exists(path) ? path : null;
    }

    /// <summary>Creates the run's ring (the journal's counter moves into it) and starts the drain.</summary>
    public static FastPathSession Start(JournalStore store, DecodePolicy policy, string library, uint stdioFast, bool syncPoints,
        IReadOnlyCollection<(ulong Dev, ulong Ino)> unjournaled, ILogger logger)
    {
        byte[] encoded = RingPolicy.Encode(policy.JournalPath, policy.ProtectedDirs, policy.JournalAncestors, unjournaled, policy.Only, policy.Exclude);
        RingFile ring = RingFile.Create(store.Directory, encoded, store.Sequences.Last, stdioFast, syncPoints, smallFile: (uint)Undo.UndoCapture.SmallFileBytes);
        store.Sequences.Share(ring.SeqCounter);
        var drain = new RingDrain(ring, store.CreateWriter(), logger);
        drain.Start();
        Log.Started(logger, ring.Directory, library);
        return new FastPathSession(store, ring, drain, library, logger);
    }

    /// <summary>The drain rings <paramref name="wake"/> while <paramref name="wanted"/> (calls parked behind hooks).</summary>
    public void WakeWhen(Func<bool> wanted, Action wake) => _drain.WakeWhen(wanted, wake);

    /// <summary>Everything the hooks published is in the journal (committed; WAL fsynced with <paramref name="sync"/>).</summary>
    public bool Flush(bool sync, out Errno errno) => _drain.Flush(sync, out errno);

    // ----- ordering: claims ---------------------------------------------------------------------------

    /// <summary>
    /// Takes the tracer's claims on <paramref name="ids"/> (identities and marks) for a call of thread
    /// <paramref name="tid"/>, and checks that no hook's call in flight holds one of <paramref name="checks"/>
    /// (the opposite marks: inode allocation against freeing, path makers against unresolved paths). False,
    /// with nothing taken, when a hook of another thread holds one of them: the call is parked on
    /// <paramref name="blocked"/> until that claim is gone. A claim of the thread itself (a hook
    /// interrupted by a signal handler whose call this is) does not block.
    /// </summary>
    public bool TryClaim(int tid, ReadOnlySpan<(ulong Dev, ulong Ino)> ids, ReadOnlySpan<(ulong Dev, ulong Ino)> checks, Span<uint> taken, out int takenCount, out (ulong Dev, ulong Ino) blocked)
    {
        uint* claims = Ring.Claims;
        takenCount = 0;
        blocked = default;
        for (int i = 0; i < ids.Length; i++)
        {
            uint idx = RingLayout.ClaimIndex(ids[i].Dev, ids[i].Ino);
            if (Contains(taken[..takenCount], idx))
            {
                continue;
            }

            uint seen = Interlocked.CompareExchange(ref claims[idx], RingLayout.ClaimTracer, 0);
            if (seen == 0 || seen == RingLayout.ClaimTracer)
            {
                ref int count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_tracerClaims, idx, out _);
                count++;
                taken[takenCount++] = idx;
                continue;
            }

            if (seen == (uint)tid)
            {
                continue; // its own hook, interrupted: the kernel runs this call first anyway
            }

            Release(taken[..takenCount]);
            takenCount = 0;
            blocked = ids[i];
            return false;
        }

        // The opposite marks are read only after this call's own are published (the compare-exchanges
        // above are full fences), as a hook claims its mark before it reads the other one: of two calls
        // that race, at least one sees the other. Read first, both could pass (seen: a rename of a
        // directory by a hook let through while the tracer admitted an op whose path went through it).
        foreach ((ulong Dev, ulong Ino) check in checks)
        {
            uint owner = Volatile.Read(ref claims[RingLayout.ClaimIndex(check.Dev, check.Ino)]);
            if (owner != 0 && owner != RingLayout.ClaimTracer && owner != (uint)tid)
            {
                Release(taken[..takenCount]);
                takenCount = 0;
                blocked = check;
                return false;
            }
        }

        return true;
    }

    /// <summary>True when no hook of a thread other than <paramref name="tid"/> holds the claim on <paramref name="id"/>.</summary>
    public bool IsFree(int tid, (ulong Dev, ulong Ino) id)
    {
        uint owner = Volatile.Read(ref Ring.Claims[RingLayout.ClaimIndex(id.Dev, id.Ino)]);
        return owner == 0 || owner == RingLayout.ClaimTracer || owner == (uint)tid;
    }

    /// <summary>The tracer's call completed (or died): its claims go.</summary>
    public void Release(ReadOnlySpan<uint> taken)
    {
        uint* claims = Ring.Claims;
        foreach (uint idx in taken)
        {
            if (!_tracerClaims.TryGetValue(idx, out int n))
            {
                continue;
            }

            if (n > 1)
            {
                _tracerClaims[idx] = n - 1;
                continue;
            }

            _tracerClaims.Remove(idx);
            Interlocked.CompareExchange(ref claims[idx], 0, RingLayout.ClaimTracer);
        }
    }

    private static bool Contains(ReadOnlySpan<uint> s, uint v)
    {
        foreach (uint x in s)
        {
            if (x == v)
            {
                return true;
            }
        }

        return false;
    }

    // ----- counters the hooks' caches and superseding read ---------------------------------------------

    /// <summary>A path operation was journaled by the tracer (fd post-states before it are not superseded; removals change fd names).</summary>
    public void PathOp(bool removesName)
    {
        Interlocked.Increment(ref *Ring.PathOpsCounter);
        if (removesName)
        {
            Interlocked.Increment(ref *Ring.NamesGenCounter);
        }
    }

    // ----- processes and threads ----------------------------------------------------------------------

    /// <summary>The process stacked a seccomp filter of its own: its calls go the ptrace way from now on.</summary>
    public void SwitchOff(int tgid) => SetProcFlags((uint)tgid, RingLayout.ProcOff);

    /// <summary>The stdio guard was installed in the process: its writes to fds 0-2 are classified by the hooks too.</summary>
    public void StdioGuarded(int tgid) => SetProcFlags((uint)tgid, RingLayout.ProcGuarded);

    /// <summary>A new process inherits its parent's flags (seccomp filters are inherited).</summary>
    public void Forked(int parentTgid, int childTgid)
    {
        uint flags = ProcFlags((uint)parentTgid);
        if (flags != 0)
        {
            SetProcFlags((uint)childTgid, flags);
        }
    }

    private uint ProcFlags(uint tgid)
    {
        uint* procs = Ring.Procs;
        uint h = RingLayout.ProcIndex(tgid);
        for (uint i = 0; i < 64; i++)
        {
            uint at = (h + i) % RingLayout.ProcCount;
            uint cur = Volatile.Read(ref procs[at * 2]);
            if (cur == tgid)
            {
                return Volatile.Read(ref procs[(at * 2) + 1]);
            }

            if (cur == 0)
            {
                return 0;
            }
        }

        return 0;
    }

    private void SetProcFlags(uint tgid, uint flags)
    {
        uint* procs = Ring.Procs;
        uint h = RingLayout.ProcIndex(tgid);
        for (uint i = 0; i < 64; i++)
        {
            uint at = (h + i) % RingLayout.ProcCount;
            uint cur = Interlocked.CompareExchange(ref procs[at * 2], tgid, 0);
            if (cur == 0 || cur == tgid)
            {
                Interlocked.Or(ref procs[(at * 2) + 1], flags);
                return;
            }
        }

        // The table is full around this tgid: switch the whole run to the ptrace way rather than miss a flag.
        Interlocked.Or(ref *Ring.FlagsWord, RingLayout.FlagOff);
    }

    /// <summary>
    /// A thread exited (or was replaced by an exec of another thread): the claims its call in flight held
    /// go, its slot is marked dead (the drain frees it once empty). A new thread group with the same id
    /// starts without flags.
    /// </summary>
    public void ThreadExited(int tid, bool processGone)
    {
        uint hwm = Ring.SlotHighWater;
        for (uint i = 0; i < hwm; i++)
        {
            RingSlot* s = Ring.Slot(i);
            if (Volatile.Read(ref s->Owner) != (uint)tid || (Volatile.Read(ref s->Flags) & RingLayout.SlotDead) != 0)
            {
                continue;
            }

            uint n = Math.Min(Volatile.Read(ref s->ClaimCount), 8u);
            for (uint k = 0; k < n; k++)
            {
                uint idx = s->Claims[k];
                if (idx < RingLayout.ClaimCount)
                {
                    Interlocked.CompareExchange(ref Ring.Claims[idx], 0, (uint)tid);
                }
            }

            Interlocked.Or(ref s->Flags, RingLayout.SlotDead);
        }

        if (processGone)
        {
            ClearProcFlags((uint)tid);
        }
    }

    private void ClearProcFlags(uint tgid)
    {
        uint* procs = Ring.Procs;
        uint h = RingLayout.ProcIndex(tgid);
        for (uint i = 0; i < 64; i++)
        {
            uint at = (h + i) % RingLayout.ProcCount;
            uint cur = Volatile.Read(ref procs[at * 2]);
            if (cur == tgid)
            {
                Volatile.Write(ref procs[(at * 2) + 1], 0); // the entry stays (probing); its flags go
                return;
            }

            if (cur == 0)
            {
                return;
            }
        }
    }

    // ----- checkpoint barriers ------------------------------------------------------------------------

    /// <summary>A barrier is going up: hooks that end make the notify syscall, new calls go the ptrace way.</summary>
    public void RaiseBarrier() => Interlocked.Or(ref *Ring.FlagsWord, RingLayout.FlagBarrier);

    public void LowerBarrier() => Interlocked.And(ref *Ring.FlagsWord, ~RingLayout.FlagBarrier);

    /// <summary>True when thread <paramref name="tid"/> is between taking a sequence number and its DONE record.</summary>
    public bool InCall(int tid)
    {
        RingSlot* s = Ring.FindSlot((uint)tid);
        return s != null && Volatile.Read(ref s->State) == RingLayout.StateCall;
    }

    /// <summary>A checkpoint record was written: a new undo epoch for the hooks (everything is captured afresh).</summary>
    public void NewEpoch()
    {
        Ring.ClearEpochTable();
        Interlocked.Increment(ref *Ring.EpochWord);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        bool drained = _drain.StopAndFlush();
        _drain.Dispose();
        _store.Sequences.Unshare();
        long records = _drain.Records;
        string dir = Ring.Directory;
        Ring.Dispose();
        if (drained)
        {
            RingFile.Remove(dir); // everything is in the journal: a clean journal has no ring
        }

        Log.Finished(_logger, records);
    }

    /// <summary>
    /// The fast path is on by default; SCOORD_NO_FASTPATH (any value) or SCOORD_FASTPATH=0 in the environment
    /// turns it off, as --no-fastpath does.
    /// </summary>
    public static bool DisabledByEnvironment() =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("SCOORD_NO_FASTPATH")) || Environment.GetEnvironmentVariable("SCOORD_FASTPATH") == "0";

    /// <summary>The UTF-8 bytes of <paramref name="s"/> (paths of the policy).</summary>
    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static partial class Log
    {
        [LoggerMessage(EventId = 132, Level = LogLevel.Debug, Message = "fast path: ring {Directory}, library {Library}")]
        public static partial void Started(ILogger logger, string directory, string library);

        [LoggerMessage(EventId = 133, Level = LogLevel.Debug, Message = "fast path: {Records} records drained into the journal")]
        public static partial void Finished(ILogger logger, long records);
    }
}
