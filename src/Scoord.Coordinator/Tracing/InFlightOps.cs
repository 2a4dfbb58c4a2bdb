using Scoord.Coordinator.FastPath;
using Scoord.Interceptors.Decoding;
using Scoord.Interceptors.Syscalls;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// Ordering between processes (DESIGN.md): the tracer sees stops one at a time, but resumed syscalls
/// run concurrently in the kernel. An operation that touches an inode or a directory (whose entries it
/// changes) that another journaled operation in flight touches is held back, parked in its seccomp
/// stop, until that one completes; then it is decoded afresh. So the journal order is always an order
/// the kernel could have executed. Under the fast path the same holds against the hooks' calls in flight:
/// an admitted call also takes the ring's claims on its identities and marks (a hook that meets one goes
/// the ptrace way and parks here), and a call that meets a hook's claim parks until the hook has published
/// its DONE record (the drain's doorbell makes the loop look again).
/// </summary>
internal sealed class InFlightOps
{
    private const int MaxIds = DecodedCall.MaxIdentities;

    // Pseudo inode numbers (never real ones: ext4, xfs, btrfs and tmpfs stay far below) for "an op that
    // may allocate an inode on this device is in flight" and "an op that may free one is".
    private const ulong AllocatingKey = ulong.MaxValue;
    private const ulong FreeingKey = ulong.MaxValue - 1;

    // Pseudo identities (device 0) for "an op that can make a path appear is in flight" (rename, mkdir,
    // symlink: a directory on some path) and "an op whose path did not resolve at its decode is" (see
    // NotePathRace).
    private static readonly (ulong, ulong) s_pathMakerKey = (0, ulong.MaxValue - 2);
    private static readonly (ulong, ulong) s_unresolvedKey = (0, ulong.MaxValue - 3);

    // The candidate: the identities of the call being admitted (copied from its decode, plus its marks),
    // and the keys it is checked against besides its identities.
    private readonly (ulong Dev, ulong Ino)[] _ids = new (ulong, ulong)[MaxIds + 3];
    private readonly bool[] _markOnly = new bool[MaxIds + 3];
    private readonly (ulong Dev, ulong Ino)[] _checks = new (ulong, ulong)[3];
    private int _checkCount;
    private int _idCount;
    private (ulong Dev, ulong Ino) _conflictKey;

    private readonly Dictionary<(ulong Dev, ulong Ino), int> _inFlight = new();
    private readonly uint[] _ringTaken = new uint[MaxIds + 3];
    private int _ringTakenCount;
    private bool _conflictOnRing;
    private int _ringParked;
    private readonly List<Tracee> _parked = new();
    private readonly List<Tracee> _retry = new();

    /// <summary>An op completed (or died) while others were parked: the loop decodes the unblocked ones again.</summary>
    public bool RetryDue { get; private set; }

    /// <summary>The fast path's ring (claims), or null under ptrace only.</summary>
    public FastPathSession? Ring { get; set; }

    /// <summary>Calls parked behind a hook's claim (read by the drain thread, which then rings the doorbell).</summary>
    public int RingParked => Volatile.Read(ref _ringParked);

    /// <summary>
    /// Takes <paramref name="call"/> (a journaled call) as the candidate and says whether an op in flight
    /// touches one of its identities; if so, <see cref="Park"/> it.
    /// </summary>
    public bool Conflicts(in DecodedCall call) => Conflicts(call, 0);

    /// <inheritdoc cref="Conflicts(in DecodedCall)"/>
    /// <param name="tid">The calling thread (its own hook's claims, from a signal handler it interrupted, do not block it).</param>
    public bool Conflicts(in DecodedCall call, int tid)
    {
        _idCount = 0;
        _checkCount = 0;
        _conflictOnRing = false;
        _ringTakenCount = 0;
        for (int i = 0; i < call.IdentityCount; i++)
        {
            _markOnly[_idCount] = false;
            _ids[_idCount++] = call.Identities[i];
        }

        NoteInodeAllocation(call);
        NotePathRace(call);
        for (int i = 0; i < _idCount; i++)
        {
            if (!_markOnly[i] && _inFlight.ContainsKey(_ids[i]))
            {
                _conflictKey = _ids[i];
                return true;
            }
        }

        for (int i = 0; i < _checkCount; i++)
        {
            if (_inFlight.ContainsKey(_checks[i]))
            {
                _conflictKey = _checks[i];
                return true;
            }
        }

        if (Ring is { } ring
            && !ring.TryClaim(tid, _ids.AsSpan(0, _idCount), _checks.AsSpan(0, _checkCount), _ringTaken, out _ringTakenCount, out _conflictKey))
        {
            _conflictOnRing = true;
            return true;
        }

        return false;
    }

    private void AddMark((ulong, ulong) mark, (ulong, ulong) check)
    {
        _markOnly[_idCount] = true;
        _ids[_idCount++] = mark;
        _checks[_checkCount++] = check;
    }

    /// <summary>
    /// A path is resolved by the decoder before the kernel resolves it again. When a directory on it did
    /// not exist at the decode, the op looks like a harmless failure with no directory to order it by;
    /// but a rename (or mkdir, or symlink) in flight can make that path appear before the op runs, and the
    /// op then succeeds without its undo data (seen: `mv d d2; mv d2 d` racing `rm -f d/x`). So an op
    /// whose path did not resolve and an op that can make paths appear are never in flight together.
    /// </summary>
    private void NotePathRace(in DecodedCall call)
    {
        bool maker = call.Op is OpCode.Rename or OpCode.Renameat or OpCode.Renameat2
            or OpCode.Mkdir or OpCode.Mkdirat or OpCode.Symlink or OpCode.Symlinkat;
        bool unresolved = call.DupFd < 0
            && ((!call.Path.StatPath.IsEmpty && call.Path.Parent == default) || (!call.Path2.StatPath.IsEmpty && call.Path2.Parent == default && !IsSymlinkTarget(call)));
        if (maker)
        {
            AddMark(s_pathMakerKey, s_unresolvedKey);
        }

        if (unresolved)
        {
            AddMark(s_unresolvedKey, s_pathMakerKey);
        }
    }

    private static bool IsSymlinkTarget(in DecodedCall call) => call.Op is OpCode.Symlink or OpCode.Symlinkat;

    /// <summary>
    /// Inode numbers are reused: a creation may get the number that a concurrent unlink, rmdir or
    /// rename-over has just freed. If the journal put that creation before the removal, rollback would
    /// take the two objects for one (found by the load test: "is not the object the journal created").
    /// So on one device an op that may allocate an inode and one that may free one are never in flight
    /// together; creations among themselves (and removals among themselves) still overlap.
    /// </summary>
    private void NoteInodeAllocation(in DecodedCall call)
    {
        (ulong dev, ulong ino) = call.Path.Parent;
        if ((!call.AllocatesInode && !call.FreesInode) || (dev == 0 && ino == 0))
        {
            return;
        }

        AddMark((dev, call.AllocatesInode ? AllocatingKey : FreeingKey), (dev, call.AllocatesInode ? FreeingKey : AllocatingKey));
    }

    private readonly uint[] _makersHeld = new uint[1];
    private int _makersHeldCount;

    /// <summary>
    /// While a call whose paths a hook changed under its decode is decoded again: the tracer takes the ring's
    /// path-maker mark itself, so no hook renames, makes a directory or a symlink meanwhile (they go the ptrace
    /// way, where the tracer orders them). Removals alone cannot keep changing a path: the retries end.
    /// </summary>
    public void HoldPathMakers(int tid)
    {
        if (Ring is { } ring && _makersHeldCount == 0)
        {
            ring.TryClaim(tid, [s_pathMakerKey], [], _makersHeld, out _makersHeldCount, out _);
        }
    }

    /// <summary>Ends <see cref="HoldPathMakers"/>.</summary>
    public void ReleasePathMakers()
    {
        if (_makersHeldCount > 0)
        {
            Ring?.Release(_makersHeld.AsSpan(0, _makersHeldCount));
            _makersHeldCount = 0;
        }
    }

    /// <summary>The candidate is not admitted after all (decoded again): the claims it took on the ring go.</summary>
    public void Withdraw()
    {
        if (_ringTakenCount > 0)
        {
            Ring?.Release(_ringTaken.AsSpan(0, _ringTakenCount));
            _ringTakenCount = 0;
        }
    }

    /// <summary>The candidate is admitted: its identities are in flight until <see cref="Release"/>.</summary>
    public void Mark(Tracee t)
    {
        t.RingClaimCount = _ringTakenCount;
        _ringTaken.AsSpan(0, _ringTakenCount).CopyTo(t.RingClaims);
        _ringTakenCount = 0;
        t.InFlightCount = 0;
        for (int i = 0; i < _idCount; i++)
        {
            (ulong, ulong) id = _ids[i];
            _inFlight[id] = _inFlight.TryGetValue(id, out int n) ? n + 1 : 1;
            t.InFlightIds[t.InFlightCount++] = id;
        }
    }

    /// <summary>The op of <paramref name="t"/> completed (or its thread died): release its identities, retry parked ops.</summary>
    public void Release(Tracee t)
    {
        if (t.RingClaimCount > 0)
        {
            Ring?.Release(t.RingClaims.AsSpan(0, t.RingClaimCount));
            t.RingClaimCount = 0;
        }

        if (t.InFlightCount == 0)
        {
            return;
        }

        for (int i = 0; i < t.InFlightCount; i++)
        {
            (ulong, ulong) id = t.InFlightIds[i];
            if (_inFlight.TryGetValue(id, out int n))
            {
                if (n <= 1)
                {
                    _inFlight.Remove(id);
                }
                else
                {
                    _inFlight[id] = n - 1;
                }
            }
        }

        t.InFlightCount = 0;
        RetryDue = _parked.Count > 0;
    }

    /// <summary>Holds the candidate's tracee in its seccomp stop until the op it conflicts with is released.</summary>
    public void Park(Tracee t)
    {
        t.Parked = true;
        t.ParkedOn = _conflictKey;
        t.ParkedOnRing = _conflictOnRing;
        if (_conflictOnRing)
        {
            Interlocked.Increment(ref _ringParked);
        }

        _parked.Add(t);
    }

    /// <summary>A parked thread died.</summary>
    public void Forget(Tracee t)
    {
        if (t.Parked && _parked.Remove(t) && t.ParkedOnRing)
        {
            Interlocked.Decrement(ref _ringParked);
        }
    }

    /// <summary>
    /// The parked threads whose blocker is gone (or that died), taken off the parked list for the caller
    /// to unpark and decode again; the others stay parked. Null when there is nothing to retry, and
    /// while a barrier is up (it retries when it ends).
    /// </summary>
    public List<Tracee>? TakeUnblocked(TraceeTable tracees, bool barrierUp)
    {
        RetryDue = false;
        if (barrierUp || _parked.Count == 0)
        {
            return null;
        }

        // Only the ops whose blocker is gone are decoded again (the others would park again at once:
        // with hundreds of threads parked that re-decoding made every completion cost hundreds of decodes).
        _retry.Clear();
        int kept = 0;
        for (int i = 0; i < _parked.Count; i++)
        {
            Tracee p = _parked[i];
            bool blocked = p.ParkedOnRing ? Ring is { } ring && !ring.IsFree(p.Tid, p.ParkedOn) : _inFlight.ContainsKey(p.ParkedOn);
            if (blocked && tracees.Contains(p.Tid))
            {
                _parked[kept++] = p;
            }
            else
            {
                if (p.ParkedOnRing)
                {
                    Interlocked.Decrement(ref _ringParked);
                    p.ParkedOnRing = false;
                }

                _retry.Add(p);
            }
        }

        _parked.RemoveRange(kept, _parked.Count - kept);
        return _retry;
    }
}
