using Scoord.Interceptors;
using Scoord.Journal.Model;
using Scoord.Interceptors.Syscalls;
using Scoord.Interceptors.Decoding;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// Ordering between processes (DESIGN.md): the tracer sees stops one at a time, but resumed
/// syscalls run concurrently in the kernel. An operation that touches an inode or a directory
/// (whose entries it changes) that another journaled operation in flight touches is held back,
/// parked in its seccomp stop, until that one completes; then it is decoded afresh. So the
/// journal order is always an order the kernel could have executed.
/// </summary>
internal sealed partial class Tracer
{
    private const int MaxIds = 8;

    // Pseudo inode numbers (never real ones: ext4, xfs, btrfs and tmpfs stay far below) for "an op that
    // may allocate an inode on this device is in flight" and "an op that may free one is".
    private const ulong AllocatingKey = ulong.MaxValue;
    private const ulong FreeingKey = ulong.MaxValue - 1;
    private (ulong Dev, ulong Ino) _allocCheck;
    private int _allocMarkIndex = -1;
    private readonly (ulong Dev, ulong Ino)[] _ids = new (ulong, ulong)[MaxIds];
    private int _idCount;
    private readonly Dictionary<(ulong Dev, ulong Ino), int> _inFlight = new();
    private readonly List<Tracee> _parked = new();
    private readonly List<Tracee> _retry = new();

    private void NoteIdentity(ulong dev, ulong ino)
    {
        if (_idCount < MaxIds)
        {
            _ids[_idCount++] = (dev, ino);
        }
    }

    /// <summary>
    /// Inode numbers are reused: a creation may get the number that a concurrent unlink, rmdir or
    /// rename-over has just freed. If the journal put that creation before the removal, rollback would
    /// take the two objects for one (found by the load test: "is not the object the journal created").
    /// So on one device an op that may allocate an inode and one that may free one are never in flight
    /// together; creations among themselves (and removals among themselves) still overlap.
    /// </summary>
    private void NoteInodeAllocation(in OpIntent intent)
    {
        _allocMarkIndex = -1;
        _allocCheck = default;
        bool allocates = intent.Op switch
        {
            OpCode.Open or OpCode.Openat or OpCode.Openat2 => (intent.OpFlags & Interop.Libc.O_CREAT) != 0 && intent.Kind == ObjectKind.Absent,
            OpCode.Creat => intent.Kind == ObjectKind.Absent,
            OpCode.Mkdir or OpCode.Mkdirat or OpCode.Mknod or OpCode.Mknodat or OpCode.Symlink or OpCode.Symlinkat or OpCode.Bind => true,
            _ => false,
        };
        bool frees = intent.Op is OpCode.Unlink or OpCode.Unlinkat or OpCode.Rmdir or OpCode.Rename or OpCode.Renameat or OpCode.Renameat2;
        ulong dev = _parent1.Dev;
        if ((!allocates && !frees) || (dev == 0 && _parent1.Ino == 0) || _idCount >= MaxIds)
        {
            return;
        }

        _allocCheck = (dev, allocates ? FreeingKey : AllocatingKey);
        _allocMarkIndex = _idCount;
        _ids[_idCount++] = (dev, allocates ? AllocatingKey : FreeingKey);
    }

    /// <summary>True when an identity of the decoded op is touched by an op in flight.</summary>
    private bool ConflictsWithInFlight()
    {
        for (int i = 0; i < _idCount; i++)
        {
            if (i != _allocMarkIndex && _inFlight.ContainsKey(_ids[i]))
            {
                _conflictKey = _ids[i];
                return true;
            }
        }

        _conflictKey = _allocCheck;
        return _allocMarkIndex >= 0 && _inFlight.ContainsKey(_allocCheck);
    }

    private (ulong Dev, ulong Ino) _conflictKey;

    private void MarkInFlight(Tracee t)
    {
        t.InFlightCount = 0;
        for (int i = 0; i < _idCount; i++)
        {
            (ulong, ulong) id = _ids[i];
            _inFlight[id] = _inFlight.TryGetValue(id, out int n) ? n + 1 : 1;
            t.InFlightIds[t.InFlightCount++] = id;
        }
    }

    /// <summary>The op of <paramref name="t"/> completed (or its thread died): release its identities, retry parked ops.</summary>
    private void ReleaseInFlight(Tracee t)
    {
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
        _retryParked = _parked.Count > 0;
    }

    private bool _retryParked;

    private void Park(Tracee t)
    {
        t.Parked = true;
        t.ParkedOn = _conflictKey;
        _parked.Add(t);
    }

    /// <summary>Decodes parked seccomp stops again (called from the loop, outside any handler).</summary>
    private void RetryParked()
    {
        _retryParked = false;
        if (_barrier || _parked.Count == 0)
        {
            return;
        }

        // Only the ops whose blocker is gone are decoded again (the others would park again at once:
        // with hundreds of threads parked that re-decoding made every completion cost hundreds of decodes).
        _retry.Clear();
        int kept = 0;
        for (int i = 0; i < _parked.Count; i++)
        {
            Tracee p = _parked[i];
            if (_inFlight.ContainsKey(p.ParkedOn) && _tracees.ContainsKey(p.Tid))
            {
                _parked[kept++] = p;
            }
            else
            {
                _retry.Add(p);
            }
        }

        _parked.RemoveRange(kept, _parked.Count - kept);
        foreach (Tracee t in _retry)
        {
            t.Parked = false;
            if (_tracees.ContainsKey(t.Tid))
            {
                OnSeccomp(t);
            }
        }
    }
}
