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
    private const int MaxIds = 6;
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

    /// <summary>True when an identity of the decoded op is touched by an op in flight.</summary>
    private bool ConflictsWithInFlight()
    {
        for (int i = 0; i < _idCount; i++)
        {
            if (_inFlight.ContainsKey(_ids[i]))
            {
                return true;
            }
        }

        return false;
    }

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

        _retry.Clear();
        _retry.AddRange(_parked);
        _parked.Clear();
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
